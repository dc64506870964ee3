// Patient uploads prepared for the import: DICOM of every supported transfer syntax relabelled to
// the record (pixels untouched, UIDs of its own, the original person's identifiers gone), PNG and
// JPEG wrapped as Secondary Capture that dciodvfy accepts, and hostile images refused with a reason.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from './limits';
import { parseDicomFile } from './parse';
import { decodeFrame } from './decode';
import { processUpload } from './process';
import { pnFromDisplayName, relabelDicom, uploadUid, wrapImage, type UploadTarget } from './reconcile';
import { defaultDemoFolder } from './demo';

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'files');
const target: UploadTarget = { patientName: 'DEMO^GLIOMA', patientId: 'DEMO-GLIOMA', birthDate: '19700101', sex: 'F', uploadId: 'upload-1', receivedAt: '2026-03-04T10:20:30.000Z' };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-reconcile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function pixels(bytes: Uint8Array): Promise<number[]> {
  const p = parseDicomFile(bytes, DEFAULT_LIMITS);
  return Array.from((await decodeFrame(p, 0)).pixels);
}

/** dciodvfy's error lines for a file (warnings ignored). */
function dciodvfyErrors(bytes: Uint8Array, name: string): string[] {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  let out: string;
  try {
    out = execFileSync('dciodvfy', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  return out.split('\n').filter((l) => l.startsWith('Error'));
}

function greyJpeg(w: number, h: number): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([i % 251, i % 251, i % 251, 255], i * 4);
  return Buffer.from(jpeg.encode({ width: w, height: h, data }, 92).data);
}

describe('relabelDicom', () => {
  const files = [...fs.readdirSync(FIXTURES).map((f) => path.join(FIXTURES, f)), path.join(defaultDemoFolder(), 'glioma-1.dcm'), path.join(defaultDemoFolder(), 't1-volume-01.dcm')];
  for (const file of files) {
    it(`keeps the pixels and files ${path.basename(file)} under the record`, async () => {
      const original = fs.readFileSync(file);
      const before = parseDicomFile(original, DEFAULT_LIMITS).meta;
      const { bytes, origin } = relabelDicom(original, target);
      const after = parseDicomFile(bytes, DEFAULT_LIMITS).meta;
      expect(origin).toEqual({ kind: 'dicom', filePatientId: before.patient.id || null });
      expect(after.patient).toEqual({ name: 'DEMO^GLIOMA', id: 'DEMO-GLIOMA', issuer: '', birthDate: '19700101', sex: 'F' });
      expect(after.study.uid).toBe(uploadUid('upload-1', 'study'));
      expect(after.series.uid).toBe(uploadUid('upload-1', before.series.uid));
      expect(after.instance.sopInstanceUid).toBe(uploadUid('upload-1', before.instance.sopInstanceUid));
      expect(after.study.accession).toBe('');
      expect(after.study.description.startsWith('Uploaded for review')).toBe(true);
      expect(await pixels(bytes)).toEqual(await pixels(original));
      // Deflated files are written back inflated; every other syntax stays as it was.
      if (before.image.transferSyntax === '1.2.840.10008.1.2.1.99') expect(after.image.transferSyntax).toBe('1.2.840.10008.1.2.1');
      else expect(after.image.transferSyntax).toBe(before.image.transferSyntax);
    });
  }

  it('adds no dciodvfy error the source file did not have', () => {
    for (const name of ['glioma-1.dcm', 't1-volume-01.dcm']) {
      const original = fs.readFileSync(path.join(defaultDemoFolder(), name));
      expect(dciodvfyErrors(relabelDicom(original, target).bytes, `relabelled-${name}`)).toEqual(dciodvfyErrors(original, `original-${name}`));
    }
  });

  it('gives two uploads of the same file different UIDs, and one upload the same study for all its files', () => {
    const original = fs.readFileSync(path.join(defaultDemoFolder(), 'glioma-1.dcm'));
    const a = parseDicomFile(relabelDicom(original, target).bytes, DEFAULT_LIMITS).meta;
    const b = parseDicomFile(relabelDicom(original, { ...target, uploadId: 'upload-2' }).bytes, DEFAULT_LIMITS).meta;
    expect(a.instance.sopInstanceUid).not.toBe(b.instance.sopInstanceUid);
    const other = parseDicomFile(relabelDicom(fs.readFileSync(path.join(defaultDemoFolder(), 'notumor-1.dcm')), target).bytes, DEFAULT_LIMITS).meta;
    expect(other.study.uid).toBe(a.study.uid);
  });

  it('writes PN back from the index display name', () => {
    expect(pnFromDisplayName('DEMO, GLIOMA')).toBe('DEMO^GLIOMA');
    expect(pnFromDisplayName('Müller, Anna Lena')).toBe('Müller^Anna Lena');
    expect(pnFromDisplayName('Smith')).toBe('Smith');
    expect(pnFromDisplayName('(no name)')).toBe('');
  });
});

describe('wrapImage', () => {
  it('makes a grey JPEG a Secondary Capture image with the same pixels as jpeg-js decodes', async () => {
    const src = greyJpeg(40, 30);
    const { bytes, origin } = wrapImage(src, 'jpeg', target, 0, DEFAULT_LIMITS);
    expect(origin).toEqual({ kind: 'image', filePatientId: null });
    const meta = parseDicomFile(bytes, DEFAULT_LIMITS).meta;
    expect(meta).toMatchObject({ patient: { id: 'DEMO-GLIOMA', name: 'DEMO^GLIOMA' }, series: { modality: 'OT', uid: uploadUid('upload-1', 'images') }, instance: { sopClassUid: '1.2.840.10008.5.1.4.1.1.7', derived: true }, image: { rows: 30, columns: 40, samplesPerPixel: 1, photometric: 'MONOCHROME2' } });
    const decoded = jpeg.decode(src, { useTArray: true, formatAsRGBA: false });
    expect(await pixels(bytes)).toEqual(Array.from({ length: 40 * 30 }, (_, i) => decoded.data[i * 3]!));
    expect(dciodvfyErrors(bytes, 'grey-jpeg.dcm')).toEqual([]);
  });

  it('keeps colour as RGB and 16-bit PNG at 16 bits, and dciodvfy accepts both', () => {
    const w = 8;
    const h = 6;
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([i * 5, 200 - i, 30, 255], i * 4);
    const rgb = wrapImage(Buffer.from(jpeg.encode({ width: w, height: h, data }, 95).data), 'jpeg', target, 1, DEFAULT_LIMITS).bytes;
    expect(parseDicomFile(rgb, DEFAULT_LIMITS).meta.image).toMatchObject({ samplesPerPixel: 3, photometric: 'RGB', bitsAllocated: 8 });
    expect(dciodvfyErrors(rgb, 'rgb.dcm')).toEqual([]);
    const png16 = new PNG({ width: w, height: h, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false } as never);
    const grey16 = Buffer.alloc(w * h * 2);
    for (let i = 0; i < w * h; i++) grey16.writeUInt16BE(1000 + i * 100, i * 2);
    (png16 as unknown as { data: Buffer }).data = grey16;
    const pngBytes = PNG.sync.write(png16 as never, { bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false } as never);
    const deep = wrapImage(pngBytes, 'png', target, 2, DEFAULT_LIMITS).bytes;
    expect(parseDicomFile(deep, DEFAULT_LIMITS).meta.image).toMatchObject({ samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16 });
    expect(dciodvfyErrors(deep, 'png16.dcm')).toEqual([]);
  });

  it('refuses a PNG that claims an absurd size before decoding it, and damaged images', () => {
    const png = PNG.sync.write(Object.assign(new PNG({ width: 4, height: 4 }), {}));
    const huge = Buffer.from(png);
    huge.writeUInt32BE(100_000, 16);
    huge.writeUInt32BE(100_000, 20);
    expect(() => wrapImage(huge, 'png', target, 0, DEFAULT_LIMITS)).toThrow(/unusable size \(100000x100000\)/);
    const truncated = greyJpeg(64, 64).subarray(0, 200);
    expect(() => wrapImage(truncated, 'jpeg', target, 0, DEFAULT_LIMITS)).toThrow(/JPEG image is damaged/);
  });
});

describe('processUpload', () => {
  const kek = Buffer.alloc(32, 7);
  const opts = { limits: DEFAULT_LIMITS, blobFolder: path.join(tmp, 'blobs'), kek };

  it('refuses what the import refuses, with the same reasons', async () => {
    const text = await processUpload(Buffer.from('hello, this is a letter, not a scan'), target, 0, opts);
    expect(text).toEqual({ ok: false, reason: expect.stringMatching(/not a DICOM file/) });
    const big = await processUpload(greyJpeg(8, 8), target, 0, { ...opts, limits: { ...DEFAULT_LIMITS, maxFileBytes: 10 } });
    expect(big).toEqual({ ok: false, reason: expect.stringMatching(/larger than the import limit/) });
    const small = await processUpload(greyJpeg(8, 8), target, 0, { ...opts, limits: { ...DEFAULT_LIMITS, maxDimension: 4 } });
    expect(small).toEqual({ ok: false, reason: expect.stringMatching(/too large|larger than 4 pixels/) });
  });

  it('stores a good file and says where it came from', async () => {
    const out = await processUpload(fs.readFileSync(path.join(defaultDemoFolder(), 'glioma-1.dcm')), target, 0, opts);
    expect(out).toMatchObject({ ok: true, origin: { kind: 'dicom', filePatientId: 'DEMO-GLIOMA' } });
  });
});
