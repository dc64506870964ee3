// Sync against a real Orthanc (Debian's, with its DICOMweb plugin) started on 127.0.0.1 by the
// test: pull through the real DICOM import path, push SEG/SR/PDF and read them back, and the
// faults (wrong password, wrong URL, 500, a cut response, Orthanc killed mid-push, a restart).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, createStoreSecretVault, type Store } from '../store';
import { createAuditLog, type AuditLog } from '../audit';
import { createLogger } from '../log';
import { createDicomService, type DicomService } from '../dicom';
import { createSyncService, type SyncService } from './sync-service';
import { dicomServiceImporter, pullStudies, type SyncImporter } from './pull';
import { syncFiltersSchema } from '../../contract';
import { createSecretStore } from './secrets';
import { createDicomWebClient, type DicomWebClient } from './dicomweb-client';
import { buildSegmentation } from './seg';
import { buildEncapsulatedPdf, buildMinimalSr, sourceOf, tinyPdf } from '../../testing/sync/fixtures';
import { readPart10 } from '../dicom-objects';
import { dicomUids } from './dicom-uids';
import { startOrthanc, freePort, type OrthancServer } from '../../testing/sync/orthanc';
import { makeSelfSignedCert, startFaultProxy, type FaultProxy } from '../../testing/sync/fault-proxy';
import { makeMrStudy } from '../../testing/sync/study-factory';

const PASS = 'sync test passphrase';
const ADMIN = { id: 'u-admin', name: 'admin1' };
let orthanc: OrthancServer;
let proxy: FaultProxy;
let dir: string;
let store: Store;
let audit: AuditLog;
let dicom: DicomService;
let sync: SyncService;
let direct: DicomWebClient;
const logFile = () => path.join(dir, 'logs', 'sync.log');
const arrived: { studyInstanceUid: string; studyId: string | null }[] = [];
/** Outbox items the service reported as failed for good (the admins' notification hook). */
const failedItems: number[] = [];

function newSync(): SyncService {
  return createSyncService({
    db: () => store.db(),
    ready: () => store.isOpen(),
    audit,
    logger: createLogger({ level: 'debug', file: logFile(), stderr: false }),
    dataFolder: dir,
    importer: dicomServiceImporter(dicom),
    secrets: createSecretStore(createStoreSecretVault(store)),
    backoff: { baseMs: 200, capMs: 1000 },
    requestTimeoutMs: 10_000,
    pushCheckMs: 200,
    onStudyArrived: (study) => void arrived.push(study),
    onOutboxFailed: (item) => void failedItems.push(item.id),
  });
}

const auditRows = (action: string) => store.db().prepare('SELECT * FROM audit_log WHERE action = ? ORDER BY id').all(action) as { outcome: string; object_id: string | null; detail: string | null; actor: string }[];
const instancesOf = (studyUid: string) => (store.db().prepare('SELECT count(*) AS n FROM sync_pulled_instances WHERE study_instance_uid = ?').get(studyUid) as { n: number }).n;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function onOrthanc(study: string, sop: string): Promise<number> {
  return (await direct.qido(`/studies/${study}/instances`, { SOPInstanceUID: sop })).length;
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  proxy = await startFaultProxy(orthanc.dicomWebUrl);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-sync-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
  audit = createAuditLog(() => store.db());
  dicom = createDicomService({ db: () => store.db(), dataFolder: dir, audit, workers: 1 });
  sync = newSync();
  direct = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, tlsVerify: true, caCertificatePem: null, allowCredentialsOverHttp: true });
  // Orthanc and the fault proxy listen on 127.0.0.1 over plain http: the insecure switch is on for them.
  await sync.setSettings({ baseUrl: proxy.url, authType: 'basic', username: orthanc.username, secret: orthanc.password, allowInsecureHttp: true }, ADMIN);
}, 120_000);

afterAll(async () => {
  await sync?.stop();
  await dicom?.close();
  store?.close();
  await proxy?.close();
  await orthanc?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('server settings', () => {
  it('keeps the secret encrypted in the database in passphrase mode, never in the settings or the logs', async () => {
    const view = await sync.getSettings();
    expect(view).toMatchObject({ baseUrl: proxy.url, authType: 'basic', username: orthanc.username, hasSecret: true, tlsVerify: true, secretStore: 'database' });
    expect(view.secretStoreStatement).toMatch(/encrypted in the workstation database/);
    expect(await createSecretStore(createStoreSecretVault(store)).get()).toMatchObject({ secret: orthanc.password, authType: 'basic', origin: new URL(proxy.url).origin });
    const sealed = store.db().prepare(`SELECT ciphertext FROM secrets WHERE name = 'dicomweb'`).get() as { ciphertext: Buffer };
    expect(sealed.ciphertext.toString('latin1')).not.toContain(orthanc.password);
    expect(fs.readFileSync(logFile(), 'utf8')).not.toContain(orthanc.password);
    const row = store.db().prepare('SELECT settings FROM sync_config').get() as { settings: string };
    expect(row.settings).not.toContain(orthanc.password);
    expect(JSON.parse(row.settings)).not.toHaveProperty('secret');
    const setRow = auditRows('sync.setSettings').at(-1)!;
    expect(setRow.detail).toContain('"secret":"changed"');
    expect(setRow.detail).not.toContain(orthanc.password);
  });

  it('refuses invalid settings with the field named, changing nothing', async () => {
    await expect(sync.setSettings({ pollIntervalSeconds: 1 }, ADMIN)).rejects.toThrow(/pollIntervalSeconds/);
    await expect(sync.setSettings({ baseUrl: 'ftp://pacs' }, ADMIN)).rejects.toThrow(/baseUrl/);
    expect((await sync.getSettings()).baseUrl).toBe(proxy.url);
  });

  it('says which step of the connection failed', async () => {
    expect(await sync.testConnection()).toMatchObject({ ok: true, step: 'ok', httpStatus: 200 });
    const wrongPw = await sync.testConnection(undefined, 'not-the-password');
    expect(wrongPw).toMatchObject({ ok: false, step: 'auth', httpStatus: 401 });
    expect(wrongPw.message).toContain(`refused the credentials for user ${orthanc.username}`);
    // Another origin gets no stored secret: these tests type it in, as the settings page does.
    const wrongPath = await sync.testConnection({ baseUrl: `${orthanc.url}/no-dicom-web-here` }, orthanc.password);
    expect(wrongPath).toMatchObject({ ok: false, step: 'dicomweb', httpStatus: 404 });
    expect(wrongPath.message).toContain('no DICOMweb service');
    const nothing = await sync.testConnection({ baseUrl: `http://127.0.0.1:${await freePort()}/dicom-web` }, orthanc.password);
    expect(nothing).toMatchObject({ ok: false, step: 'connect' });
    expect(nothing.message).toContain('connection refused');
    const dns = await sync.testConnection({ baseUrl: 'http://no-such-pacs.invalid/dicom-web' }, orthanc.password);
    expect(dns).toMatchObject({ ok: false, step: 'dns' });
    expect(dns.message).toContain('could not be found');
    // A bearer token goes in the Authorization header (Orthanc's basic auth refuses it: 401).
    const before = proxy.hits.length;
    expect(await sync.testConnection({ authType: 'bearer' }, 'token-abc-123')).toMatchObject({ ok: false, step: 'auth', httpStatus: 401 });
    expect(proxy.hits.slice(before).map((h) => h.authorization)).toEqual(['Bearer token-abc-123']);
    proxy.setFault({ kind: 'status', status: 500 });
    const broken = await sync.testConnection();
    proxy.setFault({ kind: 'none' });
    expect(broken).toMatchObject({ ok: false, step: 'server', httpStatus: 500 });
  });
});

describe('TLS', () => {
  it('refuses a certificate it cannot verify, and trusts the hospital CA once given', async () => {
    const cert = makeSelfSignedCert(dir);
    const tlsProxy = await startFaultProxy(orthanc.dicomWebUrl, { tls: cert });
    try {
      const untrusted = await sync.testConnection({ baseUrl: tlsProxy.url }, orthanc.password);
      expect(untrusted).toMatchObject({ ok: false, step: 'tls' });
      expect(untrusted.message).toContain('certificate is not trusted');
      expect(await sync.testConnection({ baseUrl: tlsProxy.url, caCertificatePem: cert.cert }, orthanc.password)).toMatchObject({ ok: true, step: 'ok' });
      // Verification off is an admin's explicit choice; it is on by default.
      expect(await sync.testConnection({ baseUrl: tlsProxy.url, tlsVerify: false }, orthanc.password)).toMatchObject({ ok: true });
      expect((await sync.getSettings()).tlsVerify).toBe(true);
    } finally {
      await tlsProxy.close();
    }
  });
});

describe('pull', () => {
  let studyA: ReturnType<typeof makeMrStudy>;

  it('imports a study sent to Orthanc with dcmsend through the DICOM import path, once', async () => {
    studyA = makeMrStudy(path.join(dir, 'modality', 'a'), 3);
    await orthanc.dcmsend(studyA.files);
    const before = dicom.countStudies();
    const run = await sync.syncNow(ADMIN);
    expect(run).toMatchObject({ ok: true, studiesPulled: 1, instancesImported: 3, instancesRefused: 0, error: null });
    expect(dicom.countStudies()).toBe(before + 1);
    expect(instancesOf(studyA.studyInstanceUid)).toBe(3);
    // The transfer never touched a plain file: instances go from the socket to the import in memory.
    expect(fs.existsSync(path.join(dir, 'sync', 'incoming'))).toBe(false);

    const again = await sync.syncNow(ADMIN);
    expect(again).toMatchObject({ ok: true, studiesPulled: 0, instancesImported: 0 });
    expect(dicom.countStudies()).toBe(before + 1);
    expect(sync.status()).toMatchObject({ lastError: null, configured: true });
    expect(sync.status().lastSuccessAt).not.toBeNull();
    expect(auditRows('sync.run').filter((r) => r.outcome === 'success').length).toBeGreaterThanOrEqual(2);
  });

  it('fetches only the new instance when a study grows', async () => {
    const more = makeMrStudy(path.join(dir, 'modality', 'a2'), 1, { studyInstanceUid: studyA.studyInstanceUid, seriesInstanceUid: studyA.seriesInstanceUid });
    await orthanc.dcmsend(more.files);
    const hitsBefore = proxy.hits.length;
    await sync.setSettings({ autoRunModel: true }, ADMIN);
    const run = await sync.syncNow(ADMIN);
    await sync.setSettings({ autoRunModel: false }, ADMIN);
    expect(run).toMatchObject({ ok: true, instancesImported: 1 });
    // Auto-run on arrival gets the study's local id from the import report (the hook runs after the sync).
    await waitFor('the arrival hook', () => arrived.length > 0);
    const local = store.db().prepare('SELECT id FROM studies WHERE study_instance_uid = ?').get(studyA.studyInstanceUid) as { id: string };
    expect(arrived).toEqual([{ studyInstanceUid: studyA.studyInstanceUid, studyId: local.id }]);
    expect(instancesOf(studyA.studyInstanceUid)).toBe(4);
    const retrieves = proxy.hits.slice(hitsBefore).filter((h) => h.path.includes('/instances/'));
    expect(retrieves.map((h) => h.path)).toEqual([expect.stringContaining(more.sopInstanceUids[0]!)]);
  });

  it('keeps what arrived when a response is cut in the middle, and completes on the next run', async () => {
    const b = makeMrStudy(path.join(dir, 'modality', 'b'), 6);
    await orthanc.dcmsend(b.files);
    const size = fs.statSync(b.files[0]!).size;
    // Cut the series retrieve (not the QIDO searches) after about two and a half instances.
    proxy.setFault({ kind: 'cut-response', afterBytes: Math.round(size * 2.5) }, (r) => r.accept.startsWith('multipart/related') && r.path.includes(b.seriesInstanceUid));
    const cut = await sync.syncNow(ADMIN);
    proxy.setFault({ kind: 'none' });
    expect(cut.ok).toBe(false);
    expect(cut.error).toContain('cut in the middle of a transfer');
    expect(cut.instancesImported).toBe(2);
    expect(instancesOf(b.studyInstanceUid)).toBe(2);
    expect(sync.status().lastError).toContain('cut in the middle');

    const rest = await sync.syncNow(ADMIN);
    expect(rest).toMatchObject({ ok: true, instancesImported: 4 });
    expect(instancesOf(b.studyInstanceUid)).toBe(6);
    // The DICOM index holds each instance once.
    const indexed = store.db().prepare('SELECT count(*) AS n FROM instances i JOIN series s ON s.id = i.series_id WHERE s.series_instance_uid = ?').get(b.seriesInstanceUid) as { n: number };
    expect(indexed.n).toBe(6);
  });

  it("starts a batch's import while the batch before it is still importing, and records the batches in order", async () => {
    const c = makeMrStudy(path.join(dir, 'modality', 'c'), 6);
    await orthanc.dcmsend(c.files);
    const real = dicomServiceImporter(dicom);
    const events: string[] = [];
    let calls = 0;
    let secondStarted!: () => void;
    const second = new Promise<void>((resolve) => (secondStarted = resolve));
    // The first batch's import is held until the second one has started (or, on a pull that
    // waits for each batch before starting the next, until a fallback that only keeps this from
    // hanging): the order of the events is what is checked, not the time.
    const gated: SyncImporter = {
      async importParts(parts) {
        const k = ++calls;
        events.push(`start ${k}`);
        if (k === 2) secondStarted();
        if (k === 1) await Promise.race([second, new Promise((r) => setTimeout(r, 20_000))]);
        const out = await real.importParts(parts);
        events.push(`end ${k}`);
        return out;
      },
    };
    const recorded: number[] = [];
    const result = await pullStudies({
      db: () => store.db(),
      client: direct,
      importer: gated,
      filters: syncFiltersSchema.parse({}),
      logger: createLogger({ level: 'warn', stderr: false }),
      studyInstanceUid: c.studyInstanceUid,
      batchSize: 2,
      onProgress: () => recorded.push(instancesOf(c.studyInstanceUid)),
    });
    expect(result).toMatchObject({ studiesPulled: 1, instancesImported: 6, instancesRefused: 0 });
    expect(events.indexOf('start 2')).toBeGreaterThan(-1);
    expect(events.indexOf('start 2')).toBeLessThan(events.indexOf('end 1'));
    // The pull's own rows grow batch by batch, in order, and the study is complete with all six.
    expect(recorded.filter((n, i) => i === 0 || n !== recorded[i - 1]).filter((n) => n > 0)).toEqual([2, 4, 6]);
    expect(instancesOf(c.studyInstanceUid)).toBe(6);
    const done = store.db().prepare('SELECT remote_instances FROM sync_pulled_studies WHERE study_instance_uid = ?').get(c.studyInstanceUid) as { remote_instances: number } | undefined;
    expect(done?.remote_instances).toBe(6);
  });

  it('reports a server that answers 500 and changes nothing', async () => {
    const pulledBefore = (store.db().prepare('SELECT count(*) AS n FROM sync_pulled_instances').get() as { n: number }).n;
    proxy.setFault({ kind: 'status', status: 500 });
    const run = await sync.syncNow(ADMIN);
    proxy.setFault({ kind: 'none' });
    expect(run.ok).toBe(false);
    expect(run.error).toContain('HTTP 500');
    expect((store.db().prepare('SELECT count(*) AS n FROM sync_pulled_instances').get() as { n: number }).n).toBe(pulledBefore);
    expect(auditRows('sync.run').at(-1)!.outcome).toBe('failure');
  });
});

describe('push', () => {
  let src: ReturnType<typeof sourceOf>;
  let srcFile: string;

  beforeAll(() => {
    const s = makeMrStudy(path.join(dir, 'modality', 'push-src'), 1);
    srcFile = s.files[0]!;
    src = sourceOf(fs.readFileSync(srcFile));
  });

  const postsWith = (uid: string) => proxy.hits.filter((h) => h.method === 'POST' && h.body.includes(Buffer.from(uid, 'latin1')));

  it('sends SEG, SR and PDF with STOW-RS; they read back from Orthanc unchanged', async () => {
    await orthanc.dcmsend([srcFile]);
    const mask = new Uint8Array(src.image.rows * src.image.columns).map((_, i) => (i % 7 === 0 ? 1 : 0));
    const seg = buildSegmentation({ study: src.study, images: [src.image], masks: [mask], model: { id: 'tumor-cnn', version: '1.0.0' } });
    const sr = buildMinimalSr(src.study, { className: 'meningioma', probability: 0.8, verifiedBy: 'Doe^Jane' });
    const pdf = buildEncapsulatedPdf(src.study, tinyPdf('Signed report for the push test'), 'Signed report');
    const items = [
      sync.enqueue({ kind: 'seg', content: seg.bytes, label: 'Tumor SEG' }),
      sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'AI finding SR' }),
      sync.enqueue({ kind: 'pdf', content: pdf.bytes, label: 'Signed report PDF' }),
    ];
    expect(items.map((i) => i.state)).toEqual(['queued', 'queued', 'queued']);
    const pushed = await sync.pushNow(ADMIN);
    expect(pushed).toEqual({ pushed: 3, failed: 0 });
    for (const [obj, kind] of [[seg, 'seg'], [sr, 'sr'], [pdf, 'pdf']] as const) {
      const item = sync.listOutbox({ limit: 100 }).items.find((i) => i.sopInstanceUid === obj.sopInstanceUid)!;
      expect(item, kind).toMatchObject({ state: 'sent', attempts: 1, lastError: null });
      expect(await onOrthanc(src.study.studyInstanceUid, obj.sopInstanceUid), kind).toBe(1);
      const back: Buffer[] = [];
      await direct.retrieve(`/studies/${src.study.studyInstanceUid}/series/${dicomUids(obj.bytes).seriesInstanceUid}/instances/${obj.sopInstanceUid}`, async (p) => {
        back.push(p.bytes);
      });
      expect(back).toHaveLength(1);
      const ds = readPart10(back[0]!);
      expect(ds.SOPInstanceUID, kind).toBe(obj.sopInstanceUid);
      if (kind === 'seg') expect(JSON.stringify(ds.PerFrameFunctionalGroupsSequence)).toContain(src.image.sopInstanceUid);
      if (kind === 'sr') expect(ds.VerificationFlag).toBe('VERIFIED');
      if (kind === 'pdf') expect(Buffer.from((ds.EncapsulatedDocument as ArrayBuffer[])[0]!).toString('latin1')).toContain('Signed report for the push test');
    }
    expect(auditRows('sync.push').filter((r) => r.outcome === 'success').map((r) => r.object_id).sort()).toEqual(items.map((i) => String(i.id)).sort());
    // A second push sends nothing: sent items are done.
    const postsBefore = proxy.hits.filter((h) => h.method === 'POST').length;
    expect(await sync.pushNow(ADMIN)).toEqual({ pushed: 0, failed: 0 });
    expect(proxy.hits.filter((h) => h.method === 'POST').length).toBe(postsBefore);
    // Queuing the same object again is a no-op.
    expect(sync.enqueue({ kind: 'seg', content: seg.bytes, label: 'Tumor SEG' })).toMatchObject({ id: items[0]!.id, state: 'sent' });
  });

  it('a wrong password gives the right error and loses nothing', async () => {
    await sync.setSettings({ secret: 'wrong-password' }, ADMIN);
    const sr = buildMinimalSr(src.study, { className: 'glioma', probability: 0.7 });
    const item = sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'AI finding SR' });
    const run = await sync.syncNow(ADMIN);
    expect(run.ok).toBe(false);
    expect(run.error).toContain(`refused the credentials for user ${orthanc.username} (HTTP 401)`);
    const after = sync.outbox.get(item.id);
    expect(after.state).toBe('queued');
    expect(after.lastError).toContain('HTTP 401');
    expect(sync.status().outbox.waiting).toBeGreaterThanOrEqual(1);
    await sync.setSettings({ secret: orthanc.password }, ADMIN);
    store.db().prepare('UPDATE sync_outbox SET next_attempt_at = NULL WHERE id = ?').run(item.id);
    await sync.pushNow(ADMIN);
    expect(sync.outbox.get(item.id).state).toBe('sent');
    expect(await onOrthanc(src.study.studyInstanceUid, sr.sopInstanceUid)).toBe(1);
  });

  it('a 500 on STOW keeps the item queued with its error, then sends it once', async () => {
    const sr = buildMinimalSr(src.study, { className: 'pituitary', probability: 0.6 });
    const item = sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'AI finding SR' });
    const hooked = failedItems.length;
    proxy.setFault({ kind: 'status', status: 500 }, (r) => r.method === 'POST');
    const before = Date.now();
    expect(await sync.pushNow(ADMIN)).toEqual({ pushed: 0, failed: 1 });
    const after = Date.now();
    proxy.setFault({ kind: 'none' });
    // A retry is coming: the admins are not told of a failure yet.
    expect(failedItems.length).toBe(hooked);
    const queued = sync.outbox.get(item.id);
    expect(queued).toMatchObject({ state: 'queued', attempts: 1 });
    expect(queued.lastError).toContain('HTTP 500');
    // The first retry waits half to all of the 200 ms base after the failed attempt, whenever
    // within this push that attempt happened (bounds from the policy, not from how fast we ran).
    expect(Date.parse(queued.nextAttemptAt!)).toBeGreaterThanOrEqual(before + 100);
    expect(Date.parse(queued.nextAttemptAt!)).toBeLessThanOrEqual(after + 200);
    await waitFor('the backoff', () => Date.parse(queued.nextAttemptAt!) <= Date.now());
    await sync.pushNow(ADMIN);
    expect(sync.outbox.get(item.id)).toMatchObject({ state: 'sent', attempts: 2 });
    expect(postsWith(sr.sopInstanceUid).filter((h) => h.status === 200)).toHaveLength(1);
  });

  it('a refusal the server will repeat (HTTP 400) fails the item for good and tells the hook once', async () => {
    const sr = buildMinimalSr(src.study, { className: 'meningioma', probability: 0.7 });
    const item = sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'AI finding SR' });
    const before = failedItems.length;
    proxy.setFault({ kind: 'status', status: 400 }, (r) => r.method === 'POST');
    try {
      expect(await sync.pushNow(ADMIN)).toEqual({ pushed: 0, failed: 1 });
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect(sync.outbox.get(item.id)).toMatchObject({ state: 'failed' });
    expect(failedItems.slice(before)).toEqual([item.id]);
    // A failed item is not pushed again by itself, so the hook does not fire twice.
    await sync.pushNow(ADMIN);
    expect(failedItems.slice(before)).toEqual([item.id]);
    sync.cancel(item.id, ADMIN);
  });

  it('a STOW answer cut after the server stored the object: it is not sent again', async () => {
    const sr = buildMinimalSr(src.study, { className: 'glioma', probability: 0.55 });
    const item = sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'AI finding SR' });
    // Orthanc stores the instance; the answer never reaches the workstation.
    proxy.setFault({ kind: 'cut-response', afterBytes: 0 }, (r) => r.method === 'POST');
    expect(await sync.pushNow(ADMIN)).toEqual({ pushed: 0, failed: 1 });
    proxy.setFault({ kind: 'none' });
    const cut = sync.outbox.get(item.id);
    expect(cut.state).toBe('queued');
    expect(cut.lastError).toContain('cut in the middle');
    expect(await onOrthanc(src.study.studyInstanceUid, sr.sopInstanceUid)).toBe(1);
    store.db().prepare('UPDATE sync_outbox SET next_attempt_at = NULL WHERE id = ?').run(item.id);
    expect(await sync.pushNow(ADMIN)).toEqual({ pushed: 1, failed: 0 });
    expect(sync.outbox.get(item.id).state).toBe('sent');
    expect(postsWith(sr.sopInstanceUid)).toHaveLength(1);
    expect(auditRows('sync.push').filter((r) => r.object_id === String(item.id)).map((r) => JSON.parse(r.detail!).result)).toEqual(['retry', 'already-there']);
  });

  it('admin can cancel an item (it is not sent) and retry a failed one', async () => {
    const sr = buildMinimalSr(src.study, { className: 'glioma', probability: 0.5 });
    const item = sync.enqueue({ kind: 'sr', content: sr.bytes, label: 'AI finding SR' });
    expect(sync.cancel(item.id, ADMIN).state).toBe('cancelled');
    await sync.pushNow(ADMIN);
    expect(postsWith(sr.sopInstanceUid)).toHaveLength(0);
    expect(sync.outbox.get(item.id).state).toBe('cancelled');
    expect((await sync.retry(item.id, ADMIN)).state).toBe('queued');
    await sync.pushNow(ADMIN);
    expect(sync.outbox.get(item.id).state).toBe('sent');
    expect(() => sync.cancel(item.id, ADMIN)).toThrow(/already sent/);
    expect(auditRows('outbox.cancel').map((r) => r.object_id)).toContain(String(item.id));
  });

  it('Orthanc killed in the middle of a push: after its restart everything arrives exactly once', async () => {
    const objs = Array.from({ length: 40 }, (_, i) => buildMinimalSr(src.study, { className: `case-${i}`, probability: 0.5 }));
    const items = objs.map((o) => sync.enqueue({ kind: 'sr', content: o.bytes, label: 'AI finding SR' }));
    const postsBefore = proxy.hits.filter((h) => h.method === 'POST').length;
    // A slow server (each STOW answered after 150 ms), so the kill lands while most of the push
    // is still to come, however fast this machine is.
    proxy.setFault({ kind: 'slow', ms: 150 }, (r) => r.method === 'POST');
    const pushing = sync.pushNow(ADMIN);
    await waitFor('the first STOW requests', () => proxy.hits.filter((h) => h.method === 'POST').length - postsBefore >= 8, 20_000);
    await orthanc.kill();
    const first = await pushing;
    proxy.setFault({ kind: 'none' });
    expect(first.failed).toBeGreaterThanOrEqual(1);
    const waiting = items.filter((i) => sync.outbox.get(i.id).state !== 'sent');
    expect(waiting.length).toBeGreaterThan(0);
    // Nothing is lost: what did not get through waits, the ones tried carry the error.
    for (const w of waiting) expect(sync.outbox.get(w.id).state).toBe('queued');
    expect(waiting.some((w) => /cut in the middle|Nothing answers|HTTP 5/.test(sync.outbox.get(w.id).lastError ?? ''))).toBe(true);

    await orthanc.restart();
    await waitFor('every item sent', async () => {
      store.db().prepare(`UPDATE sync_outbox SET next_attempt_at = NULL WHERE state = 'queued'`).run();
      await sync.pushNow(ADMIN);
      return items.every((i) => sync.outbox.get(i.id).state === 'sent');
    }, 60_000);
    for (const [k, o] of objs.entries()) {
      expect(await onOrthanc(src.study.studyInstanceUid, o.sopInstanceUid), `item ${k}`).toBe(1);
      // Sent once: at most one STOW was answered with success. When Orthanc stored an object but
      // died before answering, the next round finds it on the server and sends nothing: then no
      // 200 was ever seen, and the one success row says 'already-there'.
      const stored = postsWith(o.sopInstanceUid).filter((h) => h.status === 200);
      const ok = auditRows('sync.push').filter((r) => r.object_id === String(items[k]!.id) && r.outcome === 'success');
      expect(ok, `item ${k}`).toHaveLength(1);
      const how = (JSON.parse(ok[0]!.detail!) as { result?: string }).result;
      if (stored.length === 0) expect(how, `item ${k}`).toBe('already-there');
      else expect(stored, `item ${k}`).toHaveLength(1);
    }
  });

  it('restarted with items in the outbox, the workstation sends them after start', async () => {
    const objs = Array.from({ length: 3 }, (_, i) => buildMinimalSr(src.study, { className: `restart-${i}`, probability: 0.4 }));
    const ids = objs.map((o) => sync.enqueue({ kind: 'sr', content: o.bytes, label: 'AI finding SR' }).id);
    // Shut down before anything was sent: the service, the database.
    await sync.stop();
    store.close();
    store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
    audit = createAuditLog(() => store.db());
    sync = newSync();
    await sync.setSettings({ enabled: true }, ADMIN);
    expect(ids.map((id) => sync.outbox.get(id).state)).toEqual(['queued', 'queued', 'queued']);
    sync.start();
    await waitFor('the outbox to drain after start', () => ids.every((id) => sync.outbox.get(id).state === 'sent'), 30_000);
    for (const o of objs) expect(await onOrthanc(src.study.studyInstanceUid, o.sopInstanceUid)).toBe(1);
    await sync.stop();
    await sync.setSettings({ enabled: false }, ADMIN);
  });

  it('never wrote the server password to the logs or the data folder', () => {
    const needle = Buffer.from(orthanc.password);
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const files = walk(dir).filter((f) => !f.includes(`${path.sep}modality${path.sep}`));
    expect(files).toContain(logFile());
    for (const f of files) expect(fs.readFileSync(f).includes(needle), f).toBe(false);
  });
});
