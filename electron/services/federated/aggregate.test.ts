// The merge rules and the screen against scaled updates, on small heads whose answers are known.
import { describe, expect, it } from 'vitest';
import { cappedShares, cosine, merge, screenUpdates, type SiteUpdate } from './aggregate';
import type { HeadWeights } from './model-head';

const h = (w: number[], b: number[] = [0, 0]): HeadWeights => ({ classes: 2, dim: w.length / 2, weight: Float32Array.from(w), bias: Float32Array.from(b) });
const G = h([0, 0, 0, 0]);

describe('aggregation', () => {
  it('FedAvg weights by samples; the cap keeps one large site from dominating (water-filling)', () => {
    expect(cappedShares([100, 100, 200], 1)).toEqual([0.25, 0.25, 0.5]);
    const s = cappedShares([1000, 100, 100], 0.4);
    expect(s[0]).toBeCloseTo(0.4, 12);
    expect(s[1]).toBeCloseTo(0.3, 12);
    expect(s.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Two sites cannot both be below one half: the cap rises to equal shares.
    expect(cappedShares([1000, 1], 0.3)).toEqual([0.5, 0.5]);
    const u: SiteUpdate[] = [
      { site: 'a', samples: 300, weights: h([1, 1, 1, 1]) },
      { site: 'b', samples: 100, weights: h([5, 5, 5, 5]) },
    ];
    expect(Array.from(merge(G, u, { rule: 'fedavg', maxShare: 1, trim: 0 }).weights.weight)).toEqual([2, 2, 2, 2]);
  });

  it('the coordinate-wise median and trimmed mean ignore one wild site; FedAvg does not', () => {
    const u: SiteUpdate[] = [
      { site: 'a', samples: 100, weights: h([1, 2, 3, 4]) },
      { site: 'b', samples: 100, weights: h([1.2, 2.2, 2.8, 4.1]) },
      { site: 'c', samples: 100, weights: h([0.9, 1.9, 3.1, 3.9]) },
      { site: 'x', samples: 100, weights: h([100, -200, 300, -400]) },
      { site: 'd', samples: 100, weights: h([1.1, 2.1, 3, 4]) },
    ];
    const med = merge(G, u, { rule: 'median', maxShare: 1, trim: 0 }).weights.weight;
    expect(Array.from(med).map((v) => +v.toFixed(4))).toEqual([1.1, 2, 3, 4]);
    const tm = merge(G, u, { rule: 'trimmed-mean', maxShare: 1, trim: 0.2 }).weights.weight;
    expect(Math.max(...Array.from(tm).map((v, i) => Math.abs(v - [1.1, 2.0, 3.0, 4.0][i]!)))).toBeLessThan(0.15);
    const avg = merge(G, u, { rule: 'fedavg', maxShare: 1, trim: 0 }).weights.weight;
    expect(Math.abs(avg[0]! - 1.1)).toBeGreaterThan(10);
  });

  it('an update scaled by 100 is outvoted by norm against the round median, with the figures', () => {
    const u: SiteUpdate[] = [
      { site: 'a', samples: 100, weights: h([1, 0, 0, 1]) },
      { site: 'b', samples: 100, weights: h([0.9, 0.1, 0, 1.1]) },
      { site: 'p', samples: 100, weights: h([100, 0, 0, 100]) },
    ];
    const s = screenUpdates(G, u, { normRatio: 5 });
    expect(s.kept.map((k) => k.site)).toEqual(['a', 'b']);
    expect(s.outvoted[0]!.site).toBe('p');
    expect(s.outvoted[0]!.reason).toMatch(/times the median/);
  });

  it('cosine against the global head tells aligned from opposed updates', () => {
    expect(cosine(h([1, 1, 0, 0]), h([2, 2, 0, 0]), G)).toBeCloseTo(1, 9);
    expect(cosine(h([1, 1, 0, 0]), h([-1, -1, 0, 0]), G)).toBeCloseTo(-1, 9);
  });
});
