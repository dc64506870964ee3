// Data set files are parsed in the research reader worker, under its limits, never on the main
// thread (security review, finding 10): a hostile DICOM file that needs hundreds of MB of parser
// heap costs its own thumbnail and its own result, not the process; a request over its time
// limit is stopped; the DICOM limits the service is given apply to data set files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { appRoot } from '../config';
import { createAuditLog } from '../audit';
import { createInferenceService, type InferenceService } from '../inference';
import { silentLogger } from '../log';
import { createStore, type Store } from '../store';
import { createResearchService } from './service';
import { copyMriSubset, manyElementsDicom, PYDICOM_FILES, shippedModelDir } from '../../testing/research';

let dir: string;
let dicomDir: string;
let modelsFolder: string;
let store: Store;
let inference: InferenceService;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-reader-'));
  modelsFolder = path.join(dir, 'models');
  fs.cpSync(shippedModelDir(), path.join(modelsFolder, 'tumornet'), { recursive: true });
  // A DICOM data set: two real files and one hostile file (2 x 10^6 elements, 16 MB).
  dicomDir = path.join(dir, 'dicom');
  fs.mkdirSync(path.join(dicomDir, 'mr'), { recursive: true });
  for (const f of ['MR_small.dcm', 'CT_small.dcm']) fs.copyFileSync(path.join(PYDICOM_FILES, f), path.join(dicomDir, 'mr', f));
  fs.writeFileSync(path.join(dicomDir, 'mr', 'AAA-hostile.dcm'), manyElementsDicom(2_000_000));
  store = await createStore({ dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'reader test passphrase 42' });
  inference = createInferenceService({ config: { modelsFolder, runtime: 'auto' }, logger: silentLogger, poolSize: 1 });
}, 120_000);

afterAll(async () => {
  await inference?.close();
  store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the research reader worker', () => {
  it('keeps a hostile file from taking down the main process: registration and the run go on without it', () => {
    // The main thread gets 160 MB of heap; parsing the hostile file needs about 400 MB. On the
    // main thread (before the reader) this child died of "JavaScript heap out of memory".
    const child = spawnSync(process.execPath, ['--max-old-space-size=160', '--import', 'tsx', path.join(appRoot(), 'electron', 'testing', 'research-reader-child.ts'), path.join(dir, 'child-data'), dicomDir, modelsFolder, '64'], {
      cwd: appRoot(),
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(child.stderr).not.toMatch(/heap out of memory/i);
    expect(child.status, child.stderr.slice(-2000)).toBe(0);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { items: number; kind: string; thumbnails: string[]; status: string; done: number; failed: { file: string; error: string }[] };
    expect(r.kind).toBe('dicom');
    expect(r.items).toBe(3);
    expect(r.thumbnails).toHaveLength(2); // the two real files; the hostile one has none
    expect(r.status).toBe('done');
    expect(r.done).toBe(3);
    expect(r.failed).toEqual([{ file: 'AAA-hostile.dcm', error: expect.stringMatching(/stopped the data set reader \(it ran out of memory or crashed\)/) as unknown as string }]);
  }, 320_000);

  it('stops a request that outlasts its time limit, and the next request gets a fresh reader', async () => {
    const audit = createAuditLog(() => store.db());
    const mri = copyMriSubset(path.join(dir, 'mri'), 2);
    const slow = createResearchService({ db: () => store.db(), inference, audit, logger: silentLogger, modelsFolder, readerLimits: { requestMs: 1 } });
    try {
      const err = await slow.registerDataset(mri, 'too-slow', { userId: null, username: 'r' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkstationError);
      expect((err as WorkstationError).message).toMatch(/took longer than 1 ms and was stopped/);
    } finally {
      await slow.close();
    }
    const ok = createResearchService({ db: () => store.db(), inference, audit, logger: silentLogger, modelsFolder });
    try {
      const ds = await ok.registerDataset(mri, 'in-time', { userId: null, username: 'r' });
      expect(ds.items).toBe(8);
    } finally {
      await ok.close();
    }
  }, 120_000);

  it('applies the DICOM limits it is given to data set files (not a fixed default)', async () => {
    const audit = createAuditLog(() => store.db());
    const small = path.join(dir, 'dicom-small');
    fs.mkdirSync(path.join(small, 'mr'), { recursive: true });
    fs.copyFileSync(path.join(PYDICOM_FILES, 'MR_small.dcm'), path.join(small, 'mr', 'MR_small.dcm'));
    // MR_small is 64 x 64 x 16 bit = 8192 bytes decoded: a 4096-byte limit refuses it.
    const strict = createResearchService({ db: () => store.db(), inference, audit, logger: silentLogger, modelsFolder, readerLimits: { dicom: { maxDecodedBytes: 4096 } } });
    try {
      const ds = await strict.registerDataset(small, 'strict', { userId: null, username: 'r' });
      expect(ds.thumbnails).toHaveLength(0);
      const [run] = await strict.startRuns(ds.id, ['tumornet'], { masks: false }, { userId: null, username: 'r' });
      const done = await strict.waitForRun(run!.id);
      expect(done.failed).toBe(1);
      const err = store.db().prepare('SELECT error FROM research_results WHERE run_id = ?').get(run!.id) as { error: string };
      expect(err.error).toMatch(/decoded|limit|larger/i);
    } finally {
      await strict.close();
    }
  }, 120_000);
});
