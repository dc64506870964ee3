// Handlers for the dimse.* and pacs.* channels: DIMSE settings and the echo (admin), the Hospital
// server page's search, retrieve (progress events to the calling connection) and cancel
// (radiologist). Roles are checked by the table; requests by the contract.
import { PACS_PROGRESS_EVENT } from '../../contract';
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

type DimseChannels = 'dimse.getSettings' | 'dimse.setSettings' | 'dimse.echo' | 'pacs.source' | 'pacs.find' | 'pacs.retrieve' | 'pacs.cancel';

export function dimseHandlers(services: Pick<Services, 'dimse' | 'hospital'>): Pick<Handlers, DimseChannels> {
  const { dimse, hospital } = services;
  const actor = (ctx: { session: Parameters<typeof sessionOf>[0] }) => {
    const s = sessionOf(ctx.session);
    return { id: s.userId, name: s.username };
  };
  return {
    'dimse.getSettings': () => dimse.getSettings(),
    'dimse.setSettings': (req, ctx) => dimse.setSettings(req, actor(ctx)),
    'dimse.echo': (_req, ctx) => dimse.echo(actor(ctx)),
    'pacs.source': () => hospital.source(),
    'pacs.find': (req, ctx) => hospital.find(req, actor(ctx)),
    'pacs.retrieve': (req, ctx) =>
      hospital.retrieve(req.studyInstanceUid, { runAi: req.runAi, ...(req.retrieveId ? { retrieveId: req.retrieveId } : {}), onProgress: (data) => ctx.connection.emit({ event: PACS_PROGRESS_EVENT, data }) }, actor(ctx)),
    'pacs.cancel': (req, ctx) => ({ cancelled: hospital.cancel(req.retrieveId, actor(ctx)) }),
  };
}
