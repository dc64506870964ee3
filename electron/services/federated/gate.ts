// The validation gate: a merged head is scored on the coordinator's reference set (never trained
// on) against the current global head, with the clinical decision rule (calibrated softmax,
// "not recognised" counted wrong), and, when sites share them, on the sites' own confusion
// matrices. It passes only when it is no worse beyond a stated margin overall and for every
// class, and the paired test (McNemar, as the comparison page) does not find it worse.
import { classify, type ModelSpec } from '../inference';
import { computeMetrics, mcnemar, type ScoredItem } from '../research';
import type { HeadWeights } from './model-head';
import { headLogits, seeded, type FeatureSet } from './train-head';

export interface GateSettings {
  /** Largest accepted drop in overall accuracy (absolute, e.g. 0.01 = one point). */
  overallMargin: number;
  /** Largest accepted drop in any class's recall. */
  classMargin: number;
  /** Classes with fewer reference images than this are reported but not gated. */
  minClassSupport: number;
  /** Largest accepted drop in a site's own accuracy (sites' confusion matrices). */
  siteMargin: number;
  /** McNemar's two-sided level at which "significantly worse" fails the gate. */
  alpha: number;
}

export const DEFAULT_GATE: GateSettings = { overallMargin: 0.01, classMargin: 0.03, minClassSupport: 10, siteMargin: 0.03, alpha: 0.05 };

export interface ConfusionCounts {
  /** Truth classes (rows) and predicted labels (columns, may include "not recognised"). */
  rows: string[];
  cols: string[];
  matrix: number[][];
}

export interface SiteEvaluation {
  site: string;
  current: ConfusionCounts;
  candidate: ConfusionCounts;
}

export interface GateCheck {
  name: string;
  passed: boolean;
  detail: string;
}

export interface HeadScore {
  accuracy: number | null;
  recall: Record<string, number | null>;
  confusion: ConfusionCounts;
  correct: boolean[];
}

export interface GateResult {
  passed: boolean;
  settings: GateSettings;
  n: number;
  current: Omit<HeadScore, 'correct'>;
  candidate: Omit<HeadScore, 'correct'>;
  mcnemar: { b: number; c: number; pValue: number; method: string };
  /** Paired bootstrap 95% interval of candidate - current accuracy (seeded, 1000 resamples). */
  accuracyDiff: { value: number; lo: number; hi: number };
  sites: { site: string; current: number | null; candidate: number | null; n: number }[];
  checks: GateCheck[];
}

/** Scores a head on labelled features with the model's decision rule. */
export function scoreHead(spec: Pick<ModelSpec, 'classes' | 'reportedClasses' | 'rejectClasses' | 'rejectThreshold' | 'temperature'>, head: HeadWeights, data: FeatureSet): HeadScore & { items: ScoredItem[] } {
  const z = headLogits(head, data.x, data.n);
  const C = head.classes;
  const items: ScoredItem[] = [];
  for (let i = 0; i < data.n; i++) {
    const cls = classify(z.subarray(i * C, (i + 1) * C), spec as ModelSpec);
    items.push({ id: String(i), truth: spec.classes[data.y[i]!]!, pred: cls.label, probs: cls.probabilities, confidence: cls.confidence });
  }
  const reported = [...spec.reportedClasses];
  const m = computeMetrics(items, reported);
  const recall: Record<string, number | null> = {};
  for (const c of m.perClass) recall[c.cls] = c.recall;
  return { accuracy: m.accuracy, recall, confusion: m.confusion, correct: items.map((it) => it.pred === it.truth), items };
}

function accuracyOf(c: ConfusionCounts): { acc: number | null; n: number } {
  let n = 0;
  let ok = 0;
  c.rows.forEach((r, i) => {
    c.matrix[i]!.forEach((v, j) => {
      n += v;
      if (c.cols[j] === r) ok += v;
    });
  });
  return { acc: n ? ok / n : null, n };
}

const pct = (v: number | null): string => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const pts = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} points`;

export function runGate(
  spec: Pick<ModelSpec, 'classes' | 'reportedClasses' | 'rejectClasses' | 'rejectThreshold' | 'temperature'>,
  current: HeadWeights,
  candidate: HeadWeights,
  reference: FeatureSet,
  settings: GateSettings = DEFAULT_GATE,
  sites: readonly SiteEvaluation[] = [],
): GateResult {
  const a = scoreHead(spec, current, reference);
  const b = scoreHead(spec, candidate, reference);
  const checks: GateCheck[] = [];
  if (reference.n === 0) checks.push({ name: 'reference set', passed: false, detail: 'The reference set has no labelled images: nothing to gate on.' });
  const accA = a.accuracy ?? 0;
  const accB = b.accuracy ?? 0;
  const diff = accB - accA;
  checks.push({
    name: 'overall accuracy',
    passed: diff >= -settings.overallMargin,
    detail: `${pct(accB)} against ${pct(accA)} for the current global (${pts(diff)}; the margin is ${(settings.overallMargin * 100).toFixed(1)} points)`,
  });
  const mc = mcnemar(a.correct, b.correct);
  // McNemar's b: current right, candidate wrong; c: current wrong, candidate right.
  const worse = mc.b > mc.c && mc.pValue < settings.alpha;
  checks.push({ name: 'paired test', passed: !worse, detail: `McNemar (${mc.method}): ${mc.b} images only the current global gets right, ${mc.c} only the candidate, p = ${mc.pValue.toPrecision(3)}${worse ? ' (significantly worse)' : ''}` });
  for (const cls of spec.reportedClasses) {
    const ra = a.recall[cls] ?? null;
    const rb = b.recall[cls] ?? null;
    const support = reference.y.reduce((s, y) => s + (spec.classes[y] === cls ? 1 : 0), 0);
    if (ra === null || rb === null || support < settings.minClassSupport) {
      checks.push({ name: `recall ${cls}`, passed: true, detail: `${support} reference images: reported, not gated (fewer than ${settings.minClassSupport})` });
      continue;
    }
    checks.push({ name: `recall ${cls}`, passed: rb - ra >= -settings.classMargin, detail: `${pct(rb)} against ${pct(ra)} (${pts(rb - ra)}; the margin is ${(settings.classMargin * 100).toFixed(1)} points)` });
  }
  const siteRows = sites.map((s) => {
    const ca = accuracyOf(s.current);
    const cb = accuracyOf(s.candidate);
    if (ca.acc !== null && cb.acc !== null) {
      checks.push({ name: `site ${s.site}`, passed: cb.acc - ca.acc >= -settings.siteMargin, detail: `on its own ${cb.n} images ${pct(cb.acc)} against ${pct(ca.acc)} (${pts(cb.acc - ca.acc)})` });
    }
    return { site: s.site, current: ca.acc, candidate: cb.acc, n: cb.n };
  });
  // Paired bootstrap of the accuracy difference, for the record (the gate uses the checks above).
  const rand = seeded(20240601);
  const n = reference.n;
  const diffs: number[] = [];
  for (let r = 0; r < 1000 && n > 0; r++) {
    let d = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(rand() * n);
      d += (b.correct[i] ? 1 : 0) - (a.correct[i] ? 1 : 0);
    }
    diffs.push(d / n);
  }
  diffs.sort((x, y) => x - y);
  const q = (p: number): number => (diffs.length ? diffs[Math.min(diffs.length - 1, Math.floor(p * diffs.length))]! : 0);
  const strip = ({ accuracy, recall, confusion }: HeadScore): Omit<HeadScore, 'correct'> => ({ accuracy, recall, confusion });
  return {
    passed: checks.every((c) => c.passed),
    settings,
    n: reference.n,
    current: strip(a),
    candidate: strip(b),
    mcnemar: { b: mc.b, c: mc.c, pValue: mc.pValue, method: mc.method },
    accuracyDiff: { value: diff, lo: q(0.025), hi: q(0.975) },
    sites: siteRows,
    checks,
  };
}
