// The honest "not recognised": a blank image, noise and non-brain pictures (Fashion-MNIST, which
// the model never saw in training) must not come out as a confident tumor class.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log';
import { TUMOR_CLASSES } from './model-card';
import { NOT_RECOGNISED } from './postprocess';
import type { InferenceInput } from './protocol';
import { createInferenceService } from './service';
import { fashionMnist, requireModelDir } from '../../testing/inference';

const svc = createInferenceService({ config: { modelsFolder: path.dirname(requireModelDir()), runtime: 'auto' }, logger: silentLogger });
afterAll(() => svc.close());

/** Deterministic pseudo-random bytes (xorshift), so a failure can be reproduced. */
function noise(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

async function labels(inputs: InferenceInput[]): Promise<{ id: string; label: string; confidence: number }[]> {
  const out = await svc.classify(inputs, { batchSize: 16 });
  return out.map((o) => {
    if (!o.ok) throw new Error(`${o.id} was not scored: ${o.error.message}`);
    return { id: o.id, label: o.result.label, confidence: o.result.confidence };
  });
}

function tumorCalls(rs: { id: string; label: string; confidence: number }[]): string[] {
  return rs.filter((r) => (TUMOR_CLASSES as readonly string[]).includes(r.label)).map((r) => `${r.id}: ${r.label} (${r.confidence.toFixed(3)})`);
}

describe('not recognised', () => {
  it('a blank image (black, white, mid-grey; 8- and 16-bit) is never a tumor', async () => {
    const inputs: InferenceInput[] = [0, 128, 255].map((v) => ({ id: `blank-${v}`, source: { kind: 'pixels', image: { width: 200, height: 160, channels: 1, bitsPerSample: 8, data: new Uint8Array(200 * 160).fill(v) } } }));
    inputs.push({ id: 'blank-16bit', source: { kind: 'pixels', image: { width: 64, height: 64, channels: 1, bitsPerSample: 16, data: new Uint16Array(64 * 64).fill(4000) } } });
    const rs = await labels(inputs);
    expect(tumorCalls(rs)).toEqual([]);
    // A flat image carries no information at all: the only honest answer is "not recognised".
    for (const r of rs) expect(r.label, r.id).toBe('not recognised');
  });

  it('uniform noise (grey and RGB, several sizes) is not recognised', async () => {
    const sizes: [number, number, 1 | 3][] = [[128, 128, 1], [300, 200, 1], [57, 91, 3], [512, 512, 3], [224, 224, 1], [64, 300, 3]];
    const inputs: InferenceInput[] = sizes.map(([w, h, ch], i) => ({ id: `noise-${w}x${h}x${ch}`, source: { kind: 'pixels', image: { width: w, height: h, channels: ch, bitsPerSample: 8, data: noise(w * h * ch, i + 11) } } }));
    const rs = await labels(inputs);
    expect(tumorCalls(rs)).toEqual([]);
    for (const r of rs) expect(r.label, r.id).toBe('not recognised');
  });

  // What the model achieves here, stated as the issue asks: no CONFIDENT tumor call on non-brain
  // pictures. It is not perfect: a few Fashion-MNIST pictures (2% of these 300) still get a tumor
  // label at moderate calibrated confidence (0.6-0.85); the model card reports the same on 2000.
  it('Fashion-MNIST pictures (300 test images, never trained on): mostly not recognised, never a confident tumor', async () => {
    const fm = fashionMnist(300);
    expect(fm.pixels.length).toBe(300);
    const inputs: InferenceInput[] = fm.pixels.map((p, i) => ({ id: `fashion-${i}`, source: { kind: 'pixels', image: { width: fm.width, height: fm.height, channels: 1, bitsPerSample: 8, data: p } } }));
    const rs = await labels(inputs);
    const rejected = rs.filter((r) => r.label === NOT_RECOGNISED).length / rs.length;
    expect(rejected, `only ${(rejected * 100).toFixed(1)}% of Fashion-MNIST images were not recognised`).toBeGreaterThanOrEqual(0.9);
    const confident = tumorCalls(rs.filter((r) => r.confidence >= 0.9));
    expect(confident, `${confident.length} Fashion-MNIST images got a confident tumor label: ${confident.slice(0, 5).join('; ')}`).toEqual([]);
    expect(tumorCalls(rs).length, 'tumor labels at any confidence').toBeLessThanOrEqual(15);
  });
});
