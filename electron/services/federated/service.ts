// The federated-learning service the composition root builds: the site and coordinator roles,
// local training jobs (progress, cancel), the overview the Federation page shows, and the
// coordinator's HTTPS service. Other folders import it through index.ts.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError, type FederationOverview, type GlobalModel, type LocalPackage, type ReceivedPackage, type RoundSummary, type TrainingProgress } from '../../contract';
import type { Aggregation } from './rounds';
import { createCoordinator, type PackageRow, type RoundRow } from './coordinator';
import { modelRef, type Actor, type FederationDeps } from './deps';
import type { GateResult } from './gate';
import { keyFingerprint } from './package';
import { createRounds } from './rounds';
import { startCoordinatorServer, type CoordinatorServer } from './server';
import { createSite, type TrainOptions } from './site';

export function createFederatedService(deps: FederationDeps) {
  const coordinator = createCoordinator(deps);
  const rounds = createRounds(deps, coordinator);
  const site = createSite(deps);
  const jobs = new Map<string, AbortController>();

  function roundDto(r: RoundRow): RoundSummary {
    const agg = r.aggregation ? (JSON.parse(r.aggregation) as Aggregation) : null;
    const pk = coordinator.packages(r.round);
    const sites = pk
      .filter((p) => p.status !== 'refused')
      .map((p) => ({ site: p.site_id ?? '?', samples: p.samples ?? 0, share: agg?.shares[p.site_id ?? ''] ?? null, status: p.status }));
    return {
      round: r.round,
      state: r.state,
      parent: { modelId: r.parent_model, version: r.parent_version, cardSha256: r.parent_card_sha256, headSha256: r.parent_head_sha256 },
      settings: coordinator.settingsOf(r),
      deadline: r.deadline,
      openedAt: r.opened_at,
      openedBy: r.opened_by,
      accepted: pk.filter((p) => p.status !== 'refused').length,
      refused: pk.filter((p) => p.status === 'refused').length,
      sites,
      outvoted: agg?.outvoted ?? [],
      gate: r.gate ? (JSON.parse(r.gate) as GateResult) : null,
      model: r.model_id ? { id: r.model_id, version: r.model_version!, cardSha256: r.model_card_sha256! } : null,
      decidedAt: r.decided_at,
      decidedBy: r.decided_by,
      note: r.note,
    };
  }

  function packageDto(p: PackageRow): ReceivedPackage {
    return { id: p.id, round: p.round, site: p.site_id, sha256: p.sha256, status: p.status, reason: p.reason, samples: p.samples, epsilon: p.epsilon, via: p.via, receivedAt: p.received_at };
  }

  async function globalModel(): Promise<GlobalModel> {
    const c = coordinator.row();
    // The coordinator's global; at a site the one it last pulled; else the model in clinical use.
    const id = c?.global_model ?? site.identity()?.global_model ?? (await deps.research.registry.activeModelId()) ?? deps.inference.status().defaultModel;
    if (!id) throw new WorkstationError('NOT_FOUND', 'No model is installed.');
    const { ref, model } = await modelRef(deps, id);
    const card = JSON.parse(fs.readFileSync(path.join(model.dir, 'model-card.json'), 'utf8')) as { federated?: Record<string, unknown> & { round?: number }; metrics?: Record<string, unknown> };
    const active = (await deps.research.registry.activeModelId()) ?? deps.inference.status().defaultModel;
    return { ...ref, round: card.federated?.round ?? 0, activeClinically: active === id, federated: card.federated ?? null, metrics: card.metrics ?? null };
  }

  async function overview(): Promise<FederationOverview> {
    const me = site.identity();
    const c = coordinator.row();
    const eps = site.epsilon();
    let referenceItems: number | null = null;
    let referenceName: string | null = null;
    if (c?.reference_dataset) {
      try {
        const ds = deps.research.getDataset(c.reference_dataset);
        referenceItems = ds.items;
        referenceName = ds.name;
      } catch {
        referenceName = c.reference_dataset;
      }
    }
    const latestSamples = (siteId: string): number | null =>
      (deps.db().prepare(`SELECT samples FROM federation_packages WHERE site_id = ? AND status IN ('accepted', 'merged', 'outvoted') ORDER BY received_at DESC LIMIT 1`).get(siteId) as { samples: number } | undefined)?.samples ?? null;
    return {
      site: me
        ? { siteId: me.site_id, keyFingerprint: keyFingerprint(me.public_key), publicKey: me.public_key, coordinatorUrl: me.coordinator_url, enrolled: site.enrolled(), secretsIn: await deps.secrets.where(), epsilon: eps.epsilon, delta: eps.delta }
        : null,
      coordinator: c
        ? {
            referenceDataset: referenceName,
            referenceItems,
            publicUrl: c.public_url,
            certificateFingerprint: c.certificate ? new crypto.X509Certificate(c.certificate).fingerprint256 : null,
            global: await globalModel(),
          }
        : null,
      rounds: coordinator.rounds().map(roundDto),
      sites: coordinator.sites().map((s) => {
        const e = coordinator.siteEpsilon(s.site_id);
        return { site: s.site_id, name: s.name, keyFingerprint: keyFingerprint(s.public_key), status: s.status, registeredAt: s.registered_at, samples: latestSamples(s.site_id), epsilon: e.epsilon, delta: e.delta, rounds: e.rounds };
      }),
      packages: coordinator.packages().slice(0, 200).map(packageDto),
      outbox: site.outbox(),
    };
  }

  return {
    site,
    coordinator,
    rounds,
    overview,
    globalModel,
    roundDto,
    async roundSummary(n: number): Promise<RoundSummary> {
      return roundDto(coordinator.round(n));
    },
    /** Local training as a job: the first progress event carries the job id to cancel it with. */
    async train(opts: TrainOptions, actor: Actor, onProgress?: (p: TrainingProgress) => void): Promise<LocalPackage> {
      const jobId = crypto.randomUUID();
      const controller = new AbortController();
      jobs.set(jobId, controller);
      const emit = (p: Omit<TrainingProgress, 'jobId'>): void => onProgress?.({ jobId, ...p });
      emit({ phase: 'features', done: 0, total: 0, loss: null, accuracy: null, message: null });
      try {
        return await site.train(opts, actor, { signal: controller.signal, onProgress: emit });
      } catch (err) {
        const cancelled = controller.signal.aborted;
        emit({ phase: cancelled ? 'cancelled' : 'failed', done: 0, total: 0, loss: null, accuracy: null, message: err instanceof WorkstationError ? err.message : 'Local training failed.' });
        if (cancelled) throw new WorkstationError('CONFLICT', 'Local training was cancelled; no update package was made.', { details: { cancelled: true } });
        throw err;
      } finally {
        jobs.delete(jobId);
      }
    },
    cancelTraining(jobId: string): boolean {
      const c = jobs.get(jobId);
      if (!c) return false;
      c.abort();
      return true;
    },
    async importPackage(bytes: Uint8Array, actor: Actor): Promise<ReceivedPackage> {
      coordinator.requireSetup();
      const { row } = await coordinator.receive(bytes, 'file', null, actor);
      return packageDto(row);
    },
    serve(opts: { host: string; port: number; tickMs?: number }): Promise<CoordinatorServer> {
      return startCoordinatorServer(deps, coordinator, rounds, opts);
    },
    close(): void {
      for (const c of jobs.values()) c.abort();
    },
  };
}

export type FederatedService = ReturnType<typeof createFederatedService>;
