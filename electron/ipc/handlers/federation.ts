// Handlers for the federation channels: the session gives the actor for the audit rows; the table
// has checked the role (admin for the site identity and every coordinator decision, researchers
// too for training, packages and the overview).
import { FEDERATION_PROGRESS_EVENT, WorkstationError } from '../../contract';
import type { Actor } from '../../services/federated';
import type { CallContext, Handlers } from '../handler-table';
import type { Services } from '../workstation-types';

type FederationChannels = Extract<keyof Handlers, `federation.${string}`>;

function actor(ctx: CallContext): Actor {
  if (!ctx.session) throw new WorkstationError('UNAUTHENTICATED', 'Please sign in.');
  return { userId: ctx.session.userId, username: ctx.session.username };
}

export function federationHandlers(services: Pick<Services, 'federation'>): Pick<Handlers, FederationChannels> {
  const f = services.federation;
  const siteDto = async () => (await f.overview()).site!;
  const coordinatorDto = async () => (await f.overview()).coordinator!;
  return {
    'federation.overview': () => f.overview(),
    'federation.globalModel': () => f.globalModel(),
    'federation.createIdentity': async (req, ctx) => {
      await f.site.createIdentity(req.siteId, actor(ctx));
      return siteDto();
    },
    'federation.enrol': async (req, ctx) => {
      await f.site.enrol(req.enrolment, actor(ctx));
      return siteDto();
    },
    // Progress goes to the calling connection only; its first event carries the job id to cancel.
    'federation.train': (req, ctx) => f.train({ datasetId: req.datasetId, round: req.round, settings: req.settings }, actor(ctx), (data) => ctx.connection.emit({ event: FEDERATION_PROGRESS_EVENT, data })),
    'federation.cancelTraining': (req) => ({ cancelled: f.cancelTraining(req.jobId) }),
    'federation.exportPackage': (req, ctx) => {
      const e = f.site.exportPackage(req.id, actor(ctx));
      return { filename: e.filename, base64: e.bytes.toString('base64'), sha256: e.sha256 };
    },
    'federation.uploadPackage': (req, ctx) => f.site.upload(req.id, actor(ctx)),
    'federation.pullGlobal': async (_req, ctx) => {
      await f.site.pullGlobal(actor(ctx));
      return f.globalModel();
    },
    'federation.evaluateCandidate': (_req, ctx) => f.site.evaluateCandidate(actor(ctx)),
    'federation.setup': async (req, ctx) => {
      await f.coordinator.setup({ referenceDatasetId: req.referenceDatasetId, publicUrl: req.publicUrl, globalModelId: req.globalModelId }, actor(ctx));
      return coordinatorDto();
    },
    'federation.registerSite': async (req, ctx) => {
      const r = f.coordinator.registerSite({ siteId: req.siteId, name: req.name, publicKey: req.publicKey }, actor(ctx));
      const site = (await f.overview()).sites.find((s) => s.site === r.site.site_id)!;
      return { site, enrolment: r.enrolment };
    },
    'federation.revokeSite': async (req, ctx) => {
      f.coordinator.revokeSite(req.siteId, actor(ctx));
      return (await f.overview()).sites.find((s) => s.site === req.siteId)!;
    },
    'federation.openRound': async (req, ctx) => f.roundDto(await f.coordinator.openRound(req.settings, actor(ctx))),
    'federation.importPackage': (req, ctx) => f.importPackage(Buffer.from(req.base64, 'base64'), actor(ctx)),
    'federation.aggregate': async (req, ctx) => f.roundDto(await f.rounds.aggregate(req.round, actor(ctx))),
    'federation.approve': async (req, ctx) => f.roundDto(await f.rounds.approve(req.round, { activate: req.activate }, actor(ctx))),
    'federation.reject': (req, ctx) => f.roundDto(f.rounds.reject(req.round, req.reason, actor(ctx))),
    'federation.rollback': async (req, ctx) => f.roundDto(await f.rounds.rollback(req.round, actor(ctx))),
  };
}
