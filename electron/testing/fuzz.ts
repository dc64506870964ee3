// The DICOM fuzzer's pieces, shared by the CI test (a small seeded run) and `npm run fuzz`
// (10^5 and more): a seeded PRNG, the mutations (bit flips, truncation, length-field corruption,
// random overwrite, splice), the seed files, and one attempt through parse + decode.
import fs from 'node:fs';
import path from 'node:path';
import { decodeFrame } from '../services/dicom/decode';
import { DEFAULT_LIMITS, type DicomLimits } from '../services/dicom/limits';
import { parseDicomFile } from '../services/dicom/parse';
import { DicomRefusal } from '../services/dicom/refusal';
import { mulberry32 } from '../services/random';

export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const FUZZ_SEED_FILES = ['MR_small.dcm', 'CT_small.dcm', 'MR_small_RLE.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm', 'SC_rgb_jpeg_dcmtk.dcm',
  'image_dfl.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'SC_rgb_rle_16bit_2frame.dcm', 'JPGExtended.dcm'];
/** Small limits keep each attempt cheap; the logic under test is the same. */
export const FUZZ_LIMITS: DicomLimits = { ...DEFAULT_LIMITS, maxDecodedBytes: 8 * 1024 * 1024, maxInflatedBytes: 8 * 1024 * 1024, maxFileBytes: 8 * 1024 * 1024 };

export function loadSeedFiles(): Buffer[] {
  return FUZZ_SEED_FILES.map((f) => fs.readFileSync(path.join(PYDICOM_TEST_FILES, f)));
}

/** mulberry32: a tiny seeded PRNG, so a failure replays exactly. */
export const rng = mulberry32;

/** The PRNG of attempt i of a run: any one attempt replays alone (`npm run fuzz -- --replay I`). */
export const attemptRng = (seed: number, i: number): (() => number) => rng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i, 0xc2b2ae35)) >>> 0);

export function mutate(src: Buffer, r: () => number): Buffer {
  const b = Buffer.from(src);
  const kind = Math.floor(r() * 5);
  const pos = (): number => Math.floor(r() * b.length);
  if (kind === 0) {
    const flips = 1 + Math.floor(r() * 16);
    for (let i = 0; i < flips; i++) {
      const p = pos();
      b[p] = b[p]! ^ (1 << Math.floor(r() * 8));
    }
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (kind === 2) {
    // Corrupt a likely length field: 4 bytes after a VR-looking pair, or anywhere after 132.
    for (let tries = 0; tries < 50; tries++) {
      const p = 132 + Math.floor(r() * Math.max(1, b.length - 140));
      if (b[p]! >= 0x41 && b[p]! <= 0x5a && b[p + 1]! >= 0x41 && b[p + 1]! <= 0x5a) {
        const vals = [0xffffffff, 0x7fffffff, 0, 1, b.length, Math.floor(r() * 0xffffffff)];
        const v = vals[Math.floor(r() * vals.length)]!;
        if (p + 6 < b.length) b.writeUInt16LE(v & 0xffff, p + 2);
        if (p + 10 < b.length) b.writeUInt32LE(v >>> 0, p + 4);
        return b;
      }
    }
    return b;
  }
  if (kind === 3) {
    const p = pos();
    const len = Math.floor(r() * 64);
    for (let i = 0; i < len && p + i < b.length; i++) b[p + i] = Math.floor(r() * 256);
    return b;
  }
  // Splice: duplicate a random chunk (repeated sequences, items, fragments).
  const p = pos();
  const len = Math.min(b.length - p, Math.floor(r() * 512));
  return Buffer.concat([b.subarray(0, p + len), b.subarray(p, p + len), b.subarray(p + len)]);
}

/** One attempt: 'decoded' or 'refused'; anything else a mutated file makes us do is thrown (a crash). */
export async function fuzzOne(bytes: Buffer, limits: DicomLimits = FUZZ_LIMITS): Promise<'decoded' | 'refused'> {
  try {
    const parsed = parseDicomFile(bytes, limits);
    for (let f = 0; f < Math.min(parsed.meta.image.frames, 2); f++) await decodeFrame(parsed, f);
    return 'decoded';
  } catch (err) {
    if (err instanceof DicomRefusal) return 'refused';
    throw err;
  }
}
