// The research workspace with real parts: an encrypted store, the inference worker pool with the
// shipped model, real MRI images. Registry (install, hash refusal, activate, retire), data sets
// (folders, CSV with masks, DICOM with de-identified export), runs (cancel, restart, resume gives
// exactly the uninterrupted result) and the comparison with its exports.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { createAuditLog, type AuditLog } from '../audit';
import { createInferenceService, type InferenceService } from '../inference';
import { silentLogger } from '../log';
import { createStore, type Store } from '../store';
import { createResearchService, type ResearchService } from './service';
import { comparisonText } from './compare';
import { copyMriSubset, makeUncalibratedVariant, shippedModelDir, writeSegCsv } from '../../testing/research';

const ADMIN = { userId: null, username: 'admin-test' };
const RESEARCHER = { userId: null, username: 'researcher-test' };

let dir: string;
let store: Store;
let audit: AuditLog;
let inference: InferenceService;
let research: ResearchService;
let modelsFolder: string;
let variantSrc: string;
let datasetDir: string;

function newResearch(): ResearchService {
  return createResearchService({ db: () => store.db(), inference, audit, logger: silentLogger, modelsFolder, flushEvery: 3, chunkSize: 4, bootstrapResamples: 300 });
}

async function expectError(p: Promise<unknown> | (() => unknown), code: string, message?: RegExp): Promise<WorkstationError> {
  let err: unknown = null;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a WorkstationError').toBeInstanceOf(WorkstationError);
  expect((err as WorkstationError).code).toBe(code);
  if (message) expect((err as WorkstationError).message).toMatch(message);
  return err as WorkstationError;
}

beforeAll(async () => {
  shippedModelDir(); // fails saying how to build the model when it is missing
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-research-'));
  store = await createStore({ dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'research test passphrase 42' });
  audit = createAuditLog(() => store.db());
  modelsFolder = path.join(dir, 'models');
  fs.mkdirSync(modelsFolder);
  variantSrc = makeUncalibratedVariant(path.join(dir, 'src'));
  datasetDir = copyMriSubset(path.join(dir, 'mri'), 8);
  inference = createInferenceService({ config: { modelsFolder, runtime: 'auto' }, logger: silentLogger, poolSize: 2 });
  research = newResearch();
}, 120_000);

afterAll(async () => {
  await research?.close();
  await inference?.close();
  store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('model registry', () => {
  it('installs the shipped model and a variant side by side, after their hash checks', async () => {
    const a = await research.registry.install(shippedModelDir(), RESEARCHER);
    expect(a).toMatchObject({ id: 'tumornet', verified: true });
    const b = await research.registry.install(variantSrc, RESEARCHER);
    expect(b).toMatchObject({ id: 'tumornet-t1', verified: true, status: 'research' });
    expect(b.version).toMatch(/-t1$/);
    const list = await research.registry.list();
    expect(list.map((m) => m.id).sort()).toEqual(['tumornet', 'tumornet-t1']);
    // Nothing activated yet: the inference default counts as the active clinical model.
    expect(list.find((m) => m.id === 'tumornet')!.status).toBe('active');
    expect(fs.readdirSync(modelsFolder).sort()).toEqual(['tumornet', 'tumornet-t1']);
  });

  it('refuses a model whose file does not match its sha256 and installs nothing', async () => {
    const bad = makeUncalibratedVariant(path.join(dir, 'bad'), 'tumornet-bad');
    const onnx = path.join(bad, 'model.onnx');
    const bytes = fs.readFileSync(onnx);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    fs.writeFileSync(onnx, bytes);
    await expectError(research.registry.install(bad, RESEARCHER), 'UNAVAILABLE', /does not match the sha256/);
    expect(fs.readdirSync(modelsFolder).sort()).toEqual(['tumornet', 'tumornet-t1']);
  });

  it('refuses a second model with an id already installed, and a folder without a card', async () => {
    await expectError(research.registry.install(variantSrc, RESEARCHER), 'CONFLICT', /already installed/);
    await expectError(research.registry.install(dir, RESEARCHER), 'INVALID_INPUT', /no model-card.json/);
  });

  it('activates one model for clinical use; the active model cannot be retired', async () => {
    const m = await research.registry.activate('tumornet-t1', ADMIN);
    expect(m.status).toBe('active');
    expect((await research.registry.get('tumornet')).status).toBe('research');
    await expectError(research.registry.retire('tumornet-t1', ADMIN), 'CONFLICT', /activate another model/);
    await research.registry.activate('tumornet', ADMIN);
    expect((await research.registry.get('tumornet-t1')).status).toBe('research');
    expect(await research.registry.activeModelId()).toBe('tumornet');
    const rows = audit.list({}, { limit: 50, offset: 0 }).rows.map((r) => r.action);
    expect(rows).toEqual(expect.arrayContaining(['models.install', 'models.activate']));
  });
});

describe('data sets', () => {
  it('registers a folder with one sub-folder per class: counts, content hash, thumbnails', async () => {
    const ds = await research.registerDataset(datasetDir, 'mri-32', RESEARCHER);
    expect(ds).toMatchObject({ kind: 'folders', items: 32, classCounts: { glioma: 8, meningioma: 8, notumor: 8, pituitary: 8 } });
    expect(ds.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(ds.thumbnails.length).toBe(8);
    expect(ds.thumbnails[0]!.png).toMatch(/^data:image\/png;base64,/);
    // Same bytes again: the same data set, not a copy.
    expect((await research.registerDataset(datasetDir, 'again', RESEARCHER)).id).toBe(ds.id);
    expect(research.listDatasets().length).toBe(1);
  });

  it('refuses a missing path, an empty folder and a CSV naming a missing file, clearly', async () => {
    await expectError(research.registerDataset(path.join(dir, 'nope'), undefined, RESEARCHER), 'NOT_FOUND', /no folder or CSV/);
    fs.mkdirSync(path.join(dir, 'empty'));
    await expectError(research.registerDataset(path.join(dir, 'empty'), undefined, RESEARCHER), 'INVALID_INPUT', /no PNG, JPEG or DICOM/);
    fs.writeFileSync(path.join(dir, 'bad.csv'), 'path,label\nmissing.png,glioma\n');
    await expectError(research.registerDataset(path.join(dir, 'bad.csv'), undefined, RESEARCHER), 'NOT_FOUND', /Line 2/);
    expect(research.listDatasets().length).toBe(1);
  });
});

describe('runs and comparison', () => {
  let dsId: string;
  let runA: string;
  let runB: string;

  it('scores the data set with two models (one run each) and records model, version, runtime, hash and settings', async () => {
    dsId = research.listDatasets()[0]!.id;
    const started = await research.startRuns(dsId, ['tumornet', 'tumornet-t1'], { batchSize: 4 }, RESEARCHER);
    expect(started.map((r) => r.modelId)).toEqual(['tumornet', 'tumornet-t1']);
    expect(new Set(started.map((r) => r.batchId)).size).toBe(1);
    [runA, runB] = started.map((r) => r.id) as [string, string];
    const a = await research.waitForRun(runA);
    const b = await research.waitForRun(runB);
    for (const r of [a, b]) {
      expect(r).toMatchObject({ status: 'done', total: 32, done: 32, failed: 0, datasetHash: research.getDataset(dsId).contentHash });
      expect(r.runtime).toBeTruthy();
      expect(r.settings).toMatchObject({ batchSize: 4, masks: true, classes: ['glioma', 'meningioma', 'notumor', 'pituitary'] });
      expect(r.cardSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(a.modelVersion).not.toBe(b.modelVersion);
    const m = (await research.runMetrics(runA))!;
    expect(m.n).toBe(32);
    expect(m.confusion.matrix.flat().reduce((x, y) => x + y, 0)).toBe(32);
    expect(m.throughput.imagesPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it('a run cancelled part-way and resumed after a restart gives exactly the uninterrupted result', async () => {
    const [run] = await research.startRuns(dsId, ['tumornet'], { batchSize: 4 }, RESEARCHER);
    const id = run!.id;
    // Cancel as soon as some (not all) results are stored.
    for (;;) {
      const r = research.getRun(id);
      if (r.done >= 3 || r.status !== 'queued' && r.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 2));
    }
    research.cancelRun(id, RESEARCHER);
    const stopped = await research.waitForRun(id);
    expect(stopped.status).toBe('cancelled');
    expect(stopped.done).toBeGreaterThan(0);
    expect(stopped.done).toBeLessThan(32);
    // "Restart": a new service over the same database; the run resumes from its unscored items.
    await research.close();
    research = newResearch();
    expect(research.getRun(id).status).toBe('cancelled');
    research.resumeRun(id, RESEARCHER);
    const done = await research.waitForRun(id);
    expect(done).toMatchObject({ status: 'done', done: 32, failed: 0 });
    const rows = (rid: string) =>
      store
        .db()
        .prepare('SELECT idx, ok, label, confidence, probabilities, dice FROM research_results WHERE run_id = ? ORDER BY idx')
        .all(rid);
    expect(rows(id)).toEqual(rows(runA));
    const c = await research.compare(runA, id);
    const strip = (m: typeof c.metricsA) => ({ ...m, throughput: null });
    expect(strip(c.metricsB)).toEqual(strip(c.metricsA));
    expect(c.mcnemar).toMatchObject({ b: 0, c: 0, pValue: 1 });
    expect(c.bootstrap.diff).toEqual({ value: 0, lo: 0, hi: 0 });
  }, 120_000);

  it('a run stopped by a shutdown is interrupted (not cancelled) and resumes to the same result', async () => {
    const [run] = await research.startRuns(dsId, ['tumornet'], { batchSize: 2 }, RESEARCHER);
    for (;;) {
      const r = research.getRun(run!.id);
      if (r.done >= 3 || (r.status !== 'queued' && r.status !== 'running')) break;
      await new Promise((res) => setTimeout(res, 2));
    }
    await research.close(); // what the app does on quit
    const after = store.db().prepare('SELECT status, done FROM research_runs WHERE id = ?').get(run!.id) as { status: string; done: number };
    expect(after.status).toBe('interrupted');
    expect(after.done).toBeLessThan(32);
    research = newResearch();
    research.resumeRun(run!.id, RESEARCHER);
    expect(await research.waitForRun(run!.id)).toMatchObject({ status: 'done', done: 32 });
    expect((await research.compare(runA, run!.id)).mcnemar).toMatchObject({ b: 0, c: 0 });
  }, 120_000);

  it('a run left "running" by a killed process is reported interrupted and resumes', async () => {
    const [run] = await research.startRuns(dsId, ['tumornet-t1'], { batchSize: 4 }, RESEARCHER);
    await research.waitForRun(run!.id);
    // Forge what a SIGKILLed process leaves: status running, a dead owner pid, half the results.
    const dead = Number(execFileSync('/bin/sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim());
    store.db().prepare('DELETE FROM research_results WHERE run_id = ? AND idx >= 16').run(run!.id);
    store.db().prepare(`UPDATE research_runs SET status = 'running', owner_pid = ?, done = 16, finished_at = NULL WHERE id = ?`).run(dead, run!.id);
    expect(research.getRun(run!.id).status).toBe('interrupted');
    research.resumeRun(run!.id, RESEARCHER);
    expect((await research.waitForRun(run!.id)).done).toBe(32);
    expect((await research.compare(runB, run!.id)).mcnemar.pValue).toBe(1);
  }, 120_000);

  it('compares two models: table, McNemar, bootstrap AUC intervals, and exports CSV and a script-free HTML report', async () => {
    const c = await research.compare(runA, runB);
    expect(c.paired).toBe(32);
    expect(c.table.map((r) => r.metric)).toEqual(expect.arrayContaining(['Accuracy', 'Macro F1', 'Macro AUC', 'ECE (10 bins)', 'glioma: recall', 'Throughput (images/s)']));
    expect(['exact', 'chi-square', 'none']).toContain(c.mcnemar.method);
    expect(c.bootstrap.resamples).toBeGreaterThan(250);
    // Temperature scaling does not change the argmax of the 4 tumor classes, but it does change confidence.
    expect(c.metricsA.ece).not.toBe(c.metricsB.ece);
    const text = comparisonText(c);
    expect(text).toContain('McNemar');
    expect(text).toContain('tumornet-t1');
    const csv = (await research.exportCsv(runA, runB, RESEARCHER)).csv;
    expect(csv.split('\n')[0]).toBe('section,metric,a,b,b_minus_a');
    expect(csv).toContain('glioma/');
    const html = (await research.exportHtml(runA, runB, RESEARCHER)).html;
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)=["']https?:/i);
    expect((html.match(/<svg /g) ?? []).length).toBe(6);
    expect(html).toContain(c.a.datasetHash);
    expect(html).toContain('Not a medical device');
  });

  it('refuses to compare runs on different data, and to start a run with a retired model', async () => {
    const csv = writeSegCsv(path.join(dir, 'seg'), 6);
    const seg = await research.registerDataset(csv, undefined, RESEARCHER);
    expect(seg).toMatchObject({ kind: 'csv', items: 6, withMasks: 6 });
    const [r] = await research.startRuns(seg.id, ['tumornet'], {}, RESEARCHER);
    const done = await research.waitForRun(r!.id);
    expect(done.status).toBe('done');
    const m = (await research.runMetrics(r!.id))!;
    expect(m.dice.n).toBe(6);
    expect(m.dice.mean).toBeGreaterThanOrEqual(0);
    expect(m.dice.mean).toBeLessThanOrEqual(1);
    // The class with no examples in this CSV (notumor) has recall n/a, not NaN.
    expect(m.perClass.find((x) => x.cls === 'notumor')!.recall).toBeNull();
    await expectError(research.compare(runA, r!.id), 'INVALID_INPUT', /different data/);
    await research.registry.retire('tumornet-t1', ADMIN);
    await expectError(research.startRuns(dsId, ['tumornet-t1'], {}, RESEARCHER), 'CONFLICT', /retired/);
  }, 120_000);

  it('refuses a run when the data set changed on disk since registration', async () => {
    const tmp = copyMriSubset(path.join(dir, 'mutable'), 2);
    const ds = await research.registerDataset(tmp, undefined, RESEARCHER);
    fs.copyFileSync(path.join(datasetDir, 'glioma', fs.readdirSync(path.join(datasetDir, 'glioma'))[5]!), path.join(tmp, 'glioma', fs.readdirSync(path.join(tmp, 'glioma'))[0]!));
    const [r] = await research.startRuns(ds.id, ['tumornet'], {}, RESEARCHER);
    const out = await research.waitForRun(r!.id);
    expect(out.status).toBe('failed');
    expect(out.error).toMatch(/changed on disk/);
    expect(out.done).toBe(0);
  }, 60_000);
});

describe('DICOM data sets', () => {
  it('registers DICOM files, scores them, and exports only de-identified copies', async () => {
    const src = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
    const d = path.join(dir, 'dicom', 'unknown');
    fs.mkdirSync(d, { recursive: true });
    for (const f of ['MR_small.dcm', 'CT_small.dcm']) fs.copyFileSync(path.join(src, f), path.join(d, f));
    const ds = await research.registerDataset(path.join(dir, 'dicom'), 'dicom', RESEARCHER);
    expect(ds).toMatchObject({ kind: 'dicom', items: 2 });
    expect(ds.thumbnails.length).toBe(2);
    // File names are not shown for DICOM (they may carry names): content-derived ids instead.
    expect(ds.thumbnails.map((t) => t.itemId).every((i) => /^unknown\/dcm-[0-9a-f]{16}$/.test(i))).toBe(true);
    const [r] = await research.startRuns(ds.id, ['tumornet'], {}, RESEARCHER);
    const done = await research.waitForRun(r!.id);
    expect(done).toMatchObject({ status: 'done', done: 2, failed: 0 });
    const out = path.join(dir, 'deid-out');
    const res = await research.exportDeidentified(ds.id, out, RESEARCHER);
    expect(res.written).toBe(2);
    const files = fs.readdirSync(path.join(out, 'unknown')).sort();
    expect(files).toEqual(['000000.dcm', '000001.dcm']);
    for (const f of files) {
      const txt = fs.readFileSync(path.join(out, 'unknown', f)).toString('latin1');
      expect(txt).not.toContain('CompressedSamples');
      expect(txt).toContain('YES');
    }
    expect(res.report.removed).toContain('Institution Name'); // the PS3.15 Table E.1-1 attribute name
    await expectError(() => research.exportDeidentified(research.listDatasets().find((x) => x.kind === 'folders')!.id, out, RESEARCHER), 'INVALID_INPUT', /not a DICOM data set/);
  }, 60_000);
});
