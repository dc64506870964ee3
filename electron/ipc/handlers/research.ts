// Handlers for the research channels: data sets (with the de-identified export), the model
// registry, scoring runs and comparisons. The session gives the actor for the audit log; the
// table has checked the role.
import { DEID_EXPORT_PROGRESS_EVENT, WorkstationError } from '../../contract';
import type { Actor } from '../../services/research';
import type { CallContext, Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

type ResearchChannels =
  | 'datasets.browse'
  | 'datasets.preview'
  | 'datasets.register'
  | 'datasets.list'
  | 'datasets.get'
  | 'datasets.exportDeidentified'
  | 'datasets.cancelExport'
  | 'models.registry'
  | 'models.install'
  | 'models.activate'
  | 'models.retire'
  | 'runs.start'
  | 'runs.list'
  | 'runs.get'
  | 'runs.cancel'
  | 'runs.resume'
  | 'runs.items'
  | 'runs.item'
  | 'runs.exportItems'
  | 'compare.many'
  | 'compare.exportManyCsv'
  | 'compare.runs'
  | 'compare.exportCsv'
  | 'compare.exportHtml';

function actor(ctx: CallContext): Actor {
  if (!ctx.session) throw new WorkstationError('UNAUTHENTICATED', 'Please sign in.');
  return { userId: ctx.session.userId, username: ctx.session.username };
}

export function researchHandlers(services: Pick<Services, 'research'>): Pick<Handlers, ResearchChannels> {
  const r = services.research;
  return {
    'datasets.browse': (req) => r.browse(req.path),
    'datasets.preview': (req) => r.previewDataset(req.path, req.name),
    'datasets.register': (req, ctx) => r.registerDataset(req.path, req.name, actor(ctx)),
    'datasets.list': () => ({ datasets: r.listDatasets() }),
    'datasets.get': (req) => r.getDataset(req.id),
    // Progress goes to the calling connection only, as the import's does; the first event carries the export id to cancel.
    'datasets.exportDeidentified': (req, ctx) =>
      r.exportDeidentified(req.datasetId, req.destination, actor(ctx), { deid: req.options, onProgress: (data) => ctx.connection.emit({ event: DEID_EXPORT_PROGRESS_EVENT, data }) }),
    'datasets.cancelExport': (req) => ({ cancelled: r.cancelExport(req.exportId) }),
    'models.registry': async () => ({ models: await r.registry.list() }),
    'models.install': (req, ctx) => r.registry.install(req.path, actor(ctx)),
    'models.activate': (req, ctx) => r.registry.activate(req.id, actor(ctx)),
    'models.retire': (req, ctx) => r.registry.retire(req.id, actor(ctx)),
    'runs.start': async (req, ctx) => ({ runs: await r.startRuns(req.datasetId, req.modelIds, { batchSize: req.batchSize, masks: req.masks }, actor(ctx)) }),
    'runs.list': (req) => ({ runs: r.listRuns(req.datasetId) }),
    'runs.get': async (req) => ({ run: r.getRun(req.id), metrics: await r.runMetrics(req.id) }),
    'runs.cancel': (req, ctx) => r.cancelRun(req.id, actor(ctx)),
    'runs.resume': (req, ctx) => r.resumeRun(req.id, actor(ctx)),
    'runs.items': (req) => r.runItems(req.id, req.filter, { sort: req.sort, offset: req.offset, limit: req.limit }),
    'runs.item': (req) => r.runItem(req.id, req.idx),
    'runs.exportItems': (req, ctx) => r.exportRunItems(req.id, req.filter, req.sort, actor(ctx)),
    'compare.many': (req) => r.compareMany(req.runIds, req.reference),
    'compare.exportManyCsv': (req, ctx) => r.exportManyCsv(req.runIds, req.reference, actor(ctx)),
    'compare.runs': (req) => r.compare(req.a, req.b),
    'compare.exportCsv': (req, ctx) => r.exportCsv(req.a, req.b, actor(ctx)),
    'compare.exportHtml': (req, ctx) => r.exportHtml(req.a, req.b, actor(ctx)),
  };
}
