// Local head training on features: it learns, is reproducible from its seed, keeps frozen rows,
// FedProx pulls towards the global head, DP-SGD clips and adds noise, progress and cancel work and
// the event loop keeps turning. Synthetic features here; the real model's in the service tests.
import { describe, expect, it } from 'vitest';
import type { HeadWeights } from './model-head';
import { DEFAULT_TRAIN_SETTINGS, evaluateHead, gaussian, seeded, trainHead, updateNorm, type FeatureSet, type TrainSettings } from './train-head';

const C = 5;
const F = 16;

/** Four Gaussian clusters (classes 0-3) in F dimensions; class 4 (the reject class) has none. */
function clusters(n: number, seed: number, spread = 0.6): FeatureSet {
  const rand = seeded(seed);
  const normal = gaussian(rand);
  const centres = Array.from({ length: 4 }, (_, c) => Float32Array.from({ length: F }, (_, f) => ((c * 7 + f * 3) % 5) - 2));
  const x = new Float32Array(n * F);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 4;
    y[i] = c;
    for (let f = 0; f < F; f++) x[i * F + f] = centres[c]![f]! + spread * normal();
  }
  return { x, y, n, dim: F };
}

function zeroHead(): HeadWeights {
  return { classes: C, dim: F, weight: new Float32Array(C * F), bias: Float32Array.from([0, 0, 0, 0, 2]) };
}

const settings = (over: Partial<TrainSettings> = {}): TrainSettings => ({ ...DEFAULT_TRAIN_SETTINGS, epochs: 8, batchSize: 32, ...over });

describe('trainHead', () => {
  const data = clusters(800, 7);

  it('learns: from chance (the reject class wins everything) to nearly all right, loss falling', async () => {
    expect(evaluateHead(zeroHead(), data).accuracy).toBe(0);
    const r = await trainHead(zeroHead(), data, settings());
    expect(r.history[0]!.loss).toBeGreaterThan(r.history.at(-1)!.loss);
    expect(r.history.at(-1)!.accuracy).toBeGreaterThan(0.95);
    expect(r.steps).toBe(8 * Math.ceil(800 / 32));
  });

  it('SGD with momentum learns too', async () => {
    const r = await trainHead(zeroHead(), data, settings({ optimizer: 'sgd', learningRate: 0.05 }));
    expect(r.history.at(-1)!.accuracy).toBeGreaterThan(0.95);
  });

  it('the same seed gives the same head bit for bit; another seed another head', async () => {
    const a = await trainHead(zeroHead(), data, settings({ seed: 3 }));
    const b = await trainHead(zeroHead(), data, settings({ seed: 3 }));
    const c = await trainHead(zeroHead(), data, settings({ seed: 4 }));
    expect(Buffer.from(a.weights.weight.buffer).equals(Buffer.from(b.weights.weight.buffer))).toBe(true);
    expect(updateNorm(a.weights, c.weights)).toBeGreaterThan(0);
  });

  it('frozen rows (the reject class) keep their weights and bias exactly', async () => {
    const init = zeroHead();
    init.weight.fill(0.25, 4 * F, 5 * F);
    const r = await trainHead(init, data, settings(), { frozenClasses: [4] });
    expect(Array.from(r.weights.weight.subarray(4 * F))).toEqual(Array.from(init.weight.subarray(4 * F)));
    expect(r.weights.bias[4]).toBe(2);
    expect(updateNorm(r.weights, init)).toBeGreaterThan(1);
  });

  it('FedProx keeps the local head closer to the global one as mu grows', async () => {
    const init = zeroHead();
    const free = await trainHead(init, data, settings({ fedproxMu: 0 }));
    const prox = await trainHead(init, data, settings({ fedproxMu: 5 }));
    expect(updateNorm(prox.weights, init)).toBeLessThan(0.7 * updateNorm(free.weights, init));
  });

  it('DP-SGD: Poisson steps at rate batch/n, noise changes the head, heavy noise costs accuracy', async () => {
    const dp = { clipNorm: 1, noiseMultiplier: 1.1, delta: 1e-5 };
    const a = await trainHead(zeroHead(), data, settings({ dp, seed: 1 }));
    const b = await trainHead(zeroHead(), data, settings({ dp, seed: 2 }));
    expect(a.sampleRate).toBeCloseTo(32 / 800, 12);
    expect(a.steps).toBe(8 * Math.ceil(800 / 32));
    expect(updateNorm(a.weights, b.weights)).toBeGreaterThan(0);
    expect(a.history.at(-1)!.accuracy).toBeGreaterThan(0.8);
    const loud = await trainHead(zeroHead(), clusters(200, 9, 2), settings({ dp: { clipNorm: 0.01, noiseMultiplier: 50, delta: 1e-5 }, epochs: 3 }));
    const quiet = await trainHead(zeroHead(), clusters(200, 9, 2), settings({ epochs: 3 }));
    expect(loud.history.at(-1)!.accuracy).toBeLessThan(quiet.history.at(-1)!.accuracy);
  });

  it('reports progress per epoch and stops on cancel with a reason; the event loop keeps turning', async () => {
    const big = clusters(20000, 11);
    const controller = new AbortController();
    const seen: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const run = trainHead(zeroHead(), big, settings({ epochs: 50 }), {
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.epoch);
        if (p.epoch === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CONFLICT', details: { cancelled: true } });
    clearInterval(timer);
    expect(seen.slice(0, 2)).toEqual([1, 2]);
    expect(seen.length).toBeLessThan(4);
    expect(ticks).toBeGreaterThan(0);
  });

  it('refuses features of the wrong size, labels outside the head and empty data', async () => {
    await expect(trainHead(zeroHead(), { ...data, dim: 8 }, settings())).rejects.toThrow(/8 values but the head takes 16/);
    await expect(trainHead(zeroHead(), { x: new Float32Array(F), y: Int32Array.from([9]), n: 1, dim: F }, settings())).rejects.toThrow(/label 9/);
    await expect(trainHead(zeroHead(), { x: new Float32Array(0), y: new Int32Array(0), n: 0, dim: F }, settings())).rejects.toThrow(/no labelled images/);
  });
});
