// The import pipeline loses nothing when it stops early: on a full disk (a real 1 MiB tmpfs) and
// on cancellation in the middle, every file it reports as imported has its index row and its
// durable blob, no temp file is left behind, and a second run imports exactly what is missing.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { packFolder, recordLength } from '../blobs';
import { imageBody, openTestStore, part10, storedBlobRange } from '../../testing/dicom';
import { QUEUED_PER_WORKER } from './pool';
import { createStore, type Db } from '../store';
import { createDicomService, type DicomService } from './service';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A test store, closed after the test. */
async function testStore(prefix: string): Promise<Awaited<ReturnType<typeof openTestStore>>> {
  const env = await openTestStore(prefix);
  cleanups.push(() => env.cleanup());
  return env;
}

/** A temp folder, removed after the test. */
function tempDir(prefix = 'tp-pipe-in-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const countRows = (db: Db, from: string): number => (db.prepare(`SELECT count(*) AS n FROM ${from}`).get() as { n: number }).n;

/** `n` distinct 16-bit images of rows x cols in `dir`, one series. */
function writeSeries(dir: string, n: number, rows: number, cols: number): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Array.from({ length: n }, (_, i) => {
    const pixels = Buffer.alloc(rows * cols * 2, i % 251);
    const f = path.join(dir, `img-${String(i).padStart(3, '0')}.dcm`);
    fs.writeFileSync(f, part10(imageBody({ rows, cols, sop: `1.2.826.0.1.3680043.10.999.7.${i + 1}`, pixels })));
    return f;
  });
}

const walk = (d: string): string[] =>
  fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];

/**
 * Every instance row has its blob, readable; no temp file is left; and what is on disk is the
 * rows' blobs: no blob file without its row (a file whose work was done but never recorded would
 * be lost), and pack bytes only for rows (`exactPacks`), or (after a failed write) at least them.
 */
function expectRowsMatchBlobs(env: Awaited<ReturnType<typeof openTestStore>>, dicom: DicomService, blobFolder: string, exactPacks = true): number {
  const db = env.store.db();
  const rows = db.prepare('SELECT content_sha256 AS h FROM instances').all() as { h: string }[];
  for (const r of rows) {
    const { file, offset, length } = storedBlobRange(db, blobFolder, r.h);
    expect(fs.statSync(file).size, r.h).toBeGreaterThanOrEqual(offset + length);
    expect(dicom.blobs.get(r.h).length).toBeGreaterThan(0);
  }
  const files = walk(blobFolder);
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const inPacks = (f: string): boolean => f.startsWith(packFolder(blobFolder) + path.sep);
  const blobRows = db.prepare('SELECT size, pack FROM blobs').all() as { size: number; pack: string | null }[];
  expect(files.filter((f) => !inPacks(f)).length).toBe(blobRows.filter((b) => b.pack === null).length);
  const packed = blobRows.reduce((n, b) => n + (b.pack === null ? 0 : recordLength(b.size)), 0);
  const packBytes = files.filter(inPacks).reduce((n, f) => n + fs.statSync(f).size, 0);
  if (exactPacks) expect(packBytes).toBe(packed);
  else expect(packBytes).toBeGreaterThanOrEqual(packed);
  expect(new Set(rows.map((r) => r.h)).size).toBe(blobRows.length);
  return rows.length;
}

describe('import pipeline, stopped early', () => {
  it('a full disk stops the import: what it reports as imported is recorded with its blob, nothing half-written stays', async () => {
    expect(process.getuid?.(), 'this test mounts a small tmpfs: run it as root (CI does)').toBe(0);
    const env = await testStore('tp-pipe-full-');
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-pipe-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', data]);
    cleanups.push(() => { execFileSync('umount', [data]); fs.rmSync(data, { recursive: true, force: true }); });
    const input = tempDir();
    writeSeries(input, 30, 200, 200); // 30 x 80 KB: about a third fits
    // One batch for the whole import: what is done when the disk fills is recorded by the last commit.
    const dicom = createDicomService({ db: () => env.store.db(), dataFolder: data, workers: 2, importBatch: { size: 1000, maxWaitMs: 600_000 } });
    cleanups.push(() => dicom.close());

    let err: unknown;
    try {
      await dicom.importPaths([input], { actor: 'test' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkstationError);
    const e = err as WorkstationError;
    expect(e.code).toBe('UNAVAILABLE');
    expect(e.message).toMatch(/full/);
    expect(e.details?.reason).toBe('disk-full');
    const imported = e.details?.imported as number;
    expect(imported).toBeGreaterThan(0);
    expect(imported).toBeLessThan(30);
    expect(expectRowsMatchBlobs(env, dicom, path.join(data, 'blobs'), false)).toBe(imported);
  });

  it('cancelled half-way: every file done is recorded with its blob, and the next run imports exactly the rest', async () => {
    const env = await testStore('tp-pipe-cancel-');
    const input = tempDir();
    // Many more files than the pipeline may have in hand (in flight or staged and not yet
    // recorded), so some are always left "not processed" when the first batch's commit cancels.
    const n = 2 * (2 * QUEUED_PER_WORKER + 4) + 60;
    writeSeries(input, n, 64, 64);
    const controller = new AbortController();
    const committed: string[][] = [];
    const dicom = createDicomService({
      db: () => env.store.db(),
      dataFolder: env.dir,
      workers: 2,
      importBatch: { size: 4 },
      // Cancel as soon as the first batch is recorded.
      onStudiesImported: (ids) => { committed.push(ids); controller.abort(); },
    });
    cleanups.push(() => dicom.close());

    const r1 = await dicom.importPaths([input], { actor: 'test', signal: controller.signal });
    expect(r1.cancelled).toBe(true);
    expect(r1.imported).toBeGreaterThanOrEqual(4);
    // The cancel lands within a bounded number of files: at most a window in flight (2 workers x
    // QUEUED_PER_WORKER + 4) and as many staged but not yet recorded, whatever the commits' pace.
    // (Under load the commits fell behind and every file had been processed by the first one.)
    const window = 2 * QUEUED_PER_WORKER + 4;
    expect(r1.imported).toBeLessThanOrEqual(2 * window + 4);
    expect(r1.notProcessed).toBeGreaterThan(0);
    expect(r1.imported + r1.refused + r1.notProcessed).toBe(n);
    expect(r1.refused).toBe(0);
    expect(committed.length).toBeGreaterThan(0);
    for (const entry of r1.entries) expect(() => dicom.index.instance(entry.instanceId!)).not.toThrow();
    expect(expectRowsMatchBlobs(env, dicom, path.join(env.dir, 'blobs'))).toBe(r1.imported);

    const r2 = await dicom.importPaths([input], { actor: 'test' });
    expect(r2.cancelled).toBe(false);
    expect([r2.imported, r2.duplicates, r2.refused]).toEqual([n - r1.imported, r1.imported, 0]);
    expect(expectRowsMatchBlobs(env, dicom, path.join(env.dir, 'blobs'))).toBe(n);
    const study = dicom.getStudy(r2.entries[0]!.studyId!, { actor: 'test', actorId: null });
    expect(study.study.instanceCount).toBe(n);
  });
});

describe('batches', () => {
  it('a series of a few hundred slices is recorded in batches of 256, the last one after the workers are done', async () => {
    const env = await testStore('tp-pipe-batch-');
    const input = tempDir();
    writeSeries(input, 600, 16, 16);
    const commits: string[][] = [];
    // The default batch size; only the half-second flush is pushed out of reach, so a slow machine records the same way.
    const dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, workers: 2, importBatch: { maxWaitMs: 600_000 }, onStudiesImported: (ids) => commits.push(ids) });
    cleanups.push(() => dicom.close());
    const r = await dicom.importPaths([input], { actor: 'test' });
    expect(r.imported).toBe(600);
    expect(commits).toHaveLength(3); // 256 + 256 + 88
    expect(expectRowsMatchBlobs(env, dicom, path.join(env.dir, 'blobs'))).toBe(600);
  });
});

describe('pack files', () => {
  it('small blobs are appended to one pack file, a large one gets a file of its own; both read back, and a re-import writes nothing', async () => {
    const env = await testStore('tp-pipe-pack-');
    const input = tempDir();
    writeSeries(input, 40, 64, 64);
    // 800 x 800 x 2 bytes: past PACK_MAX_BLOB_BYTES.
    fs.writeFileSync(path.join(input, 'large.dcm'), part10(imageBody({ rows: 800, cols: 800, sop: '1.2.826.0.1.3680043.10.999.8.1', pixels: Buffer.alloc(800 * 800 * 2, 3) })));
    const dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, workers: 2, importBatch: { size: 16 } });
    cleanups.push(() => dicom.close());
    const blobFolder = path.join(env.dir, 'blobs');

    const r1 = await dicom.importPaths([input], { actor: 'test' });
    expect([r1.imported, r1.refused]).toEqual([41, 0]);
    expect(expectRowsMatchBlobs(env, dicom, blobFolder)).toBe(41);
    const files = walk(blobFolder);
    const packs = files.filter((f) => f.startsWith(packFolder(blobFolder) + path.sep));
    expect(packs).toHaveLength(1);
    expect(files.filter((f) => !packs.includes(f))).toHaveLength(1);
    expect(countRows(env.store.db(), 'blobs WHERE pack IS NOT NULL')).toBe(40);
    // The viewer's frames come from the pack and from the file of its own.
    for (const e of r1.entries) {
      const frame = await dicom.getFrame(e.instanceId!, 0);
      expect([frame.rows, frame.columns]).toEqual(e.path.endsWith('large.dcm') ? [800, 800] : [64, 64]);
    }

    const packBytes = fs.statSync(packs[0]!).size;
    const r2 = await dicom.importPaths([input], { actor: 'test' });
    expect([r2.imported, r2.duplicates, r2.refused]).toEqual([0, 41, 0]);
    expect(fs.statSync(packs[0]!).size).toBe(packBytes);
    expect(walk(blobFolder)).toEqual(files);
  });

  it('a pack fsync that fails refuses the batch with a clear reason and records none of it; the next import stores them all', async () => {
    const env = await testStore('tp-pipe-packfail-');
    const input = tempDir();
    writeSeries(input, 12, 64, 64);
    const failing = createDicomService({
      db: () => env.store.db(),
      dataFolder: env.dir,
      workers: 1,
      packIo: { writev: (fd, b, p, cb) => fs.writev(fd, b, p, cb), fsync: (_fd, cb) => cb(Object.assign(new Error('I/O error'), { code: 'EIO' })) },
    });
    cleanups.push(() => failing.close());
    const r1 = await failing.importPaths([input], { actor: 'test' });
    expect([r1.imported, r1.refused]).toEqual([0, 12]);
    for (const e of r1.entries) expect(e.reason).toMatch(/could not be written to the data folder/);
    expect(countRows(env.store.db(), 'instances')).toBe(0);
    expect(countRows(env.store.db(), 'blobs')).toBe(0);
    await failing.close();

    const dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, workers: 1 });
    cleanups.push(() => dicom.close());
    const r2 = await dicom.importPaths([input], { actor: 'test' });
    expect([r2.imported, r2.refused]).toEqual([12, 0]);
    // The first attempt's records are unreferenced bytes in its pack; every row reads.
    expect(expectRowsMatchBlobs(env, dicom, path.join(env.dir, 'blobs'), false)).toBe(12);
  });
});

describe('SIGKILL in the middle of an import', () => {
  it('leaves every recorded instance readable from its pack, and the next import stores exactly the rest', async () => {
    const env = await testStore('tp-pipe-kill-');
    env.store.close(); // the child opens the data folder; this test reopens it afterwards
    const input = tempDir();
    const n = 400;
    writeSeries(input, n, 128, 128);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'import-kill-child.ts'), env.dir, input], {
      env: { ...process.env, TP_TEST_PASSPHRASE: 'correct horse battery staple 42' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const killed = await new Promise<boolean>((resolve) => {
      child.stdout.on('data', (d) => {
        out += String(d);
        // A few batches in, while appends, fsyncs and commits are under way.
        if (/committed 3\n/.test(out)) child.kill('SIGKILL');
      });
      child.stderr.on('data', (d) => (err += String(d)));
      child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL'));
    });
    expect(killed, `the child finished before the kill:\n${out}\n${err}`).toBe(true);

    const store = await createStore({ dataFolder: env.dir, keySource: 'passphrase', passphrase: 'correct horse battery staple 42' });
    cleanups.push(() => store.close());
    const dicom = createDicomService({ db: () => store.db(), dataFolder: env.dir, workers: 2 });
    cleanups.push(() => dicom.close());
    const rows = store.db().prepare('SELECT content_sha256 AS h FROM instances').all() as { h: string }[];
    expect(rows.length).toBeGreaterThanOrEqual(3 * 8);
    expect(rows.length).toBeLessThan(n);
    for (const r of rows) expect(dicom.blobs.get(r.h).length).toBeGreaterThan(0);

    const again = await dicom.importPaths([input], { actor: 'test' });
    expect([again.imported, again.duplicates, again.refused]).toEqual([n - rows.length, rows.length, 0]);
    expect(countRows(store.db(), 'instances')).toBe(n);
  }, 120_000);
});
