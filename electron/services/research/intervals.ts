// Confidence intervals for one run's metrics: Wilson score intervals for proportions (accuracy,
// precision, recall: good coverage near 0 and 1, where the normal approximation fails), and a
// seeded percentile bootstrap for F1 and macro AUC, which are not simple proportions.
import { macroAucResampler, seededRandom, type ScoredItem } from './metrics';

export interface Interval {
  lo: number;
  hi: number;
}

/** Wilson score interval of k successes in n trials; null when n is 0. */
export function wilson(k: number, n: number, z = 1.959963984540054): Interval | null {
  if (n === 0) return null;
  const p = k / n;
  const z2 = z * z;
  const d = 1 + z2 / n;
  const c = (p + z2 / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / d;
  return { lo: Math.max(0, c - h), hi: Math.min(1, c + h) };
}

function percentile(sorted: readonly number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function ci(xs: number[], alpha: number): Interval | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return { lo: percentile(s, alpha), hi: percentile(s, 1 - alpha) };
}

/**
 * Percentile bootstrap of per-class F1 and of macro AUC over the items (resampled with
 * replacement, the same seed gives the same intervals). A resample where a class's F1 is
 * undefined (it neither occurs nor is predicted) is left out of that class's interval.
 */
export function bootstrapRun(items: readonly ScoredItem[], classes: readonly string[], opts: { resamples?: number; seed?: number; level?: number } = {}): { f1: Record<string, Interval | null>; macroAuc: Interval | null; resamples: number; seed: number } {
  const B = opts.resamples ?? 1000;
  const seed = opts.seed ?? 20240601;
  const alpha = (1 - (opts.level ?? 0.95)) / 2;
  const n = items.length;
  const rand = seededRandom(seed);
  const truth = Int32Array.from(items.map((i) => classes.indexOf(i.truth)));
  const pred = Int32Array.from(items.map((i) => classes.indexOf(i.pred)));
  const f1s: number[][] = classes.map(() => []);
  const aucs: number[] = [];
  const w = new Uint32Array(n);
  const aucOf = macroAucResampler(items, classes);
  for (let r = 0; r < B && n > 0; r++) {
    w.fill(0);
    for (let k = 0; k < n; k++) w[Math.floor(rand() * n)]!++;
    classes.forEach((_, c) => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let i = 0; i < n; i++) {
        const m = w[i]!;
        if (m === 0) continue;
        if (pred[i] === c && truth[i] === c) tp += m;
        else if (pred[i] === c) fp += m;
        else if (truth[i] === c) fn += m;
      }
      const d = 2 * tp + fp + fn;
      if (d > 0) f1s[c]!.push((2 * tp) / d);
    });
    const a = aucOf(w);
    if (a !== null) aucs.push(a);
  }
  const f1: Record<string, Interval | null> = {};
  classes.forEach((cls, c) => (f1[cls] = ci(f1s[c]!, alpha)));
  return { f1, macroAuc: ci(aucs, alpha), resamples: B, seed };
}
