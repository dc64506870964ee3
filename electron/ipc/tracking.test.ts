// Longitudinal tracking through the real composition root and handler table: a follow-up pair of
// real glioma series scored by the shipped model, the volume from mask area x slice spacing, the
// change in percent, a plain statement when the model version differs, the radiologist's
// measurements beside the AI's, and refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiStudyResult, Tracking } from '../contract';
import { resolveConfig } from '../services/config';
import { FOLLOW_UP_DATES, writeFollowUpPair } from '../../e2e/fixtures/glioma-series';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
let prior: string;
let current: string;
const results = new Map<string, AiStudyResult>();

const { call, ok, adminAndRadiologist } = channelCaller(() => ws);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-tracking-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the tracking test' }));
  ({ admin, rad } = await adminAndRadiologist());
  const pair = writeFollowUpPair(path.join(dir, 'pair'));
  prior = (await ws.services.dicom.importPaths(pair.prior, { actor: 'test' })).studyIds[0]!;
  current = (await ws.services.dicom.importPaths(pair.current, { actor: 'test' })).studyIds[0]!;
  for (const id of [prior, current]) results.set(id, await ok<AiStudyResult>(rad, 'ai.runStudy', { studyId: id }));
}, 180_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('tracking.patient', () => {
  it('measures both studies of the pair: key-slice area and diameters, and volume = sum of mask area x 6 mm', async () => {
    const t = await ok<Tracking>(rad, 'tracking.patient', { studyId: current });
    expect(t.points.map((p) => [p.studyId, p.studyDate, p.current])).toEqual([
      [prior, FOLLOW_UP_DATES.prior, false],
      [current, FOLLOW_UP_DATES.current, true],
    ]);
    for (const p of t.points) {
      const r = results.get(p.studyId)!;
      expect(p).toMatchObject({ status: 'measured', label: 'glioma', modelId: r.model!.id, modelVersion: r.model!.version, sliceSpacingMm: 6, volumeNote: null });
      // The volume is the stored masks' areas times the slice spacing, recomputed here from the AI result.
      const areas = r.instances.filter((i) => i.seriesId === p.seriesId).reduce((s, i) => s + (i.areaMm2 ?? 0), 0);
      expect(p.volumeMm3).toBeCloseTo(areas * 6, 6);
      expect(p.volumeMm3).toBeGreaterThan(0);
      expect(p.sliceAreasMm2).toHaveLength(8);
      const key = r.instances.find((i) => i.instanceId === r.finding!.keyInstanceId)!;
      expect(p.keySlice).toMatchObject({ instanceId: key.instanceId, areaMm2: key.areaMm2 });
      expect(p.keySlice!.where).toMatch(/^series 1 \(.*\), image \d$/);
      // A glioma's mask on 0.98 mm pixels: tens of millimetres across, the perpendicular no longer.
      expect(p.keySlice!.longestMm).toBeGreaterThan(5);
      expect(p.keySlice!.longestMm).toBeLessThan(250);
      expect(p.keySlice!.perpendicularMm).toBeLessThanOrEqual(p.keySlice!.longestMm!);
    }
    const [a, b] = t.points as [Tracking['points'][number], Tracking['points'][number]];
    expect(t.sincePrior).toMatchObject({ metric: 'volume', fromStudyId: prior, from: a.volumeMm3, to: b.volumeMm3 });
    expect(t.sincePrior!.percent).toBeCloseTo(((b.volumeMm3! - a.volumeMm3!) / a.volumeMm3!) * 100, 6);
    expect(t.sincePrior!.text).toMatch(/^Volume [\d.]+ (cm³|mm³) → [\d.]+ (cm³|mm³) \([+−]\d+%\) since 2024-01-10$/);
    expect(t.sinceFirst).toEqual(t.sincePrior);
    expect(t.statements).toEqual([]);
    expect(t.notice).toMatch(/Not a medical device/);
  });

  it("puts the radiologist's measurements beside the AI's", async () => {
    const key = (await ok<Tracking>(rad, 'tracking.patient', { studyId: current })).points[1]!.keySlice!;
    await ok(rad, 'measurements.save', { instanceId: key.instanceId, frame: key.frame, kind: 'length', points: [[100, 100], [130, 140]] });
    const p = (await ok<Tracking>(rad, 'tracking.patient', { studyId: current })).points[1]!;
    expect(p.radiologist.count).toBe(1);
    expect(p.radiologist.longestLengthMm).toBeCloseTo(50 * 0.98);
    expect(p.radiologist.texts[0]).toMatch(/^Length 49\.0 mm \(series 1 .*image \d\)$/);
  });

  it('says so when the two points come from different model versions', async () => {
    const db = ws.services.store.db();
    const was = db.prepare('SELECT model_version FROM ai_runs WHERE study_id = ?').get(prior) as { model_version: string };
    db.prepare('UPDATE ai_runs SET model_version = ? WHERE study_id = ?').run('0.9.0-older', prior);
    try {
      const t = await ok<Tracking>(rad, 'tracking.patient', { studyId: current });
      expect(t.statements.some((s) => /different model versions .*0\.9\.0-older for 2024-01-10.*may come from the model, not the tumor/.test(s))).toBe(true);
      // The figures are still given, with the statement beside them.
      expect(t.sincePrior?.percent).not.toBeNull();
    } finally {
      db.prepare('UPDATE ai_runs SET model_version = ? WHERE study_id = ?').run(was.model_version, prior);
    }
  });

  it('refuses other roles, no session, bad payloads and unknown studies', async () => {
    expect(await call(admin, 'tracking.patient', { studyId: current })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(createConnection('host'), 'tracking.patient', { studyId: current })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(await call(rad, 'tracking.patient', { studyId: '' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(rad, 'tracking.patient', { studyId: 'no-such-study' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });
});
