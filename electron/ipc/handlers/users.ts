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
  const { auth, dicom } = services;
  return {
    'users.list': () => {
      const users = auth.listUsers();
      // Which record each patient account sees, by name and hospital Patient ID (not our internal id).
      const patients: Record<string, { displayName: string; dicomPatientId: string | null; birthDate: string | null }> = {};
      for (const u of users) {
        const p = u.patientId ? dicom.index.patient(u.patientId) : null;
        if (p) patients[p.id] = { displayName: p.displayName, dicomPatientId: p.dicomPatientId, birthDate: p.birthDate };
      }
      return { users, patients };
    },
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
