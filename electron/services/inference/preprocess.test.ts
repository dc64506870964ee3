// The TypeScript preprocessing against the golden vectors written by the training pipeline, and
// the decoders (PNG 8/16-bit grey and RGB, JPEG) it is fed by, including bad input.
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { WorkstationError } from '../../contract';
import { decodeImage, encodeMaskPng } from './decode';
import { DEFAULT_PREPROCESS, normalise, preprocess, type RawImage } from './preprocess';
import { b64ToF32, readGolden } from '../../testing/inference';

interface GoldenPre {
  size: [number, number];
  percentiles: [number, number];
  cases: { name: string; height: number; width: number; channels: 1 | 3; dtype: 'uint8' | 'uint16'; pixels: number[]; expected_f32_b64: string; expected_sum: number }[];
}

/** Tolerance: max abs difference per element of the float32 [H*W] input tensor. */
const TOL = 1e-6; // the model card's stated tolerance (the issue asks for 1e-5; this TS port matches exactly)

describe('preprocessing matches the golden vectors of the training pipeline', () => {
  const golden = readGolden<GoldenPre>('preprocess.json');
  const spec = { ...DEFAULT_PREPROCESS, height: golden.size[0], width: golden.size[1], percentileLow: golden.percentiles[0], percentileHigh: golden.percentiles[1] };

  it('has cases covering 8-bit grey, RGB, 16-bit grey, a flat image and downsampling', () => {
    const names = golden.cases.map((c) => c.name).join(' ');
    expect(golden.cases.length).toBeGreaterThanOrEqual(5);
    for (const kind of ['grey8', 'rgb8', 'grey16', 'constant', 'downsample']) expect(names).toContain(kind);
  });

  for (const c of golden.cases) {
    it(`${c.name}: max abs diff <= ${TOL}`, () => {
      const data = c.dtype === 'uint16' ? Uint16Array.from(c.pixels) : Uint8Array.from(c.pixels);
      const img: RawImage = { width: c.width, height: c.height, channels: c.channels, bitsPerSample: c.dtype === 'uint16' ? 16 : 8, data };
      const x = preprocess(img, spec);
      const want = b64ToF32(c.expected_f32_b64);
      expect(x.length).toBe(want.length);
      let maxDiff = 0;
      for (let i = 0; i < x.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i]! - want[i]!));
      expect(maxDiff).toBeLessThanOrEqual(TOL);
    });
  }
});

function pngBytes(width: number, height: number, colorType: 0 | 2, bitDepth: 8 | 16, sample: (x: number, y: number, c: number) => number): Buffer {
  const png = new PNG({ width, height, colorType, inputColorType: colorType, bitDepth, inputHasAlpha: false });
  const ch = colorType === 0 ? 1 : 3;
  // pngjs takes 16-bit samples in the platform's byte order (a Uint16Array's bytes).
  const samples = bitDepth === 16 ? new Uint16Array(width * height * ch) : new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let c = 0; c < ch; c++) samples[(y * width + x) * ch + c] = sample(x, y, c);
  png.data = Buffer.from(samples.buffer);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, bitDepth, inputHasAlpha: false });
}

describe('decoding', () => {
  it('keeps the full range of a 16-bit grey PNG', () => {
    const img = decodeImage(pngBytes(7, 5, 0, 16, (x, y) => 1000 + x * 5000 + y));
    expect(img).toMatchObject({ width: 7, height: 5, channels: 1, bitsPerSample: 16 });
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect(img.data[6]).toBe(31000);
    expect(img.data[7 * 4 + 6]).toBe(31004);
  });

  it('reads an 8-bit RGB PNG as three channels and a grey one as one', () => {
    const rgb = decodeImage(pngBytes(3, 2, 2, 8, (x, y, c) => x * 10 + y * 100 + c));
    expect(rgb).toMatchObject({ width: 3, height: 2, channels: 3, bitsPerSample: 8 });
    expect(Array.from(rgb.data.slice(0, 6))).toEqual([0, 1, 2, 10, 11, 12]);
    const grey = decodeImage(pngBytes(3, 2, 0, 8, (x) => x * 7));
    expect(grey.channels).toBe(1);
    expect(Array.from(grey.data.slice(0, 3))).toEqual([0, 7, 14]);
  });

  it('reads a JPEG (colour and grey content) with its own size', () => {
    const w = 33;
    const h = 21;
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([(i * 3) % 256, 80, 200, 255], i * 4);
    const colour = decodeImage(jpeg.encode({ data, width: w, height: h }, 95).data);
    expect(colour).toMatchObject({ width: w, height: h, channels: 3 });
    for (let i = 0; i < w * h; i++) data.set([90, 90, 90, 255], i * 4);
    const grey = decodeImage(jpeg.encode({ data, width: w, height: h }, 95).data);
    expect(grey).toMatchObject({ width: w, height: h, channels: 1 });
  });

  it('round-trips a 0/255 mask PNG', () => {
    const mask = new Uint8Array(12 * 9);
    mask[5] = 255;
    mask[100] = 255;
    const back = decodeImage(encodeMaskPng(mask, 12, 9));
    expect(back).toMatchObject({ width: 12, height: 9, channels: 1 });
    expect(Array.from(back.data)).toEqual(Array.from(mask));
  });

  it('refuses bytes that are not an image, and a truncated image, with INVALID_INPUT', () => {
    const notImage = (): unknown => decodeImage(Buffer.from('hello, this is text'));
    expect(notImage).toThrow(WorkstationError);
    expect(notImage).toThrow(/not a PNG or JPEG/);
    const full = pngBytes(40, 40, 0, 8, (x, y) => (x * y) % 256);
    const truncated = (): unknown => decodeImage(full.subarray(0, 60));
    expect(truncated).toThrow(/damaged or truncated/);
    try {
      truncated();
    } catch (err) {
      expect((err as WorkstationError).code).toBe('INVALID_INPUT');
    }
  });

  it('refuses pixel data shorter than the stated size and non-finite float pixels', () => {
    expect(() => preprocess({ width: 10, height: 10, channels: 1, bitsPerSample: 8, data: new Uint8Array(50) })).toThrow(/shorter than its size/);
    const f = new Float32Array(16).fill(1);
    f[3] = Number.NaN;
    expect(() => preprocess({ width: 4, height: 4, channels: 1, bitsPerSample: 32, data: f })).toThrow(/not numbers/);
  });
});

describe('percentile normalisation by selection', () => {
  /** The spec's definition, literally: sort, then linear interpolation between neighbours. */
  function reference(v: Float64Array, pl: number, ph: number): Float32Array {
    const s = Float64Array.from(v).sort();
    const pct = (p: number): number => {
      const r = ((s.length - 1) * p) / 100;
      const f = Math.floor(r);
      const c = Math.ceil(r);
      return s[f]! + (s[c]! - s[f]!) * (r - f);
    };
    const lo = pct(pl);
    const hi = pct(ph);
    const out = new Float32Array(v.length);
    if (!(hi - lo > 1e-6 * Math.max(1, Math.abs(hi), Math.abs(lo)))) return out;
    for (let i = 0; i < v.length; i++) out[i] = Math.min(1, Math.max(0, (v[i]! - lo) / (hi - lo)));
    return out;
  }
  it('gives exactly what sorting gives, on random, heavily repeated, sorted and reversed values', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const cases: Float64Array[] = [
      Float64Array.from({ length: 16384 }, () => rnd() * 1000),
      Float64Array.from({ length: 16384 }, () => Math.floor(rnd() * 4)),
      Float64Array.from({ length: 1000 }, (_, i) => i),
      Float64Array.from({ length: 1001 }, (_, i) => 1001 - i),
      Float64Array.from({ length: 7 }, () => rnd()),
    ];
    for (const v of cases) {
      for (const [pl, ph] of [[0.5, 99.5], [0, 100], [10, 90]] as const) {
        expect(Array.from(normalise(v, pl, ph))).toEqual(Array.from(reference(v, pl, ph)));
      }
    }
  });
});
