// Fuzz: real files mutated (bit flips, truncations, length-field corruption, splices) go through
// parse + decode thousands of times with a fixed seed. Every attempt must end in a result or a
// DicomRefusal, never another exception, within the test's time and with bounded memory.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode';
import { DEFAULT_LIMITS } from './limits';
import { parseDicomFile } from './parse';
import { DicomRefusal } from './refusal';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const SEEDS = ['MR_small.dcm', 'CT_small.dcm', 'MR_small_RLE.dcm', 'MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm', 'SC_rgb_jpeg_dcmtk.dcm',
  'image_dfl.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm', 'SC_rgb_rle_16bit_2frame.dcm', 'JPGExtended.dcm'];
const ITERATIONS = 3000;
// Small limits keep each attempt cheap; the logic under test is the same.
const LIMITS = { ...DEFAULT_LIMITS, maxDecodedBytes: 8 * 1024 * 1024, maxInflatedBytes: 8 * 1024 * 1024, maxFileBytes: 8 * 1024 * 1024 };

/** mulberry32: a tiny seeded PRNG, so a failure replays exactly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Buffer, r: () => number): Buffer {
  const b = Buffer.from(src);
  const kind = Math.floor(r() * 5);
  const pos = () => Math.floor(r() * b.length);
  if (kind === 0) {
    const flips = 1 + Math.floor(r() * 16);
    for (let i = 0; i < flips; i++) { const p = pos(); b[p] = b[p]! ^ (1 << Math.floor(r() * 8)); }
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

describe('fuzz: parse + decode of mutated real files', () => {
  it(`survives ${ITERATIONS} mutations with only refusals`, async () => {
    const seeds = SEEDS.map((f) => fs.readFileSync(path.join(PYDICOM, f)));
    const r = rng(20240611);
    const unexpected: string[] = [];
    let refused = 0;
    let decoded = 0;
    const heapStart = process.memoryUsage().heapUsed;
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = mutate(seeds[i % seeds.length]!, r);
      try {
        const parsed = parseDicomFile(bytes, LIMITS);
        for (let f = 0; f < Math.min(parsed.meta.image.frames, 2); f++) await decodeFrame(parsed, f);
        decoded++;
      } catch (err) {
        if (err instanceof DicomRefusal) refused++;
        else unexpected.push(`#${i} (${SEEDS[i % SEEDS.length]}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      }
    }
    expect(unexpected.slice(0, 10)).toEqual([]);
    expect(refused).toBeGreaterThan(ITERATIONS / 10);
    expect(decoded).toBeGreaterThan(0);
    expect(process.memoryUsage().heapUsed - heapStart).toBeLessThan(512 * 1024 * 1024);
  }, 60_000);
});
