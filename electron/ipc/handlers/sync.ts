// Handlers for the sync.* and outbox.* channels: hospital-server settings, connection test,
// status, sync now, and the outbox list with retry/cancel. Roles are checked by the table.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type SyncChannels = 'sync.getSettings' | 'sync.setSettings' | 'sync.testConnection' | 'sync.status' | 'sync.now' | 'outbox.list' | 'outbox.retry' | 'outbox.cancel';

export function syncHandlers(services: Services): Pick<Handlers, SyncChannels> {
  const { sync } = services;
  const actor = (ctx: { session: Parameters<typeof sessionOf>[0] }) => {
    const s = sessionOf(ctx.session);
    return { id: s.userId, name: s.username };
  };
  return {
    'sync.getSettings': () => sync.getSettings(),
    'sync.setSettings': (req, ctx) => sync.setSettings(req, actor(ctx)),
    'sync.testConnection': async (req, ctx) => {
      const result = await sync.testConnection(req.settings, req.secret);
      const a = actor(ctx);
      services.audit.append({ actorId: a.id, actor: a.name, action: 'sync.testConnection', objectType: 'sync', outcome: result.ok ? 'success' : 'failure', detail: { step: result.step, httpStatus: result.httpStatus } });
      return result;
    },
    'sync.status': () => sync.status(),
    'sync.now': (_req, ctx) => sync.syncNow(actor(ctx)),
    'outbox.list': (req) => sync.listOutbox({ limit: req.limit, ...(req.states ? { states: req.states } : {}) }),
    'outbox.retry': (req, ctx) => sync.retry(req.id, actor(ctx)),
    'outbox.cancel': (req, ctx) => sync.cancel(req.id, actor(ctx)),
  };
}
