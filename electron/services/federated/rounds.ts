// A round's life after collecting: screen and merge the accepted packages into a candidate head,
// gate it on the reference set (and on the sites' confusion matrices when asked), let an admin
// approve it into the model registry as a new version or reject it, roll an approved round back,
// and serve the candidate and the global model to sites. Every step is an audit row.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import { merge, screenUpdates, type SiteUpdate } from './aggregate';
import type { Coordinator, RoundRow } from './coordinator';
import { audit, modelRef, nowIso, type Actor, type FederationDeps } from './deps';
import { extractFeatures } from './features';
import { runGate, scoreHead, type GateResult, type SiteEvaluation } from './gate';
import type { HeadWeights } from './model-head';
import { parentHead, writeHeadVersion } from './model-version';
import { headArrays, headFromNpz, openPackage, sha256Hex, type Manifest } from './package';
import type { Confusion } from './protocol';
import type { FeatureSet } from './train-head';

export interface Aggregation {
  rule: string;
  shares: Record<string, number>;
  outvoted: { site: string; reason: string }[];
  merged: { site: string; samples: number }[];
}

export function createRounds(deps: FederationDeps, coord: Coordinator) {
  const db = () => deps.db();

  async function referenceSet(modelId: string, signal?: AbortSignal): Promise<FeatureSet> {
    const c = coord.requireSetup();
    if (!c.reference_dataset) throw new WorkstationError('CONFLICT', 'No reference data set is chosen for the validation gate.');
    const { model } = await modelRef(deps, modelId);
    const items = deps.research.datasetItems(c.reference_dataset);
    const f = await extractFeatures(deps, model, items, { signal });
    if (f.data.n === 0) throw new WorkstationError('CONFLICT', 'The reference data set has no image labelled with one of the model\'s classes.');
    return f.data;
  }

  function setState(n: number, fields: Partial<RoundRow>): void {
    const keys = Object.keys(fields);
    db()
      .prepare(`UPDATE federation_rounds SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE round = @round`)
      .run({ ...fields, round: n });
  }

  function acceptedUpdates(r: RoundRow, parent: HeadWeights): { updates: SiteUpdate[]; ids: Map<string, string> } {
    const rows = db().prepare(`SELECT id, site_id, package FROM federation_packages WHERE round = ? AND status = 'accepted' ORDER BY received_at`).all(r.round) as { id: string; site_id: string; package: Buffer }[];
    const ids = new Map<string, string>();
    const updates = rows.map((row) => {
      const p = openPackage(row.package);
      ids.set(row.site_id, row.id);
      return { site: row.site_id, samples: p.manifest.samples, weights: headFromNpz(p.weightsBytes, parent.classes, parent.dim) };
    });
    return { updates, ids };
  }

  function siteEvaluations(n: number): SiteEvaluation[] {
    return (db().prepare('SELECT site_id, current, candidate FROM federation_evaluations WHERE round = ? ORDER BY site_id').all(n) as { site_id: string; current: string; candidate: string }[]).map((e) => ({
      site: e.site_id,
      current: JSON.parse(e.current) as Confusion,
      candidate: JSON.parse(e.candidate) as Confusion,
    }));
  }

  async function gate(n: number, actor: Actor): Promise<RoundRow> {
    const r = coord.round(n);
    if (!r.candidate) throw new WorkstationError('CONFLICT', `Round ${n} has no merged candidate to gate.`);
    const { model } = await modelRef(deps, r.parent_model);
    const parent = parentHead(model);
    const cand = headFromNpz(r.candidate, parent.classes, parent.dim);
    const settings = coord.settingsOf(r);
    const result = runGate(model.spec, parent, cand, await referenceSet(r.parent_model), settings.gate, siteEvaluations(n));
    setState(n, { state: result.passed ? 'candidate' : 'gate-failed', gate: JSON.stringify(result) });
    audit(deps, actor, 'federation.round.gate', result.passed ? 'success' : 'refused', 'federation-round', String(n), {
      passed: result.passed,
      accuracyCurrent: result.current.accuracy,
      accuracyCandidate: result.candidate.accuracy,
      failed: result.checks.filter((c) => !c.passed).map((c) => c.name).join('; ') || null,
    });
    return coord.round(n);
  }

  /** Merges the round's accepted packages ("trigger aggregation"), then gates (or waits for site evaluations). */
  async function aggregate(n: number, actor: Actor): Promise<RoundRow> {
    const r = coord.round(n);
    if (r.state === 'evaluating') return gate(n, actor); // close the evaluation with what arrived
    if (r.state !== 'open') throw new WorkstationError('CONFLICT', `Round ${n} is ${r.state}; only an open round can be aggregated.`);
    const settings = coord.settingsOf(r);
    const { model } = await modelRef(deps, r.parent_model);
    const parent = parentHead(model);
    const { updates, ids } = acceptedUpdates(r, parent);
    if (updates.length === 0) throw new WorkstationError('CONFLICT', `Round ${n} has no accepted package yet; nothing to aggregate.`);
    const screened = screenUpdates(parent, updates, { normRatio: settings.normRatio });
    const outvoted = [...screened.outvoted];
    let kept = screened.kept;
    // Each update alone on the reference set: one that makes the global head much worse (a
    // poisoned or broken site) is outvoted with its figures, whatever the merge rule.
    const reference = await referenceSet(r.parent_model);
    const base = scoreHead(model.spec, parent, reference).accuracy ?? 0;
    kept = kept.filter((u) => {
      const acc = scoreHead(model.spec, u.weights, reference).accuracy ?? 0;
      if (base - acc > settings.referenceMargin) {
        outvoted.push({ site: u.site, reason: `applied alone, its update scores ${(acc * 100).toFixed(1)}% on the reference set against ${(base * 100).toFixed(1)}% for the current global model (more than ${(settings.referenceMargin * 100).toFixed(0)} points worse)` });
        return false;
      }
      return true;
    });
    if (kept.length === 0) {
      setState(n, { state: 'failed', closed_at: nowIso(deps), aggregation: JSON.stringify({ rule: settings.rule, shares: {}, outvoted, merged: [] } satisfies Aggregation), note: 'Every package was outvoted.' });
      for (const o of outvoted) db().prepare(`UPDATE federation_packages SET status = 'outvoted', reason = ? WHERE id = ?`).run(o.reason, ids.get(o.site));
      audit(deps, actor, 'federation.round.aggregate', 'failure', 'federation-round', String(n), { merged: 0, outvoted: outvoted.length });
      return coord.round(n);
    }
    const merged = merge(parent, kept, { rule: settings.rule, maxShare: settings.maxShare, trim: settings.trim });
    const npz = headArrays(merged.weights);
    const aggregation: Aggregation = { rule: settings.rule, shares: merged.shares, outvoted, merged: kept.map((u) => ({ site: u.site, samples: u.samples })) };
    db().transaction(() => {
      for (const u of kept) db().prepare(`UPDATE federation_packages SET status = 'merged' WHERE id = ?`).run(ids.get(u.site));
      for (const o of outvoted) db().prepare(`UPDATE federation_packages SET status = 'outvoted', reason = ? WHERE id = ?`).run(o.reason, ids.get(o.site));
      // 'evaluating' until the gate has run: a gate that fails to run leaves the round to gate again.
      setState(n, { candidate: Buffer.from(npz), candidate_sha256: sha256Hex(npz), aggregation: JSON.stringify(aggregation), closed_at: nowIso(deps), state: 'evaluating' });
    })();
    audit(deps, actor, 'federation.round.aggregate', 'success', 'federation-round', String(n), { rule: settings.rule, merged: kept.length, outvoted: outvoted.length });
    if (settings.siteEvaluation) return coord.round(n);
    return gate(n, actor);
  }

  /** Closes rounds that reached their quorum or deadline (the coordinator service calls this). */
  async function tick(actor: Actor): Promise<RoundRow | null> {
    const r = coord.activeRound();
    if (!r) return null;
    const settings = coord.settingsOf(r);
    const now = deps.now ? deps.now() : new Date();
    const late = r.deadline !== null && now.getTime() >= Date.parse(r.deadline);
    if (r.state === 'open') {
      const accepted = (db().prepare(`SELECT count(*) AS n FROM federation_packages WHERE round = ? AND status = 'accepted'`).get(r.round) as { n: number }).n;
      if (accepted >= settings.quorum || (late && accepted > 0)) return aggregate(r.round, actor);
      if (late) {
        setState(r.round, { state: 'failed', closed_at: now.toISOString(), note: 'The deadline passed without an accepted package.' });
        audit(deps, actor, 'federation.round.deadline', 'failure', 'federation-round', String(r.round));
        return coord.round(r.round);
      }
    } else if (r.state === 'evaluating') {
      const agg = JSON.parse(r.aggregation ?? '{}') as Aggregation;
      const got = siteEvaluations(r.round).length;
      if (!settings.siteEvaluation || got >= (agg.merged?.length ?? 0) || late) return gate(r.round, actor);
    }
    return null;
  }

  function receiveEvaluation(n: number, siteId: string, current: Confusion, candidate: Confusion, actor: Actor): void {
    const r = coord.round(n);
    if (r.state !== 'evaluating') throw new WorkstationError('CONFLICT', `Round ${n} is not waiting for site evaluations (it is ${r.state}).`);
    db().prepare('INSERT OR REPLACE INTO federation_evaluations (round, site_id, current, candidate, received_at) VALUES (?, ?, ?, ?, ?)').run(n, siteId, JSON.stringify(current), JSON.stringify(candidate), nowIso(deps));
    audit(deps, actor, 'federation.evaluation.receive', 'success', 'federation-round', String(n), { site: siteId });
  }

  function versionName(parentId: string, parentVersion: string, n: number): { id: string; version: string } {
    const root = parentId.replace(/-fed\d+$/, '');
    const rootVersion = parentVersion.replace(/-fed\.\d+$/, '');
    return { id: `${root}-fed${n}`, version: `${rootVersion}-fed.${n}` };
  }

  async function approve(n: number, opts: { activate?: boolean | undefined }, actor: Actor): Promise<RoundRow> {
    const r = coord.round(n);
    if (r.state === 'gate-failed') throw new WorkstationError('CONFLICT', `Round ${n}'s candidate did not pass the validation gate and cannot be approved.`);
    if (r.state !== 'candidate') throw new WorkstationError('CONFLICT', `Round ${n} is ${r.state}; only a candidate that passed the gate can be approved.`);
    const c = coord.requireSetup();
    if (c.global_model !== r.parent_model) throw new WorkstationError('CONFLICT', `The global model changed since round ${n} opened (now ${c.global_model}); this candidate was built on ${r.parent_model}.`);
    const { model, ref } = await modelRef(deps, r.parent_model);
    const parent = parentHead(model);
    const cand = headFromNpz(r.candidate!, parent.classes, parent.dim);
    const gateResult = JSON.parse(r.gate!) as GateResult;
    const agg = JSON.parse(r.aggregation!) as Aggregation;
    const name = versionName(model.spec.id, model.spec.version, n);
    const ds = deps.research.getDataset(c.reference_dataset!);
    const packages = coord.packages(n).filter((p) => p.status === 'merged').map((p) => ({ site: p.site_id, sha256: p.sha256, samples: p.samples }));
    const perClass = Object.fromEntries(Object.entries(gateResult.candidate.recall).map(([cls, recall]) => [cls, { recall }]));
    const staging = path.join(deps.dataFolder, 'federation', 'versions', name.id);
    fs.rmSync(staging, { recursive: true, force: true });
    writeHeadVersion(model, cand, staging, {
      ...name,
      federated: { round: n, rule: agg.rule, sites: agg.merged.map((m) => ({ site: m.site, samples: m.samples, share: agg.shares[m.site] ?? null })), outvoted: agg.outvoted, packages, gate: { passed: gateResult.passed, checks: gateResult.checks, settings: gateResult.settings }, approved_by: actor.username, approved_at: nowIso(deps) },
      metrics: {
        source: `federated validation gate: reference data set "${ds.name}" (content sha256 ${ds.contentHash}) held at the coordinator, never trained on`,
        validation_classification: { n: gateResult.n, accuracy: gateResult.candidate.accuracy, per_class: perClass, confusion_matrix: gateResult.candidate.confusion, parent_accuracy_same_set: gateResult.current.accuracy },
      },
      summary: `Round ${n} of federated training replaced only the classification head of ${model.spec.id} ${model.spec.version} (parent card sha256 ${ref.cardSha256}). Merged by ${agg.rule} from ${agg.merged.length} site(s) (${agg.merged.map((m) => `${m.site}: ${m.samples} images`).join(', ')}). On the coordinator's reference set (${gateResult.n} images) accuracy ${((gateResult.candidate.accuracy ?? 0) * 100).toFixed(1)}% against ${((gateResult.current.accuracy ?? 0) * 100).toFixed(1)}% for the parent; the validation gate passed. Approved by ${actor.username}. Not a medical device.`,
    });
    let installed;
    try {
      installed = await deps.research.registry.install(staging, actor);
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    db().transaction(() => {
      setState(n, { state: 'approved', model_id: installed.id, model_version: installed.version, model_card_sha256: installed.cardSha256, decided_at: nowIso(deps), decided_by: actor.username });
      db().prepare('UPDATE federation_coordinator SET global_model = ?, updated_at = ?, updated_by = ? WHERE id = 1').run(installed.id, nowIso(deps), actor.username);
    })();
    audit(deps, actor, 'federation.round.approve', 'success', 'federation-round', String(n), { model: installed.id, version: installed.version, activate: !!opts.activate });
    if (opts.activate) await deps.research.registry.activate(installed.id, actor);
    return coord.round(n);
  }

  function reject(n: number, reason: string, actor: Actor): RoundRow {
    const r = coord.round(n);
    if (!['candidate', 'gate-failed', 'evaluating', 'open'].includes(r.state)) throw new WorkstationError('CONFLICT', `Round ${n} is ${r.state}; it cannot be rejected now.`);
    setState(n, { state: 'rejected', decided_at: nowIso(deps), decided_by: actor.username, note: reason, closed_at: r.closed_at ?? nowIso(deps) });
    audit(deps, actor, 'federation.round.reject', 'success', 'federation-round', String(n), { previous: r.state });
    return coord.round(n);
  }

  async function rollback(n: number, actor: Actor): Promise<RoundRow> {
    const r = coord.round(n);
    if (r.state !== 'approved') throw new WorkstationError('CONFLICT', `Round ${n} is ${r.state}; only an approved round can be rolled back.`);
    const c = coord.requireSetup();
    if (c.global_model !== r.model_id) throw new WorkstationError('CONFLICT', `Round ${n}'s model ${r.model_id} is no longer the global model (${c.global_model}); roll back the later round first.`);
    const wasActive = (await deps.research.registry.activeModelId()) === r.model_id;
    db().transaction(() => {
      setState(n, { state: 'rolled-back', note: `Rolled back by ${actor.username} at ${nowIso(deps)}.` });
      db().prepare('UPDATE federation_coordinator SET global_model = ?, updated_at = ?, updated_by = ? WHERE id = 1').run(r.parent_model, nowIso(deps), actor.username);
    })();
    if (wasActive) await deps.research.registry.activate(r.parent_model, actor);
    audit(deps, actor, 'federation.round.rollback', 'success', 'federation-round', String(n), { model: r.model_id, backTo: r.parent_model, clinical: wasActive });
    return coord.round(n);
  }

  /** The candidate head for sites to evaluate (only while the round waits for evaluations). */
  function candidateFor(n: number): { round: number; headSha256: string; npz: string; parent: Manifest['parent'] } {
    const r = coord.round(n);
    if (r.state !== 'evaluating' || !r.candidate) throw new WorkstationError('CONFLICT', `Round ${n} has no candidate waiting for site evaluations.`);
    return { round: n, headSha256: r.candidate_sha256!, npz: r.candidate.toString('base64'), parent: coord.roundInfo(r, null).parent };
  }

  /** The current global model for sites: its card bytes and its head. */
  async function globalFor(): Promise<{ global: Awaited<ReturnType<Coordinator['globalRef']>>; card: string; npz: string }> {
    const g = await coord.globalRef();
    const { model } = await modelRef(deps, g.modelId);
    const card = fs.readFileSync(path.join(model.dir, 'model-card.json'), 'utf8');
    return { global: g, card, npz: Buffer.from(headArrays(parentHead(model))).toString('base64') };
  }

  return { aggregate, gate, tick, receiveEvaluation, approve, reject, rollback, candidateFor, globalFor, referenceSet };
}

export type Rounds = ReturnType<typeof createRounds>;
