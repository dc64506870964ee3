// The validation gate on features with known answers: an identical head passes, a head that
// forgets one class fails that class's check, a slightly worse head within the margin passes,
// and a site's own confusion matrices are gated too.
import { describe, expect, it } from 'vitest';
import { runGate, DEFAULT_GATE } from './gate';
import type { HeadWeights } from './model-head';
import type { FeatureSet } from './train-head';

const classes = ['glioma', 'meningioma', 'notumor', 'pituitary', 'other'];
const spec = { classes, reportedClasses: ['glioma', 'meningioma', 'notumor', 'pituitary'] as const, rejectClasses: ['other'], rejectThreshold: 0.5, temperature: 1 };

/** One-hot features: class c's images have feature c set (dim 5), 100 per tumor class. */
function reference(): FeatureSet {
  const n = 400;
  const x = new Float32Array(n * 5);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 4;
    x[i * 5 + (i % 4)] = 1;
  }
  return { x, y, n, dim: 5 };
}

function identity(scale = 10): HeadWeights {
  const w = new Float32Array(25);
  for (let c = 0; c < 5; c++) w[c * 5 + c] = scale;
  return { classes: 5, dim: 5, weight: w, bias: new Float32Array(5) };
}

describe('validation gate', () => {
  const ref = reference();

  it('an identical head passes every check', () => {
    const g = runGate(spec, identity(), identity(), ref);
    expect(g.passed).toBe(true);
    expect(g.current.accuracy).toBe(1);
    expect(g.checks.map((c) => c.name)).toEqual(['overall accuracy', 'paired test', 'recall glioma', 'recall meningioma', 'recall notumor', 'recall pituitary']);
  });

  it('a head that sends meningioma to glioma fails overall, the paired test and that class, with figures', () => {
    const bad = identity();
    bad.weight[0 * 5 + 1] = 20; // meningioma's feature now votes glioma
    const g = runGate(spec, identity(), bad, ref);
    expect(g.passed).toBe(false);
    const failed = g.checks.filter((c) => !c.passed).map((c) => c.name);
    expect(failed).toEqual(['overall accuracy', 'paired test', 'recall meningioma']);
    expect(g.checks.find((c) => c.name === 'recall meningioma')!.detail).toMatch(/0\.0% against 100\.0%/);
    expect(g.accuracyDiff.value).toBeCloseTo(-0.25, 9);
    expect(g.accuracyDiff.hi).toBeLessThan(0);
  });

  it('a drop within the margin passes; a larger one fails overall and for the class, not by chance', () => {
    // Glioma images with feature strengths 0.01 .. 1.00: a head of scale s rejects those below
    // ln(4)/s (calibrated probability under the 0.5 threshold). Scale 10 rejects 13, 9 rejects 15
    // (0.5 points of 400 more), 7 rejects 19 (1.5 points more).
    const r = reference();
    let k = 0;
    for (let i = 0; i < r.n; i++) if (r.y[i] === 0) r.x[i * 5] = ++k / 100;
    const cur = runGate(spec, identity(10), identity(10), r);
    expect(cur.current.recall.glioma).toBeCloseTo(0.87, 9);
    const slight = runGate(spec, identity(10), identity(9), r);
    expect(slight.candidate.recall.glioma).toBeCloseTo(0.85, 9);
    expect(slight.passed).toBe(true);
    expect(slight.mcnemar).toMatchObject({ b: 2, c: 0, method: 'exact' });
    const worse = runGate(spec, identity(10), identity(7), r);
    expect(worse.passed).toBe(false);
    expect(worse.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['overall accuracy', 'paired test', 'recall glioma']);
    expect(worse.mcnemar).toMatchObject({ b: 6, c: 0 });
  });

  it("a site's confusion matrices are gated with the site margin", () => {
    const cm = (right: number, wrong: number) => ({ rows: ['glioma'], cols: ['glioma', 'meningioma'], matrix: [[right, wrong]] });
    const ok = runGate(spec, identity(), identity(), ref, DEFAULT_GATE, [{ site: 'north', current: cm(90, 10), candidate: cm(89, 11) }]);
    expect(ok.passed).toBe(true);
    const bad = runGate(spec, identity(), identity(), ref, DEFAULT_GATE, [{ site: 'north', current: cm(90, 10), candidate: cm(80, 20) }]);
    expect(bad.passed).toBe(false);
    expect(bad.checks.at(-1)).toMatchObject({ name: 'site north', passed: false });
    expect(bad.sites[0]).toMatchObject({ site: 'north', current: 0.9, candidate: 0.8, n: 100 });
  });
});
