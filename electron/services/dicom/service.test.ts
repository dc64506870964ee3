// Import of real files into a real encrypted store: re-import is a no-op, a changed file with a
// known SOP Instance UID is kept and flagged, hostile files are refused with reasons while good
// files in the same batch import, no plaintext reaches the data folder, audit rows are written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDicomService, type DicomService } from './service';
import { hostileFiles, openTestStore } from '../../testing/dicom';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const REAL = ['CT_small.dcm', 'MR_small.dcm', 'MR_small_RLE.dcm', 'JPEG2000.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'JPGExtended.dcm', 'image_dfl.dcm', 'MR_small_bigendian.dcm', 'MR_small_jpeg_ls_lossless.dcm'];

let env: Awaited<ReturnType<typeof openTestStore>>;
let dicom: DicomService;
let work: string;

beforeAll(async () => {
  expect(fs.existsSync(PYDICOM), 'pydicom test files missing: apt-get install python3-pydicom').toBe(true);
  env = await openTestStore();
  dicom = createDicomService({ db: () => env.store.db(), dataFolder: env.dir, audit: env.audit, workers: 2, limits: { maxInflatedBytes: 16 * 1024 * 1024 } });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-dicom-in-'));
  fs.mkdirSync(path.join(work, 'real', 'nested', 'deeper'), { recursive: true });
  REAL.forEach((f, i) => fs.copyFileSync(path.join(PYDICOM, f), path.join(work, 'real', i % 2 ? 'nested' : path.join('nested', 'deeper'), f)));
});
afterAll(async () => {
  await dicom?.close();
  env?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('DICOM import', () => {
  it('imports a folder of real files recursively, then re-import is a no-op', async () => {
    const progress: number[] = [];
    const r1 = await dicom.importPaths([path.join(work, 'real')], { actor: 'test', onProgress: (p) => progress.push(p.done) });
    expect(r1.refused, JSON.stringify(r1.entries.filter((e) => e.status === 'refused'))).toBe(0);
    // Some pydicom files are one image in several transfer syntaxes (same SOP Instance UID):
    // the first is the instance of record, the others are kept and flagged as conflicts.
    expect(r1.imported + r1.conflicts).toBe(REAL.length);
    expect(r1.imported).toBeGreaterThanOrEqual(6);
    expect(progress.at(-1)).toBe(REAL.length);
    const studies = dicom.listStudies({ sort: 'studyDate', direction: 'desc', limit: 50, offset: 0 });
    expect(studies.total).toBeGreaterThan(0);
    const instances = studies.rows.reduce((n, s) => n + s.instanceCount, 0);
    expect(instances).toBe(REAL.length);

    const r2 = await dicom.importPaths([path.join(work, 'real')], { actor: 'test' });
    expect([r2.imported, r2.duplicates, r2.conflicts, r2.refused]).toEqual([0, REAL.length, 0, 0]);
    const again = dicom.listStudies({ sort: 'studyDate', direction: 'desc', limit: 50, offset: 0 });
    expect(again.rows.reduce((n, s) => n + s.instanceCount, 0)).toBe(REAL.length);
  });

  it('keeps and flags a file whose SOP Instance UID exists with other content', async () => {
    const orig = fs.readFileSync(path.join(PYDICOM, 'CT_small.dcm'));
    const changed = Buffer.from(orig);
    changed[changed.length - 1] = changed[changed.length - 1]! ^ 0x01; // one pixel bit differs
    const file = path.join(work, 'changed-ct.dcm');
    fs.writeFileSync(file, changed);
    const r = await dicom.importPaths([file], { actor: 'test' });
    expect(r.conflicts).toBe(1);
    expect(r.entries[0]!.status).toBe('conflict');
    const detail = dicom.getStudy(r.entries[0]!.studyId!, { actor: 'test', actorId: null });
    const all = detail.series.flatMap((s) => s.instances);
    const flagged = all.filter((i) => i.conflictOf !== null);
    expect(flagged).toHaveLength(1);
    expect(all.some((i) => i.instanceId === flagged[0]!.conflictOf)).toBe(true);
    expect(detail.study.conflictCount).toBe(1);
  });

  it('refuses every hostile file with a reason and still imports the good file in the batch', async () => {
    const dir = path.join(work, 'hostile');
    fs.mkdirSync(dir);
    for (const [name, bytes] of Object.entries(hostileFiles())) fs.writeFileSync(path.join(dir, name), bytes);
    fs.copyFileSync(path.join(PYDICOM, 'rtdose.dcm'), path.join(dir, 'good.dcm'));
    const rssBefore = process.memoryUsage().rss;
    const r = await dicom.importPaths([dir], { actor: 'test' });
    const by = Object.fromEntries(r.entries.map((e) => [path.basename(e.path), e]));
    expect(by['good.dcm']!.status).toBe('imported');
    for (const name of Object.keys(hostileFiles())) {
      expect(by[name]!.status, name).toBe('refused');
      expect(by[name]!.reason, name).toMatch(/\w{4,}/);
    }
    expect(by['not-dicom.dcm']!.reason).toMatch(/not a DICOM file/);
    expect(by['deflate-bomb.dcm']!.reason).toMatch(/zip bomb|inflates past/);
    expect(by['huge-header.dcm']!.reason).toMatch(/MiB decoded/);
    expect(by['hundred-thousand.dcm']!.reason).toMatch(/100000x100000/);
    expect(by['zero-by-zero.dcm']!.reason).toMatch(/0x0/);
    expect(by['deep-sequences.dcm']!.reason).toMatch(/nested/);
    // The main process never held the decoded data: it stays within a modest margin.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(400 * 1024 * 1024);
  });

  it('stores files encrypted: no plaintext DICOM bytes anywhere in the data folder', async () => {
    // Needles are 10 bytes or more: a 3-byte needle such as 'MR1' turns up by chance in a few
    // megabytes of ciphertext (about one in 2^24 per offset), which once made this test flaky.
    const needles = ['CompressedSamples', 'DICM\x02\x00\x00\x00UL', 'CompressedSamples^MR1', 'HOSTILE^TEST'];
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const files = walk(env.dir);
    expect(files.some((f) => f.includes(`${path.sep}blobs${path.sep}`))).toBe(true);
    for (const f of files) {
      const data = fs.readFileSync(f);
      for (const n of needles) expect(data.includes(Buffer.from(n, 'latin1')), `${n} in ${path.relative(env.dir, f)}`).toBe(false);
    }
  });

  it('serves decoded frames with the modality LUT applied', async () => {
    const list = dicom.listStudies({ search: 'CompressedSamples', sort: 'patientName', direction: 'asc', limit: 10, offset: 0 });
    expect(list.rows.length).toBeGreaterThan(0);
    const detail = dicom.getStudy(list.rows[0]!.studyId, { actor: 'test', actorId: null });
    const inst = detail.series[0]!.instances.find((i) => i.conflictOf === null)!;
    const frame = await dicom.getFrame(inst.instanceId, 0);
    expect([frame.rows, frame.columns]).toEqual([inst.rows, inst.columns]);
    const bytes = Buffer.from(frame.data, 'base64');
    expect(bytes.length).toBe(frame.rows * frame.columns * (frame.dataType === 'float32' || frame.dataType === 'int32' ? 4 : frame.dataType === 'uint8' ? 1 : 2));
    await expect(dicom.getFrame(inst.instanceId, 5)).rejects.toThrow(/frame/);
  });

  it('writes audit rows for imports and study views', () => {
    const imports = env.audit.list({ action: 'dicom.import' }, { limit: 50, offset: 0 });
    expect(imports.total).toBeGreaterThanOrEqual(3);
    const views = env.audit.list({ action: 'study.open' }, { limit: 50, offset: 0 });
    expect(views.total).toBeGreaterThanOrEqual(1);
    expect(env.audit.verify().ok).toBe(true);
  });

  it('imports uploads sent in chunks', async () => {
    const bytes = fs.readFileSync(path.join(PYDICOM, 'MR_small_implicit.dcm'));
    const { uploadId, chunkBytes } = dicom.beginUpload('dropped.dcm', bytes.length, 'conn-1');
    for (let off = 0; off < bytes.length; off += chunkBytes) dicom.uploadChunk(uploadId, off, bytes.subarray(off, off + chunkBytes), 'conn-1');
    expect(() => dicom.uploadChunk(uploadId, 0, bytes.subarray(0, 10), 'conn-2')).toThrow(/does not exist/);
    const r = await dicom.finishUploads([uploadId], 'conn-1', { actor: 'test' });
    expect(r.entries[0]!.status).toMatch(/imported|conflict/);
  });

  it('reads DICOMDIR media', async () => {
    const r = await dicom.importPaths([path.join(PYDICOM, 'dicomdirtests', 'DICOMDIR')], { actor: 'test' });
    expect(r.total).toBeGreaterThan(0);
    expect(r.imported + r.duplicates + r.conflicts).toBeGreaterThan(0);
  });
});
