// Handlers for the messages.* channels: the session becomes the service's actor, so a patient's
// conversation always comes from their account's link, never from what the request says.
import type { MessageActor } from '../../services/messages';
import type { Handlers, Session } from '../handler-table';
import type { Services } from '../compose';
import { sessionOf } from './auth';

type MessagesChannels = Extract<keyof Handlers, `messages.${string}`>;

const actorOf = (s: Session | null): MessageActor => {
  const x = sessionOf(s);
  return { userId: x.userId, username: x.username, role: x.role, patientId: x.patientId };
};

export function messagesHandlers(services: Pick<Services, 'messages'>): Pick<Handlers, MessagesChannels> {
  const { messages } = services;
  return {
    'messages.inbox': (req, ctx) => messages.inbox(actorOf(ctx.session), req),
    'messages.thread': (req, ctx) => messages.thread(actorOf(ctx.session), req.patientId),
    'messages.send': (req, ctx) => ({ message: messages.send(actorOf(ctx.session), req) }),
    'messages.unreadCount': (_req, ctx) => ({ unread: messages.unreadCount(actorOf(ctx.session)) }),
  };
}
