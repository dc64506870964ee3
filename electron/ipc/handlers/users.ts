// Handlers for the users.* channels (admin only, per the permission matrix).
import type { Actor } from '../../services/auth';
import type { CallContext, Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type UserChannels = 'users.list' | 'users.create' | 'users.update' | 'users.lock' | 'users.unlock' | 'users.issueResetCode' | 'users.forceLogout';

const actorOf = (ctx: CallContext): Actor => {
  const s = sessionOf(ctx.session);
  return { id: s.userId, name: s.username };
};

export function usersHandlers(services: Services): Pick<Handlers, UserChannels> {
  const { auth } = services;
  return {
    'users.list': () => ({ users: auth.listUsers() }),
    'users.create': (req, ctx) => auth.createUser(actorOf(ctx), req),
    'users.update': (req, ctx) => {
      const { id, ...patch } = req;
      return { user: auth.updateUser(actorOf(ctx), id, patch) };
    },
    'users.lock': (req, ctx) => ({ user: auth.lockUser(actorOf(ctx), req.id) }),
    'users.unlock': (req, ctx) => ({ user: auth.unlockUser(actorOf(ctx), req.id) }),
    'users.issueResetCode': (req, ctx) => auth.issueResetCode(actorOf(ctx), req.id),
    'users.forceLogout': (req, ctx) => ({ sessionsEnded: auth.forceLogout(actorOf(ctx), req.id) }),
  };
}
