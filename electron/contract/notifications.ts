// Notifications for every role: new and urgent messages, signed reports, uploads received and
// reviewed, outbox items that failed. Stored per user, pushed live as a count over the event
// channel. Titles and bodies never carry patient data (they may be read over a shoulder).
import { z } from 'zod';
import { channel } from './channel';

export const NOTIFICATION_KINDS = ['message', 'urgent-message', 'report-signed', 'upload-received', 'upload-reviewed', 'outbox-failed'] as const;
export const notificationKindSchema = z.enum(NOTIFICATION_KINDS);
export type NotificationKind = z.infer<typeof notificationKindSchema>;
/** Kinds counted on the Messages item of the navigation. */
export const MESSAGE_NOTIFICATION_KINDS: readonly NotificationKind[] = ['message', 'urgent-message'];

export const notificationSchema = z.object({
  id: z.string(),
  kind: notificationKindSchema,
  title: z.string(),
  body: z.string(),
  /** The page it leads to, and the object there (a patient record, upload or report id). */
  page: z.string().nullable(),
  objectId: z.string().nullable(),
  createdAt: z.string(),
  readAt: z.string().nullable(),
});
export type Notification = z.infer<typeof notificationSchema>;

export const notificationCountsSchema = z.object({
  unread: z.number().int().min(0),
  /** Unread message notifications (also counted in unread). */
  unreadMessages: z.number().int().min(0),
  /** Unread urgent-message notifications (also counted in unreadMessages). */
  unreadUrgent: z.number().int().min(0),
});
export type NotificationCounts = z.infer<typeof notificationCountsSchema>;

/** Pushed to every connection of the recipient when their notifications change. */
export const NOTIFICATIONS_EVENT = 'notifications.changed';
export const notificationsEventSchema = notificationCountsSchema.extend({
  /** The notification that just arrived (for the screen-reader announcement), or null on a read. */
  latest: z.object({ id: z.string(), kind: notificationKindSchema, title: z.string() }).nullable(),
});
export type NotificationsEvent = z.infer<typeof notificationsEventSchema>;

export const notificationsChannels = {
  'notifications.list': channel({
    summary: 'Your notifications, newest first',
    request: z.object({ limit: z.number().int().min(1).max(200).default(50), unreadOnly: z.boolean().default(false) }).strict(),
    response: z.object({ notifications: z.array(notificationSchema), counts: notificationCountsSchema }),
  }),
  'notifications.counts': channel({
    summary: 'How many of your notifications are unread (the bell and the Messages item)',
    request: z.object({}).strict(),
    response: notificationCountsSchema,
  }),
  'notifications.markRead': channel({
    summary: 'Mark some or all of your notifications read',
    request: z.union([z.object({ ids: z.array(z.string().min(1).max(64)).min(1).max(200) }).strict(), z.object({ all: z.literal(true) }).strict()]),
    response: notificationCountsSchema,
  }),
};
