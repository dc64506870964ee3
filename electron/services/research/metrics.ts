// Evaluation metrics for research runs: accuracy, per-class precision/recall/F1, one-vs-rest ROC
// and AUC, confusion matrix, calibration (ECE, reliability bins), mask Dice, and paired tests.
// Pure functions over plain arrays; an undefined value (a class with no examples) is null, never NaN.
import { mulberry32 } from '../random';

/** One scored item with its ground truth. `pred` may be a label outside `classes` ("not recognised"). */
export interface ScoredItem {
  id: string;
  truth: string;
  pred: string;
  /** Probability per class (missing classes count as 0). */
  probs: Record<string, number>;
  /** The model's confidence in `pred` (for calibration). */
  confidence: number;
  /** Dice of the predicted mask against a ground-truth mask, when the item has one. */
  dice?: number | null;
  ms?: number;
}

export interface ClassMetrics {
  cls: string;
  /** Items whose truth is this class. */
  support: number;
  /** Items predicted as this class. */
  predicted: number;
  /** null when nothing was predicted as this class (undefined, shown as "n/a"). */
  precision: number | null;
  /** null when the class has no examples. */
  recall: number | null;
  /** 2TP / (2TP + FP + FN); null when the class neither occurs nor is predicted. */
  f1: number | null;
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  /** Score at or above which items count positive; null for the (0, 0) start. */
  threshold: number | null;
}

export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean confidence in the bin (null when empty). */
  confidence: number | null;
  /** Fraction correct in the bin (null when empty). */
  accuracy: number | null;
}

export interface RunMetrics {
  n: number;
  classes: string[];
  accuracy: number | null;
  correct: number;
  perClass: ClassMetrics[];
  /** Mean F1 over classes with at least one example. */
  macroF1: number | null;
  /** Mean recall over classes with at least one example (balanced accuracy). */
  macroRecall: number | null;
  auc: Record<string, number | null>;
  /** Mean one-vs-rest AUC over classes where it is defined. */
  macroAuc: number | null;
  roc: Record<string, RocPoint[]>;
  /** rows: truth classes; columns: classes plus the extra predicted labels (e.g. "not recognised"). */
  confusion: { rows: string[]; cols: string[]; matrix: number[][] };
  ece: number | null;
  reliability: CalibrationBin[];
  dice: { mean: number | null; n: number };
  /** Items predicted outside the classes (rejected as "not recognised"). */
  rejected: number;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

export function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * One-vs-rest ROC for scores and binary labels. Tied scores form one step (one point), so the
 * curve does not depend on the order of tied items; the AUC (trapezoids) then equals the
 * Mann-Whitney statistic with ties counted as one half. Null when either side is empty.
 */
export function rocCurve(scores: readonly number[], positive: readonly boolean[]): { points: RocPoint[]; auc: number | null } {
  const P = positive.filter(Boolean).length;
  const N = positive.length - P;
  if (P === 0 || N === 0) return { points: [], auc: null };
  const order = scores.map((s, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: null }];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  let i = 0;
  while (i < order.length) {
    const s = scores[order[i]!]!;
    let j = i;
    while (j < order.length && scores[order[j]!] === s) {
      if (positive[order[j]!]) tp++;
      else fp++;
      j++;
    }
    const prev = points[points.length - 1]!;
    const pt = { fpr: fp / N, tpr: tp / P, threshold: s };
    auc += ((pt.fpr - prev.fpr) * (pt.tpr + prev.tpr)) / 2;
    points.push(pt);
    i = j;
  }
  return { points, auc };
}

/** Expected calibration error over equal-width confidence bins (the last bin includes 1.0). */
export function calibration(confidence: readonly number[], correct: readonly boolean[], bins = 10): { ece: number | null; bins: CalibrationBin[] } {
  const acc = Array.from({ length: bins }, () => ({ n: 0, conf: 0, ok: 0 }));
  for (let i = 0; i < confidence.length; i++) {
    const c = Math.min(1, Math.max(0, confidence[i]!));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    acc[b]!.n++;
    acc[b]!.conf += c;
    if (correct[i]) acc[b]!.ok++;
  }
  const n = confidence.length;
  let ece = 0;
  const out: CalibrationBin[] = acc.map((a, b) => {
    if (a.n > 0) ece += (a.n / n) * Math.abs(a.ok / a.n - a.conf / a.n);
    return { lo: b / bins, hi: (b + 1) / bins, count: a.n, confidence: a.n ? a.conf / a.n : null, accuracy: a.n ? a.ok / a.n : null };
  });
  return { ece: n === 0 ? null : ece, bins: out };
}

/** Dice of two binary masks of the same size (non-zero = foreground); both empty gives 1. */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`mask sizes differ (${a.length} vs ${b.length})`);
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0;
    const y = b[i]! > 0;
    if (x) sa++;
    if (y) sb++;
    if (x && y) inter++;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

export function computeMetrics(items: readonly ScoredItem[], classes: readonly string[]): RunMetrics {
  const n = items.length;
  const extra = [...new Set(items.map((i) => i.pred).filter((p) => !classes.includes(p)))].sort();
  const cols = [...classes, ...extra];
  const rowsTruth = [...classes, ...[...new Set(items.map((i) => i.truth).filter((t) => !classes.includes(t)))].sort()];
  const matrix = rowsTruth.map(() => cols.map(() => 0));
  let correct = 0;
  for (const it of items) {
    matrix[rowsTruth.indexOf(it.truth)]![cols.indexOf(it.pred)]!++;
    if (it.pred === it.truth) correct++;
  }
  const perClass: ClassMetrics[] = classes.map((cls) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const it of items) {
      if (it.pred === cls && it.truth === cls) tp++;
      else if (it.pred === cls) fp++;
      else if (it.truth === cls) fn++;
    }
    return { cls, support: tp + fn, predicted: tp + fp, precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), f1: ratio(2 * tp, 2 * tp + fp + fn) };
  });
  const present = perClass.filter((c) => c.support > 0);
  const auc: Record<string, number | null> = {};
  const roc: Record<string, RocPoint[]> = {};
  for (const cls of classes) {
    const r = rocCurve(
      items.map((i) => i.probs[cls] ?? 0),
      items.map((i) => i.truth === cls),
    );
    auc[cls] = r.auc;
    roc[cls] = r.points;
  }
  const cal = calibration(
    items.map((i) => i.confidence),
    items.map((i) => i.pred === i.truth),
  );
  const dices = items.map((i) => i.dice).filter((d): d is number => typeof d === 'number');
  return {
    n,
    classes: [...classes],
    accuracy: ratio(correct, n),
    correct,
    perClass,
    macroF1: mean(present.map((c) => c.f1 ?? 0)),
    macroRecall: mean(present.map((c) => c.recall ?? 0)),
    auc,
    macroAuc: mean(Object.values(auc).filter((a): a is number => a !== null)),
    roc,
    confusion: { rows: rowsTruth, cols, matrix },
    ece: cal.ece,
    reliability: cal.bins,
    dice: { mean: mean(dices), n: dices.length },
    rejected: items.filter((i) => !classes.includes(i.pred)).length,
  };
}

/** Macro one-vs-rest AUC only (for the bootstrap, where the curves are not needed). */
export function macroAuc(items: readonly ScoredItem[], classes: readonly string[]): number | null {
  const aucs: number[] = [];
  for (const cls of classes) {
    const a = rocCurve(
      items.map((i) => i.probs[cls] ?? 0),
      items.map((i) => i.truth === cls),
    ).auc;
    if (a !== null) aucs.push(a);
  }
  return mean(aucs);
}

// ---- paired tests ----

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** Complementary error function (W. J. Cody's rational Chebyshev fit via Numerical Recipes erfcc, |error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export interface McNemarResult {
  /** A right, B wrong. */
  b: number;
  /** A wrong, B right. */
  c: number;
  method: 'exact' | 'chi-square' | 'none';
  statistic: number | null;
  pValue: number;
}

/**
 * McNemar's test on paired correctness. Exact two-sided binomial when the discordant count is
 * below 25 (the chi-square approximation is poor there), else chi-square with continuity correction.
 */
export function mcnemar(aCorrect: readonly boolean[], bCorrect: readonly boolean[], exactBelow = 25): McNemarResult {
  if (aCorrect.length !== bCorrect.length) throw new RangeError('paired lists differ in length');
  let b = 0;
  let c = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    if (aCorrect[i] && !bCorrect[i]) b++;
    else if (!aCorrect[i] && bCorrect[i]) c++;
  }
  const n = b + c;
  if (n === 0) return { b, c, method: 'none', statistic: null, pValue: 1 };
  if (n < exactBelow) {
    const k = Math.min(b, c);
    let tail = 0;
    for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
    return { b, c, method: 'exact', statistic: k, pValue: Math.min(1, 2 * tail) };
  }
  const chi2 = (Math.abs(b - c) - 1) ** 2 / n;
  // Chi-square with one degree of freedom: P(X > x) = erfc(sqrt(x / 2)).
  return { b, c, method: 'chi-square', statistic: chi2, pValue: Math.min(1, erfc(Math.sqrt(chi2 / 2))) };
}

/** Small fast seeded PRNG (mulberry32) so bootstrap intervals are reproducible. */
export const seededRandom = mulberry32;

function percentile(sorted: readonly number[], p: number): number {
  // Linear interpolation between closest ranks (numpy's default).
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface BootstrapAuc {
  a: { auc: number | null; lo: number | null; hi: number | null };
  b: { auc: number | null; lo: number | null; hi: number | null };
  diff: { value: number | null; lo: number | null; hi: number | null };
  /** Resamples in which both macro AUCs were defined. */
  resamples: number;
  seed: number;
  /** True when the 95% interval of the difference excludes 0. */
  significant: boolean | null;
}

/** Per-class score order of one run, computed once so each bootstrap resample is O(classes x n). */
interface AucPlan {
  /** Per class: item indices by descending score, and where each group of tied scores starts. */
  classes: { order: Int32Array; groupStart: Uint8Array; positive: Uint8Array }[];
}

function aucPlan(items: readonly ScoredItem[], classes: readonly string[]): AucPlan {
  return {
    classes: classes.map((cls) => {
      const scores = items.map((i) => i.probs[cls] ?? 0);
      const order = Int32Array.from(scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!));
      const groupStart = new Uint8Array(order.length);
      for (let k = 0; k < order.length; k++) groupStart[k] = k === 0 || scores[order[k]!] !== scores[order[k - 1]!] ? 1 : 0;
      const positive = Uint8Array.from(items.map((i) => (i.truth === cls ? 1 : 0)));
      return { order, groupStart, positive };
    }),
  };
}

/** Macro AUC of a resample given as per-item multiplicities: the same trapezoids as rocCurve. */
function weightedMacroAuc(plan: AucPlan, w: Uint32Array): number | null {
  let sum = 0;
  let defined = 0;
  for (const c of plan.classes) {
    let P = 0;
    let N = 0;
    for (let i = 0; i < w.length; i++) {
      if (c.positive[i]) P += w[i]!;
      else N += w[i]!;
    }
    if (P === 0 || N === 0) continue;
    let tp = 0;
    let fp = 0;
    let prevTpr = 0;
    let prevFpr = 0;
    let auc = 0;
    const n = c.order.length;
    for (let k = 0; k < n; ) {
      let j = k;
      do {
        const i = c.order[j]!;
        if (c.positive[i]) tp += w[i]!;
        else fp += w[i]!;
        j++;
      } while (j < n && !c.groupStart[j]);
      const tpr = tp / P;
      const fpr = fp / N;
      auc += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
      prevTpr = tpr;
      prevFpr = fpr;
      k = j;
    }
    sum += auc;
    defined++;
  }
  return defined === 0 ? null : sum / defined;
}

/**
 * Paired percentile bootstrap of macro AUC: the same resampled items for both runs, so the
 * interval of the difference accounts for their correlation. Fixed seed: same input, same answer.
 * Each run's score order is sorted once; a resample is a vector of item multiplicities, so 1000
 * resamples of a few thousand items take well under a second.
 */
export function bootstrapAuc(a: readonly ScoredItem[], b: readonly ScoredItem[], classes: readonly string[], opts: { resamples?: number; seed?: number; level?: number } = {}): BootstrapAuc {
  if (a.length !== b.length) throw new RangeError('paired lists differ in length');
  const B = opts.resamples ?? 1000;
  const seed = opts.seed ?? 20240601;
  const alpha = (1 - (opts.level ?? 0.95)) / 2;
  const rand = seededRandom(seed);
  const n = a.length;
  const planA = aucPlan(a, classes);
  const planB = aucPlan(b, classes);
  const w = new Uint32Array(n);
  const sa: number[] = [];
  const sb: number[] = [];
  const sd: number[] = [];
  for (let r = 0; r < B && n > 0; r++) {
    w.fill(0);
    for (let k = 0; k < n; k++) w[Math.floor(rand() * n)]!++;
    const x = weightedMacroAuc(planA, w);
    const y = weightedMacroAuc(planB, w);
    if (x === null || y === null) continue;
    sa.push(x);
    sb.push(y);
    sd.push(y - x);
  }
  const ci = (xs: number[]): [number | null, number | null] => {
    if (xs.length === 0) return [null, null];
    const s = [...xs].sort((p, q) => p - q);
    return [percentile(s, alpha), percentile(s, 1 - alpha)];
  };
  const aucA = macroAuc(a, classes);
  const aucB = macroAuc(b, classes);
  const [alo, ahi] = ci(sa);
  const [blo, bhi] = ci(sb);
  const [dlo, dhi] = ci(sd);
  return {
    a: { auc: aucA, lo: alo, hi: ahi },
    b: { auc: aucB, lo: blo, hi: bhi },
    diff: { value: aucA !== null && aucB !== null ? aucB - aucA : null, lo: dlo, hi: dhi },
    resamples: sd.length,
    seed,
    significant: dlo === null || dhi === null ? null : dlo > 0 || dhi < 0,
  };
}

/** Macro AUC of resamples of one item list (weights = multiplicities), with the sort done once. */
export function macroAucResampler(items: readonly ScoredItem[], classes: readonly string[]): (weights: Uint32Array) => number | null {
  const plan = aucPlan(items, classes);
  return (w) => weightedMacroAuc(plan, w);
}

/** Exposed for the test that checks the fast resample AUC against rocCurve on the expanded list. */
export function resampleMacroAuc(items: readonly ScoredItem[], classes: readonly string[], weights: readonly number[]): number | null {
  return weightedMacroAuc(aucPlan(items, classes), Uint32Array.from(weights));
}

/** Formats a metric for tables: null is "n/a". */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const s = v.toFixed(digits);
  // A difference of -1e-17 is no difference: never print "-0.000".
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}
