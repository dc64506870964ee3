// Background scoring through the real composition root (host transport, so the queue runs), the
// handler table, the real DICOM import, dcmtk's storescu into the DIMSE receiver and the shipped
// model: a study imported is scored with no one asking, and opening it returns the stored result
// with no new inference; the setting off scores nothing and cancels the study under way; a study
// that cannot be scored is skipped or failed with a reason and the next one is still scored; a
// restart queues the study left unscored. The only seam is a wrapper around the real classify that
// counts calls and can hold background ones (to turn the setting off while one is under way).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_BACKGROUND_EVENT, PERMISSIONS, type AiBackgroundEvent, type AiStudyResult, type AiStudyStatus, type EventEnvelope, type ImportReport } from '../contract';
import { resolveConfig } from '../services/config';
import type { ClassifyOptions, InferenceInput } from '../services/inference';
import { writeGliomaSeries } from '../../e2e/fixtures/glioma-series';
import { damageStoredBlob } from '../testing/dicom';
import { dcmtk } from '../testing/dimse';
import { freePort } from '../testing/sync/orthanc';
import { makeMrStudy, PYDICOM_TEST_FILES } from '../testing/sync/study-factory';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { channelCaller, TEST_ADMIN, TEST_RADIOLOGIST } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
const radEvents: EventEnvelope[] = [];
const adminEvents: EventEnvelope[] = [];
const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);
const WAIT = { timeout: 240_000, interval: 200 };

/** Counts classify calls by priority; background ones wait for `gate` while it is set. */
const calls = { interactive: 0, background: 0 };
let gate: { opened: Promise<void>; open(): void; reached: Promise<void>; reach(): void } | null = null;
function instrument(): void {
  const inference = ws.services.inference;
  const real = inference.classify.bind(inference);
  inference.classify = async (inputs: InferenceInput[], opts?: ClassifyOptions) => {
    const background = opts?.priority === 'background';
    if (background) calls.background++;
    else calls.interactive++;
    if (background && gate) {
      gate.reach();
      await gate.opened;
    }
    return real(inputs, opts);
  };
}
function newGate(): NonNullable<typeof gate> {
  let open!: () => void;
  let reach!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const reached = new Promise<void>((r) => (reach = r));
  return { opened, open, reached, reach };
}

const config = (): Parameters<typeof createWorkstation>[0] =>
  resolveConfig({ transport: 'host', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'background scoring test passphrase' });
const statusOf = async (studyId: string): Promise<AiStudyStatus> => (await ok<{ statuses: AiStudyStatus[] }>(rad, 'ai.studyStatuses', { studyIds: [studyId] })).statuses[0]!;
const runRow = (studyId: string) =>
  ws.services.store.db().prepare('SELECT status, model_id, model_version, started_by, total FROM ai_runs WHERE study_id = ?').get(studyId) as
    | { status: string; model_id: string; model_version: string; started_by: string; total: number }
    | undefined;
const importFiles = async (files: string[]): Promise<string> => {
  const r = await ok<ImportReport>(rad, 'import.paths', { paths: files });
  expect(r.imported).toBe(files.length);
  return r.studyIds[0]!;
};
const setScoring = (on: boolean) => ok(admin, 'settings.update', { backgroundScoring: on });
const bgEvents = (studyId: string): string[] => radEvents.filter((e) => e.event === AI_BACKGROUND_EVENT && (e.data as AiBackgroundEvent).studyId === studyId).map((e) => (e.data as AiBackgroundEvent).state);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ai-background-'));
  // No demo study: the test's own studies are the only ones queued.
  ws = await createWorkstation(config());
  await ws.services.settings.update({ importDemoStudy: false }, 'test');
  ({ admin, rad } = await adminAndRadiologist((e) => radEvents.push(e)));
  await signIn(TEST_ADMIN.username, TEST_ADMIN.password, (e) => adminEvents.push(e));
  instrument();
}, 120_000);

afterAll(async () => {
  gate?.open();
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('background scoring of arriving studies', () => {
  let studyA: string;

  it('is on by default; an imported study is scored with no one asking, by the current model, pushed live to radiologists only', async () => {
    expect((await ok<{ backgroundScoring: boolean }>(admin, 'settings.get', {})).backgroundScoring).toBe(true);
    studyA = await importFiles(writeGliomaSeries(path.join(dir, 'a')));
    // The import's hook queued it before the import answered.
    expect([...ws.services.aiBackground.queued(), ws.services.aiBackground.current()]).toContain(studyA);
    await expect.poll(async () => (await statusOf(studyA)).status, WAIT).toBe('done');
    const s = await statusOf(studyA);
    expect(s.label).not.toBeNull();
    expect(s.background).toBeNull();
    const model = await ws.services.inference.loadModel();
    expect(runRow(studyA)).toMatchObject({ status: 'done', model_id: model.spec.id, model_version: model.spec.version, started_by: 'system:background', total: 8 });
    expect(calls.background).toBeGreaterThan(0);
    expect(calls.interactive).toBe(0);
    await expect.poll(() => bgEvents(studyA).at(-1), WAIT).toBe('scored');
    expect(bgEvents(studyA)).toEqual(['queued', 'running', 'scored']);
    // Ids only, and never to an admin's window.
    expect(adminEvents.filter((e) => e.event === AI_BACKGROUND_EVENT)).toEqual([]);
    expect(Object.keys(radEvents.find((e) => e.event === AI_BACKGROUND_EVENT)!.data as object).sort()).toEqual(['state', 'studyId']);
  }, 300_000);

  it("opening the scored study (the viewer's calls) returns the stored result with no new inference", async () => {
    const before = { ...calls };
    const stored = await ok<AiStudyResult>(rad, 'ai.studyResult', { studyId: studyA });
    expect(stored.status).toBe('done');
    const opened = await ok<AiStudyResult>(rad, 'ai.runStudy', { studyId: studyA, force: false });
    expect(opened.instances).toHaveLength(8);
    expect(opened.finding?.label).toBe(stored.finding?.label);
    expect(opened.notice).toMatch(/Not a medical device/);
    expect(calls).toEqual(before);
  });

  it('keeps the AI channels to radiologists and the setting to admins', async () => {
    expect(PERMISSIONS['ai.studyStatuses']).toEqual(['radiologist']);
    expect(PERMISSIONS['ai.studyResult']).toEqual(['radiologist']);
    expect((await call(admin, 'ai.studyStatuses', { studyIds: [studyA] })).code).toBe('FORBIDDEN');
    expect((await call(rad, 'settings.update', { backgroundScoring: false })).code).toBe('FORBIDDEN');
    expect((await call(admin, 'settings.update', { backgroundScoring: 'yes' })).code).toBe('INVALID_INPUT');
    const anonymous = await signIn(TEST_RADIOLOGIST.username, TEST_RADIOLOGIST.password);
    await ok(anonymous, 'auth.logout', {});
    expect((await call(anonymous, 'ai.studyStatuses', { studyIds: [studyA] })).code).toBe('UNAUTHENTICATED');
    expect((await ok<{ backgroundScoring: boolean }>(admin, 'settings.get', {})).backgroundScoring).toBe(true);
  });

  let ct: string;
  let damaged: string;
  let good: string;
  it('off: a study that arrives is not queued and reads "off"', async () => {
    await setScoring(false);
    const audit = ws.services.store.db().prepare("SELECT detail FROM audit_log WHERE action = 'settings.update' ORDER BY id DESC LIMIT 1").get() as { detail: string };
    expect(JSON.parse(audit.detail)).toMatchObject({ keys: 'backgroundScoring' });
    // Imported in this order so the queue (newest first) meets the damaged one, then the CT, then the good MR.
    good = await importFiles(makeMrStudy(path.join(dir, 'good'), 3).files);
    const ctFile = path.join(dir, 'ct.dcm');
    fs.copyFileSync(path.join(PYDICOM_TEST_FILES, 'CT_small.dcm'), ctFile);
    ct = await importFiles([ctFile]);
    damaged = await importFiles(makeMrStudy(path.join(dir, 'damaged'), 2).files);
    expect(ws.services.aiBackground.queued()).toEqual([]);
    expect(ws.services.aiBackground.current()).toBeNull();
    for (const id of [good, ct, damaged]) expect(await statusOf(id)).toMatchObject({ status: 'not-run', background: 'off' });
    // The damaged study's stored files are tampered with at rest (AES-GCM refuses them at decode).
    const db = ws.services.store.db();
    const hashes = db.prepare('SELECT i.content_sha256 AS h FROM instances i JOIN series se ON se.id = i.series_id WHERE se.study_id = ?').all(damaged) as { h: string }[];
    expect(hashes).toHaveLength(2);
    for (const { h } of hashes) {
      damageStoredBlob(db, path.join(dir, 'data', 'blobs'), h, (bytes) => {
        for (let i = 64; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0xff;
      });
    }
    // The decoder keeps the file it parsed last: make it read another one.
    const other = ws.services.dicom.index.get(studyA).series[0]!.instances[0]!.instanceId;
    await ws.services.dicom.getFrame(other, 0);
  }, 120_000);

  it('on again: the damaged study fails and the CT is skipped, each with a reason, and the queue goes on; off cancels the study under way', async () => {
    gate = newGate();
    await setScoring(true);
    // The good MR reaches the model (held here) after the other two were dealt with.
    await gate.reached;
    expect(ws.services.aiBackground.current()).toBe(good);
    const failed = await statusOf(damaged);
    expect(failed.background).toBe('failed');
    expect(failed.reason).toMatch(/^No image of this study could be scored: /);
    expect(await statusOf(ct)).toMatchObject({ status: 'not-run', background: 'skipped', reason: 'Not an MR study (CT): the model reads brain MRI only.' });
    // Turned off while the good study is being scored: it is cancelled at its next chunk.
    await setScoring(false);
    gate.open();
    gate = null;
    await ws.services.aiBackground.idle();
    expect(runRow(good)?.status).toBe('cancelled');
    expect(await statusOf(good)).toMatchObject({ status: 'cancelled', label: null, background: 'off' });
    expect(ws.services.aiBackground.queued()).toEqual([]);
    // On once more: the cancelled study is queued again and scored; the skipped and failed ones are not retried for this model.
    const before = calls.background;
    await setScoring(true);
    await expect.poll(async () => (await statusOf(good)).status, WAIT).toBe('done');
    await ws.services.aiBackground.idle();
    expect(calls.background).toBeGreaterThan(before);
    expect((await statusOf(damaged)).background).toBe('failed');
    expect((await statusOf(ct)).background).toBe('skipped');
    expect(runRow(ct)).toBeUndefined();
  }, 300_000);

  it('a study pushed by DIMSE C-STORE is scored once it has arrived', async () => {
    const port = await freePort();
    await ok(admin, 'dimse.setSettings', { scpEnabled: true, aeTitle: 'TPBACKGROUND', port, bindAddress: '127.0.0.1', allowedCallers: [{ aeTitle: 'TPSCANNER', host: '127.0.0.1' }] });
    const study = makeMrStudy(path.join(dir, 'push'), 3);
    const r = await dcmtk('storescu', ['-aet', 'TPSCANNER', '-aec', 'TPBACKGROUND', '127.0.0.1', String(port), ...study.files]);
    expect(r.code, r.out).toBe(0);
    const row = ws.services.store.db().prepare('SELECT id FROM studies WHERE study_instance_uid = ?').get(study.studyInstanceUid) as { id: string };
    await expect.poll(async () => (await statusOf(row.id)).status, WAIT).toBe('done');
    expect(runRow(row.id)).toMatchObject({ started_by: 'system:background', total: 3 });
    await ok(admin, 'dimse.setSettings', { scpEnabled: false });
  }, 300_000);

  it('a radiologist who opens a study being scored in the background joins that run, and it goes on at interactive priority', async () => {
    gate = newGate();
    // Ten images: two chunks of eight and two.
    const joined = await importFiles(makeMrStudy(path.join(dir, 'joined'), 10).files);
    await gate.reached;
    expect(ws.services.aiBackground.current()).toBe(joined);
    const before = { ...calls };
    const opened = call(rad, 'ai.runStudy', { studyId: joined, force: false });
    // Let the call reach the run (the handler table's checks are synchronous work, a few turns).
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    gate.open();
    gate = null;
    const r = await opened;
    expect(r.ok, r.message).toBe(true);
    expect((r.result as AiStudyResult).instances).toHaveLength(10);
    // The first chunk was the background one held above; the second ran as the radiologist's.
    expect(calls.interactive - before.interactive).toBe(1);
    expect(calls.background - before.background).toBe(0);
    expect(runRow(joined)).toMatchObject({ status: 'done', started_by: 'system:background', total: 10 });
    await ws.services.aiBackground.idle();
  }, 300_000);

  it('a study a radiologist scores while it waits in the queue reads as scored, not "queued"', async () => {
    // The queue is held at another study's first chunk, so the second one waits behind it.
    gate = newGate();
    const held = await importFiles(makeMrStudy(path.join(dir, 'held'), 2).files);
    await gate.reached;
    expect(ws.services.aiBackground.current()).toBe(held);
    const waiting = await importFiles(makeMrStudy(path.join(dir, 'waiting'), 2).files);
    expect(ws.services.aiBackground.queued()).toContain(waiting);
    const r = await call(rad, 'ai.runStudy', { studyId: waiting, force: false });
    expect(r.ok, r.message).toBe(true);
    expect(ws.services.aiBackground.queued()).toContain(waiting);
    const s = await statusOf(waiting);
    expect(s.status).toBe('done');
    expect(s.label).not.toBeNull();
    expect(s.background).not.toBe('queued');
    gate.open();
    gate = null;
    await ws.services.aiBackground.idle();
    // The queue then finds the result and does not score it again.
    expect(runRow(waiting)).toMatchObject({ status: 'done', total: 2 });
    expect(runRow(waiting)!.started_by).not.toBe('system:background');
  }, 300_000);

  it('a restart queues the study left unscored', async () => {
    await setScoring(false);
    const left = await importFiles(makeMrStudy(path.join(dir, 'left'), 2).files);
    // On, and stopped while the study is at the model (held there): it is left unscored.
    gate = newGate();
    await setScoring(true);
    await gate.reached;
    expect(ws.services.aiBackground.current()).toBe(left);
    const stopping = ws.services.aiBackground.close();
    gate.open();
    gate = null;
    await stopping;
    await ws.close();
    ws = await createWorkstation(config());
    const db = ws.services.store.db();
    const before = db.prepare('SELECT status FROM ai_runs WHERE study_id = ?').get(left) as { status: string } | undefined;
    expect(before?.status ?? 'none').not.toBe('done');
    rad = await signIn(TEST_RADIOLOGIST.username, TEST_RADIOLOGIST.password, (e) => radEvents.push(e));
    admin = await signIn(TEST_ADMIN.username, TEST_ADMIN.password);
    await expect.poll(async () => (await statusOf(left)).status, WAIT).toBe('done');
    expect(runRow(left)).toMatchObject({ started_by: 'system:background', total: 2 });
  }, 300_000);
});
