// Handlers for the notifications.* channels: always the caller's own notifications (the session
// names the user; ids of someone else's are ignored by the service).
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type NotificationChannels = Extract<keyof Handlers, `notifications.${string}`>;

export function notificationsHandlers(services: Pick<Services, 'notifications'>): Pick<Handlers, NotificationChannels> {
  const { notifications } = services;
  return {
    'notifications.list': (req, ctx) => notifications.list(sessionOf(ctx.session).userId, req),
    'notifications.counts': (_req, ctx) => notifications.counts(sessionOf(ctx.session).userId),
    'notifications.markRead': (req, ctx) => notifications.markRead(sessionOf(ctx.session).userId, 'all' in req ? 'all' : req.ids),
  };
}
