// This workstation as a site of a federation: its identity (site id, Ed25519 key), its enrolment
// with a coordinator, local training of the head on one of its research data sets into a signed
// update package, the packages it built (exported as files or uploaded), pulling the global model
// with every hash checked, and scoring a candidate on its own held-out images.
import crypto from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import { WorkstationError, type LocalPackage, type LocalTrainingSettings, type TrainingProgress } from '../../contract';
import { appVersion } from '../config';
import { createCoordinatorClient, type CoordinatorClient } from './client';
import { audit, modelByCard, modelRef, nowIso, type Actor, type FederationDeps } from './deps';
import { extractFeatures, splitByKey } from './features';
import { scoreHead } from './gate';
import { parentHead, rebuildVersion } from './model-version';
import { buildPackage, headFromNpz, keyFingerprint, newSiteKey, sha256Hex, type Manifest, type ModelRef } from './package';
import { enrolmentSchema, type Confusion } from './protocol';
import { computeRdp, DEFAULT_ORDERS, epsilonFromRdp } from './rdp';
import { DEFAULT_TRAIN_SETTINGS, evaluateHead, trainHead, type TrainSettings } from './train-head';

/** Fraction of a site's labelled images kept out of training for its own metrics and evaluations. */
export const EVAL_FRACTION = 0.2;

export interface IdentityRow {
  site_id: string;
  public_key: string;
  coordinator_url: string | null;
  coordinator_cert: string | null;
  global_model: string | null;
  created_at: string;
  created_by: string;
}

interface OutboxRow {
  id: string;
  round: number;
  dataset_id: string;
  parent_model: string;
  sha256: string;
  manifest: string;
  package: Buffer;
  status: LocalPackage['status'];
  detail: string | null;
  created_at: string;
  created_by: string;
}

export interface TrainOptions {
  datasetId: string;
  round?: number | undefined;
  settings?: LocalTrainingSettings | undefined;
}

export function createSite(deps: FederationDeps) {
  const db = () => deps.db();
  const software = `tumorpredict-${appVersion()}`;

  function identity(): IdentityRow | null {
    return (db().prepare('SELECT site_id, public_key, coordinator_url, coordinator_cert, global_model, created_at, created_by FROM federation_identity WHERE id = 1').get() as IdentityRow | undefined) ?? null;
  }

  function requireIdentity(): IdentityRow {
    const id = identity();
    if (!id) throw new WorkstationError('CONFLICT', 'This workstation is not a federation site yet: an admin creates its site identity first.');
    return id;
  }

  async function createIdentity(siteId: string, actor: Actor): Promise<IdentityRow> {
    if (identity()) throw new WorkstationError('CONFLICT', `This workstation is already the site "${identity()!.site_id}".`);
    const key = newSiteKey();
    await deps.secrets.set('site-key', key.privateKeyPem);
    db().prepare('INSERT INTO federation_identity (id, site_id, public_key, created_at, created_by) VALUES (1, ?, ?, ?, ?)').run(siteId, key.publicKey, nowIso(deps), actor.username);
    audit(deps, actor, 'federation.identity.create', 'success', 'federation-site', siteId, { keyFingerprint: keyFingerprint(key.publicKey).slice(0, 16), secretsIn: await deps.secrets.where() });
    return identity()!;
  }

  async function enrol(text: string, actor: Actor): Promise<IdentityRow> {
    const me = requireIdentity();
    let parsed;
    try {
      parsed = enrolmentSchema.parse(JSON.parse(text));
    } catch (err) {
      throw new WorkstationError('INVALID_INPUT', 'The enrolment text is not one a coordinator made (it is JSON with the coordinator URL, its certificate, this site id and a token).', { cause: err });
    }
    if (parsed.siteId !== me.site_id) throw new WorkstationError('INVALID_INPUT', `The enrolment is for the site "${parsed.siteId}", but this workstation is "${me.site_id}".`);
    try {
      new crypto.X509Certificate(parsed.certificate);
    } catch (err) {
      throw new WorkstationError('INVALID_INPUT', "The enrolment's certificate cannot be read.", { cause: err });
    }
    await deps.secrets.set('site-token', parsed.token);
    db().prepare('UPDATE federation_identity SET coordinator_url = ?, coordinator_cert = ? WHERE id = 1').run(parsed.coordinatorUrl, parsed.certificate);
    audit(deps, actor, 'federation.enrol', 'success', 'federation-site', me.site_id, { coordinator: new URL(parsed.coordinatorUrl).host });
    return identity()!;
  }

  async function client(): Promise<CoordinatorClient> {
    const me = requireIdentity();
    const token = await deps.secrets.get('site-token');
    if (!me.coordinator_url || !me.coordinator_cert || !token) throw new WorkstationError('CONFLICT', 'This site is not enrolled with a coordinator: an admin pastes the enrolment text from the coordinating site first (or hand packages over as files).');
    return createCoordinatorClient({ url: me.coordinator_url, certificate: me.coordinator_cert, token });
  }

  function enrolled(): boolean {
    const me = identity();
    return !!(me?.coordinator_url && me.coordinator_cert);
  }

  /** Privacy spent by this site so far (its own ledger, RDP composed over every package it built). */
  function epsilon(): { epsilon: number | null; delta: number | null; rdp: number[] | null } {
    const me = identity();
    if (!me) return { epsilon: null, delta: null, rdp: null };
    const rows = db().prepare(`SELECT rdp, delta FROM federation_privacy WHERE side = 'site' AND site_id = ?`).all(me.site_id) as { rdp: string; delta: number }[];
    if (rows.length === 0) return { epsilon: null, delta: null, rdp: null };
    const rdp = rows.map((r) => JSON.parse(r.rdp) as number[]).reduce((a, b) => a.map((x, i) => x + b[i]!));
    const delta = Math.min(...rows.map((r) => r.delta));
    return { epsilon: epsilonFromRdp(rdp, delta).epsilon, delta, rdp };
  }

  function toDto(r: OutboxRow): LocalPackage {
    const m = JSON.parse(r.manifest) as Manifest;
    return {
      id: r.id,
      round: r.round,
      datasetId: r.dataset_id,
      parentModel: r.parent_model,
      sha256: r.sha256,
      status: r.status,
      detail: r.detail,
      samples: m.samples,
      classCounts: m.classCounts,
      before: m.metrics.before,
      after: m.metrics.after,
      epsilonRound: m.privacy?.epsilonRound ?? null,
      epsilonTotal: m.privacy?.epsilonTotal ?? null,
      bytes: r.package.length,
      trainingMs: 0,
      createdAt: r.created_at,
      createdBy: r.created_by,
    };
  }

  function outboxRow(id: string): OutboxRow {
    const r = db().prepare('SELECT * FROM federation_outbox WHERE id = ?').get(id) as OutboxRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', `There is no update package "${id.slice(0, 64)}" on this workstation.`);
    return r;
  }

  function outbox(): LocalPackage[] {
    return (db().prepare('SELECT * FROM federation_outbox ORDER BY created_at DESC').all() as OutboxRow[]).map(toDto);
  }

  /** The round to train for and its parent model here: from the coordinator, or (files) the given round on the active model. */
  async function target(round: number | undefined): Promise<{ round: number; parentId: string; parent: ModelRef; hints: LocalTrainingSettings }> {
    if (enrolled()) {
      const st = await (await client()).status();
      if (!st.round || st.round.state !== 'open') throw new WorkstationError('CONFLICT', 'The coordinator has no open round; there is nothing to train for now.');
      if (round !== undefined && round !== st.round.round) throw new WorkstationError('CONFLICT', `The coordinator's open round is ${st.round.round}, not ${round}.`);
      const local = await modelByCard(deps, st.round.parent.cardSha256);
      if (!local) throw new WorkstationError('CONFLICT', `Round ${st.round.round} trains ${st.round.parent.modelId} ${st.round.parent.version}, which this workstation does not have (no installed model has its card sha256). Pull the global model first.`);
      return { round: st.round.round, parentId: local, parent: st.round.parent, hints: st.round.training };
    }
    if (round === undefined) throw new WorkstationError('INVALID_INPUT', 'This site is not enrolled with a coordinator: say which round the package is for.');
    const id = (await deps.research.registry.activeModelId()) ?? deps.inference.status().defaultModel;
    if (!id) throw new WorkstationError('NOT_FOUND', 'No model is installed to train from.');
    return { round, parentId: id, parent: (await modelRef(deps, id)).ref, hints: {} };
  }

  async function train(opts: TrainOptions, actor: Actor, run: { signal?: AbortSignal | undefined; onProgress?: ((p: Omit<TrainingProgress, 'jobId'>) => void) | undefined } = {}): Promise<LocalPackage> {
    const me = requireIdentity();
    const key = await deps.secrets.get('site-key');
    if (!key) throw new WorkstationError('UNAVAILABLE', 'The site private key is not in the keychain (or the database) any more; no package can be signed. Create the site identity again and re-register it.');
    const t = await target(opts.round);
    const { model, ref } = await modelRef(deps, t.parentId);
    if (ref.cardSha256 !== t.parent.cardSha256) throw new WorkstationError('CONFLICT', `The installed ${t.parentId} is not the round's global model (its card differs).`);
    const init = parentHead(model);
    const items = deps.research.datasetItems(opts.datasetId);
    const progress = run.onProgress ?? (() => {});
    const f = await extractFeatures(deps, model, items, { signal: run.signal, onProgress: (p) => progress({ phase: 'features', done: p.done, total: p.total, loss: null, accuracy: null, message: null }) });
    if (f.data.n === 0) throw new WorkstationError('INVALID_INPUT', 'The data set has no image labelled with one of the model\'s classes (glioma, meningioma, notumor, pituitary).');
    const { train: trainSet, evaluation } = splitByKey(f, EVAL_FRACTION);
    const s = opts.settings ?? {};
    const settings: TrainSettings = {
      ...DEFAULT_TRAIN_SETTINGS,
      ...(t.hints.epochs ? { epochs: t.hints.epochs } : {}),
      ...(t.hints.learningRate ? { learningRate: t.hints.learningRate } : {}),
      ...(t.hints.fedproxMu !== undefined ? { fedproxMu: t.hints.fedproxMu } : {}),
      // A new seed each round (unless one is given): a round that changes nothing does not repeat the last one.
      seed: t.round,
      ...Object.fromEntries(Object.entries(s).filter(([k, v]) => v !== undefined && k !== 'dp')),
      dp: s.dp ?? null,
    };
    const frozen = model.spec.rejectClasses.map((c) => model.spec.classes.indexOf(c)).filter((i) => i >= 0);
    const before = evaluateHead(init, evaluation.n > 0 ? evaluation : trainSet);
    const result = await trainHead(init, trainSet, settings, {
      frozenClasses: frozen,
      signal: run.signal,
      onProgress: (p) => progress({ phase: 'training', done: p.epoch, total: p.epochs, loss: p.loss, accuracy: p.accuracy, message: null }),
    });
    const after = evaluateHead(result.weights, evaluation.n > 0 ? evaluation : trainSet);
    progress({ phase: 'packaging', done: 0, total: 1, loss: null, accuracy: after.accuracy, message: null });
    let privacy: Manifest['privacy'] = null;
    let rdp: number[] | null = null;
    if (settings.dp) {
      rdp = computeRdp(result.sampleRate, settings.dp.noiseMultiplier, result.steps);
      const prior = epsilon().rdp;
      const total = prior ? rdp.map((x, i) => x + prior[i]!) : rdp;
      privacy = {
        mechanism: 'dp-sgd',
        accountant: 'rdp-sampled-gaussian',
        clipNorm: settings.dp.clipNorm,
        noiseMultiplier: settings.dp.noiseMultiplier,
        delta: settings.dp.delta,
        sampleRate: result.sampleRate,
        steps: result.steps,
        epsilonRound: epsilonFromRdp(rdp, settings.dp.delta, DEFAULT_ORDERS).epsilon,
        epsilonTotal: epsilonFromRdp(total, settings.dp.delta, DEFAULT_ORDERS).epsilon,
      };
    }
    const counts: Record<string, number> = {};
    for (let i = 0; i < trainSet.n; i++) {
      const c = model.spec.classes[trainSet.y[i]!]!;
      counts[c] = (counts[c] ?? 0) + 1;
    }
    const built = buildPackage(
      {
        round: t.round,
        site: me.site_id,
        siteKey: keyFingerprint(me.public_key),
        parent: ref,
        head: { classes: model.spec.classes, dim: init.dim },
        samples: trainSet.n,
        classCounts: counts,
        metrics: { before, after, history: result.history },
        training: { optimizer: settings.optimizer, learningRate: settings.learningRate, momentum: settings.momentum, epochs: settings.epochs, batchSize: settings.batchSize, weightDecay: settings.weightDecay, seed: settings.seed, fedproxMu: settings.fedproxMu, frozenClasses: frozen.map((i) => model.spec.classes[i]!), steps: result.steps },
        privacy,
        createdAt: nowIso(deps).replace(/\.\d{3}Z$/, 'Z'),
        software,
      },
      result.weights,
      { privateKeyPem: key },
    );
    const id = crypto.randomUUID();
    db().transaction(() => {
      db()
        .prepare('INSERT INTO federation_outbox (id, round, dataset_id, parent_model, sha256, manifest, package, status, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, t.round, opts.datasetId, model.spec.id, built.sha256, JSON.stringify(built.manifest), Buffer.from(built.bytes), 'built', nowIso(deps), actor.username);
      if (privacy && rdp) {
        db()
          .prepare('INSERT INTO federation_privacy (side, site_id, round, ref, sample_rate, noise_multiplier, steps, delta, rdp, epsilon_round, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run('site', me.site_id, t.round, id, privacy.sampleRate, privacy.noiseMultiplier, privacy.steps, privacy.delta, JSON.stringify(rdp), privacy.epsilonRound, nowIso(deps));
      }
    })();
    audit(deps, actor, 'federation.train', 'success', 'federation-package', id, {
      round: t.round,
      dataset: opts.datasetId,
      samples: trainSet.n,
      extracted: f.extracted,
      cached: f.cached,
      accuracyBefore: before.accuracy,
      accuracyAfter: after.accuracy,
      epsilonRound: privacy?.epsilonRound ?? null,
    });
    progress({ phase: 'done', done: 1, total: 1, loss: null, accuracy: after.accuracy, message: null });
    return { ...toDto(outboxRow(id)), trainingMs: result.ms };
  }

  function exportPackage(id: string, actor: Actor): { filename: string; bytes: Buffer; sha256: string } {
    const r = outboxRow(id);
    const m = JSON.parse(r.manifest) as Manifest;
    audit(deps, actor, 'federation.package.export', 'success', 'federation-package', id, { round: r.round, bytes: r.package.length });
    return { filename: `update-${m.site}-round${r.round}-${r.sha256.slice(0, 8)}.zip`, bytes: r.package, sha256: r.sha256 };
  }

  async function upload(id: string, actor: Actor): Promise<LocalPackage> {
    const r = outboxRow(id);
    let answer;
    try {
      answer = await (await client()).sendPackage(r.package);
    } catch (err) {
      audit(deps, actor, 'federation.package.upload', 'failure', 'federation-package', id, { round: r.round });
      throw err;
    }
    db().prepare('UPDATE federation_outbox SET status = ?, detail = ?, sent_at = ? WHERE id = ?').run(answer.status, answer.reason, nowIso(deps), id);
    audit(deps, actor, 'federation.package.upload', answer.status === 'accepted' ? 'success' : 'refused', 'federation-package', id, { round: r.round, refusal: answer.refusal });
    return toDto(outboxRow(id));
  }

  /** Pulls the coordinator's global model; a version not installed here is rebuilt from its parent and every hash checked. */
  async function pullGlobal(actor: Actor): Promise<{ modelId: string; installed: boolean }> {
    const g = await (await client()).global();
    const card = Buffer.from(g.card, 'utf8');
    const npz = Buffer.from(g.npz, 'base64');
    const fail = (why: string): never => {
      audit(deps, actor, 'federation.global.pull', 'refused', 'model', g.global.modelId, { reason: why.slice(0, 120) });
      throw new WorkstationError('CONFLICT', `The global model ${g.global.modelId} ${g.global.version} was refused: ${why} Nothing was installed.`);
    };
    if (sha256Hex(card) !== g.global.cardSha256) fail('its model card does not match the sha256 the coordinator announced.');
    if (sha256Hex(npz) !== g.global.headSha256) fail("its head weights do not match the sha256 the coordinator announced.");
    const have = await modelByCard(deps, g.global.cardSha256);
    if (have) {
      db().prepare('UPDATE federation_identity SET global_model = ? WHERE id = 1').run(have);
      audit(deps, actor, 'federation.global.pull', 'success', 'model', have, { installed: false, round: g.global.round });
      return { modelId: have, installed: false };
    }
    const parsed = JSON.parse(g.card) as { id: string; federated?: { parent?: { card_sha256?: string; id?: string }; head_sha256?: string } };
    if (parsed.federated?.head_sha256 !== g.global.headSha256) fail("its card names a different head than the one sent.");
    const parentSha = parsed.federated?.parent?.card_sha256;
    const parentId = parentSha ? await modelByCard(deps, parentSha) : null;
    if (!parentId) fail(`this workstation does not have its parent ${parsed.federated?.parent?.id ?? '?'} (pull the earlier global versions first).`);
    const { model } = await modelRef(deps, parentId!);
    const head = headFromNpz(npz, model.spec.classes.length, model.spec.head!.dim);
    const staging = path.join(deps.dataFolder, 'federation', 'pulled', parsed.id);
    fs.rmSync(staging, { recursive: true, force: true });
    try {
      rebuildVersion(model, head, g.card, staging);
      const m = await deps.research.registry.install(staging, actor);
      db().prepare('UPDATE federation_identity SET global_model = ? WHERE id = 1').run(m.id);
      audit(deps, actor, 'federation.global.pull', 'success', 'model', m.id, { installed: true, round: g.global.round, cardSha256: g.global.cardSha256.slice(0, 16) });
      return { modelId: m.id, installed: true };
    } catch (err) {
      if (err instanceof WorkstationError) fail(err.message);
      throw err;
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }

  /** Scores the open round's candidate against the current global on this site's held-out images; sends confusion matrices only. */
  async function evaluateCandidate(actor: Actor): Promise<{ round: number; current: number | null; candidate: number | null; n: number }> {
    const c = await client();
    const st = await c.status();
    if (!st.round || st.round.state !== 'evaluating') throw new WorkstationError('CONFLICT', 'The coordinator is not waiting for site evaluations now.');
    const n = st.round.round;
    const sent = db().prepare(`SELECT dataset_id FROM federation_outbox WHERE round = ? AND status = 'accepted' ORDER BY created_at DESC LIMIT 1`).get(n) as { dataset_id: string } | undefined;
    if (!sent) throw new WorkstationError('CONFLICT', `This site has no accepted package in round ${n}, so it has nothing to evaluate on.`);
    const cand = await c.candidate(n);
    const npz = Buffer.from(cand.npz, 'base64');
    if (sha256Hex(npz) !== cand.headSha256) throw new WorkstationError('CONFLICT', "The candidate's head does not match the sha256 the coordinator announced; nothing was evaluated.");
    const local = await modelByCard(deps, st.round.parent.cardSha256);
    if (!local) throw new WorkstationError('CONFLICT', "This workstation does not have the round's global model.");
    const { model } = await modelRef(deps, local);
    const f = await extractFeatures(deps, model, deps.research.datasetItems(sent.dataset_id));
    const { evaluation } = splitByKey(f, EVAL_FRACTION);
    const a = scoreHead(model.spec, parentHead(model), evaluation);
    const b = scoreHead(model.spec, headFromNpz(npz, model.spec.classes.length, model.spec.head!.dim), evaluation);
    const strip = (x: Confusion): Confusion => ({ rows: x.rows, cols: x.cols, matrix: x.matrix });
    await c.sendEvaluation(n, strip(a.confusion), strip(b.confusion));
    audit(deps, actor, 'federation.evaluation.send', 'success', 'federation-round', String(n), { n: evaluation.n });
    return { round: n, current: a.accuracy, candidate: b.accuracy, n: evaluation.n };
  }

  return { identity, requireIdentity, createIdentity, enrol, enrolled, client, epsilon, outbox, outboxRow, train, exportPackage, upload, pullGlobal, evaluateCandidate };
}

export type Site = ReturnType<typeof createSite>;
