// The metrics against values computed by hand on small fixed inputs, with the edge cases that
// break naive code: a class with no examples, all predictions one class, tied scores, perfect separation.
import { describe, expect, it } from 'vitest';
import { bootstrapAuc, calibration, computeMetrics, dice, erfc, fmt, macroAuc, mcnemar, resampleMacroAuc, rocCurve, seededRandom, type ScoredItem } from './metrics';

function item(id: string, truth: string, pred: string, a: number, b: number, c: number, confidence?: number): ScoredItem {
  return { id, truth, pred, probs: { a, b, c }, confidence: confidence ?? Math.max(a, b, c) };
}

// Six items, three classes; every number below was worked out on paper.
const SIX: ScoredItem[] = [
  item('1', 'a', 'a', 0.8, 0.1, 0.1),
  item('2', 'a', 'b', 0.3, 0.6, 0.1),
  item('3', 'b', 'b', 0.2, 0.7, 0.1),
  item('4', 'b', 'b', 0.1, 0.8, 0.1),
  item('5', 'c', 'a', 0.5, 0.2, 0.3),
  item('6', 'c', 'c', 0.1, 0.1, 0.8),
];

describe('computeMetrics on six hand-checked items', () => {
  const m = computeMetrics(SIX, ['a', 'b', 'c']);
  it('accuracy and per-class precision, recall, F1', () => {
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.correct).toBe(4);
    const by = Object.fromEntries(m.perClass.map((c) => [c.cls, c]));
    expect(by.a).toMatchObject({ support: 2, predicted: 2, precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(by.b!.precision).toBeCloseTo(2 / 3, 12);
    expect(by.b!.recall).toBe(1);
    expect(by.b!.f1).toBeCloseTo(0.8, 12);
    expect(by.c).toMatchObject({ precision: 1, recall: 0.5 });
    expect(by.c!.f1).toBeCloseTo(2 / 3, 12);
    expect(m.macroF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    expect(m.macroRecall).toBeCloseTo((0.5 + 1 + 0.5) / 3, 12);
  });
  it('one-vs-rest AUC per class and macro', () => {
    // a: positives .8,.3 vs negatives .2,.1,.5,.1 -> 7 of 8 pairs ordered right.
    expect(m.auc.a).toBeCloseTo(7 / 8, 12);
    expect(m.auc.b).toBe(1);
    expect(m.auc.c).toBe(1);
    expect(m.macroAuc).toBeCloseTo((7 / 8 + 2) / 3, 12);
    expect(m.roc.b![0]).toEqual({ fpr: 0, tpr: 0, threshold: null });
    expect(m.roc.b![m.roc.b!.length - 1]).toMatchObject({ fpr: 1, tpr: 1 });
  });
  it('confusion matrix', () => {
    expect(m.confusion.rows).toEqual(['a', 'b', 'c']);
    expect(m.confusion.cols).toEqual(['a', 'b', 'c']);
    expect(m.confusion.matrix).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });
  it('ECE over ten bins', () => {
    // bins: .5 wrong, .6 wrong, .7 right, 3 x .8 right -> (.5 + .6 + .3 + 3 x .2) / 6
    expect(m.ece).toBeCloseTo(2 / 6, 12);
    expect(m.reliability[8]).toMatchObject({ count: 3, accuracy: 1 });
    expect(m.reliability[8]!.confidence).toBeCloseTo(0.8, 12);
    expect(m.reliability[0]).toMatchObject({ count: 0, confidence: null, accuracy: null });
  });
});

describe('edge cases', () => {
  it('a class with no examples and no predictions: recall, precision, F1 and AUC are n/a and left out of the macro means', () => {
    const m = computeMetrics(SIX, ['a', 'b', 'c', 'd']);
    const d = m.perClass.find((c) => c.cls === 'd')!;
    expect(d).toEqual({ cls: 'd', support: 0, predicted: 0, precision: null, recall: null, f1: null });
    expect(m.auc.d).toBeNull();
    expect(m.macroF1).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12);
    expect(m.macroAuc).toBeCloseTo((7 / 8 + 2) / 3, 12);
    expect(fmt(d.recall)).toBe('n/a');
    expect(JSON.stringify(m)).not.toMatch(/NaN/);
  });
  it('a class predicted but never present: precision 0, recall n/a, F1 0', () => {
    const items = [item('1', 'a', 'a', 0.9, 0.05, 0.05), item('2', 'a', 'c', 0.2, 0.1, 0.7)];
    const m = computeMetrics(items, ['a', 'b', 'c']);
    const c = m.perClass.find((x) => x.cls === 'c')!;
    expect(c).toMatchObject({ support: 0, predicted: 1, precision: 0, recall: null, f1: 0 });
    expect(m.auc.a).toBeNull(); // only positives: AUC undefined
    expect(m.macroAuc).toBeNull();
  });
  it('all predictions one class', () => {
    const items = [item('1', 'a', 'a', 0.6, 0.4, 0), item('2', 'a', 'a', 0.7, 0.3, 0), item('3', 'b', 'a', 0.55, 0.45, 0), item('4', 'b', 'a', 0.9, 0.1, 0)];
    const m = computeMetrics(items, ['a', 'b']);
    expect(m.accuracy).toBe(0.5);
    expect(m.perClass[0]).toMatchObject({ precision: 0.5, recall: 1 });
    expect(m.perClass[0]!.f1).toBeCloseTo(2 / 3, 12);
    expect(m.perClass[1]).toMatchObject({ predicted: 0, precision: null, recall: 0, f1: 0 });
    expect(m.macroF1).toBeCloseTo(1 / 3, 12);
    // a-scores .6,.7 (pos) vs .55,.9 (neg): .6>.55, .7>.55 -> 2 of 4
    expect(m.auc.a).toBe(0.5);
  });
  it('a rejected prediction ("not recognised") is wrong and gets its own confusion column', () => {
    const items = [item('1', 'a', 'not recognised', 0.3, 0.3, 0.4), item('2', 'b', 'b', 0.1, 0.8, 0.1)];
    const m = computeMetrics(items, ['a', 'b']);
    expect(m.accuracy).toBe(0.5);
    expect(m.rejected).toBe(1);
    expect(m.confusion.cols).toEqual(['a', 'b', 'not recognised']);
    expect(m.confusion.matrix).toEqual([
      [0, 0, 1],
      [0, 1, 0],
    ]);
  });
  it('no items at all', () => {
    const m = computeMetrics([], ['a', 'b']);
    expect(m.accuracy).toBeNull();
    expect(m.ece).toBeNull();
    expect(m.macroAuc).toBeNull();
  });
});

describe('ROC curve', () => {
  it('ties form one step and count one half', () => {
    const r = rocCurve([0.9, 0.5, 0.5, 0.1], [true, true, false, false]);
    expect(r.points.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
    expect(r.auc).toBeCloseTo(0.875, 12);
    // The order of tied items does not matter.
    expect(rocCurve([0.9, 0.5, 0.5, 0.1], [true, false, true, false]).auc).toBeCloseTo(0.875, 12);
  });
  it('all scores tied gives the diagonal', () => {
    const r = rocCurve([0.5, 0.5, 0.5, 0.5], [true, false, true, false]);
    expect(r.points.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(r.auc).toBe(0.5);
  });
  it('perfect separation and perfect inversion', () => {
    expect(rocCurve([0.9, 0.8, 0.2, 0.1], [true, true, false, false]).auc).toBe(1);
    expect(rocCurve([0.1, 0.2, 0.8, 0.9], [true, true, false, false]).auc).toBe(0);
  });
});

describe('calibration and dice', () => {
  it('a confidence of exactly 1 lands in the last bin', () => {
    const c = calibration([1, 0.05], [true, false]);
    expect(c.bins[9]!.count).toBe(1);
    expect(c.bins[0]!.count).toBe(1);
    expect(c.ece).toBeCloseTo(0.025, 12); // (0 + 0.05) / 2
  });
  it('dice of masks', () => {
    expect(dice([1, 1, 0, 0], [1, 0, 1, 0])).toBe(0.5);
    expect(dice([0, 0], [0, 0])).toBe(1);
    expect(dice([255, 0], [0, 255])).toBe(0);
    expect(() => dice([1], [1, 0])).toThrow(RangeError);
  });
});

describe('paired tests', () => {
  const bools = (s: string): boolean[] => [...s].map((ch) => ch === '1');
  it('McNemar exact binomial for few discordant pairs', () => {
    // b = 1 (A right, B wrong), c = 5: p = 2 * (C(6,0) + C(6,1)) / 2^6 = 14/64
    const r = mcnemar(bools('1111100000' + '11'), bools('0111111111' + '11'));
    expect(r).toMatchObject({ b: 1, c: 5, method: 'exact' });
    expect(r.pValue).toBeCloseTo(14 / 64, 12);
  });
  it('McNemar chi-square with continuity correction for many (scipy: chi2.sf(9.025, 1) = 0.0026631192591)', () => {
    const a = [...Array(30).fill(true), ...Array(10).fill(false), ...Array(20).fill(true)];
    const b = [...Array(30).fill(false), ...Array(10).fill(true), ...Array(20).fill(true)];
    const r = mcnemar(a, b);
    expect(r).toMatchObject({ b: 30, c: 10, method: 'chi-square' });
    expect(r.statistic).toBeCloseTo(361 / 40, 12);
    expect(r.pValue).toBeCloseTo(0.0026631192591, 6);
  });
  it('McNemar with no discordant pairs is p = 1', () => {
    expect(mcnemar([true, false], [true, false])).toMatchObject({ method: 'none', pValue: 1 });
  });
  it('erfc matches known values', () => {
    expect(erfc(0)).toBeCloseTo(1, 6);
    expect(erfc(1)).toBeCloseTo(0.157299207, 6);
    expect(erfc(-1)).toBeCloseTo(1.842700793, 6);
  });
  it('bootstrap AUC intervals are reproducible with a fixed seed and the difference of a run with itself is exactly 0', () => {
    const x = computeMetrics(SIX, ['a', 'b', 'c']);
    expect(x.macroAuc).not.toBeNull();
    const r1 = bootstrapAuc(SIX, SIX, ['a', 'b', 'c'], { resamples: 300, seed: 7 });
    const r2 = bootstrapAuc(SIX, SIX, ['a', 'b', 'c'], { resamples: 300, seed: 7 });
    expect(r1).toEqual(r2);
    expect(r1.diff).toEqual({ value: 0, lo: 0, hi: 0 });
    expect(r1.significant).toBe(false);
    expect(r1.a.lo!).toBeLessThanOrEqual(r1.a.auc!);
    expect(r1.a.hi!).toBeLessThanOrEqual(1);
  });
  it('the fast resample AUC equals rocCurve on the resample written out item by item (ties included)', () => {
    const rand = seededRandom(3);
    const items: ScoredItem[] = Array.from({ length: 40 }, (_, i) => {
      const a = Math.round(rand() * 10) / 10; // coarse scores: many ties
      const b = Math.round(rand() * (1 - a) * 10) / 10;
      return { id: String(i), truth: ['a', 'b', 'c'][i % 3]!, pred: 'a', probs: { a, b, c: 1 - a - b }, confidence: a };
    });
    for (let r = 0; r < 20; r++) {
      const w = Array.from({ length: 40 }, () => 0);
      for (let k = 0; k < 40; k++) w[Math.floor(rand() * 40)]!++;
      const expanded = items.flatMap((it, i) => Array.from({ length: w[i]! }, () => it));
      const slow = macroAuc(expanded, ['a', 'b', 'c']);
      expect(resampleMacroAuc(items, ['a', 'b', 'c'], w)).toBeCloseTo(slow!, 12);
    }
  });
  it('bootstrap finds a clearly better model significant', () => {
    // 60 items, two classes. A scores at random-ish; B separates perfectly.
    const rand = (i: number): number => ((i * 7919) % 97) / 97;
    const A: ScoredItem[] = [];
    const B: ScoredItem[] = [];
    for (let i = 0; i < 60; i++) {
      const truth = i % 2 ? 'a' : 'b';
      const pa = rand(i);
      A.push({ id: String(i), truth, pred: pa > 0.5 ? 'a' : 'b', probs: { a: pa, b: 1 - pa }, confidence: Math.max(pa, 1 - pa) });
      const pb = truth === 'a' ? 0.9 : 0.1;
      B.push({ id: String(i), truth, pred: truth, probs: { a: pb, b: 1 - pb }, confidence: 0.9 });
    }
    const r = bootstrapAuc(A, B, ['a', 'b'], { resamples: 500, seed: 1 });
    expect(r.b.auc).toBe(1);
    expect(r.diff.lo!).toBeGreaterThan(0);
    expect(r.significant).toBe(true);
  });
});
