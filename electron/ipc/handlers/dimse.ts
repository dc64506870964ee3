// Handlers for the dimse.* and pacs.* channels: DIMSE settings and the echo (admin), the PACS
// search and retrieve (radiologist). Roles are checked by the table; requests by the contract.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type DimseChannels = 'dimse.getSettings' | 'dimse.setSettings' | 'dimse.echo' | 'pacs.find' | 'pacs.retrieve';

export function dimseHandlers(services: Services): Pick<Handlers, DimseChannels> {
  const { dimse } = services;
  const actor = (ctx: { session: Parameters<typeof sessionOf>[0] }) => {
    const s = sessionOf(ctx.session);
    return { id: s.userId, name: s.username };
  };
  return {
    'dimse.getSettings': () => dimse.getSettings(),
    'dimse.setSettings': (req, ctx) => dimse.setSettings(req, actor(ctx)),
    'dimse.echo': (_req, ctx) => dimse.echo(actor(ctx)),
    'pacs.find': (req, ctx) => dimse.find(req, actor(ctx)),
    'pacs.retrieve': (req, ctx) => dimse.retrieve(req.studyInstanceUid, { runAi: req.runAi }, actor(ctx)),
  };
}
