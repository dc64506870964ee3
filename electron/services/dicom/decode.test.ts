// Decode parity: every supported real test file (pydicom's set and dcmtk re-encodings) decodes to
// the stored values of an independent reference decode (fixtures/reference.json); exact for
// lossless transfer syntaxes, close for lossy ones.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode';
import { DEFAULT_LIMITS } from './limits';
import { parseDicomFile } from './parse';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

interface RefEntry {
  file: string;
  origin: 'pydicom' | 'derived';
  transferSyntax: string;
  lossless?: boolean;
  reference: string | null;
  rows?: number;
  columns?: number;
  samplesPerPixel?: number;
  frames?: number;
  frame0?: { count: number; sha256: string; min: number; max: number; mean: number; sampleIndex: number[]; samples: number[] };
}
const ref = JSON.parse(fs.readFileSync(path.join(HERE, 'fixtures', 'reference.json'), 'utf8')) as { files: RefEntry[] };

export function fixturePath(e: { file: string; origin: string }): string {
  return e.origin === 'pydicom' ? path.join(PYDICOM_FILES, e.file) : path.join(HERE, 'fixtures', 'files', e.file);
}

describe('decode parity with reference decoders', () => {
  it('has the real test files (python3-pydicom)', () => {
    expect(fs.existsSync(path.join(PYDICOM_FILES, 'MR_small.dcm')), 'pydicom test files are missing: apt-get install python3-pydicom').toBe(true);
  });

  const compared = ref.files.filter((e) => e.reference !== null);
  it('covers every supported transfer syntax', () => {
    const seen = new Set(compared.map((e) => e.transferSyntax));
    for (const ts of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.4.50',
      '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81',
      '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91', '1.2.840.10008.1.2.5']) {
      expect(seen.has(ts), ts).toBe(true);
    }
  });

  for (const e of compared) {
    it(`${e.file} (${e.transferSyntax}, ${e.lossless ? 'lossless: exact' : 'lossy: close'}, reference ${e.reference})`, async () => {
      const parsed = parseDicomFile(fs.readFileSync(fixturePath(e)), DEFAULT_LIMITS);
      expect(parsed.meta.image.transferSyntax).toBe(e.transferSyntax);
      const frame = await decodeFrame(parsed, 0);
      expect([frame.rows, frame.columns, frame.samplesPerPixel]).toEqual([e.rows, e.columns, e.samplesPerPixel]);
      const values = Float64Array.from(frame.pixels as ArrayLike<number>);
      const r = e.frame0!;
      expect(values.length).toBe(r.count);
      if (e.lossless) {
        const sha = crypto.createHash('sha256').update(Buffer.from(values.buffer)).digest('hex');
        expect(sha).toBe(r.sha256);
      } else {
        // Lossy codecs may differ from the reference by rounding in the inverse DCT / wavelet.
        const range = Math.max(1, r.max - r.min);
        let worst = 0;
        r.sampleIndex.forEach((idx, k) => { worst = Math.max(worst, Math.abs(values[idx]! - r.samples[k]!)); });
        expect(worst / range).toBeLessThan(0.02);
        let sum = 0;
        for (const v of values) sum += v;
        expect(Math.abs(sum / values.length - r.mean) / range).toBeLessThan(0.005);
      }
    });
  }
});
