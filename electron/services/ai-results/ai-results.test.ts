// Stored AI results with real parts: an encrypted store, the DICOM service importing a real
// glioma series (as eight files, and as one multi-frame file), and the shipped model scoring it
// through the inference service.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkstationError, decodeMaskRuns, encodeMaskRuns, type AiProgress, type AiStudyResult } from '../../contract';
import { createStore, type Store } from '../store';
import { createAuditLog } from '../audit';
import { createDicomService, type DicomService } from '../dicom';
import { createInferenceService, type InferenceService } from '../inference';
import { createLogger } from '../log';
import { appRoot } from '../config';
import { writeGliomaMultiframe, writeGliomaSeries } from '../../../e2e/fixtures/glioma-series';
import { createAiResultsService, frameToRawImage, studyFinding, type AiResultsService } from './index';

const modelsFolder = process.env.TUMORPREDICT_MODELS ? path.resolve(process.env.TUMORPREDICT_MODELS) : path.join(appRoot(), 'native-models');

let dir: string;
let store: Store;
let dicom: DicomService;
let inference: InferenceService;
let studyId: string;
let multiframeStudyId: string;
const logger = createLogger({ level: 'error' });

function service(chunkSize = 4): AiResultsService {
  return createAiResultsService({
    db: () => store.db(),
    images: { study: (id) => dicom.index.get(id), frame: (id, f) => dicom.getFrame(id, f) },
    inference,
    audit: createAuditLog(() => store.db()),
    logger,
    chunkSize,
  });
}

beforeAll(async () => {
  if (!fs.existsSync(path.join(modelsFolder, 'tumornet', 'model-card.json'))) {
    throw new Error(`The shipped model ${modelsFolder}/tumornet is missing: train it with native-models/training/train.py (or set TUMORPREDICT_MODELS).`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-ai-results-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: 'correct horse battery staple 42' });
  if (!store.isOpen()) throw new Error(`test store did not open: ${store.status().problem}`);
  dicom = createDicomService({ db: () => store.db(), dataFolder: dir, workers: 2 });
  const files = writeGliomaSeries(path.join(dir, 'in'));
  const report = await dicom.importPaths(files, { actor: 'test' });
  expect(report.imported).toBe(files.length);
  studyId = report.studyIds[0]!;
  const mf = await dicom.importPaths([writeGliomaMultiframe(path.join(dir, 'in-mf'))], { actor: 'test' });
  expect(mf.imported).toBe(1);
  multiframeStudyId = mf.studyIds[0]!;
  inference = createInferenceService({ config: { modelsFolder, runtime: 'auto' }, logger, poolSize: 2 });
});

afterAll(async () => {
  await inference?.close();
  await dicom?.close();
  store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('mask run-length encoding', () => {
  it('round-trips and refuses runs that do not fill the image', () => {
    const mask = new Uint8Array([0, 0, 255, 255, 255, 0, 255, 0, 0]);
    const { runs, areaPx } = encodeMaskRuns(mask);
    expect(runs).toEqual([2, 3, 1, 1, 2]);
    expect(areaPx).toBe(4);
    expect([...decodeMaskRuns(runs, 3, 3)]).toEqual([...mask].map((v) => (v ? 1 : 0)));
    expect(encodeMaskRuns(new Uint8Array([1, 1])).runs).toEqual([0, 2]);
    expect(() => decodeMaskRuns([2, 3], 3, 3)).toThrow(RangeError);
    expect(() => decodeMaskRuns([20], 3, 3)).toThrow(RangeError);
  });
});

describe('studyFinding', () => {
  const f = (seriesId: string, label: string, confidence: number) => ({ seriesId, label, confidence, keyInstanceId: null, keyFrame: null, slices: 1, counts: {} });
  it('prefers a tumor series over notumor over not recognised, then the higher confidence', () => {
    expect(studyFinding([])).toBeNull();
    expect(studyFinding([f('a', 'notumor', 0.99), f('b', 'glioma', 0.6), f('c', 'not recognised', 0)])?.seriesId).toBe('b');
    expect(studyFinding([f('a', 'meningioma', 0.7), f('b', 'glioma', 0.9)])?.seriesId).toBe('b');
    expect(studyFinding([f('a', 'not recognised', 0), f('b', 'notumor', 0.8)])?.seriesId).toBe('b');
  });
});

describe('frameToRawImage', () => {
  it('reads the frame pixels the DICOM service decodes, and inverts MONOCHROME1', async () => {
    const detail = dicom.index.get(studyId);
    const frame = await dicom.getFrame(detail.series[0]!.instances[0]!.instanceId, 0);
    const img = frameToRawImage(frame);
    expect([img.width, img.height, img.channels]).toEqual([256, 256, 1]);
    expect(img.data.length).toBe(256 * 256);
    const inv = frameToRawImage({ ...frame, invert: true });
    expect(inv.data[0]).toBe(frame.max + frame.min - img.data[0]!);
  });
});

describe('study runs', () => {
  it('says not-run before a run and refuses unknown studies and unscored masks', () => {
    const ai = service();
    expect(ai.studyResult(studyId).status).toBe('not-run');
    expect(ai.statuses([studyId])).toEqual([{ studyId, status: 'not-run', label: null, confidence: null, background: null, reason: null }]);
    expect(() => ai.studyResult('no-such-study')).toThrow(WorkstationError);
    const instanceId = dicom.index.get(studyId).series[0]!.instances[0]!.instanceId;
    try {
      ai.mask(instanceId);
      expect.unreachable();
    } catch (err) {
      expect((err as WorkstationError).code).toBe('NOT_FOUND');
    }
  });

  it('scores every image, stores results, masks and the series finding, and reports progress', async () => {
    const ai = service();
    const progress: AiProgress[] = [];
    const r = await ai.runStudy(studyId, { actor: 'test', actorId: null, onProgress: (p) => progress.push(p) });
    expect(r.status).toBe('done');
    expect(r.instances).toHaveLength(8);
    expect(r.failures).toEqual([]);
    expect(r.model?.id).toBe('tumornet');
    expect(r.model?.version).toMatch(/\d/);
    expect(r.notice).toMatch(/not a medical device/i);
    for (const inst of r.instances) {
      const sum = Object.values(inst.probabilities).reduce((a, b) => a + b, 0);
      expect(sum).toBeGreaterThan(0.99);
      expect(sum).toBeLessThan(1.01);
      // Pixel spacing is 0.98 mm in the fixture: the area in mm² follows from the pixel count.
      if (inst.areaPx > 0) expect(inst.areaMm2).toBeCloseTo(inst.areaPx * 0.98 * 0.98, 0);
    }
    expect(r.series).toHaveLength(1);
    expect(r.finding).toEqual(r.series[0]);
    expect(r.instances.map((i) => i.instanceId)).toContain(r.finding!.keyInstanceId);
    expect(progress.at(-1)).toMatchObject({ studyId, done: 8, total: 8, phase: 'done' });
    expect(progress.some((p) => p.phase === 'scoring' && p.done < 8)).toBe(true);

    // Real glioma slices: most of them are called glioma and carry a mask.
    const gliomaSlices = r.instances.filter((i) => i.label === 'glioma').length;
    expect(gliomaSlices).toBeGreaterThanOrEqual(4);
    expect(r.finding!.label).toBe('glioma');
    const withMask = r.instances.find((i) => i.hasMask);
    if (!withMask) throw new Error('The model marked no tumor pixels on any of 8 real glioma slices.');
    const m = ai.mask(withMask.instanceId);
    expect([m.width, m.height]).toEqual([256, 256]);
    expect(m.areaPx).toBe(withMask.areaPx);
    expect(decodeMaskRuns(m.runs, m.width, m.height).reduce((a, b) => a + b, 0)).toBe(withMask.areaPx);

    // Stored: a new service over the same database reads the same result without running.
    const again = service().studyResult(studyId);
    expect(again.status).toBe('done');
    expect(again.instances.map((i) => [i.instanceId, i.label, i.areaPx]).sort()).toEqual(r.instances.map((i) => [i.instanceId, i.label, i.areaPx]).sort());
    expect(service().statuses([studyId])[0]).toMatchObject({ status: 'done', label: 'glioma' });
    // A stored result is returned as is unless forced.
    const cached = await service().runStudy(studyId, { actor: 'test', actorId: null });
    expect(cached.startedAt).toBe(r.startedAt);
  });

  it('cancels a run, keeps what was scored and says so', async () => {
    const ai = service(1);
    let cancelledAt = -1;
    const run = ai.runStudy(studyId, {
      actor: 'test',
      actorId: null,
      force: true,
      onProgress: (p) => {
        if (p.phase === 'scoring' && cancelledAt < 0) {
          cancelledAt = p.done;
          expect(ai.cancel(studyId)).toBe(true);
        }
      },
    });
    expect(ai.statuses([studyId])[0]!.status).toBe('running');
    await expect(run).rejects.toMatchObject({ code: 'CONFLICT' });
    const r = ai.studyResult(studyId);
    expect(r.status).toBe('cancelled');
    expect(r.instances.length).toBeGreaterThanOrEqual(cancelledAt);
    expect(r.instances.length).toBeLessThan(8);
    expect(ai.cancel(studyId)).toBe(false);
    // Running again replaces the partial result.
    const full = await ai.runStudy(studyId, { actor: 'test', actorId: null });
    expect(full.status).toBe('done');
    expect(full.instances).toHaveLength(8);
  });

  it('records a failed image with its reason and goes on with the others', async () => {
    const detail = dicom.index.get(studyId);
    const broken = detail.series[0]!.instances[2]!.instanceId;
    const ai = createAiResultsService({
      db: () => store.db(),
      images: {
        study: (id) => dicom.index.get(id),
        frame: (id, f) => (id === broken ? Promise.reject(new WorkstationError('NOT_FOUND', 'The stored image file is missing from the data folder.')) : dicom.getFrame(id, f)),
      },
      inference,
      logger,
    });
    const r = await ai.runStudy(studyId, { actor: 'test', actorId: null, force: true });
    expect(r.status).toBe('done');
    expect(r.instances).toHaveLength(7);
    expect(r.failures).toEqual([{ instanceId: broken, frame: 0, reason: 'The stored image file is missing from the data folder.' }]);
    await service().runStudy(studyId, { actor: 'test', actorId: null, force: true });
  });

  it('reports a run left running by a crash as interrupted', () => {
    store.db().prepare("UPDATE ai_runs SET status = 'running' WHERE study_id = ?").run(studyId);
    const r = service().studyResult(studyId);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/interrupted/);
    store.db().prepare("UPDATE ai_runs SET status = 'done' WHERE study_id = ?").run(studyId);
  });

  it('reads a stored series finding from a minority of analysable slices as "not recognised"', () => {
    // A row as the aggregation wrote it before the majority rule: notumor from 2 of 8 slices.
    const db = store.db();
    const row = db.prepare('SELECT series_id, label, confidence, counts, slices FROM ai_series_results WHERE study_id = ?').get(studyId) as { series_id: string; label: string; confidence: number; counts: string; slices: number };
    db.prepare('UPDATE ai_series_results SET label = ?, confidence = ?, counts = ? WHERE series_id = ?').run('notumor', 0.695, JSON.stringify({ notumor: 2, 'not recognised': 6 }), row.series_id);
    try {
      const svc = service();
      const r = svc.studyResult(studyId);
      expect(r.finding).toMatchObject({ label: 'not recognised', confidence: 0 });
      expect(svc.statuses([studyId])[0]).toMatchObject({ label: 'not recognised', confidence: 0 });
      // Exactly half is not a majority: the stored class stands.
      db.prepare('UPDATE ai_series_results SET counts = ? WHERE series_id = ?').run(JSON.stringify({ notumor: 4, 'not recognised': 4 }), row.series_id);
      expect(svc.studyResult(studyId).finding).toMatchObject({ label: 'notumor', confidence: 0.695 });
    } finally {
      db.prepare('UPDATE ai_series_results SET label = ?, confidence = ?, counts = ? WHERE series_id = ?').run(row.label, row.confidence, row.counts, row.series_id);
    }
  });
});

describe('multi-frame images', () => {
  // The multi-frame fixture holds the single-file series' slices as frames, in instance-number order.
  const singleByFrame = (): string[] => {
    const inst = [...dicom.index.get(studyId).series[0]!.instances].sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
    expect(inst).toHaveLength(8);
    return inst.map((i) => i.instanceId);
  };
  const multiframeInstance = (): string => {
    const series = dicom.index.get(multiframeStudyId).series;
    expect(series).toHaveLength(1);
    expect(series[0]!.instances).toHaveLength(1);
    expect(series[0]!.instances[0]!.frames).toBe(8);
    return series[0]!.instances[0]!.instanceId;
  };

  it('imports as one instance whose frame k is the pixels of single file k', async () => {
    const mfId = multiframeInstance();
    const singles = singleByFrame();
    for (const k of [0, 3, 7]) {
      const [frame, twin] = await Promise.all([dicom.getFrame(mfId, k), dicom.getFrame(singles[k]!, 0)]);
      expect(frame.data).toBe(twin.data);
    }
    await expect(dicom.getFrame(mfId, 8)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('scores every frame like its single-file twin, picks the same key slice as a frame, and serves each frame\'s mask', async () => {
    const mfId = multiframeInstance();
    const singles = singleByFrame();
    const single = await service().runStudy(studyId, { actor: 'test', actorId: null, force: true });
    const ai = service(3); // chunks of 3 frames: one instance's frames split over chunks and shared within one
    const progress: AiProgress[] = [];
    const r = await ai.runStudy(multiframeStudyId, { actor: 'test', actorId: null, force: true, onProgress: (p) => progress.push(p) });
    expect(r.status).toBe('done');
    expect(progress.every((p) => p.total === 8)).toBe(true);
    expect(progress.filter((p) => p.phase === 'scoring').map((p) => p.done)).toEqual([3, 6, 8]);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', done: 8, total: 8 });
    expect(r.failures).toEqual([]);
    expect(r.instances.map((i) => [i.instanceId, i.frame])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => [mfId, k]));

    const twinOf = (res: AiStudyResult, instanceId: string) => res.instances.find((i) => i.instanceId === instanceId && i.frame === 0)!;
    for (const inst of r.instances) {
      const twin = twinOf(single, singles[inst.frame]!);
      expect(inst.label, `frame ${inst.frame}`).toBe(twin.label);
      expect(Math.abs(inst.confidence - twin.confidence), `frame ${inst.frame}`).toBeLessThan(1e-5);
      for (const [cls, p] of Object.entries(twin.probabilities)) expect(Math.abs(inst.probabilities[cls]! - p)).toBeLessThan(1e-5);
      expect(inst.hasMask).toBe(twin.hasMask);
      expect(Math.abs(inst.areaPx - twin.areaPx)).toBeLessThanOrEqual(Math.max(2, twin.areaPx * 0.01));
    }

    // One series of eight slices: the same finding, its key slice a frame of the one instance.
    expect(r.series).toHaveLength(1);
    const f = r.finding!;
    const sf = single.finding!;
    expect([f.label, f.slices, f.counts]).toEqual([sf.label, sf.slices, sf.counts]);
    expect(Math.abs(f.confidence - sf.confidence)).toBeLessThan(1e-5);
    expect(f.keyInstanceId).toBe(mfId);
    expect(sf.keyFrame).toBe(0);
    expect(f.keyFrame).toBe(singles.indexOf(sf.keyInstanceId!));
    // The key slice of these glioma slices is not the first one: scoring frame 0 alone would miss it.
    expect(f.keyFrame, 'the key frame should not be frame 0 on this fixture').toBeGreaterThan(0);

    // mask(instance, k) is frame k's own mask.
    const withMask = r.instances.filter((i) => i.hasMask);
    if (withMask.length < 2) throw new Error('The model marked tumor pixels on fewer than 2 of 8 real glioma slices.');
    for (const inst of withMask) {
      const m = ai.mask(mfId, inst.frame);
      expect(m.frame).toBe(inst.frame);
      expect(m.areaPx).toBe(inst.areaPx);
      const twin = ai.mask(singles[inst.frame]!, 0);
      const a = decodeMaskRuns(m.runs, m.width, m.height);
      const b = decodeMaskRuns(twin.runs, twin.width, twin.height);
      let differ = 0;
      for (let i = 0; i < a.length; i++) differ += a[i]! ^ b[i]!;
      expect(differ).toBeLessThanOrEqual(Math.max(2, twin.areaPx * 0.01));
    }
    // Masks of different frames differ (the slices do), and the default frame is 0.
    const [m1, m2] = [ai.mask(mfId, withMask[0]!.frame), ai.mask(mfId, withMask[1]!.frame)];
    expect(m1.runs).not.toEqual(m2.runs);
    expect(ai.mask(mfId)).toEqual(ai.mask(mfId, 0));
    expect(() => ai.mask(mfId, 8)).toThrow(/no AI result/);

    // Stored: a new service reads the frames back.
    expect(service().studyResult(multiframeStudyId).instances.map((i) => i.frame)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
