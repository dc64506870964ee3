// Cross-runtime parity: every runtime this machine has gets the same inputs and must agree with
// the PyTorch golden outputs and with each other. Tolerances are stated below and in the report.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log';
import { createAdapter, type EngineName } from './adapters';
import { parseModelCard, readCardJson, readVerifiedFiles } from './model-card';
import { classify, softmaxT } from './postprocess';
import { detectRuntimes } from './runtimes';
import { createInferenceService, type ImageOutcome } from './service';
import { b64ToF32, mriImages, readGolden, requireModelDir, SHIPPED_MODELS } from '../../testing/inference';

/** PyTorch vs any runtime: the training pipeline's own export tolerance (max abs diff). */
const GOLDEN_TOL = 1e-3;
/** Runtime vs runtime: calibrated probabilities, max abs diff. */
const PROB_TOL = 1e-4;
/** Runtime vs runtime: fraction of mask pixels (at the input's size) that must be identical. */
const MASK_AGREEMENT = 0.999;
/** Golden cases the pure-JS tfjs 'cpu' reference runs (all the others run every case). */
const TFJS_CPU_CASES = 4;

interface GoldenOut {
  classes: string[];
  temperature: number;
  reject_threshold: number;
  mask_threshold: number;
  cases: { name: string; input_f32_b64: string; logits: number[]; probs_calibrated: number[]; predicted: string; rejected: boolean; mask_f32_b64: string; mask_pixels_over_threshold: number }[];
}

const available = detectRuntimes().filter((r) => r.available);
// The pure-JS tfjs 'cpu' backend always runs: a reference that needs nothing native.
const engines: EngineName[] = [...available.map((r) => r.name), 'tfjs-cpu'];

describe('runtimes on this machine', () => {
  it('finds onnxruntime-node and the WebAssembly floor, and says why any other is missing', () => {
    const rts = detectRuntimes();
    expect(rts.map((r) => r.name)).toEqual(['tfjs-node-gpu', 'onnxruntime-node', 'tfjs-node', 'tfjs-wasm']);
    expect(rts.find((r) => r.name === 'onnxruntime-node')?.available).toBe(true);
    expect(rts.find((r) => r.name === 'tfjs-wasm')?.available).toBe(true);
    for (const r of rts.filter((x) => !x.available)) expect(r.reason?.length ?? 0, r.name).toBeGreaterThan(20);
  });
});

describe.each(SHIPPED_MODELS)('$id $version: every runtime agrees with the golden outputs (PyTorch, BN-folded)', (model) => {
  const dir = requireModelDir(model.id);
  const golden = readGolden<GoldenOut>(model.golden);
  const spec = parseModelCard(readCardJson(dir), dir);

  it('the card and the golden file agree on classes, temperature and thresholds', () => {
    expect(spec.classes).toEqual(golden.classes);
    expect(spec.temperature).toBeCloseTo(golden.temperature, 10);
    expect(spec.rejectThreshold).toBeCloseTo(golden.reject_threshold, 10);
    expect(spec.maskThreshold).toBeCloseTo(golden.mask_threshold, 10);
  });

  for (const engine of engines) {
    it(`${engine}: logits and mask within ${GOLDEN_TOL}, same label and reject decision`, async () => {
      const files = await readVerifiedFiles(dir, spec);
      const adapter = await createAdapter(engine, spec, files, { threads: 1, device: 'cpu' });
      try {
        const hw = spec.preprocess.height * spec.preprocess.width;
        // The pure-JS reference is slow (tumornet-v2 is 1.4 GFLOP a image): it checks the first cases only.
        const cases = engine === 'tfjs-cpu' ? golden.cases.slice(0, TFJS_CPU_CASES) : golden.cases;
        const n = cases.length;
        const batch = new Float32Array(n * hw);
        cases.forEach((c, i) => batch.set(b64ToF32(c.input_f32_b64), i * hw));
        const out = await adapter.run(batch, n);
        const C = spec.classes.length;
        cases.forEach((c, i) => {
          const logits = Array.from(out.logits.subarray(i * C, (i + 1) * C));
          let dl = 0;
          logits.forEach((v, k) => (dl = Math.max(dl, Math.abs(v - c.logits[k]!))));
          expect(dl, `${c.name} logits`).toBeLessThanOrEqual(GOLDEN_TOL);
          const p = softmaxT(logits, spec.temperature);
          p.forEach((v, k) => expect(Math.abs(v - c.probs_calibrated[k]!), `${c.name} p[${k}]`).toBeLessThanOrEqual(GOLDEN_TOL));
          const cls = classify(logits, spec);
          expect(cls.label === 'not recognised', `${c.name} reject`).toBe(c.rejected);
          if (!c.rejected) expect(cls.label).toBe(c.predicted);
          const want = b64ToF32(c.mask_f32_b64);
          const got = out.mask.subarray(i * hw, (i + 1) * hw);
          let dm = 0;
          let over = 0;
          for (let k = 0; k < hw; k++) {
            dm = Math.max(dm, Math.abs(got[k]! - want[k]!));
            if (got[k]! >= spec.maskThreshold) over++;
          }
          expect(dm, `${c.name} mask`).toBeLessThanOrEqual(GOLDEN_TOL);
          expect(Math.abs(over - c.mask_pixels_over_threshold), `${c.name} mask pixels`).toBeLessThanOrEqual(Math.ceil(hw * (1 - MASK_AGREEMENT)));
        });
      } finally {
        await adapter.dispose();
      }
    }, 300_000);
  }
});

describe.each(SHIPPED_MODELS)('$id $version: runtimes agree with each other on real MRI images, end to end through the worker pool', (model) => {
  const dir = requireModelDir(model.id);
  // The float file in every runtime (an int8 file is checked against float in int8.test.ts).
  const svc = createInferenceService({ config: { modelsFolder: path.dirname(dir), runtime: 'auto' }, logger: silentLogger, poolSize: 2, precision: 'float' });
  afterAll(() => svc.close());
  const images = ['glioma', 'meningioma', 'notumor', 'pituitary'].flatMap((c) => mriImages(c, 3));
  const results = new Map<EngineName, ImageOutcome[]>();
  // The shipping runtimes (tfjs-cpu is only the golden reference above: too slow to ship).
  const shipping = available.map((r) => r.name);

  for (const engine of shipping) {
    it(`${engine} scores ${images.length} images`, async () => {
      const out = await svc.classify(
        images.map((p) => ({ id: path.basename(p), source: { kind: 'file' as const, path: p } })),
        { modelId: model.id, runtime: engine, wantMask: true, batchSize: 4 },
      );
      expect(out.every((o) => o.ok)).toBe(true);
      for (const o of out) if (o.ok) expect(o.result.runtime).toBe(engine);
      results.set(engine, out);
    });
  }

  it(`calibrated probabilities agree within ${PROB_TOL} and masks on >= ${MASK_AGREEMENT * 100}% of pixels`, () => {
    expect(shipping.length, 'runtimes to compare').toBeGreaterThanOrEqual(2);
    const ref = results.get(shipping[0]!)!;
    expect(ref, 'reference runtime results').toBeDefined();
    for (const engine of shipping.slice(1)) {
      const other = results.get(engine)!;
      expect(other, `${engine} results`).toBeDefined();
      ref.forEach((a, i) => {
        const b = other[i]!;
        if (!a.ok || !b.ok) throw new Error(`${a.id} was not scored`);
        for (const c of Object.keys(a.result.probabilities)) {
          expect(Math.abs(a.result.probabilities[c]! - b.result.probabilities[c]!), `${engine} ${a.id} ${c}`).toBeLessThanOrEqual(PROB_TOL);
        }
        expect(b.result.label, `${engine} ${a.id}`).toBe(a.result.label);
        expect(a.mask!.length).toBe(a.result.width * a.result.height);
        let same = 0;
        for (let k = 0; k < a.mask!.length; k++) if (a.mask![k] === b.mask![k]) same++;
        expect(same / a.mask!.length, `${engine} ${a.id} mask`).toBeGreaterThanOrEqual(MASK_AGREEMENT);
      });
    }
  });
});
