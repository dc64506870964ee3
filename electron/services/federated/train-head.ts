// Local training of the classification head on frozen features: softmax cross-entropy, Adam or
// SGD with momentum, seeded, an optional FedProx proximal term, and DP-SGD (per-example clipping,
// Gaussian noise, Poisson sampling) for the privacy accountant. Plain Float32Array arithmetic;
// it yields to the event loop every few milliseconds so progress and cancel stay live.
import { WorkstationError } from '../../contract';
import { mulberry32 } from '../random';
import type { HeadWeights } from './model-head';

export interface DpSettings {
  /** Per-example L2 clipping norm C. */
  clipNorm: number;
  /** sigma: the noise standard deviation is sigma * C per coordinate of the summed gradient. */
  noiseMultiplier: number;
  delta: number;
}

export interface TrainSettings {
  optimizer: 'adam' | 'sgd';
  learningRate: number;
  /** SGD momentum (ignored by Adam). */
  momentum: number;
  epochs: number;
  batchSize: number;
  /** L2 penalty on the weights (not the bias). */
  weightDecay: number;
  seed: number;
  /** FedProx: (mu / 2) * ||w - w_global||^2 added to the loss; 0 is plain FedAvg local training. */
  fedproxMu: number;
  /** DP-SGD; null trains without differential privacy. */
  dp: DpSettings | null;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  optimizer: 'adam',
  learningRate: 0.003,
  momentum: 0.9,
  epochs: 20,
  batchSize: 64,
  weightDecay: 0.0001,
  seed: 1,
  fedproxMu: 0,
  dp: null,
};

export interface FeatureSet {
  /** [n, dim] row-major. */
  x: Float32Array;
  /** Class index per row (into the head's classes). */
  y: Int32Array;
  n: number;
  dim: number;
}

export interface EpochStat {
  epoch: number;
  loss: number;
  accuracy: number;
}

export interface TrainResult {
  weights: HeadWeights;
  history: EpochStat[];
  /** Optimizer steps taken (DP: Poisson-sampled steps, what the accountant counts). */
  steps: number;
  /** Sampling probability per step (batchSize / n), for the accountant. */
  sampleRate: number;
  ms: number;
}

export interface TrainOptions {
  /** Rows of the head kept as they are (e.g. the reject class no site has examples of). */
  frozenClasses?: readonly number[];
  signal?: AbortSignal | undefined;
  onProgress?: ((p: { epoch: number; epochs: number; loss: number; accuracy: number }) => void) | undefined;
  /** Longest stretch of arithmetic between two yields to the event loop. */
  sliceMs?: number;
}

/** mulberry32: small, fast and seeded, so the same settings train the same head. */
export const seeded = mulberry32;

/** Standard normal draws (Box-Muller, both values used). */
export function gaussian(rand: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export function cloneHead(h: HeadWeights): HeadWeights {
  return { classes: h.classes, dim: h.dim, weight: Float32Array.from(h.weight), bias: Float32Array.from(h.bias) };
}

/** logits [n, classes] = x W^T + b. */
export function headLogits(h: HeadWeights, x: Float32Array, n: number): Float32Array {
  const { classes: C, dim: F, weight: W, bias: b } = h;
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    const xo = i * F;
    for (let c = 0; c < C; c++) {
      let s = b[c]!;
      const wo = c * F;
      for (let f = 0; f < F; f++) s += W[wo + f]! * x[xo + f]!;
      out[i * C + c] = s;
    }
  }
  return out;
}

function softmaxRow(z: Float32Array, o: number, C: number, p: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < C; c++) max = Math.max(max, z[o + c]!);
  let s = 0;
  for (let c = 0; c < C; c++) {
    p[c] = Math.exp(z[o + c]! - max);
    s += p[c]!;
  }
  for (let c = 0; c < C; c++) p[c]! /= s;
}

/** Mean cross-entropy and accuracy (argmax over all classes) of a head on a feature set. */
export function evaluateHead(h: HeadWeights, data: FeatureSet): { loss: number; accuracy: number } {
  if (data.n === 0) return { loss: 0, accuracy: 0 };
  const z = headLogits(h, data.x, data.n);
  const C = h.classes;
  const p = new Float64Array(C);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < data.n; i++) {
    softmaxRow(z, i * C, C, p);
    const y = data.y[i]!;
    loss -= Math.log(Math.max(p[y]!, 1e-12));
    let best = 0;
    for (let c = 1; c < C; c++) if (p[c]! > p[best]!) best = c;
    if (best === y) correct++;
  }
  return { loss: loss / data.n, accuracy: correct / data.n };
}

function checkInputs(init: HeadWeights, data: FeatureSet, s: TrainSettings): void {
  const bad = (what: string): never => {
    throw new WorkstationError('INVALID_INPUT', `Local training cannot start: ${what}.`);
  };
  if (data.dim !== init.dim) bad(`the features have ${data.dim} values but the head takes ${init.dim}`);
  if (data.x.length !== data.n * data.dim || data.y.length !== data.n) bad('the feature and label arrays do not match');
  if (data.n === 0) bad('the data set has no labelled images');
  for (let i = 0; i < data.n; i++) if (data.y[i]! < 0 || data.y[i]! >= init.classes) bad(`label ${data.y[i]} is not a class of the head`);
  if (!(s.learningRate > 0) || !(s.epochs >= 1) || !(s.batchSize >= 1)) bad('the learning rate, epochs and batch size must be positive');
  if (s.dp && (!(s.dp.clipNorm > 0) || !(s.dp.noiseMultiplier >= 0) || !(s.dp.delta > 0 && s.dp.delta < 1))) bad('differential privacy needs a positive clipping norm, a noise multiplier >= 0 and 0 < delta < 1');
}

const cancelled = (): WorkstationError => new WorkstationError('CONFLICT', 'Local training was cancelled; no update package was made.', { details: { cancelled: true } });

/**
 * Trains a copy of `init` on the features. Without DP each epoch is a seeded shuffle in
 * minibatches (mean gradient). With DP each step draws a Poisson sample (rate q = batchSize / n),
 * clips every example's gradient to C, sums, adds N(0, (sigma C)^2) per coordinate and divides by
 * the expected batch size; the FedProx and weight-decay terms are data-independent and added after.
 */
export async function trainHead(init: HeadWeights, data: FeatureSet, settings: TrainSettings, opts: TrainOptions = {}): Promise<TrainResult> {
  checkInputs(init, data, settings);
  const t0 = performance.now();
  const { classes: C, dim: F } = init;
  const P = C * F + C;
  const anchor = cloneHead(init);
  const h = cloneHead(init);
  const frozen = new Uint8Array(C);
  for (const c of opts.frozenClasses ?? []) if (c >= 0 && c < C) frozen[c] = 1;
  const rand = seeded(settings.seed);
  const normal = gaussian(seeded(settings.seed ^ 0x9e3779b9));
  const grad = new Float64Array(P);
  const g1 = new Float64Array(P); // one example's gradient (DP) / Adam first moment
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const p = new Float64Array(C);
  const z = new Float32Array(C);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const bs = Math.min(settings.batchSize, data.n);
  const q = bs / data.n;
  const stepsPerEpoch = Math.ceil(data.n / bs);
  const sliceMs = opts.sliceMs ?? 8;
  const history: EpochStat[] = [];
  let steps = 0;
  let sliceStart = performance.now();

  const forward = (i: number): number => {
    const xo = i * F;
    for (let c = 0; c < C; c++) {
      let s = h.bias[c]!;
      const wo = c * F;
      for (let f = 0; f < F; f++) s += h.weight[wo + f]! * data.x[xo + f]!;
      z[c] = s;
    }
    softmaxRow(z, 0, C, p);
    return -Math.log(Math.max(p[data.y[i]!]!, 1e-12));
  };

  /** Adds scale * d(loss_i)/d(params) into g (frozen rows get nothing); returns the squared norm. */
  const backward = (i: number, g: Float64Array, scale: number): number => {
    const xo = i * F;
    const y = data.y[i]!;
    let sq = 0;
    let xx = 1; // the bias's input
    for (let f = 0; f < F; f++) xx += data.x[xo + f]! * data.x[xo + f]!;
    for (let c = 0; c < C; c++) {
      if (frozen[c]) continue;
      const d = p[c]! - (c === y ? 1 : 0);
      sq += d * d * xx;
      const wo = c * F;
      const sd = scale * d;
      for (let f = 0; f < F; f++) g[wo + f]! += sd * data.x[xo + f]!;
      g[C * F + c]! += sd;
    }
    return sq;
  };

  const apply = (): void => {
    // Data-independent terms after any noise: weight decay and the FedProx pull to the global head.
    const wd = settings.weightDecay;
    const mu = settings.fedproxMu;
    for (let c = 0; c < C; c++) {
      if (frozen[c]) {
        for (let f = 0; f < F; f++) grad[c * F + f] = 0;
        grad[C * F + c] = 0;
        continue;
      }
      for (let f = 0; f < F; f++) {
        const k = c * F + f;
        grad[k]! += wd * h.weight[k]! + mu * (h.weight[k]! - anchor.weight[k]!);
      }
      grad[C * F + c]! += mu * (h.bias[c]! - anchor.bias[c]!);
    }
    steps++;
    const lr = settings.learningRate;
    if (settings.optimizer === 'adam') {
      const b1 = 0.9;
      const b2 = 0.999;
      const c1 = 1 - b1 ** steps;
      const c2 = 1 - b2 ** steps;
      for (let k = 0; k < P; k++) {
        m[k] = b1 * m[k]! + (1 - b1) * grad[k]!;
        v[k] = b2 * v[k]! + (1 - b2) * grad[k]! * grad[k]!;
        const step = (lr * (m[k]! / c1)) / (Math.sqrt(v[k]! / c2) + 1e-8);
        if (k < C * F) h.weight[k]! -= step;
        else h.bias[k - C * F]! -= step;
      }
    } else {
      for (let k = 0; k < P; k++) {
        m[k] = settings.momentum * m[k]! + grad[k]!;
        if (k < C * F) h.weight[k]! -= lr * m[k]!;
        else h.bias[k - C * F]! -= lr * m[k]!;
      }
    }
  };

  const maybeYield = async (): Promise<void> => {
    if (performance.now() - sliceStart < sliceMs) return;
    await new Promise<void>((r) => setImmediate(r));
    sliceStart = performance.now();
    if (opts.signal?.aborted) throw cancelled();
  };

  if (opts.signal?.aborted) throw cancelled();
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    let lossSum = 0;
    let seen = 0;
    if (!settings.dp) {
      for (let i = data.n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    for (let s = 0; s < stepsPerEpoch; s++) {
      grad.fill(0);
      if (settings.dp) {
        const { clipNorm: Cn, noiseMultiplier: sigma } = settings.dp;
        for (let i = 0; i < data.n; i++) {
          if (rand() >= q) continue; // Poisson sampling: each example independently, rate q
          lossSum += forward(i);
          seen++;
          g1.fill(0);
          const norm = Math.sqrt(backward(i, g1, 1));
          const k = norm > Cn ? Cn / norm : 1;
          for (let t = 0; t < P; t++) grad[t]! += k * g1[t]!;
        }
        // Noise on every trainable coordinate; frozen rows are zeroed in apply().
        for (let t = 0; t < P; t++) grad[t] = (grad[t]! + sigma * Cn * normal()) / bs;
      } else {
        const from = s * bs;
        const to = Math.min(data.n, from + bs);
        for (let k = from; k < to; k++) {
          const i = order[k]!;
          lossSum += forward(i);
          seen++;
          backward(i, grad, 1 / (to - from));
        }
      }
      apply();
      await maybeYield();
    }
    const stat = { epoch, loss: seen ? lossSum / seen : 0, accuracy: evaluateHead(h, data).accuracy };
    history.push(stat);
    opts.onProgress?.({ epoch, epochs: settings.epochs, loss: stat.loss, accuracy: stat.accuracy });
    await maybeYield();
  }
  return { weights: h, history, steps, sampleRate: q, ms: performance.now() - t0 };
}

/** L2 norm of (a - b) over weight and bias. */
export function updateNorm(a: HeadWeights, b: HeadWeights): number {
  let s = 0;
  for (let k = 0; k < a.weight.length; k++) s += (a.weight[k]! - b.weight[k]!) ** 2;
  for (let k = 0; k < a.bias.length; k++) s += (a.bias[k]! - b.bias[k]!) ** 2;
  return Math.sqrt(s);
}
