// The model's input preprocessing, implemented once: decoded pixels -> grey -> exact area resize
// -> percentile intensity normalisation -> Float32Array [H*W]. The spec is the model card's.
import { WorkstationError } from '../../contract/errors';

/** Decoded pixels of one image as the decoders (PNG, JPEG, DICOM) hand them over. */
export interface RawImage {
  width: number;
  height: number;
  /** 1 grey, 3 RGB, 4 RGBA (alpha ignored). Interleaved, row-major. */
  channels: 1 | 3 | 4;
  /** Bits per stored sample (8, 16, or 32/64 for float or rescaled DICOM values). */
  bitsPerSample: number;
  data: Uint8Array | Uint8ClampedArray | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
}

export interface PreprocessSpec {
  /** Target height and width of the model input. */
  height: number;
  width: number;
  /** Percentiles (0..100) mapped to 0 and 1 before clipping. */
  percentileLow: number;
  percentileHigh: number;
  /** Luma weights for RGB input (ITU-R BT.601 by default). */
  lumaWeights: readonly [number, number, number];
}

export const DEFAULT_PREPROCESS: PreprocessSpec = {
  height: 128,
  width: 128,
  percentileLow: 0.5,
  percentileHigh: 99.5,
  lumaWeights: [0.299, 0.587, 0.114],
};

/** Sparse exact box-integration weights: for each target index, its source range and weights. */
interface AxisWeights {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array[];
}

const weightCache = new Map<string, AxisWeights>();

function areaWeights(nIn: number, nOut: number): AxisWeights {
  const key = `${nIn}:${nOut}`;
  const cached = weightCache.get(key);
  if (cached) return cached;
  const s = nIn / nOut;
  const start = new Int32Array(nOut);
  const count = new Int32Array(nOut);
  const weights: Float64Array[] = [];
  for (let i = 0; i < nOut; i++) {
    const a = i * s;
    const b = (i + 1) * s;
    const j0 = Math.floor(a);
    const j1 = Math.min(Math.ceil(b), nIn);
    const w = new Float64Array(Math.max(0, j1 - j0));
    for (let j = j0; j < j1; j++) {
      const ov = Math.min(b, j + 1) - Math.max(a, j);
      // Same arithmetic as the training pipeline (overlap / s), so the sums match to the last bit
      // as far as the summation order allows.
      w[j - j0] = ov > 0 ? ov / s : 0;
    }
    start[i] = j0;
    count[i] = j1 - j0;
    weights.push(w);
  }
  const out = { start, count, weights };
  if (weightCache.size > 64) weightCache.clear();
  weightCache.set(key, out);
  return out;
}

/** Grey values in float64, row-major [height*width]. */
export function toGrey(img: RawImage, luma: readonly [number, number, number] = DEFAULT_PREPROCESS.lumaWeights): Float64Array {
  const { width, height, channels, data } = img;
  const n = width * height;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new WorkstationError('INVALID_INPUT', 'The image has no pixels (its width or height is zero).');
  }
  if (data.length < n * channels) {
    throw new WorkstationError('INVALID_INPUT', `The image data is shorter than its size says (${width}x${height}, ${channels} channel(s)).`);
  }
  const g = new Float64Array(n);
  if (channels === 1) {
    for (let i = 0; i < n; i++) g[i] = data[i]!;
  } else {
    const [wr, wg, wb] = luma;
    for (let i = 0, p = 0; i < n; i++, p += channels) g[i] = wr * data[p]! + wg * data[p + 1]! + wb * data[p + 2]!;
  }
  return g;
}

/** Exact area resize of a float64 grey image (rows first, then columns, as out = Wy @ g @ Wx^T). */
export function areaResize(g: Float64Array, inH: number, inW: number, outH: number, outW: number): Float64Array {
  const wy = areaWeights(inH, outH);
  const wx = areaWeights(inW, outW);
  // tmp = Wy @ g : [outH, inW]
  const tmp = new Float64Array(outH * inW);
  for (let i = 0; i < outH; i++) {
    const j0 = wy.start[i]!;
    const cnt = wy.count[i]!;
    const w = wy.weights[i]!;
    const row = i * inW;
    for (let k = 0; k < cnt; k++) {
      const wk = w[k]!;
      if (wk === 0) continue;
      const src = (j0 + k) * inW;
      for (let x = 0; x < inW; x++) tmp[row + x]! += wk * g[src + x]!;
    }
  }
  // out = tmp @ Wx^T : [outH, outW]
  const out = new Float64Array(outH * outW);
  for (let i = 0; i < outH; i++) {
    const row = i * inW;
    for (let x = 0; x < outW; x++) {
      const j0 = wx.start[x]!;
      const cnt = wx.count[x]!;
      const w = wx.weights[x]!;
      let acc = 0;
      for (let k = 0; k < cnt; k++) acc += w[k]! * tmp[row + j0 + k]!;
      out[i * outW + x] = acc;
    }
  }
  return out;
}

/** Rearranges a so that a[k] is the k-th smallest value (Hoare quickselect, median of three). */
function selectKth(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as pivot keeps sorted and flat inputs linear.
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * numpy's 'linear' percentile: rank r = (n-1)p/100 between the floor(r)-th and ceil(r)-th
 * smallest values. Order statistics by selection (O(n)) give exactly the values a sort would.
 */
function percentileLinear(work: Float64Array, p: number): number {
  const r = ((work.length - 1) * p) / 100;
  const f = Math.floor(r);
  const c = Math.ceil(r);
  const vf = selectKth(work, f);
  let vc = vf;
  if (c !== f) {
    // After selection everything right of f is >= a[f]; the next order statistic is their minimum.
    vc = Infinity;
    for (let i = f + 1; i < work.length; i++) if (work[i]! < vc) vc = work[i]!;
  }
  return vf + (vc - vf) * (r - f);
}

/** Maps the lo/hi percentiles to 0/1 and clips; a flat image becomes all zeros. */
export function normalise(v: Float64Array, pLow: number, pHigh: number): Float32Array {
  const work = Float64Array.from(v);
  const lo = percentileLinear(work, pLow);
  const hi = percentileLinear(work, pHigh);
  const out = new Float32Array(v.length);
  if (!(hi - lo > 1e-6 * Math.max(1, Math.abs(hi), Math.abs(lo)))) return out;
  const span = hi - lo;
  for (let i = 0; i < v.length; i++) {
    const x = (v[i]! - lo) / span;
    out[i] = x < 0 ? 0 : x > 1 ? 1 : x;
  }
  return out;
}

/** The whole preprocessing: raw decoded pixels -> float32 [H*W] in 0..1 (one channel). */
export function preprocess(img: RawImage, spec: PreprocessSpec = DEFAULT_PREPROCESS): Float32Array {
  if (img.data instanceof Float32Array || img.data instanceof Float64Array) {
    // Integer pixels are always finite; float pixels (rescaled DICOM) may carry NaN or Infinity.
    for (let i = 0; i < img.data.length; i++) {
      if (!Number.isFinite(img.data[i]!)) throw new WorkstationError('INVALID_INPUT', 'The image contains pixel values that are not numbers.');
    }
  }
  const g = toGrey(img, spec.lumaWeights);
  const r = areaResize(g, img.height, img.width, spec.height, spec.width);
  return normalise(r, spec.percentileLow, spec.percentileHigh);
}
