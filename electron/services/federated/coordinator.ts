// The coordinating site: its setup (reference set, address, HTTPS certificate, the current global
// model), the registered sites and their tokens, rounds, and the verification of every package
// that arrives (signature against the site's registered key, round, parent, shapes, NaN/Inf,
// update norm, counts), each refusal stored and audited with its reason.
import crypto from 'node:crypto';
import { DEFAULT_ROUND_SETTINGS, WorkstationError, roundSettingsSchema, type ReceivedPackage, type RoundSettings } from '../../contract';
import { audit, modelRef, nowIso, type Actor, type FederationDeps } from './deps';
import { parentHead } from './model-version';
import { headFromNpz, keyFingerprint, openPackage, publicKeyFromRaw, sha256Hex, signatureValid, type Manifest, type ModelRef } from './package';
import { ENROLMENT_FORMAT, type Enrolment, type RoundInfo } from './protocol';
import { computeRdp, DEFAULT_ORDERS, epsilonFromRdp } from './rdp';
import { updateNorm } from './train-head';
import { selfSignedCertificate } from './x509';

export interface CoordinatorRow {
  reference_dataset: string | null;
  public_url: string | null;
  certificate: string | null;
  global_model: string;
}

export interface RoundRow {
  round: number;
  state: RoundInfo['state'];
  parent_model: string;
  parent_version: string;
  parent_card_sha256: string;
  parent_head_sha256: string;
  settings: string;
  deadline: string | null;
  opened_at: string;
  opened_by: string;
  candidate: Buffer | null;
  candidate_sha256: string | null;
  aggregation: string | null;
  gate: string | null;
  model_id: string | null;
  model_version: string | null;
  model_card_sha256: string | null;
  closed_at: string | null;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
}

export interface SiteRow {
  site_id: string;
  name: string;
  public_key: string;
  token_sha256: string;
  status: 'active' | 'revoked';
  registered_at: string;
  registered_by: string;
}

export interface PackageRow {
  id: string;
  round: number | null;
  site_id: string | null;
  sha256: string;
  status: ReceivedPackage['status'];
  reason: string | null;
  samples: number | null;
  epsilon: number | null;
  manifest: string | null;
  package: Buffer | null;
  via: 'https' | 'file';
  received_at: string;
}

export const ACTIVE_STATES = ['open', 'evaluating', 'candidate'] as const;

export function tokenHash(token: string): string {
  return sha256Hex(`tumorpredict-federation-token:${token}`);
}

export function createCoordinator(deps: FederationDeps) {
  const db = () => deps.db();

  function row(): CoordinatorRow | null {
    return (db().prepare('SELECT reference_dataset, public_url, certificate, global_model FROM federation_coordinator WHERE id = 1').get() as CoordinatorRow | undefined) ?? null;
  }

  function requireSetup(): CoordinatorRow {
    const r = row();
    if (!r) throw new WorkstationError('CONFLICT', 'This workstation does not coordinate a federation yet: an admin sets it up first (reference data set and address).');
    return r;
  }

  async function globalRef(): Promise<ModelRef & { round: number }> {
    const r = requireSetup();
    const { ref } = await modelRef(deps, r.global_model);
    const last = db().prepare(`SELECT round FROM federation_rounds WHERE state = 'approved' AND model_id = ? ORDER BY round DESC LIMIT 1`).get(r.global_model) as { round: number } | undefined;
    return { ...ref, round: last?.round ?? 0 };
  }

  async function setup(opts: { referenceDatasetId: string; publicUrl?: string | undefined; globalModelId?: string | undefined }, actor: Actor): Promise<CoordinatorRow> {
    const ds = deps.research.getDataset(opts.referenceDatasetId);
    const existing = row();
    const global = opts.globalModelId ?? existing?.global_model ?? (await deps.research.registry.activeModelId()) ?? deps.inference.status().defaultModel;
    if (!global) throw new WorkstationError('CONFLICT', 'No model is installed to start the federation from.');
    const { model } = await modelRef(deps, global);
    parentHead(model); // refuses a model without a head entry, with the reason
    const url = opts.publicUrl ?? existing?.public_url ?? null;
    let cert = existing?.certificate ?? null;
    if (!cert || (opts.publicUrl && opts.publicUrl !== existing?.public_url) || !(await deps.secrets.get('tls-key'))) {
      const host = url ? new URL(url).hostname.replace(/^\[|\]$/g, '') : null;
      const made = selfSignedCertificate({ commonName: 'TumorPredict federation coordinator', hosts: [...new Set(['127.0.0.1', 'localhost', '::1', ...(host ? [host] : [])])], days: 825 });
      await deps.secrets.set('tls-key', made.privateKeyPem);
      cert = made.certificatePem;
    }
    const t = nowIso(deps);
    db()
      .prepare(
        `INSERT INTO federation_coordinator (id, reference_dataset, public_url, certificate, global_model, updated_at, updated_by) VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET reference_dataset = excluded.reference_dataset, public_url = excluded.public_url, certificate = excluded.certificate, global_model = excluded.global_model, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .run(ds.id, url, cert, model.spec.id, t, actor.username);
    audit(deps, actor, 'federation.setup', 'success', 'federation', 'coordinator', { referenceItems: ds.items, globalModel: model.spec.id });
    return requireSetup();
  }

  function sites(): SiteRow[] {
    return db().prepare('SELECT * FROM federation_sites ORDER BY site_id').all() as SiteRow[];
  }

  function site(siteId: string): SiteRow | null {
    return (db().prepare('SELECT * FROM federation_sites WHERE site_id = ?').get(siteId) as SiteRow | undefined) ?? null;
  }

  function registerSite(opts: { siteId: string; name: string; publicKey: string }, actor: Actor): { site: SiteRow; enrolment: string } {
    const r = requireSetup();
    if (!r.public_url) throw new WorkstationError('CONFLICT', 'Set the address sites reach this coordinator at (https://host:port) before registering sites.');
    if (site(opts.siteId)) throw new WorkstationError('CONFLICT', `A site "${opts.siteId}" is registered already; revoke it first to register a new key.`);
    publicKeyFromRaw(opts.publicKey); // refuses anything but a 32-byte Ed25519 key, with the reason
    const token = crypto.randomBytes(32).toString('base64url');
    db()
      .prepare('INSERT INTO federation_sites (site_id, name, public_key, token_sha256, status, registered_at, registered_by) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(opts.siteId, opts.name, opts.publicKey, tokenHash(token), 'active', nowIso(deps), actor.username);
    audit(deps, actor, 'federation.site.register', 'success', 'federation-site', opts.siteId, { keyFingerprint: keyFingerprint(opts.publicKey).slice(0, 16) });
    const enrolment: Enrolment = { format: ENROLMENT_FORMAT, coordinatorUrl: r.public_url, certificate: r.certificate!, siteId: opts.siteId, token };
    return { site: site(opts.siteId)!, enrolment: JSON.stringify(enrolment, null, 1) };
  }

  function revokeSite(siteId: string, actor: Actor): SiteRow {
    if (!site(siteId)) throw new WorkstationError('NOT_FOUND', `No site "${siteId}" is registered.`);
    db().prepare(`UPDATE federation_sites SET status = 'revoked' WHERE site_id = ?`).run(siteId);
    audit(deps, actor, 'federation.site.revoke', 'success', 'federation-site', siteId);
    return site(siteId)!;
  }

  /** The site a bearer token belongs to (active sites only). */
  function siteForToken(token: string): SiteRow | null {
    const s = (db().prepare('SELECT * FROM federation_sites WHERE token_sha256 = ?').get(tokenHash(token)) as SiteRow | undefined) ?? null;
    return s && s.status === 'active' ? s : null;
  }

  function rounds(): RoundRow[] {
    return db().prepare('SELECT * FROM federation_rounds ORDER BY round DESC').all() as RoundRow[];
  }

  function round(n: number): RoundRow {
    const r = db().prepare('SELECT * FROM federation_rounds WHERE round = ?').get(n) as RoundRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', `There is no round ${n}.`);
    return r;
  }

  function activeRound(): RoundRow | null {
    return (db().prepare(`SELECT * FROM federation_rounds WHERE state IN ('open', 'evaluating', 'candidate') ORDER BY round DESC LIMIT 1`).get() as RoundRow | undefined) ?? null;
  }

  function settingsOf(r: RoundRow): RoundSettings {
    return roundSettingsSchema.parse(JSON.parse(r.settings));
  }

  async function openRound(partial: Partial<RoundSettings> | undefined, actor: Actor): Promise<RoundRow> {
    const c = requireSetup();
    if (!c.reference_dataset) throw new WorkstationError('CONFLICT', 'Choose the reference data set the gate scores on before opening a round.');
    const busy = activeRound();
    if (busy) throw new WorkstationError('CONFLICT', `Round ${busy.round} is still ${busy.state}; finish it (aggregate, approve or reject) before opening another.`);
    const settings = roundSettingsSchema.parse({ ...DEFAULT_ROUND_SETTINGS, ...partial, gate: { ...DEFAULT_ROUND_SETTINGS.gate, ...partial?.gate }, training: { ...DEFAULT_ROUND_SETTINGS.training, ...partial?.training } });
    const parent = await globalRef();
    const n = ((db().prepare('SELECT max(round) AS m FROM federation_rounds').get() as { m: number | null }).m ?? 0) + 1;
    const t = deps.now ? deps.now() : new Date();
    const deadline = settings.deadlineMinutes ? new Date(t.getTime() + settings.deadlineMinutes * 60_000).toISOString() : null;
    db()
      .prepare(
        `INSERT INTO federation_rounds (round, state, parent_model, parent_version, parent_card_sha256, parent_head_sha256, settings, deadline, opened_at, opened_by)
         VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(n, parent.modelId, parent.version, parent.cardSha256, parent.headSha256, JSON.stringify(settings), deadline, t.toISOString(), actor.username);
    audit(deps, actor, 'federation.round.open', 'success', 'federation-round', String(n), { parent: parent.modelId, rule: settings.rule, quorum: settings.quorum });
    return round(n);
  }

  function packages(roundNo?: number): PackageRow[] {
    return (roundNo === undefined ? db().prepare('SELECT * FROM federation_packages ORDER BY received_at DESC').all() : db().prepare('SELECT * FROM federation_packages WHERE round = ? ORDER BY received_at').all(roundNo)) as PackageRow[];
  }

  /**
   * Verifies and stores one package. Never throws for a bad package: the refusal, its reason and
   * a machine-readable code are stored, audited and returned (the HTTPS answer and the page show them).
   */
  async function receive(bytes: Uint8Array, via: 'https' | 'file', sender: SiteRow | null, actor: Actor): Promise<{ row: PackageRow; refusal: string | null }> {
    const sha = sha256Hex(bytes);
    const id = crypto.randomUUID();
    let manifest: Manifest | null = null;
    const refuse = (code: string, reason: string): { row: PackageRow; refusal: string } => {
      db()
        .prepare('INSERT INTO federation_packages (id, round, site_id, sha256, status, reason, samples, epsilon, manifest, package, via, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?)')
        .run(id, manifest?.round ?? null, manifest?.site ?? sender?.site_id ?? null, sha, 'refused', reason, manifest?.samples ?? null, manifest ? JSON.stringify(manifest) : null, via, nowIso(deps));
      audit(deps, actor, 'federation.package.receive', 'refused', 'federation-package', id, { refusal: code, site: manifest?.site ?? sender?.site_id ?? null, round: manifest?.round ?? null, via });
      deps.logger.warn('federation.package.refused', { package: id, refusal: code });
      return { row: db().prepare('SELECT * FROM federation_packages WHERE id = ?').get(id) as PackageRow, refusal: code };
    };
    let opened;
    try {
      opened = openPackage(bytes);
    } catch (err) {
      if (err instanceof WorkstationError) return refuse(String(err.details?.refusal ?? 'not-a-package'), err.message);
      throw err;
    }
    manifest = opened.manifest;
    const m = manifest;
    const s = site(m.site);
    if (!s) return refuse('unknown-site', `No site "${m.site}" is registered with this coordinator; the package was not read further.`);
    if (s.status !== 'active') return refuse('revoked', `The site "${m.site}" was revoked; its packages are no longer accepted.`);
    if (sender && sender.site_id !== m.site) return refuse('wrong-sender', `The package says it comes from site "${m.site}" but was sent with the token of site "${sender.site_id}".`);
    const registered = keyFingerprint(s.public_key);
    if (m.siteKey !== registered) return refuse('unknown-key', `The package is signed with a key (fingerprint ${m.siteKey.slice(0, 16)}…) that is not the one registered for site "${m.site}" (${registered.slice(0, 16)}…).`);
    if (!signatureValid(opened, s.public_key)) return refuse('signature', `The manifest's signature does not verify against the key registered for site "${m.site}": the package was changed after signing, or signed by someone else.`);
    const dup = db().prepare(`SELECT id, round, status FROM federation_packages WHERE sha256 = ? AND status != 'refused'`).get(sha) as { id: string; round: number; status: string } | undefined;
    if (dup) return refuse('replay', `This exact package was received before (round ${dup.round}, ${dup.status}); a package counts once.`);
    const open = activeRound();
    if (!open || open.state !== 'open') return refuse('no-open-round', open ? `Round ${open.round} no longer collects packages (it is ${open.state}).` : 'No round is open on this coordinator.');
    if (m.round < open.round) return refuse('replay', `The package is for round ${m.round}, which is closed; the open round is ${open.round} (a replayed or late package).`);
    if (m.round > open.round) return refuse('wrong-round', `The package is for round ${m.round}, but the open round is ${open.round}.`);
    const already = db().prepare(`SELECT id FROM federation_packages WHERE round = ? AND site_id = ? AND status = 'accepted'`).get(open.round, m.site);
    if (already) return refuse('duplicate-site', `Site "${m.site}" already has an accepted package in round ${open.round}; one package per site and round.`);
    if (m.parent.cardSha256 !== open.parent_card_sha256 || m.parent.headSha256 !== open.parent_head_sha256) {
      return refuse('parent', `The package was trained from ${m.parent.modelId} ${m.parent.version} (card ${m.parent.cardSha256.slice(0, 12)}…), but round ${open.round}'s global model is ${open.parent_model} ${open.parent_version} (card ${open.parent_card_sha256.slice(0, 12)}…). Pull the current global model and train again.`);
    }
    const settings = settingsOf(open);
    const { model } = await modelRef(deps, open.parent_model);
    const parent = parentHead(model);
    if (m.head.dim !== parent.dim || m.head.classes.length !== parent.classes || m.head.classes.some((c, i) => c !== model.spec.classes[i])) {
      return refuse('shape', `The package's head is [${m.head.classes.length}, ${m.head.dim}] over ${m.head.classes.join(', ')}; the global model's is [${parent.classes}, ${parent.dim}] over ${model.spec.classes.join(', ')}.`);
    }
    let head;
    try {
      head = headFromNpz(opened.weightsBytes, parent.classes, parent.dim);
    } catch (err) {
      return refuse('shape', err instanceof WorkstationError ? err.message : 'The weights file could not be read.');
    }
    let nonFinite = 0;
    for (const v of head.weight) if (!Number.isFinite(v)) nonFinite++;
    for (const v of head.bias) if (!Number.isFinite(v)) nonFinite++;
    if (nonFinite > 0) return refuse('not-finite', `The head holds ${nonFinite} NaN or infinite value(s).`);
    const counted = Object.values(m.classCounts).reduce((a, b) => a + b, 0);
    if (counted !== m.samples) return refuse('counts', `The manifest's class counts add up to ${counted}, not to its ${m.samples} samples.`);
    if (Object.keys(m.classCounts).some((c) => !model.spec.reportedClasses.includes(c))) return refuse('counts', `The manifest counts a class the model does not report (${Object.keys(m.classCounts).join(', ')}).`);
    if (m.samples < settings.minSamples) return refuse('too-few', `The package was trained on ${m.samples} images; the round asks for at least ${settings.minSamples}.`);
    const norm = updateNorm(head, parent);
    const own = updateNorm(parent, { ...parent, weight: new Float32Array(parent.weight.length), bias: new Float32Array(parent.bias.length) });
    if (norm > settings.maxRelativeUpdate * own) {
      return refuse('norm', `The update's norm (L2 distance of the new head from the global one) is ${norm.toFixed(2)}, ${(norm / own).toFixed(1)} times the global head's own norm (${own.toFixed(2)}); the round refuses updates above ${settings.maxRelativeUpdate} times.`);
    }
    let epsilon: number | null = null;
    if (m.privacy) {
      const p = m.privacy;
      const rdp = computeRdp(p.sampleRate, p.noiseMultiplier, p.steps);
      epsilon = epsilonFromRdp(rdp, p.delta).epsilon;
      db()
        .prepare('INSERT INTO federation_privacy (side, site_id, round, ref, sample_rate, noise_multiplier, steps, delta, rdp, epsilon_round, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run('coordinator', m.site, m.round, id, p.sampleRate, p.noiseMultiplier, p.steps, p.delta, JSON.stringify(rdp), epsilon, nowIso(deps));
    }
    db()
      .prepare('INSERT INTO federation_packages (id, round, site_id, sha256, status, reason, samples, epsilon, manifest, package, via, received_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)')
      .run(id, m.round, m.site, sha, 'accepted', m.samples, epsilon, JSON.stringify(m), Buffer.from(bytes), via, nowIso(deps));
    audit(deps, actor, 'federation.package.receive', 'success', 'federation-package', id, { site: m.site, round: m.round, samples: m.samples, via, dp: !!m.privacy });
    deps.logger.info('federation.package.accepted', { package: id, site: m.site, round: m.round });
    return { row: db().prepare('SELECT * FROM federation_packages WHERE id = ?').get(id) as PackageRow, refusal: null };
  }

  /** Epsilon spent by a site over every round, as this coordinator computes it (RDP added across packages). */
  function siteEpsilon(siteId: string, side: 'site' | 'coordinator' = 'coordinator'): { epsilon: number | null; delta: number | null; rounds: number } {
    const rows = db().prepare('SELECT rdp, delta FROM federation_privacy WHERE side = ? AND site_id = ?').all(side, siteId) as { rdp: string; delta: number }[];
    if (rows.length === 0) return { epsilon: null, delta: null, rounds: 0 };
    const sum = rows.reduce<number[]>((acc, r) => {
      const v = JSON.parse(r.rdp) as number[];
      return acc.length === 0 ? v : acc.map((x, i) => x + v[i]!);
    }, []);
    const delta = Math.min(...rows.map((r) => r.delta));
    return { epsilon: epsilonFromRdp(sum, delta, DEFAULT_ORDERS).epsilon, delta, rounds: rows.length };
  }

  function roundInfo(r: RoundRow, forSite: string | null): RoundInfo {
    const settings = settingsOf(r);
    const accepted = (db().prepare(`SELECT count(*) AS n FROM federation_packages WHERE round = ? AND status IN ('accepted', 'merged', 'outvoted')`).get(r.round) as { n: number }).n;
    const submitted = forSite ? !!db().prepare(`SELECT 1 FROM federation_packages WHERE round = ? AND site_id = ? AND status != 'refused'`).get(r.round, forSite) : false;
    return {
      round: r.round,
      state: r.state,
      parent: { modelId: r.parent_model, version: r.parent_version, cardSha256: r.parent_card_sha256, headSha256: r.parent_head_sha256 },
      deadline: r.deadline,
      quorum: settings.quorum,
      accepted,
      training: settings.training,
      siteEvaluation: settings.siteEvaluation,
      submitted,
    };
  }

  return { row, requireSetup, setup, globalRef, sites, site, registerSite, revokeSite, siteForToken, rounds, round, activeRound, settingsOf, openRound, packages, receive, siteEpsilon, roundInfo };
}

export type Coordinator = ReturnType<typeof createCoordinator>;
