// The viewer's API through the real composition root and handler table: opening a study writes
// an audit row, a study run streams ai.progress events to the calling connection and stores the
// result, masks come back at the image's size, and bad or foreign calls get clear refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AI_PROGRESS_EVENT, decodeMaskRuns, type AiStudyResult, type DicomTag, type EventEnvelope, type StudySummary } from '../contract';
import { resolveConfig } from '../services/config';
import { FOLLOW_UP_DATES, writeFollowUpPair, writeGliomaSeries } from '../../e2e/fixtures/glioma-series';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
const events: EventEnvelope[] = [];
let studyId: string;

const { call, ok, adminAndRadiologist } = channelCaller(() => ws);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ai-viewer-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: dir, keySource: 'passphrase', passphrase: 'db passphrase for the viewer test' }));
  ({ admin, rad } = await adminAndRadiologist((e) => events.push(e)));
  const files = writeGliomaSeries(path.join(dir, 'in'));
  const report = await ws.services.dicom.importPaths(files, { actor: 'test' });
  studyId = report.studyIds[0]!;
});

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('viewer API', () => {
  it('writes an audit row for each study opened', async () => {
    const before = ws.services.store.db().prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'study.open' AND object_id = ?").get(studyId) as { n: number };
    expect(await call(rad, 'studies.get', { studyId })).toMatchObject({ ok: true });
    expect(await call(rad, 'studies.get', { studyId })).toMatchObject({ ok: true });
    const rows = ws.services.store.db().prepare("SELECT actor, outcome FROM audit_log WHERE action = 'study.open' AND object_id = ?").all(studyId) as { actor: string; outcome: string }[];
    expect(rows.length - before.n).toBe(2);
    expect(rows.at(-1)).toEqual({ actor: 'rad1', outcome: 'success' });
  });

  it('runs the model on a study with progress events, stores it, and serves masks', async () => {
    expect(await call(rad, 'ai.studyStatuses', { studyIds: [studyId] })).toMatchObject({ ok: true, result: { statuses: [{ studyId, status: 'not-run' }] } });
    const run = await call(rad, 'ai.runStudy', { studyId });
    expect(run.ok).toBe(true);
    const r = run.result as AiStudyResult;
    expect(r.status).toBe('done');
    expect(r.instances).toHaveLength(8);
    const progress = events.filter((e) => e.event === AI_PROGRESS_EVENT).map((e) => e.data as { phase: string; done: number });
    expect(progress.at(-1)).toMatchObject({ phase: 'done', done: 8 });
    const stored = await call(rad, 'ai.studyResult', { studyId });
    expect((stored.result as AiStudyResult).instances.map((i) => i.instanceId).sort()).toEqual(r.instances.map((i) => i.instanceId).sort());
    for (const inst of r.instances) {
      const m = await call(rad, 'ai.mask', { instanceId: inst.instanceId });
      expect(m.ok).toBe(true);
      const mask = m.result as { width: number; height: number; runs: number[]; areaPx: number };
      expect([mask.width, mask.height]).toEqual([256, 256]);
      expect(mask.areaPx).toBe(inst.areaPx);
      expect(decodeMaskRuns(mask.runs, 256, 256).length).toBe(256 * 256);
    }
    const audit = ws.services.store.db().prepare("SELECT outcome, detail FROM audit_log WHERE action = 'ai.run' AND object_id = ?").all(studyId) as { outcome: string; detail: string }[];
    expect(audit.at(-1)?.outcome).toBe('success');
  });

  it('refuses other roles, bad payloads and unknown objects with clear errors', async () => {
    expect(await call(admin, 'ai.runStudy', { studyId })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(admin, 'ai.mask', { instanceId: 'x' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(createConnection('host'), 'ai.studyResult', { studyId })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await call(rad, 'ai.runStudy', { studyId: '' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(rad, 'ai.studyStatuses', { studyIds: 'abc' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    const unknown = await call(rad, 'ai.runStudy', { studyId: 'no-such-study' });
    expect(unknown).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(unknown.message).toMatch(/[a-z]/);
    expect(await call(rad, 'ai.mask', { instanceId: 'no-such-instance' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // Frames: 0 is the default, a frame a single-frame image does not have is not found, a negative one is refused.
    const inst = (await call(rad, 'ai.studyResult', { studyId })).result as AiStudyResult;
    const first = inst.instances[0]!;
    expect(await call(rad, 'ai.mask', { instanceId: first.instanceId, frame: 0 })).toEqual(await call(rad, 'ai.mask', { instanceId: first.instanceId }));
    expect(await call(rad, 'ai.mask', { instanceId: first.instanceId, frame: 1 })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(rad, 'ai.mask', { instanceId: first.instanceId, frame: -1 })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(rad, 'ai.cancel', { studyId })).toMatchObject({ ok: true, result: { cancelled: false } });
    // Nothing was lost: the stored result is still there.
    expect(await call(rad, 'ai.studyResult', { studyId })).toMatchObject({ ok: true, result: { status: 'done' } });
  });

  it('lists the patient\'s other studies, newest first, and nobody else\'s', async () => {
    const pair = writeFollowUpPair(path.join(dir, 'pair'));
    const prior = (await ws.services.dicom.importPaths(pair.prior, { actor: 'test' })).studyIds[0]!;
    const current = (await ws.services.dicom.importPaths(pair.current, { actor: 'test' })).studyIds[0]!;
    const r = await ok<{ studies: StudySummary[] }>(rad, 'studies.priors', { studyId: current });
    expect(r.studies.map((s) => [s.studyId, s.studyDate])).toEqual([[prior, FOLLOW_UP_DATES.prior]]);
    expect((await ok<{ studies: StudySummary[] }>(rad, 'studies.priors', { studyId: prior })).studies.map((s) => s.studyId)).toEqual([current]);
    // The glioma fixture is another patient: no priors, and none of the pair.
    expect(await ok(rad, 'studies.priors', { studyId })).toEqual({ studies: [] });
    expect(await call(rad, 'studies.priors', { studyId: 'no-such-study' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(admin, 'studies.priors', { studyId })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('lists an image\'s DICOM elements read-only for the tag browser, audited', async () => {
    const detail = (await call(rad, 'studies.get', { studyId })).result as { series: { instances: { instanceId: string }[] }[] };
    const instanceId = detail.series[0]!.instances[0]!.instanceId;
    const r = await ok<{ tags: DicomTag[]; truncated: boolean }>(rad, 'images.tags', { instanceId });
    expect(r.truncated).toBe(false);
    expect(r.tags.find((t) => t.tag === '(0010,0010)')).toMatchObject({ name: 'PatientName', vr: 'PN', value: 'TEST^GLIOMA^SERIES', private: false });
    expect(r.tags.find((t) => t.tag === '(0020,0037)')).toMatchObject({ name: 'ImageOrientationPatient', value: '1\\0\\0\\0\\1\\0' });
    expect(r.tags.find((t) => t.tag === '(7FE0,0010)')).toMatchObject({ value: '(pixel data, 65536 bytes)' });
    const audit = ws.services.store.db().prepare("SELECT actor FROM audit_log WHERE action = 'image.tags' AND object_id = ?").all(instanceId);
    expect(audit).toEqual([{ actor: 'rad1' }]);
    expect(await call(rad, 'images.tags', { instanceId: 'no-such-image' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(admin, 'images.tags', { instanceId })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(rad, 'images.tags', { instanceId, extra: 1 })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
  });
});
