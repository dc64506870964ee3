// Handlers for the messages.* channels: the session is the service's actor, so a patient's
// conversation always comes from their account's link, never from what the request says.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type MessagesChannels = Extract<keyof Handlers, `messages.${string}`>;

export function messagesHandlers(services: Pick<Services, 'messages'>): Pick<Handlers, MessagesChannels> {
  const { messages } = services;
  return {
    'messages.inbox': (req, ctx) => messages.inbox(sessionOf(ctx.session), req),
    'messages.thread': (req, ctx) => messages.thread(sessionOf(ctx.session), req.patientId),
    'messages.send': (req, ctx) => ({ message: messages.send(sessionOf(ctx.session), req) }),
    'messages.unreadCount': (_req, ctx) => ({ unread: messages.unreadCount(sessionOf(ctx.session)) }),
  };
}
