// Postprocessing and per-series aggregation: temperature softmax, the reject rule, the mask
// resized to the input's own size, and one finding per series with its strongest slice.
import { describe, expect, it } from 'vitest';
import { aggregateSeries } from './aggregate';
import type { ModelSpec } from './model-card';
import { REPORTED_CLASSES } from './model-card';
import { classify, maskToInputSize, NOT_RECOGNISED, softmaxT } from './postprocess';
import { DEFAULT_PREPROCESS } from './preprocess';

const spec: ModelSpec = {
  id: 't',
  version: '1',
  task: 't',
  classes: ['glioma', 'meningioma', 'notumor', 'pituitary', 'other'],
  reportedClasses: REPORTED_CLASSES,
  rejectClasses: ['other'],
  rejectThreshold: 0.6,
  temperature: 2,
  maskThreshold: 0.5,
  preprocess: DEFAULT_PREPROCESS,
  onnx: null,
  tfjs: null,
  macsPerImage: null,
  files: [],
};

describe('postprocessing', () => {
  it('softmax divides the logits by the temperature', () => {
    const p = softmaxT([2, 0], 2);
    expect(p[0]).toBeCloseTo(Math.exp(1) / (Math.exp(1) + 1), 12);
    expect(softmaxT([1000, 0], 1)[0]).toBe(1); // no overflow
  });

  it('labels the winner, or "not recognised" for the reject class or low calibrated confidence', () => {
    expect(classify([6, 0, 0, 0, 0], spec).label).toBe('glioma');
    expect(classify([0, 0, 0, 0, 6], spec).label).toBe(NOT_RECOGNISED);
    const unsure = classify([1, 0.9, 0, 0, 0], spec); // calibrated max well below 0.6
    expect(unsure.label).toBe(NOT_RECOGNISED);
    expect(unsure.confidence).toBeLessThan(0.6);
  });

  it('resizes the mask to the input size and counts its area', () => {
    const h = 4;
    const w = 4;
    const prob = new Float32Array(h * w);
    prob[5] = 1; // (1,1)
    prob[6] = 1; // (1,2)
    const { mask, areaPx } = maskToInputSize(prob, h, w, 8, 12, 0.5);
    expect(mask.length).toBe(96);
    expect(areaPx).toBe(mask.filter((v) => v === 255).length);
    expect(areaPx).toBeGreaterThan(0);
    expect(new Set(mask)).toEqual(new Set([0, 255]));
    // Rows 0 and 7 are far from the tumor pixels.
    expect(mask.slice(0, 12).every((v) => v === 0)).toBe(true);
    expect(mask.slice(84).every((v) => v === 0)).toBe(true);
  });
});

describe('per-series aggregation', () => {
  const p = (g: number, m: number, n: number, pi: number): Record<string, number> => ({ glioma: g, meningioma: m, notumor: n, pituitary: pi, other: 1 - g - m - n - pi });
  it('reports the tumor class with the strongest slice', () => {
    const f = aggregateSeries([
      { id: 's1', label: 'notumor', probabilities: p(0.1, 0, 0.9, 0) },
      { id: 's2', label: 'glioma', probabilities: p(0.8, 0.1, 0.1, 0) },
      { id: 's3', label: 'glioma', probabilities: p(0.95, 0, 0.05, 0) },
      { id: 's4', label: 'meningioma', probabilities: p(0.1, 0.7, 0.2, 0) },
    ]);
    expect(f).toMatchObject({ label: 'glioma', strongestSliceId: 's3', slices: 4, counts: { notumor: 1, glioma: 2, meningioma: 1 } });
    expect(f.confidence).toBeCloseTo(0.95);
  });
  it('is notumor when no slice shows a tumor, and not recognised when nothing was recognised', () => {
    const f = aggregateSeries([
      { id: 'a', label: 'notumor', probabilities: p(0.2, 0, 0.8, 0) },
      { id: 'b', label: 'not recognised', probabilities: p(0, 0, 0.1, 0) },
      { id: 'c', label: 'notumor', probabilities: p(0.05, 0, 0.95, 0) },
    ]);
    expect(f).toMatchObject({ label: 'notumor', strongestSliceId: 'a' });
    expect(aggregateSeries([{ id: 'x', label: 'not recognised', probabilities: p(0, 0, 0, 0) }])).toMatchObject({ label: 'not recognised', strongestSliceId: null });
    expect(aggregateSeries([])).toMatchObject({ label: 'not recognised', slices: 0 });
  });
  it('says "not recognised" when most slices could not be analysed, never a class from the minority', () => {
    const nr = (id: string) => ({ id, label: 'not recognised', probabilities: p(0.05, 0.05, 0.1, 0.05) });
    // 18 of 24 not recognised, the 6 others notumor: the demo volume.
    const mostly = aggregateSeries([...Array.from({ length: 18 }, (_, i) => nr(`n${i}`)), ...Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, label: 'notumor', probabilities: p(0.1 + i / 100, 0, 0.7, 0) }))]);
    expect(mostly).toMatchObject({ label: 'not recognised', confidence: 0, slices: 24, counts: { 'not recognised': 18, notumor: 6 } });
    // The strongest analysed slice stays the key, for the reader to look at.
    expect(mostly.strongestSliceId).toBe('t5');
    // A tumor class on a minority of slices does not win either.
    const tumorMinority = aggregateSeries([nr('a'), nr('b'), { id: 'g', label: 'glioma', probabilities: p(0.99, 0, 0.01, 0) }]);
    expect(tumorMinority).toMatchObject({ label: 'not recognised', strongestSliceId: 'g' });
    // Exactly half is not a majority: the analysed half decides.
    expect(aggregateSeries([nr('a'), { id: 'g', label: 'glioma', probabilities: p(0.9, 0, 0.1, 0) }])).toMatchObject({ label: 'glioma', strongestSliceId: 'g' });
  });
});
