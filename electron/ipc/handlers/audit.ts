// Handlers for the audit.* channels (admin only). Verifying and exporting are audited too.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { auditLabels } from '../../services/audit';
import { sessionOf } from './auth';

export function auditHandlers(services: Services): Pick<Handlers, 'audit.list' | 'audit.verify' | 'audit.exportCsv'> {
  const { audit, store } = services;
  return {
    'audit.list': (req) => {
      const { limit, offset, ...filter } = req;
      const page = audit.list(filter, { limit, offset });
      return { ...page, names: auditLabels(store.db(), page.rows) };
    },
    'audit.verify': (_req, ctx) => {
      const s = sessionOf(ctx.session);
      const result = audit.verify();
      audit.append({ actorId: s.userId, actor: s.username, action: 'audit.verify', outcome: result.ok ? 'success' : 'failure', detail: { checked: result.checked, firstBrokenId: result.firstBrokenId } });
      return result;
    },
    'audit.exportCsv': (req, ctx) => {
      const s = sessionOf(ctx.session);
      const out = audit.exportCsv(req);
      audit.append({ actorId: s.userId, actor: s.username, action: 'audit.export', outcome: 'success', detail: { rows: out.rows } });
      return out;
    },
  };
}
