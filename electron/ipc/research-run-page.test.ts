// The run page and N-way comparison channels through the real composition root and handler
// table: the folder picker, a preview before registering (symlinked class folders followed), a
// CSV data set with source and sequence columns, one run's metrics with intervals, the items
// behind a confusion cell and a reliability bin (thumbnails, confidence order, CSV), one item with
// its masks, three runs compared against a reference, and the role and schema checks of each.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetDetail, DatasetPreview, FolderListing, MultiComparison, RunItem, RunItemDetail, RunMetricsDto, RunSummary } from '../contract';
import { resolveConfig } from '../services/config';
import { copyMriSubset, makeTemperatureVariant, shippedModelDir, writeMultiSourceCsv } from '../testing/research';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller, TEST_RADIOLOGIST } from './test-calls';

let dir: string;
let ws: Workstation;
let researcher: Connection;
let rad: Connection;
let csvSet: DatasetDetail;
let runs: RunSummary[];
const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-run-page-'));
  const models = path.join(dir, 'models');
  fs.cpSync(shippedModelDir(), path.join(models, 'tumornet'), { recursive: true });
  makeTemperatureVariant(models, 'tumornet-t1', 1);
  makeTemperatureVariant(models, 'tumornet-t3', 3);
  process.env.TUMORPREDICT_MODELS = models;
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'run page test passphrase 42', modelsFolder: models }));
  const a = await adminAndRadiologist();
  rad = a.rad;
  await ok(a.admin, 'users.create', { username: 'sci1', displayName: 'Dr Sci', role: 'researcher', password: 'sci-password-00042' });
  researcher = await signIn('sci1', 'sci-password-00042');
}, 120_000);

afterAll(async () => {
  await ws?.close();
  delete process.env.TUMORPREDICT_MODELS;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('picking and previewing a data set', () => {
  it('lists sub-folders (links included) and CSV files, hidden entries left out, with the parent', async () => {
    const root = path.join(dir, 'pick');
    fs.mkdirSync(path.join(root, 'b-folder'), { recursive: true });
    fs.mkdirSync(path.join(root, '.hidden'));
    fs.writeFileSync(path.join(root, 'a.csv'), 'path,label\n');
    fs.writeFileSync(path.join(root, 'notes.txt'), 'x');
    fs.symlinkSync(path.join(root, 'b-folder'), path.join(root, 'a-link'));
    const l = await ok<FolderListing>(researcher, 'datasets.browse', { path: root });
    expect(l.path).toBe(root);
    expect(l.parent).toBe(dir);
    expect(l.entries.map((e) => [e.name, e.kind, e.link])).toEqual([
      ['a-link', 'folder', true],
      ['b-folder', 'folder', false],
      ['a.csv', 'csv', false],
    ]);
    const home = await ok<FolderListing>(researcher, 'datasets.browse', {});
    expect(home.path).toBe(os.homedir());
    expect(await call(researcher, 'datasets.browse', { path: path.join(dir, 'nope') })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('previews a folder of symlinked class folders: counts and thumbnails, nothing registered', async () => {
    const real = copyMriSubset(path.join(dir, 'real'), 3);
    const linked = path.join(dir, 'linked');
    fs.mkdirSync(linked);
    for (const c of ['glioma', 'meningioma', 'notumor', 'pituitary']) fs.symlinkSync(path.join(real, c), path.join(linked, c));
    fs.symlinkSync(linked, path.join(real, 'glioma', 'loop'));
    const p = await ok<DatasetPreview>(researcher, 'datasets.preview', { path: linked, name: 'linked' });
    expect(p).toMatchObject({ kind: 'folders', name: 'linked', items: 12, classCounts: { glioma: 3, meningioma: 3, notumor: 3, pituitary: 3 }, withMasks: 0, groups: { source: null, sequence: null } });
    expect(p.thumbnails).toHaveLength(12);
    expect(p.thumbnails.every((t) => t.png.startsWith('data:image/png;base64,'))).toBe(true);
    expect((await ok<{ datasets: unknown[] }>(researcher, 'datasets.list', {})).datasets).toHaveLength(0);
  });

  it('registers a CSV with source and sequence columns and reports the items per group', async () => {
    const csv = writeMultiSourceCsv(path.join(dir, 'multi'), 2, 3);
    const p = await ok<DatasetPreview>(researcher, 'datasets.preview', { path: csv });
    expect(p.groups).toEqual({ source: { lgg: 6, 'kaggle-mri': 12 }, sequence: { t1: 2, t1ce: 2, flair: 2, '(none)': 12 } });
    csvSet = await ok<DatasetDetail>(researcher, 'datasets.register', { path: csv, name: 'multi-source' });
    expect(csvSet).toMatchObject({ kind: 'csv', items: 18, withMasks: 6, groups: p.groups });
  });

  it('is for researchers only and checks its payloads', async () => {
    for (const [ch, payload] of [
      ['datasets.browse', {}],
      ['datasets.preview', { path: dir }],
    ] as const) {
      expect(await call(rad, ch, payload)).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await call(createConnection('host'), ch, payload)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    }
    expect(await call(researcher, 'datasets.preview', { path: '' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(researcher, 'datasets.browse', { path: dir, extra: 1 })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(TEST_RADIOLOGIST.role).toBe('radiologist');
  });
});

describe('one run and the images behind its numbers', () => {
  it('scores the CSV data set with three models', async () => {
    runs = (await ok<{ runs: RunSummary[] }>(researcher, 'runs.start', { datasetId: csvSet.id, modelIds: ['tumornet', 'tumornet-t1', 'tumornet-t3'] })).runs;
    expect(runs).toHaveLength(3);
    for (const r of runs) expect((await ws.services.research.waitForRun(r.id)).status).toBe('done');
  }, 180_000);

  it('gives the run page its metrics with 95% intervals, hashes, throughput and the per-source breakdown', async () => {
    const { run, metrics } = await ok<{ run: RunSummary; metrics: RunMetricsDto }>(researcher, 'runs.get', { id: runs[0]!.id });
    expect(run.datasetHash).toBe(csvSet.contentHash);
    expect(run.cardSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(metrics.n).toBe(18);
    expect(metrics.throughput.imagesPerSecond).toBeGreaterThan(0);
    const acc = metrics.intervals!.accuracy!;
    expect(acc.lo).toBeLessThanOrEqual(metrics.accuracy!);
    expect(acc.hi).toBeGreaterThanOrEqual(metrics.accuracy!);
    for (const c of metrics.perClass) {
      const iv = metrics.intervals!.perClass[c.cls]!;
      if (c.recall !== null) expect(iv.recall!.lo <= c.recall && c.recall <= iv.recall!.hi).toBe(true);
      if (c.precision !== null) expect(iv.precision!.lo <= c.precision && c.precision <= iv.precision!.hi).toBe(true);
    }
    expect(metrics.breakdown!.source!.map((g) => [g.group, g.n])).toEqual([
      ['kaggle-mri', 12],
      ['lgg', 6],
    ]);
    expect(metrics.breakdown!.sequence!.map((g) => g.group)).toEqual(['(none)', 'flair', 't1', 't1ce']);
  });

  it('lists the items of each confusion cell (sorted by confidence, with thumbnails) and of a reliability bin', async () => {
    const { metrics } = await ok<{ metrics: RunMetricsDto }>(researcher, 'runs.get', { id: runs[0]!.id });
    const { rows, cols, matrix } = metrics.confusion;
    let seen = 0;
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < cols.length; j++) {
        const r = await ok<{ total: number; items: RunItem[] }>(researcher, 'runs.items', { id: runs[0]!.id, filter: { truth: rows[i], pred: cols[j] } });
        expect(r.total, `${rows[i]} -> ${cols[j]}`).toBe(matrix[i]![j]);
        seen += r.total;
        for (const it of r.items) {
          expect([it.truth, it.pred]).toEqual([rows[i], cols[j]]);
          expect(it.thumbnail).toMatch(/^data:image\/png;base64,/);
        }
        const conf = r.items.map((x) => x.confidence);
        expect(conf).toEqual([...conf].sort((a, b) => b - a));
      }
    }
    expect(seen).toBe(18);
    const bin = metrics.reliability.findIndex((b) => b.count > 0);
    const inBin = await ok<{ total: number; items: RunItem[] }>(researcher, 'runs.items', { id: runs[0]!.id, filter: { bin }, sort: 'confidence-asc' });
    expect(inBin.total).toBe(metrics.reliability[bin]!.count);
    for (const it of inBin.items) expect(Math.min(9, Math.floor(it.confidence * 10))).toBe(bin);
    const wrong = await ok<{ total: number }>(researcher, 'runs.items', { id: runs[0]!.id, filter: { correct: false } });
    expect(wrong.total).toBe(metrics.n - metrics.correct);
    const page = await ok<{ total: number; items: RunItem[] }>(researcher, 'runs.items', { id: runs[0]!.id, filter: {}, limit: 5, offset: 15 });
    expect([page.total, page.items.length]).toEqual([18, 3]);
  });

  it('opens one item with its image, the data set mask and the model mask', async () => {
    // An LGG slice (it has a hand-drawn mask) that the model calls a tumor (so it draws a mask).
    const lgg = await ok<{ items: RunItem[] }>(researcher, 'runs.items', { id: runs[0]!.id, filter: { source: 'lgg' } });
    const tumor = lgg.items.find((i) => ['glioma', 'meningioma', 'pituitary'].includes(i.pred));
    expect(tumor, JSON.stringify(lgg.items.map((i) => i.pred))).toBeDefined();
    const d = await ok<RunItemDetail>(researcher, 'runs.item', { id: runs[0]!.id, idx: tumor!.idx });
    expect(d.image!.png).toMatch(/^data:image\/png;base64,/);
    expect([d.image!.width, d.image!.height]).toEqual([256, 256]);
    expect(d.truthMask).toMatch(/^data:image\/png;base64,/);
    expect(d.predictedMask).toMatch(/^data:image\/png;base64,/);
    expect(Object.keys(d.probabilities)).toEqual(expect.arrayContaining(['glioma', 'meningioma', 'notumor', 'pituitary']));
    expect(await call(researcher, 'runs.item', { id: runs[0]!.id, idx: 999 })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  }, 60_000);

  it('exports the listed items as CSV, in the list order, and audits it', async () => {
    const list = await ok<{ total: number; items: RunItem[] }>(researcher, 'runs.items', { id: runs[0]!.id, filter: { truth: 'glioma' } });
    const r = await ok<{ filename: string; csv: string }>(researcher, 'runs.exportItems', { id: runs[0]!.id, filter: { truth: 'glioma' } });
    expect(r.filename).toBe('items-tumornet-truth-glioma.csv');
    const lines = r.csv.trim().split('\n');
    expect(lines[0]).toBe('item,truth,predicted,confidence,correct,source,sequence,p_glioma,p_meningioma,p_notumor,p_pituitary,dice,model,model_version,run');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(list.items.map((i) => i.itemId));
    const audit = ws.services.store.db().prepare("SELECT actor, object_id FROM audit_log WHERE action = 'runs.exportItems'").all();
    expect(audit).toEqual([{ actor: 'sci1', object_id: runs[0]!.id }]);
  });

  it('is for researchers only and checks its payloads', async () => {
    for (const [ch, payload] of [
      ['runs.items', { id: runs[0]!.id, filter: {} }],
      ['runs.item', { id: runs[0]!.id, idx: 0 }],
      ['runs.exportItems', { id: runs[0]!.id, filter: {} }],
      ['compare.many', { runIds: runs.map((r) => r.id), reference: runs[0]!.id }],
    ] as const) {
      expect(await call(rad, ch, payload)).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    expect(await call(researcher, 'runs.items', { id: runs[0]!.id, filter: {}, limit: 1000 })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(researcher, 'runs.items', { id: runs[0]!.id, filter: { bin: 10 } })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(researcher, 'compare.many', { runIds: [runs[0]!.id], reference: runs[0]!.id })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
  });
});

describe('comparing three runs', () => {
  it('labels each run by model, version, runtime and data set, tests each against the reference, breaks accuracy down by source and sequence', async () => {
    const ref = runs[1]!;
    const c = await ok<MultiComparison>(researcher, 'compare.many', { runIds: runs.map((r) => r.id), reference: ref.id });
    expect(c.reference).toBe(ref.id);
    expect(c.runs.map((r) => r.run.id)).toEqual([ref.id, runs[0]!.id, runs[2]!.id]);
    const labels = c.runs.map((r) => r.label);
    expect(new Set(labels).size).toBe(3);
    for (const r of c.runs) expect(r.label).toBe(`${r.run.modelId} ${r.run.modelVersion} · ${r.run.runtime} · multi-source`);
    expect(c.tests.map((t) => t.runId)).toEqual([runs[0]!.id, runs[2]!.id]);
    for (const t of c.tests) {
      expect(t.paired).toBe(18);
      expect(t.mcnemar.pValue).toBeGreaterThan(0);
    }
    expect(c.table.find((t) => t.metric === 'Accuracy [95% CI]')!.values).toHaveLength(3);
    expect(c.breakdown.source!.map((g) => [g.group, g.n, g.accuracy.length])).toEqual([
      ['kaggle-mri', 12, 3],
      ['lgg', 6, 3],
    ]);
    expect(c.breakdown.sequence!.map((g) => g.group)).toEqual(['(none)', 'flair', 't1', 't1ce']);
    // The same temperature-scaled weights rank items alike: the AUCs agree, the calibration differs.
    expect(c.runs[0]!.metrics.macroAuc).toBeCloseTo(c.runs[1]!.metrics.macroAuc!, 6);
  });

  it('exports the comparison as CSV and refuses runs on different data', async () => {
    const r = await ok<{ filename: string; csv: string }>(researcher, 'compare.exportManyCsv', { runIds: runs.map((x) => x.id), reference: runs[0]!.id });
    expect(r.csv.split('\n').filter((l) => l.startsWith('run,'))).toHaveLength(3);
    expect(r.csv).toContain('accuracy_by_source,lgg,6,');
    const other = await ok<DatasetDetail>(researcher, 'datasets.register', { path: copyMriSubset(path.join(dir, 'other'), 1), name: 'other' });
    const [o] = (await ok<{ runs: RunSummary[] }>(researcher, 'runs.start', { datasetId: other.id, modelIds: ['tumornet'] })).runs;
    await ws.services.research.waitForRun(o!.id);
    expect(await call(researcher, 'compare.many', { runIds: [runs[0]!.id, o!.id], reference: runs[0]!.id })).toMatchObject({ ok: false, code: 'INVALID_INPUT', message: expect.stringMatching(/different data/) as unknown as string });
  }, 60_000);
});
