// `tumorpredict federation simulate`: N site workstations and a coordinator on this machine, each
// its own data folder and encrypted database, the coordinator's HTTPS service on loopback, the
// shared data split non-IID over the sites. Each round every site trains and uploads, the round
// aggregates on its quorum and gates; a passed candidate is approved and pulled by the sites.
// Reports per round the global model's accuracy on the reference set against centralised head
// training on the pooled site data (same settings, as many epochs as all rounds together).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ROUND_SETTINGS, WorkstationError, type AGGREGATION_RULE_NAMES, type RoundSummary } from '../../contract';
import { resolveConfig } from '../../services/config';
import {
  DEFAULT_TRAIN_SETTINGS,
  extractFeatures,
  merge,
  parentHead,
  runGate,
  scoreHead,
  splitByKey,
  trainHead,
  EVAL_FRACTION,
  sharedItems,
  splitForSimulation,
  SOURCE_NAMES,
  type FeatureSet,
  type HeadWeights,
  type SimItem,
  type SourceName,
} from '../../services/federated';
import type { LoadedModel } from '../../services/inference';
import { createWorkstation, type Workstation } from '../../ipc/compose';

export interface SimulateOptions {
  sites: number;
  rounds: number;
  rule: (typeof AGGREGATION_RULE_NAMES)[number];
  alpha: number;
  seed: number;
  datasets: string;
  splits: string | null;
  modelsFolder: string;
  modelId: string | null;
  work: string | null;
  keep: boolean;
  siteData: 'unseen' | 'all';
  sources: SourceName[] | null;
  epochs: number;
  learningRate: number;
  fedproxMu: number;
  /** DP-SGD noise multiplier for every site (null: no DP). */
  dpNoise: number | null;
  /** At most this many images per site and in the reference set (seeded subsample; null: all). */
  limit?: number | null;
  /** The gate's margins for the simulated rounds (null: the product's defaults). */
  gate: { overallMargin: number | null; classMargin: number | null; off: boolean };
  log: (line: string) => void;
}

export interface RoundFigures {
  round: number;
  state: string;
  candidate: number | null;
  global: number;
  bySource: Record<string, number | null>;
  failedChecks: string[];
  roundMs: number;
  siteMs: Record<string, number>;
  packageBytes: Record<string, number>;
}

export interface SimulationReport {
  sites: { site: string; images: number; bySourceClass: Record<string, number> }[];
  reference: { n: number; bySource: Record<string, number> };
  parent: { model: string; accuracy: number; bySource: Record<string, number | null> };
  rounds: RoundFigures[];
  centralised: { accuracy: number; bySource: Record<string, number | null>; epochs: number; ms: number };
  gapPoints: number;
  /** One round of the same training, merge and gate in process, without the workstations around it. */
  inProcessRoundMs: number;
  settings: Record<string, unknown>;
  work: string;
  totalMs: number;
}

const ACTOR = { userId: null, username: 'simulation' };

function csv(file: string, items: readonly SimItem[]): string {
  fs.writeFileSync(file, ['path,label', ...items.map((i) => `${JSON.stringify(i.file)},${i.label}`)].join('\n') + '\n');
  return file;
}

interface Node {
  name: string;
  ws: Workstation;
  datasetId: string;
}

async function node(work: string, name: string, opts: SimulateOptions, modelId: string, items: readonly SimItem[]): Promise<Node> {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
  fs.cpSync(path.join(opts.modelsFolder, modelId), path.join(dir, 'models', modelId), { recursive: true });
  const ws = await createWorkstation(
    resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), modelsFolder: path.join(dir, 'models'), keySource: 'passphrase', passphrase: crypto.randomBytes(18).toString('base64url') }),
  );
  const ds = await ws.services.research.registerDataset(csv(path.join(dir, `${name}.csv`), items), name, ACTOR);
  return { name, ws, datasetId: ds.id };
}

/** Accuracy of a head on the reference set, overall and per source (the clinical decision rule). */
function scorer(model: LoadedModel, ref: FeatureSet, sources: SourceName[]) {
  const bySource = new Map<SourceName, number[]>();
  sources.forEach((s, i) => bySource.set(s, [...(bySource.get(s) ?? []), i]));
  return (h: HeadWeights): { accuracy: number; bySource: Record<string, number | null> } => {
    const s = scoreHead(model.spec, h, ref);
    const out: Record<string, number | null> = {};
    for (const src of SOURCE_NAMES) {
      const idx = bySource.get(src) ?? [];
      out[src] = idx.length ? idx.filter((i) => s.correct[i]).length / idx.length : null;
    }
    return { accuracy: s.accuracy ?? 0, bySource: out };
  };
}

export async function simulate(opts: SimulateOptions): Promise<SimulationReport> {
  const t0 = performance.now();
  const work = opts.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tp-fedsim-'));
  fs.mkdirSync(work, { recursive: true });
  const modelCard = JSON.parse(fs.readFileSync(path.join(opts.modelsFolder, opts.modelId ?? 'tumornet', 'model-card.json'), 'utf8')) as { version?: string };
  const items = sharedItems(opts.datasets, opts.splits, String(modelCard.version ?? '1'));
  const split = splitForSimulation(items, { sites: opts.sites, alpha: opts.alpha, seed: opts.seed, sources: opts.sources ?? undefined, siteData: opts.siteData, referenceLgg: 0.2 });
  if (opts.limit) {
    // A seeded subsample, the same for the same seed (benchmarks and quick runs).
    const cut = (list: SimItem[]): SimItem[] => list.map((it) => ({ it, k: crypto.createHash('sha256').update(`${opts.seed}:${it.file}`).digest('hex') })).sort((a, b) => (a.k < b.k ? -1 : 1)).slice(0, opts.limit!).map((x) => x.it);
    split.reference = cut(split.reference);
    split.sites = split.sites.map(cut);
  }
  // A site the split leaves without images cannot register a data set or train: say so before
  // any workstation is made, with what to change.
  const empty = split.sites.map((s, i) => (s.length ? null : `site-${i + 1}`)).filter((s): s is string => s !== null);
  if (empty.length) {
    throw new WorkstationError(
      'INVALID_INPUT',
      `The split gives ${empty.join(', ')} no images (${opts.sites} sites${opts.sources ? `, sources ${opts.sources.join(', ')}` : ''}, alpha ${opts.alpha}, seed ${opts.seed}). Use fewer sites, a larger --alpha (closer to an even split) or another --seed.`,
    );
  }
  const nodes: Node[] = [];
  let server: { close(): Promise<void> } | null = null;
  try {
    const modelId = opts.modelId ?? 'tumornet';
    opts.log(`Reference set: ${split.reference.length} images; sites: ${split.sites.map((s, i) => `site-${i + 1} ${s.length}`).join(', ')}`);
    const coord = await node(work, 'coordinator', opts, modelId, split.reference);
    nodes.push(coord);
    const fed = coord.ws.services.federation;
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await fed.coordinator.setup({ referenceDatasetId: coord.datasetId, publicUrl: `https://127.0.0.1:${port}`, globalModelId: modelId }, ACTOR);
    server = await fed.serve({ host: '127.0.0.1', port, tickMs: 3_600_000 });
    const sites: Node[] = [];
    for (let i = 0; i < opts.sites; i++) {
      const n = await node(work, `site-${i + 1}`, opts, modelId, split.sites[i]!);
      nodes.push(n);
      sites.push(n);
      const me = await n.ws.services.federation.site.createIdentity(n.name, ACTOR);
      const reg = fed.coordinator.registerSite({ siteId: n.name, name: n.name, publicKey: me.public_key }, ACTOR);
      await n.ws.services.federation.site.enrol(reg.enrolment, ACTOR);
    }

    // The reference set's features (cached at the coordinator) and each image's source.
    const model = await coord.ws.services.inference.loadModel(modelId);
    const refItems = coord.ws.services.research.datasetItems(coord.datasetId);
    const sourceOfFile = new Map(split.reference.map((i) => [i.file, i.source]));
    const refF = await extractFeatures({ db: () => coord.ws.services.store.db(), inference: coord.ws.services.inference }, model, refItems);
    const shaSource = new Map(refItems.map((i) => [i.sha256, sourceOfFile.get(i.file)!]));
    const score = scorer(model, refF.data, refF.keys.map((k) => shaSource.get(k)!));
    const parent = parentHead(model);
    const p0 = score(parent);
    opts.log(`Round 0 (${modelId}): ${(p0.accuracy * 100).toFixed(2)}% on the reference set`);

    const rounds: RoundFigures[] = [];
    let global = parent;
    let globalAcc = p0;
    for (let r = 1; r <= opts.rounds; r++) {
      const tr = performance.now();
      const opened = await fed.coordinator.openRound(
        {
          ...DEFAULT_ROUND_SETTINGS,
          rule: opts.rule,
          quorum: opts.sites,
          minSamples: 1,
          training: { epochs: opts.epochs, learningRate: opts.learningRate, fedproxMu: opts.fedproxMu },
          gate: opts.gate.off
            ? { ...DEFAULT_ROUND_SETTINGS.gate, overallMargin: 1, classMargin: 1, siteMargin: 1, alpha: 0 }
            : { ...DEFAULT_ROUND_SETTINGS.gate, ...(opts.gate.overallMargin !== null ? { overallMargin: opts.gate.overallMargin } : {}), ...(opts.gate.classMargin !== null ? { classMargin: opts.gate.classMargin } : {}) },
        },
        ACTOR,
      );
      const siteMs: Record<string, number> = {};
      const packageBytes: Record<string, number> = {};
      for (const s of sites) {
        const ts = performance.now();
        const pkg = await s.ws.services.federation.train({ datasetId: s.datasetId, settings: opts.dpNoise ? { dp: { clipNorm: 1, noiseMultiplier: opts.dpNoise, delta: 1e-5 } } : {} }, ACTOR);
        const up = await s.ws.services.federation.site.upload(pkg.id, ACTOR);
        siteMs[s.name] = performance.now() - ts;
        packageBytes[s.name] = up.bytes;
        if (up.status !== 'accepted') opts.log(`  ${s.name}: package refused: ${up.detail}`);
      }
      let summary: RoundSummary = await fed.roundSummary(opened.round);
      if (summary.state === 'open') summary = fed.roundDto(await fed.rounds.aggregate(opened.round, ACTOR));
      const cand = summary.gate?.candidate.accuracy ?? null;
      const failedChecks = summary.gate?.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`) ?? [];
      if (summary.state === 'candidate') {
        await fed.rounds.approve(opened.round, {}, ACTOR);
        for (const s of sites) await s.ws.services.federation.site.pullGlobal(ACTOR);
        const g = await coord.ws.services.inference.loadModel((await fed.globalModel()).modelId);
        global = parentHead(g);
        globalAcc = score(global);
      } else if (summary.state === 'gate-failed') {
        fed.rounds.reject(opened.round, 'The candidate did not pass the gate (simulation).', ACTOR);
      }
      const fig: RoundFigures = { round: r, state: summary.state, candidate: cand, global: globalAcc.accuracy, bySource: globalAcc.bySource, failedChecks, roundMs: performance.now() - tr, siteMs, packageBytes };
      rounds.push(fig);
      opts.log(`Round ${r}: ${summary.state}; candidate ${cand === null ? 'n/a' : (cand * 100).toFixed(2) + '%'}, global ${(globalAcc.accuracy * 100).toFixed(2)}% (${(fig.roundMs / 1000).toFixed(1)} s)${failedChecks.length ? `; gate: ${failedChecks.join('; ')}` : ''}`);
    }

    // Centralised: one head trained on every site's training part pooled, for as many epochs as all rounds together.
    const parts: FeatureSet[] = [];
    for (const s of sites) {
      const m = await s.ws.services.inference.loadModel(modelId);
      const f = await extractFeatures({ db: () => s.ws.services.store.db(), inference: s.ws.services.inference }, m, s.ws.services.research.datasetItems(s.datasetId));
      parts.push(splitByKey(f, EVAL_FRACTION).train);
    }
    const F = parent.dim;
    const n = parts.reduce((a, p) => a + p.n, 0);
    const pooled: FeatureSet = { x: new Float32Array(n * F), y: new Int32Array(n), n, dim: F };
    let o = 0;
    for (const p of parts) {
      pooled.x.set(p.x, o * F);
      pooled.y.set(p.y, o);
      o += p.n;
    }
    const frozen = model.spec.rejectClasses.map((c) => model.spec.classes.indexOf(c)).filter((i) => i >= 0);
    // The same round in process (same features, no workstations, HTTPS, packages or registry):
    // the baseline the product's round time is read against.
    const tb = performance.now();
    const ups = [];
    for (let i = 0; i < parts.length; i++) ups.push({ site: sites[i]!.name, samples: parts[i]!.n, weights: (await trainHead(parent, parts[i]!, { ...DEFAULT_TRAIN_SETTINGS, epochs: opts.epochs, learningRate: opts.learningRate, fedproxMu: opts.fedproxMu, seed: 1 }, { frozenClasses: frozen })).weights });
    const mergedInProcess = merge(parent, ups, { rule: opts.rule, maxShare: DEFAULT_ROUND_SETTINGS.maxShare, trim: DEFAULT_ROUND_SETTINGS.trim }).weights;
    runGate(model.spec, parent, mergedInProcess, refF.data);
    const inProcessRoundMs = performance.now() - tb;
    const central = await trainHead(parent, pooled, { ...DEFAULT_TRAIN_SETTINGS, epochs: opts.epochs * opts.rounds, learningRate: opts.learningRate, dp: opts.dpNoise ? { clipNorm: 1, noiseMultiplier: opts.dpNoise, delta: 1e-5 } : null }, { frozenClasses: frozen });
    const c = score(central.weights);
    const last = rounds.at(-1)?.global ?? p0.accuracy;
    opts.log(`Centralised (${n} pooled images, ${opts.epochs * opts.rounds} epochs): ${(c.accuracy * 100).toFixed(2)}%; federated after ${opts.rounds} rounds: ${(last * 100).toFixed(2)}% (${((last - c.accuracy) * 100).toFixed(2)} points)`);
    const bySrc = (list: readonly SimItem[]): Record<string, number> => list.reduce<Record<string, number>>((a, i) => ((a[i.source] = (a[i.source] ?? 0) + 1), a), {});
    return {
      sites: sites.map((s, i) => ({
        site: s.name,
        images: split.sites[i]!.length,
        bySourceClass: Object.fromEntries(split.table.filter((t) => t.site === i).map((t) => [`${t.source}/${t.label}`, t.n])),
      })),
      reference: { n: refF.data.n, bySource: bySrc(split.reference) },
      parent: { model: modelId, ...p0 },
      rounds,
      centralised: { ...c, epochs: opts.epochs * opts.rounds, ms: central.ms },
      gapPoints: (last - c.accuracy) * 100,
      inProcessRoundMs,
      settings: { gate: opts.gate, sites: opts.sites, rounds: opts.rounds, rule: opts.rule, alpha: opts.alpha, seed: opts.seed, siteData: opts.siteData, sources: opts.sources, epochs: opts.epochs, learningRate: opts.learningRate, fedproxMu: opts.fedproxMu, dpNoise: opts.dpNoise },
      work,
      totalMs: performance.now() - t0,
    };
  } finally {
    await server?.close();
    for (const n of nodes) await n.ws.close();
    if (!opts.work && !opts.keep) fs.rmSync(work, { recursive: true, force: true });
  }
}
