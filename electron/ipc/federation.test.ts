// A federation end to end with the real parts: four workstation data folders (a coordinator and
// three sites, each its own SQLCipher database and composition root), the coordinator's HTTPS
// service on loopback, real MRI images and the real model's features. One site trains with DP,
// one is poisoned (flipped labels, then an update scaled by 100), and packages that are replayed,
// signed by an unknown key or built on the wrong parent are refused with reasons. The merged
// head passes the gate, is approved into the registry, pulled by the sites with every hash
// checked, and rolled back; a second round with the poisoned site merged by plain FedAvg fails
// the gate. Every step leaves audit rows at both ends.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEDERATION_PROGRESS_EVENT, type EventEnvelope, type FederationOverview, type GlobalModel, type LocalPackage, type ReceivedPackage, type RoundSummary, type TrainingProgress } from '../contract';
import { resolveConfig } from '../services/config';
import { buildPackage, createFederationSecrets, headFromNpz, newSiteKey, openPackage, parentHead, type CoordinatorServer, type Manifest } from '../services/federated';
import { makeFeatureModel } from '../testing/federated-model';
import { freePort, lggSlices, mriSplit, printableRuns, takePerClass, writeClassFolder } from '../testing/federation';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { channelCaller, TEST_ADMIN } from './test-calls';

const RESEARCHER = { username: 'scientist1', displayName: 'Scientist', role: 'researcher', password: 'research-password-0042' } as const;
const SITES = ['north', 'south', 'poison'] as const;
const ROUND = { quorum: 3, maxShare: 0.5, minSamples: 20, training: { epochs: 5, learningRate: 0.001 } } as const;
/** The attacker's own choice: long, hard training on its flipped labels. */
const POISON_TRAINING = { epochs: 60, learningRate: 0.01 } as const;
type SiteName = (typeof SITES)[number];

interface Node {
  name: string;
  dir: string;
  ws: Workstation;
  admin: Connection;
  researcher: Connection;
  events: EventEnvelope[];
}

let tmp: string;
let server: CoordinatorServer;
const nodes = new Map<string, Node>();
const datasets = new Map<string, string>();
const local = new Map<string, LocalPackage>();

const coord = (): Node => nodes.get('coordinator')!;
const site = (n: SiteName): Node => nodes.get(n)!;

async function makeNode(name: string): Promise<Node> {
  const dir = path.join(tmp, name);
  const models = path.join(dir, 'models');
  makeFeatureModel(models);
  const ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), modelsFolder: models, keySource: 'passphrase', passphrase: `federation test passphrase ${name}` }));
  const { ok, signIn } = channelCaller(() => ws);
  const admin = (await import('./handler-table')).createConnection('host');
  await ok(admin, 'auth.createFirstAdmin', TEST_ADMIN);
  await ok(admin, 'users.create', RESEARCHER);
  const events: EventEnvelope[] = [];
  const researcher = await signIn(RESEARCHER.username, RESEARCHER.password, (e) => events.push(e));
  const node = { name, dir, ws, admin, researcher, events };
  nodes.set(name, node);
  return node;
}

async function ok<T>(node: Node, conn: 'admin' | 'researcher', channel: string, payload: unknown): Promise<T> {
  return channelCaller(() => node.ws).ok<T>(node[conn], channel, payload);
}

async function call(node: Node, conn: 'admin' | 'researcher', channel: string, payload: unknown) {
  return channelCaller(() => node.ws).call(node[conn], channel, payload);
}

async function registerDataset(node: Node, folder: string, name: string): Promise<string> {
  const ds = await ok<{ id: string }>(node, 'researcher', 'datasets.register', { path: folder, name });
  datasets.set(`${node.name}:${name}`, ds.id);
  return ds.id;
}

function auditRows(node: Node, action: string): { outcome: string; detail: string | null; actor: string }[] {
  return node.ws.services.store.db().prepare('SELECT outcome, detail, actor FROM audit_log WHERE action = ? ORDER BY id').all(action) as { outcome: string; detail: string | null; actor: string }[];
}

/** The site's own signing key, as a malicious site's operator has it. */
async function siteKey(node: Node): Promise<string> {
  const secrets = createFederationSecrets(node.ws.services.secrets);
  return (await secrets.get('site-key'))!;
}

const val = mriSplit('val');
const train = [...mriSplit('train'), ...mriSplit('cal')];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-federation-'));
  const port = await freePort();
  const c = await makeNode('coordinator');
  for (const s of SITES) await makeNode(s);

  // The coordinator's reference set: images of the model's own validation split (never trained on).
  const refId = await registerDataset(c, writeClassFolder(path.join(tmp, 'reference'), takePerClass(val, { glioma: 30, meningioma: 30, notumor: 30, pituitary: 30 })), 'reference');
  await ok(c, 'admin', 'federation.setup', { referenceDatasetId: refId, publicUrl: `https://127.0.0.1:${port}` });
  server = await c.ws.services.federation.serve({ host: '127.0.0.1', port, tickMs: 60_000 });

  // Non-IID sites: north mostly glioma and meningioma, with LGG FLAIR slices named by TCGA patient;
  // south mostly notumor and pituitary (it trains with DP); poison a mix with flipped labels.
  const northImages = [...takePerClass(train, { glioma: 40, meningioma: 40, notumor: 8, pituitary: 8 }), ...lggSlices('flair', { glioma: 10 })];
  writeClassFolder(path.join(tmp, 'north-images', 'Doe^Jane PID-778899'), northImages, { rename: (src, i) => `Doe_Jane_PID-778899_${i}_${path.basename(src)}` });
  await registerDataset(site('north'), path.join(tmp, 'north-images', 'Doe^Jane PID-778899'), 'north');
  await registerDataset(site('south'), writeClassFolder(path.join(tmp, 'south-images'), takePerClass(train, { glioma: 8, meningioma: 8, notumor: 40, pituitary: 40 }, { glioma: 40, meningioma: 40, notumor: 8, pituitary: 8 })), 'south');
  const flip: Record<string, string> = { glioma: 'meningioma', meningioma: 'notumor', notumor: 'pituitary', pituitary: 'glioma' };
  await registerDataset(site('poison'), writeClassFolder(path.join(tmp, 'poison-images'), takePerClass(train, { glioma: 25, meningioma: 25, notumor: 25, pituitary: 25 }, { glioma: 60, meningioma: 60, notumor: 60, pituitary: 60 }), { relabel: (l) => flip[l]! }), 'poison');

  for (const s of SITES) {
    const me = await ok<NonNullable<FederationOverview['site']>>(site(s), 'admin', 'federation.createIdentity', { siteId: s });
    const reg = await ok<{ enrolment: string }>(c, 'admin', 'federation.registerSite', { siteId: s, name: `${s} hospital`, publicKey: me.publicKey });
    await ok(site(s), 'admin', 'federation.enrol', { enrolment: reg.enrolment });
  }
}, 300_000);

afterAll(async () => {
  await server?.close();
  for (const n of nodes.values()) await n.ws.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a federation of three sites over HTTPS on loopback', () => {
  let round1: RoundSummary;

  it('the coordinator opens round 1 on its global model; sites see it over HTTPS', async () => {
    // Sites train briefly and gently (the round's hints): a small site's data can only nudge a head
    // trained on far more images. The norm-ratio screen is off here so that the reference screen is
    // the one that meets the poisoned site (the ratio screen has its own unit test).
    round1 = await ok<RoundSummary>(coord(), 'admin', 'federation.openRound', { settings: { ...ROUND, rule: 'fedavg', normRatio: 1000 } });
    expect(round1).toMatchObject({ round: 1, state: 'open', parent: { modelId: 'tumornet' } });
    const st = await site('north').ws.services.federation.site.client().then((c) => c.status());
    expect(st).toMatchObject({ site: 'north', round: { round: 1, state: 'open', submitted: false } });
    // A researcher may not open rounds or approve; only an admin.
    expect(await call(coord(), 'researcher', 'federation.openRound', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('north trains on its data (features once per image, progress events) and its upload is accepted', async () => {
    const n = site('north');
    const pkg = await ok<LocalPackage>(n, 'researcher', 'federation.train', { datasetId: datasets.get('north:north') });
    expect(pkg).toMatchObject({ round: 1, status: 'built', parentModel: 'tumornet' });
    expect(pkg.samples + Math.round(pkg.samples / 4)).toBeGreaterThan(70); // 80% of 106 kept for training
    const phases = n.events.filter((e) => e.event === FEDERATION_PROGRESS_EVENT).map((e) => (e.data as TrainingProgress).phase);
    expect(phases).toContain('features');
    expect(phases).toContain('training');
    expect(phases.at(-1)).toBe('done');
    const up = await ok<LocalPackage>(n, 'researcher', 'federation.uploadPackage', { id: pkg.id });
    expect(up).toMatchObject({ status: 'accepted', detail: null });
    local.set('north', up);
    // Training again reuses every cached feature.
    const again = await n.ws.services.federation.site.train({ datasetId: datasets.get('north:north')! }, { userId: null, username: 'test' });
    expect(again.samples).toBe(pkg.samples);
  });

  it('no image name, path, patient or study identifier is anywhere in the package', () => {
    const n = site('north');
    const exported = n.ws.services.federation.site.exportPackage(local.get('north')!.id, { userId: null, username: 'test' });
    const files = unzipSync(exported.bytes);
    expect(Object.keys(files).sort()).toEqual(['manifest.json', 'manifest.sig', 'weights.npz']);
    const text = [printableRuns(exported.bytes), ...Object.values(files).map(printableRuns)].join('\n');
    const items = n.ws.services.research.datasetItems(datasets.get('north:north')!);
    const needles = ['Doe', 'PID-778899', 'TCGA', tmp, datasets.get('north:north')!, ...items.map((i) => path.basename(i.file)), ...items.map((i) => i.sha256.slice(0, 16))];
    for (const needle of needles) expect(text.includes(needle), `package contains ${needle}`).toBe(false);
    const m = openPackage(exported.bytes).manifest;
    expect(Object.keys(m).sort()).toEqual(['classCounts', 'createdAt', 'format', 'head', 'metrics', 'parent', 'privacy', 'round', 'samples', 'site', 'siteKey', 'software', 'training', 'weightsSha256']);
  });

  it('south trains with DP-SGD: epsilon is in its package, its ledger and the coordinator\'s, and they agree', async () => {
    const s = site('south');
    const pkg = await ok<LocalPackage>(s, 'researcher', 'federation.train', { datasetId: datasets.get('south:south'), settings: { dp: { clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5 }, batchSize: 16 } });
    expect(pkg.epsilonRound).toBeGreaterThan(0);
    expect(pkg.epsilonTotal).toBeCloseTo(pkg.epsilonRound!, 9);
    const up = await ok<LocalPackage>(s, 'researcher', 'federation.uploadPackage', { id: pkg.id });
    expect(up.status).toBe('accepted');
    local.set('south', up);
    const siteView = await ok<FederationOverview>(s, 'researcher', 'federation.overview', {});
    const coordView = await ok<FederationOverview>(coord(), 'admin', 'federation.overview', {});
    const atCoord = coordView.sites.find((x) => x.site === 'south')!;
    expect(siteView.site!.epsilon).toBeCloseTo(pkg.epsilonRound!, 9);
    expect(atCoord.epsilon).toBeCloseTo(pkg.epsilonRound!, 9);
    expect(atCoord.delta).toBe(1e-5);
    expect(coordView.sites.find((x) => x.site === 'north')!.epsilon).toBeNull();
  });

  it('refuses, with reasons: a replayed package, an unknown key, a wrong parent, an update scaled by 100', async () => {
    const c = coord();
    const n = site('north');
    const p = site('poison');
    const sendRaw = async (node: Node, bytes: Uint8Array) => (await node.ws.services.federation.site.client()).sendPackage(bytes);

    const replay = await sendRaw(n, n.ws.services.federation.site.outboxRow(local.get('north')!.id).package);
    expect(replay).toMatchObject({ status: 'refused', refusal: 'replay' });
    expect(replay.reason).toMatch(/received before/);

    const northPkg = openPackage(n.ws.services.federation.site.outboxRow(local.get('north')!.id).package);
    const head = headFromNpz(northPkg.weightsBytes, 5, northPkg.manifest.head.dim);
    const base = { ...northPkg.manifest } as Partial<Manifest>;
    delete base.format;
    delete base.weightsSha256;
    const stranger = newSiteKey();
    const strangerFp = crypto.createHash('sha256').update(Buffer.from(stranger.publicKey, 'base64')).digest('hex');
    const unknownKey = await sendRaw(n, buildPackage({ ...(base as Manifest), siteKey: strangerFp, createdAt: '2026-01-01T00:00:00Z' }, head, stranger).bytes);
    expect(unknownKey).toMatchObject({ status: 'refused', refusal: 'unknown-key' });
    expect(unknownKey.reason).toMatch(/not the one registered for site "north"/);
    // Claiming north's key but signed by another: the signature does not verify.
    expect(await sendRaw(n, buildPackage({ ...(base as Manifest), createdAt: '2026-01-01T00:00:00Z' }, head, stranger).bytes)).toMatchObject({ status: 'refused', refusal: 'signature' });

    const pKey = { privateKeyPem: await siteKey(p) };
    const pManifest = { ...base, site: 'poison', siteKey: (await ok<FederationOverview>(p, 'admin', 'federation.overview', {})).site!.keyFingerprint } as Manifest;
    const wrongParent = buildPackage({ ...pManifest, parent: { ...pManifest.parent, cardSha256: 'c'.repeat(64) } }, head, pKey);
    expect(await sendRaw(p, wrongParent.bytes)).toMatchObject({ status: 'refused', refusal: 'parent' });

    // The poisoned site scales a real update by 100 and signs it with its own (registered) key.
    const global = parentHead(await c.ws.services.inference.loadModel('tumornet'));
    const scaled = { ...head, weight: head.weight.map((v, k) => global.weight[k]! + 100 * (v - global.weight[k]!)), bias: head.bias.map((v, k) => global.bias[k]! + 100 * (v - global.bias[k]!)) };
    const big = await sendRaw(p, buildPackage(pManifest, scaled, pKey).bytes);
    expect(big).toMatchObject({ status: 'refused', refusal: 'norm' });
    expect(big.reason).toMatch(/norm .* is [\d.]+, [\d.]+ times the global head's own norm .*; the round refuses updates above 2 times/);

    // A file handed over is verified the same way (here: tampered with after signing).
    const tampered = new Uint8Array(n.ws.services.federation.site.outboxRow(local.get('north')!.id).package);
    tampered[tampered.length - 40]! ^= 0xff;
    const imported = await ok<ReceivedPackage>(c, 'admin', 'federation.importPackage', { base64: Buffer.from(tampered).toString('base64') });
    expect(imported.status).toBe('refused');

    const view = await ok<FederationOverview>(c, 'admin', 'federation.overview', {});
    const refused = view.packages.filter((x) => x.status === 'refused');
    expect(refused.length).toBeGreaterThanOrEqual(5);
    for (const r of refused) expect(r.reason!.length).toBeGreaterThan(20);
    const codes = auditRows(c, 'federation.package.receive').filter((r) => r.outcome === 'refused').map((r) => (JSON.parse(r.detail!) as { refusal: string }).refusal);
    expect(codes).toEqual(expect.arrayContaining(['replay', 'unknown-key', 'signature', 'parent', 'norm']));
  });

  it('the flipped-label site is accepted on arrival (valid signature), the quorum closes the round, and the reference screen outvotes it', async () => {
    const p = site('poison');
    const pkg = await ok<LocalPackage>(p, 'researcher', 'federation.train', { datasetId: datasets.get('poison:poison'), settings: POISON_TRAINING });
    const up = await ok<LocalPackage>(p, 'researcher', 'federation.uploadPackage', { id: pkg.id });
    expect(up.status).toBe('accepted');
    const r = (await ok<FederationOverview>(coord(), 'admin', 'federation.overview', {})).rounds.find((x) => x.round === 1)!;
    expect(r.state, JSON.stringify({ checks: r.gate?.checks, outvoted: r.outvoted })).toBe('candidate');
    expect(r.outvoted.map((o) => o.site)).toEqual(['poison']);
    expect(r.outvoted[0]!.reason).toMatch(/on the reference set/);
    expect(r.sites.filter((s) => s.status === 'merged').map((s) => s.site).sort()).toEqual(['north', 'south']);
    expect(r.gate!.passed).toBe(true);
    expect(r.gate!.n).toBeGreaterThan(100); // 120 files, identical images counted once
  });

  it('an admin approves the candidate: a new registry version with its parent, round, sites, gate and hashes, active for clinical use', async () => {
    const c = coord();
    expect(await call(c, 'researcher', 'federation.approve', { round: 1 })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    const r = await ok<RoundSummary>(c, 'admin', 'federation.approve', { round: 1, activate: true });
    expect(r).toMatchObject({ state: 'approved', model: { id: 'tumornet-fed1', version: '1.0.0-fed.1' } });
    const models = await ok<{ models: { id: string; status: string; verified: boolean }[] }>(c, 'admin', 'models.registry', {});
    expect(models.models.find((m) => m.id === 'tumornet-fed1')).toMatchObject({ status: 'active', verified: true });
    const g = await ok<GlobalModel>(c, 'admin', 'federation.globalModel', {});
    expect(g).toMatchObject({ modelId: 'tumornet-fed1', round: 1, activeClinically: true });
    expect(g.federated).toMatchObject({ round: 1, rule: 'fedavg', parent: { id: 'tumornet' }, gate: { passed: true } });
    expect((g.federated!.sites as { site: string }[]).map((s) => s.site).sort()).toEqual(['north', 'south']);
    expect(auditRows(c, 'federation.round.approve')).toHaveLength(1);
  });

  it('sites pull the new global model, rebuilt from their own parent with every hash checked', async () => {
    const want = await ok<GlobalModel>(coord(), 'admin', 'federation.globalModel', {});
    for (const s of SITES) {
      const g = await ok<GlobalModel>(site(s), 'admin', 'federation.pullGlobal', {});
      expect(g).toMatchObject({ cardSha256: want.cardSha256, headSha256: want.headSha256 });
      const m = (await site(s).ws.services.research.registry.list()).find((x) => x.id === 'tumornet-fed1');
      expect(m).toMatchObject({ verified: true, cardSha256: want.cardSha256 });
      expect(auditRows(site(s), 'federation.global.pull').at(-1)).toMatchObject({ outcome: 'success' });
    }
    // Pulling again changes nothing.
    await ok(site('north'), 'admin', 'federation.pullGlobal', {});
  });

  it('rollback returns the global and the clinical model to the parent', async () => {
    const c = coord();
    const r = await ok<RoundSummary>(c, 'admin', 'federation.rollback', { round: 1 });
    expect(r.state).toBe('rolled-back');
    expect(await ok<GlobalModel>(c, 'admin', 'federation.globalModel', {})).toMatchObject({ modelId: 'tumornet', activeClinically: true });
    expect(await c.ws.services.research.registry.activeModelId()).toBe('tumornet');
  });

  async function roundWithEverySite(settings: Record<string, unknown>): Promise<RoundSummary> {
    const c = coord();
    const opened = await ok<RoundSummary>(c, 'admin', 'federation.openRound', { settings: { ...ROUND, ...settings } });
    expect(opened.parent.modelId).toBe('tumornet');
    for (const s of SITES) {
      const pkg = await ok<LocalPackage>(site(s), 'researcher', 'federation.train', { datasetId: datasets.get(`${s}:${s}`), ...(s === 'poison' ? { settings: POISON_TRAINING } : {}) });
      expect((await ok<LocalPackage>(site(s), 'researcher', 'federation.uploadPackage', { id: pkg.id })).status).toBe('accepted');
    }
    return (await ok<FederationOverview>(c, 'admin', 'federation.overview', {})).rounds.find((x) => x.round === opened.round)!;
  }

  it('round 2 without screens but with the coordinate-wise median: the poisoned site is outvoted coordinate by coordinate; an admin rejects it anyway', async () => {
    const r = await roundWithEverySite({ rule: 'median', normRatio: 1000, referenceMargin: 1 });
    expect(r.sites.filter((s) => s.status === 'merged')).toHaveLength(3);
    expect(r.state, JSON.stringify(r.gate?.checks)).toBe('candidate');
    const rej = await ok<RoundSummary>(coord(), 'admin', 'federation.reject', { round: r.round, reason: 'A site reported flipped labels.' });
    expect(rej).toMatchObject({ state: 'rejected', note: 'A site reported flipped labels.' });
  });

  it('round 3 with plain FedAvg and no screens merges the poisoned site, and the gate refuses the result', async () => {
    const c = coord();
    const r = await roundWithEverySite({ rule: 'fedavg', maxShare: 1, normRatio: 1000, referenceMargin: 1 });
    expect(r.sites.filter((s) => s.status === 'merged')).toHaveLength(3);
    expect(r.state).toBe('gate-failed');
    expect(r.gate!.checks.filter((x) => !x.passed).map((x) => x.name)).toContain('overall accuracy');
    const approve = await call(c, 'admin', 'federation.approve', { round: r.round });
    expect(approve).toMatchObject({ ok: false, code: 'CONFLICT' });
    expect(approve.message).toMatch(/did not pass the validation gate/);
    expect((await ok<GlobalModel>(c, 'admin', 'federation.globalModel', {})).modelId).toBe('tumornet');
  });

  it('round 4 asks the sites to score the candidate on their own held-out images: their confusion matrices enter the gate', async () => {
    const c = coord();
    const r4 = await ok<RoundSummary>(c, 'admin', 'federation.openRound', { settings: { ...ROUND, rule: 'median', siteEvaluation: true } });
    for (const s of SITES) {
      const pkg = await ok<LocalPackage>(site(s), 'researcher', 'federation.train', { datasetId: datasets.get(`${s}:${s}`), ...(s === 'poison' ? { settings: POISON_TRAINING } : {}) });
      await ok(site(s), 'researcher', 'federation.uploadPackage', { id: pkg.id });
    }
    let r = (await ok<FederationOverview>(c, 'admin', 'federation.overview', {})).rounds.find((x) => x.round === r4.round)!;
    expect(r.state).toBe('evaluating');
    expect(r.gate).toBeNull();
    const merged = r.sites.filter((x) => x.status === 'merged').map((x) => x.site);
    expect(merged.sort()).toEqual(['north', 'south']);
    for (const s of merged) {
      const e = await ok<{ round: number; n: number; current: number; candidate: number }>(site(s as SiteName), 'researcher', 'federation.evaluateCandidate', {});
      expect(e.round).toBe(r4.round);
      expect(e.n).toBeGreaterThan(5);
    }
    // The poisoned site was outvoted: it has nothing the round waits for.
    expect(await call(site('poison'), 'researcher', 'federation.evaluateCandidate', {})).toMatchObject({ ok: false });
    r = (await ok<FederationOverview>(c, 'admin', 'federation.overview', {})).rounds.find((x) => x.round === r4.round)!;
    expect(r.state).not.toBe('evaluating');
    expect(r.gate!.sites.map((x) => x.site).sort()).toEqual(['north', 'south']);
    expect(r.gate!.checks.map((x) => x.name)).toEqual(expect.arrayContaining(['site north', 'site south']));
    const stored = c.ws.services.store.db().prepare('SELECT current, candidate FROM federation_evaluations WHERE round = ?').all(r4.round) as { current: string; candidate: string }[];
    for (const e of stored) expect(Object.keys(JSON.parse(e.current)).sort()).toEqual(['cols', 'matrix', 'rows']);
    await ok(c, 'admin', 'federation.reject', { round: r4.round, reason: 'Test of site evaluations.' });
  });

  it('a round with a deadline closes with what arrived when it passes', async () => {
    const c = coord();
    const r5 = await ok<RoundSummary>(c, 'admin', 'federation.openRound', { settings: { ...ROUND, quorum: 10, deadlineMinutes: 60 } });
    expect(Date.parse(r5.deadline!)).toBeGreaterThan(Date.now() + 50 * 60_000);
    const pkg = await ok<LocalPackage>(site('north'), 'researcher', 'federation.train', { datasetId: datasets.get('north:north') });
    await ok(site('north'), 'researcher', 'federation.uploadPackage', { id: pkg.id });
    const system = { userId: null, username: 'system:federation' };
    expect(await c.ws.services.federation.rounds.tick(system)).toBeNull(); // neither quorum nor deadline yet
    c.ws.services.store.db().prepare('UPDATE federation_rounds SET deadline = ? WHERE round = ?').run(new Date(Date.now() - 1000).toISOString(), r5.round);
    const closed = await c.ws.services.federation.rounds.tick(system);
    expect(closed!.state).not.toBe('open');
    const r = (await ok<FederationOverview>(c, 'admin', 'federation.overview', {})).rounds.find((x) => x.round === r5.round)!;
    expect(r.sites.filter((x) => x.status === 'merged').map((x) => x.site)).toEqual(['north']);
    await ok(c, 'admin', 'federation.reject', { round: r5.round, reason: 'Test of the deadline.' });
  });

  it('cancelling a training during feature extraction makes no package and spends no privacy', async () => {
    const n = site('north');
    const fresh = await registerDataset(n, writeClassFolder(path.join(tmp, 'north-more'), takePerClass(train, { glioma: 20, meningioma: 20, notumor: 20, pituitary: 20 }, { glioma: 200, meningioma: 200, notumor: 200, pituitary: 200 })), 'north-more');
    await ok<RoundSummary>(coord(), 'admin', 'federation.openRound', { settings: ROUND });
    const before = n.ws.services.federation.site.outbox().length;
    const caller = channelCaller(() => n.ws);
    const conn = await caller.signIn(RESEARCHER.username, RESEARCHER.password, (e) => {
      const p = e.data as TrainingProgress;
      if (e.event === FEDERATION_PROGRESS_EVENT && p.phase === 'features') void caller.call(conn, 'federation.cancelTraining', { jobId: p.jobId });
    });
    const r = await caller.call(conn, 'federation.train', { datasetId: fresh, settings: { dp: { clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5 } } });
    expect(r).toMatchObject({ ok: false, code: 'CONFLICT' });
    expect(r.message).toMatch(/cancelled; no update package was made/);
    expect(n.ws.services.federation.site.outbox().length).toBe(before);
    expect((await ok<FederationOverview>(n, 'admin', 'federation.overview', {})).site!.epsilon).toBeNull();
  });

  it('hostile or malformed requests are refused with reasons, nothing half-done', async () => {
    const c = coord();
    expect(await call(c, 'admin', 'federation.registerSite', { siteId: 'x', name: 'x', publicKey: 'not-a-key' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(c, 'admin', 'federation.registerSite', { siteId: '../etc', name: 'x', publicKey: newSiteKey().publicKey })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(site('north'), 'admin', 'federation.enrol', { enrolment: '{"format":"something else"}' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(site('north'), 'researcher', 'federation.train', { datasetId: 'no-such-dataset' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(site('north'), 'researcher', 'federation.exportPackage', { id: 'no-such-package' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    const junk = await ok<ReceivedPackage>(c, 'admin', 'federation.importPackage', { base64: Buffer.from('PK\u0003\u0004 this is not a zip at all').toString('base64') });
    expect(junk).toMatchObject({ status: 'refused' });
    expect(junk.reason).toMatch(/not an update package/);
    // A radiologist or patient role has no federation channel at all (the matrix test covers every role).
    expect(await call(site('north'), 'researcher', 'federation.setup', { referenceDatasetId: 'x' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('site keys, tokens and the TLS key are in the secret vault (this data folder: the encrypted database), never in a plain file', async () => {
    for (const n of nodes.values()) {
      const v = await ok<FederationOverview>(n, 'admin', 'federation.overview', {});
      if (v.site) expect(v.site.secretsIn).toBe(n.ws.services.secrets.holder() === 'keychain' ? 'OS keychain' : 'encrypted database');
      const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
      for (const f of walk(n.ws.config.dataFolder)) {
        const text = fs.readFileSync(f).toString('latin1');
        expect(text.includes('PRIVATE KEY'), f).toBe(false);
      }
    }
    const token = JSON.parse((await ok<{ enrolment: string }>(coord(), 'admin', 'federation.registerSite', { siteId: 'east', name: 'east', publicKey: newSiteKey().publicKey })).enrolment) as { token: string };
    const rows = coord().ws.services.store.db().prepare('SELECT token_sha256 FROM federation_sites').all() as { token_sha256: string }[];
    expect(rows.some((r) => r.token_sha256 === token.token)).toBe(false);
  });

  it('requests without a valid token are refused and audited', async () => {
    const n = site('north');
    const c = coord();
    await c.ws.services.federation.coordinator.revokeSite('north', { userId: null, username: 'test' });
    await expect(n.ws.services.federation.site.client().then((cl) => cl.status())).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(auditRows(c, 'federation.request').at(-1)).toMatchObject({ outcome: 'refused' });
    expect(auditRows(n, 'federation.package.upload').length).toBeGreaterThanOrEqual(2);
  });
});
