// Secure messages between a patient and their care team: one conversation per patient record,
// which any radiologist of this workstation may read and answer (a department inbox). Bodies are
// plain text, shown as text, never as HTML.
import { z } from 'zod';
import { channel } from './channel';

const id = z.string().min(1).max(64);

/** Longest message body, in characters after trimming. */
export const MAX_MESSAGE_CHARS = 4000;
/** The inbox shows this much of a conversation's last message. */
export const MESSAGE_PREVIEW_CHARS = 120;
/** How often an open Messages page asks for new messages. */
export const MESSAGE_POLL_MS = 10_000;

export const MESSAGE_SENDER_ROLES = ['patient', 'radiologist'] as const;
export const messageSenderRoleSchema = z.enum(MESSAGE_SENDER_ROLES);
export type MessageSenderRole = z.infer<typeof messageSenderRoleSchema>;

const messageBody = z
  .string()
  .trim()
  .min(1, 'Write a message before sending.')
  .max(MAX_MESSAGE_CHARS, `A message can be at most ${MAX_MESSAGE_CHARS} characters; shorten it or send it in two parts.`);

export const messageSchema = z.object({
  id: z.string(),
  patientId: z.string(),
  senderRole: messageSenderRoleSchema,
  /** The sender's display name: a care-team reply is signed with the radiologist's name. */
  senderName: z.string(),
  /** True for the caller's own side (the patient's messages for a patient, the care team's for a radiologist). */
  mine: z.boolean(),
  body: z.string(),
  createdAt: z.string(),
  /** When the other side first read it, or null. */
  readAt: z.string().nullable(),
  /** The signed report the message is about, if any. */
  report: z.object({ reportId: z.string(), studyDate: z.string().nullable() }).nullable(),
  /** Marked urgent by the patient. */
  urgent: z.boolean().default(false),
});
export type Message = z.infer<typeof messageSchema>;

export const messageInboxRowSchema = z.object({
  patientId: z.string(),
  patientName: z.string(),
  /** The hospital Patient ID (DICOM PatientID), when the files gave one. */
  dicomPatientId: z.string().nullable(),
  lastPreview: z.string(),
  lastAt: z.string(),
  lastSenderRole: messageSenderRoleSchema,
  /** The patient's messages no radiologist has read yet. */
  unread: z.number().int().min(0),
  total: z.number().int().min(0),
  /** The patient marked a message urgent that the care team has not answered yet: shown first, in red. */
  urgent: z.boolean().default(false),
});
export type MessageInboxRow = z.infer<typeof messageInboxRowSchema>;

export const messageThreadSchema = z.object({
  patient: z.object({ id: z.string(), displayName: z.string(), dicomPatientId: z.string().nullable() }),
  /** Oldest first. */
  messages: z.array(messageSchema),
});
export type MessageThread = z.infer<typeof messageThreadSchema>;

export const messagesChannels = {
  'messages.inbox': channel({
    summary: 'The care-team inbox: one row per patient with messages, unanswered urgent ones first, then newest first, with unread counts',
    request: z.object({ limit: z.number().int().min(1).max(200).default(50), offset: z.number().int().min(0).default(0) }).strict(),
    response: z.object({ rows: z.array(messageInboxRowSchema), total: z.number().int().min(0) }),
  }),
  'messages.thread': channel({
    summary: "A patient's conversation with the care team, oldest first; reading it marks the other side's messages read",
    request: z.object({ patientId: id.optional() }).strict(),
    response: messageThreadSchema,
  }),
  'messages.send': channel({
    summary: "Send a message in a patient's conversation with the care team, optionally about one of their signed reports",
    request: z.object({ patientId: id.optional(), body: messageBody, reportId: id.optional(), urgent: z.boolean().optional() }).strict(),
    response: z.object({ message: messageSchema }),
  }),
  'messages.unreadCount': channel({
    summary: 'Unread messages for the badge: patient messages for the care team, care-team replies for a patient',
    request: z.object({}).strict(),
    response: z.object({ unread: z.number().int().min(0) }),
  }),
};
