// Metrics of a finished (or partly finished) run from its stored per-item results, and the
// comparison of two runs on the same data set: side-by-side table, McNemar's test on paired
// correctness and paired bootstrap intervals for macro AUC. Also the CSV export.
import { WorkstationError, type Comparison, type GroupMetrics, type RunMetricsDto, type RunSummary } from '../../contract';
import { bootstrapRun, wilson } from './intervals';
import type { Db } from '../store';
import { csvCell } from '../csv';
import { bootstrapAuc, computeMetrics, fmt, mcnemar, type ScoredItem } from './metrics';
import type { RunSettings } from './runs';

export interface StoredResult {
  idx: number;
  itemId: string;
  truth: string | null;
  ok: boolean;
  label: string | null;
  confidence: number | null;
  probs: Record<string, number>;
  dice: number | null;
  ms: number | null;
  error: string | null;
  source: string | null;
  sequence: string | null;
}

export function loadResults(db: Db, run: RunSummary): StoredResult[] {
  const rows = db
    .prepare(
      `SELECT r.idx, i.item_id, i.label AS truth, r.ok, r.label, r.confidence, r.probabilities, r.dice, r.ms, r.error, i.source, i.sequence
       FROM research_results r JOIN research_items i ON i.dataset_id = ? AND i.idx = r.idx
       WHERE r.run_id = ? ORDER BY r.idx`,
    )
    .all(run.datasetId, run.id) as { idx: number; item_id: string; truth: string | null; ok: number; label: string | null; confidence: number | null; probabilities: string | null; dice: number | null; ms: number | null; error: string | null; source: string | null; sequence: string | null }[];
  return rows.map((r) => ({
    idx: r.idx,
    itemId: r.item_id,
    truth: r.truth,
    ok: r.ok === 1,
    label: r.label,
    confidence: r.confidence,
    probs: r.probabilities ? (JSON.parse(r.probabilities) as Record<string, number>) : {},
    dice: r.dice,
    ms: r.ms,
    error: r.error,
    source: r.source,
    sequence: r.sequence,
  }));
}

export function scored(results: StoredResult[]): ScoredItem[] {
  return results
    .filter((r) => r.ok && r.truth !== null && r.label !== null)
    .map((r) => ({ id: String(r.idx), truth: r.truth!, pred: r.label!, probs: r.probs, confidence: r.confidence ?? 0, dice: r.dice, ms: r.ms ?? 0 }));
}

export function classesOf(run: RunSummary): string[] {
  const s = run.settings as Partial<RunSettings>;
  return Array.isArray(s.classes) ? s.classes : ['glioma', 'meningioma', 'notumor', 'pituitary'];
}

/** Accuracy per value of `key` over the scored items with ground truth; null when no item records it. */
export function groupAccuracy(results: StoredResult[], key: 'source' | 'sequence'): GroupMetrics[] | null {
  if (!results.some((r) => r[key] !== null)) return null;
  const by = new Map<string, { n: number; correct: number }>();
  for (const r of results) {
    if (!r.ok || r.truth === null || r.label === null) continue;
    const g = r[key] ?? '(none)';
    const e = by.get(g) ?? { n: 0, correct: 0 };
    e.n++;
    if (r.label === r.truth) e.correct++;
    by.set(g, e);
  }
  return [...by.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([group, e]) => ({ group, n: e.n, correct: e.correct, accuracy: e.n ? e.correct / e.n : null, interval: wilson(e.correct, e.n) }));
}

export function runMetrics(run: RunSummary, results: StoredResult[], opts: { resamples?: number; seed?: number } = {}): RunMetricsDto {
  const items = scored(results);
  const classes = classesOf(run);
  const m = computeMetrics(items, classes);
  const ok = results.filter((r) => r.ok);
  const msList = ok.map((r) => r.ms ?? 0);
  const boot = bootstrapRun(items, classes, { resamples: opts.resamples ?? 1000, seed: opts.seed ?? 20240601 });
  const perClass: NonNullable<RunMetricsDto['intervals']>['perClass'] = {};
  for (const c of m.perClass) {
    const tp = m.confusion.matrix[m.confusion.rows.indexOf(c.cls)]?.[m.confusion.cols.indexOf(c.cls)] ?? 0;
    perClass[c.cls] = { precision: wilson(tp, c.predicted), recall: wilson(tp, c.support), f1: c.f1 === null ? null : boot.f1[c.cls] ?? null };
  }
  return {
    ...m,
    throughput: {
      imagesPerSecond: run.scoringMs > 0 ? (results.length / run.scoringMs) * 1000 : null,
      meanMs: msList.length ? msList.reduce((a, b) => a + b, 0) / msList.length : null,
    },
    unscored: results.filter((r) => !r.ok).length,
    intervals: { level: 0.95, resamples: boot.resamples, seed: boot.seed, accuracy: wilson(m.correct, m.n), macroAuc: m.macroAuc === null ? null : boot.macroAuc, perClass },
    breakdown: { source: groupAccuracy(results, 'source'), sequence: groupAccuracy(results, 'sequence') },
  };
}

const pct = (v: number | null): string => (v === null ? 'n/a' : (100 * v).toFixed(2) + '%');
const diff = (a: number | null, b: number | null, digits = 3, percent = false): string => {
  if (a === null || b === null) return 'n/a';
  const d = b - a;
  const s = percent ? (100 * d).toFixed(2) + ' pp' : d.toFixed(digits);
  return d > 0 ? '+' + s : s;
};

export function compareRuns(a: RunSummary, b: RunSummary, ra: StoredResult[], rb: StoredResult[], opts: { resamples?: number; seed?: number } = {}): Comparison {
  if (a.datasetHash !== b.datasetHash) {
    throw new WorkstationError('INVALID_INPUT', `These runs scored different data (data set hashes ${a.datasetHash.slice(0, 12)} and ${b.datasetHash.slice(0, 12)}); a paired comparison needs two runs on the same data set.`);
  }
  const ca = classesOf(a);
  const cb = classesOf(b);
  if (ca.join('|') !== cb.join('|')) throw new WorkstationError('INVALID_INPUT', `The two models report different classes (${ca.join(', ')} vs ${cb.join(', ')}); they cannot be compared item by item.`);
  const metricsA = runMetrics(a, ra, { resamples: opts.resamples ?? 1000 });
  const metricsB = runMetrics(b, rb, { resamples: opts.resamples ?? 1000 });
  // Pair on items both runs scored and that have ground truth.
  const byIdx = new Map(scored(rb).map((s) => [s.id, s]));
  const pa: ScoredItem[] = [];
  const pb: ScoredItem[] = [];
  for (const s of scored(ra)) {
    const t = byIdx.get(s.id);
    if (t) {
      pa.push(s);
      pb.push(t);
    }
  }
  const mc = mcnemar(
    pa.map((s) => s.pred === s.truth),
    pb.map((s) => s.pred === s.truth),
  );
  const boot = bootstrapAuc(pa, pb, ca, { resamples: opts.resamples ?? 1000, seed: opts.seed ?? 20240601 });
  const table: Comparison['table'] = [];
  const row = (metric: string, x: number | null, y: number | null, kind: 'pct' | 'num' | 'ms' | 'rate' | 'count' = 'num'): void => {
    const f = kind === 'pct' ? pct : kind === 'count' ? (v: number | null) => fmt(v, 0) : kind === 'num' ? (v: number | null) => fmt(v, 3) : (v: number | null) => fmt(v, 1);
    table.push({ metric, a: f(x), b: f(y), diff: diff(x, y, kind === 'num' ? 3 : kind === 'count' ? 0 : 1, kind === 'pct') });
  };
  row('Accuracy', metricsA.accuracy, metricsB.accuracy, 'pct');
  row('Macro F1', metricsA.macroF1, metricsB.macroF1);
  row('Balanced accuracy (macro recall)', metricsA.macroRecall, metricsB.macroRecall, 'pct');
  row('Macro AUC', metricsA.macroAuc, metricsB.macroAuc);
  for (const cls of ca) {
    const x = metricsA.perClass.find((c) => c.cls === cls)!;
    const y = metricsB.perClass.find((c) => c.cls === cls)!;
    row(`${cls}: precision`, x.precision, y.precision);
    row(`${cls}: recall`, x.recall, y.recall);
    row(`${cls}: F1`, x.f1, y.f1);
    row(`${cls}: AUC`, metricsA.auc[cls] ?? null, metricsB.auc[cls] ?? null);
  }
  row('ECE (10 bins)', metricsA.ece, metricsB.ece);
  row('Mask Dice (mean)', metricsA.dice.mean, metricsB.dice.mean);
  row('Not recognised (count)', metricsA.rejected, metricsB.rejected, 'count');
  row('Throughput (images/s)', metricsA.throughput.imagesPerSecond, metricsB.throughput.imagesPerSecond, 'rate');
  row('Mean time per image (ms)', metricsA.throughput.meanMs, metricsB.throughput.meanMs, 'ms');
  return {
    a,
    b,
    metricsA,
    metricsB,
    paired: pa.length,
    mcnemar: mc,
    bootstrap: boot,
    table,
  };
}

/** Human-readable verdict lines for the table's footer (CLI and report). */
export function verdicts(c: Comparison): string[] {
  const out: string[] = [];
  const m = c.mcnemar;
  out.push(
    `McNemar (${m.method === 'exact' ? 'exact binomial' : m.method === 'chi-square' ? 'chi-square, continuity-corrected' : 'no discordant pairs'}): A right/B wrong ${m.b}, A wrong/B right ${m.c}, p = ${m.pValue < 0.0001 ? m.pValue.toExponential(2) : m.pValue.toFixed(4)} -> accuracy difference ${m.pValue < 0.05 ? 'IS' : 'is NOT'} significant at 0.05 (${c.paired} paired items).`,
  );
  const bt = c.bootstrap;
  out.push(
    `Macro AUC, paired bootstrap (${bt.resamples} resamples, seed ${bt.seed}): A ${fmt(bt.a.auc)} [${fmt(bt.a.lo)}, ${fmt(bt.a.hi)}], B ${fmt(bt.b.auc)} [${fmt(bt.b.lo)}, ${fmt(bt.b.hi)}], B - A ${fmt(bt.diff.value)} [${fmt(bt.diff.lo)}, ${fmt(bt.diff.hi)}] -> ${
      bt.significant === null ? 'not computable' : bt.significant ? 'significant (95% interval excludes 0)' : 'not significant (95% interval includes 0)'
    }.`,
  );
  return out;
}

export function runLabel(r: RunSummary): string {
  return `${r.modelId} ${r.modelVersion} (${r.runtime ?? 'runtime n/a'})`;
}

/** The comparison as a plain-text table (the CLI prints this). */
export function comparisonText(c: Comparison): string {
  const w0 = Math.max(6, ...c.table.map((r) => r.metric.length));
  const w = Math.max(12, ...c.table.flatMap((r) => [r.a.length, r.b.length, r.diff.length])) + 2;
  const lines = [
    `A: run ${c.a.id}  ${runLabel(c.a)}`,
    `B: run ${c.b.id}  ${runLabel(c.b)}`,
    `Data set: ${c.a.datasetName} (sha256 ${c.a.datasetHash.slice(0, 16)}...), ${c.metricsA.n} items with ground truth; research use only, not a medical device.`,
    '',
    'Metric'.padEnd(w0) + 'A'.padStart(w) + 'B'.padStart(w) + 'B - A'.padStart(w),
    '-'.repeat(w0 + 3 * w),
    ...c.table.map((r) => r.metric.padEnd(w0) + r.a.padStart(w) + r.b.padStart(w) + r.diff.padStart(w)),
    '',
    ...verdicts(c),
  ];
  return lines.join('\n');
}

/** The one CSV cell writer of the research exports: the product's one (item ids come from file names, which can start with "="). */
export function csvField(v: string | number | null): string {
  return csvCell(v);
}

/** The table, the tests and every item's predictions by both runs, as one CSV. */
export function comparisonCsv(c: Comparison, ra: StoredResult[], rb: StoredResult[]): string {
  const lines: string[] = [];
  lines.push(['section', 'metric', 'a', 'b', 'b_minus_a'].map(csvField).join(','));
  for (const r of c.table) lines.push(['metrics', r.metric, r.a, r.b, r.diff].map(csvField).join(','));
  lines.push(['test', 'mcnemar_p', c.mcnemar.pValue, c.mcnemar.method, `b=${c.mcnemar.b};c=${c.mcnemar.c}`].map(csvField).join(','));
  lines.push(['test', 'bootstrap_macro_auc_diff', c.bootstrap.diff.value, `${c.bootstrap.diff.lo}`, `${c.bootstrap.diff.hi}`].map(csvField).join(','));
  lines.push('');
  const classes = classesOf(c.a);
  lines.push(['item', 'truth', 'a_label', 'a_confidence', ...classes.map((k) => `a_p_${k}`), 'b_label', 'b_confidence', ...classes.map((k) => `b_p_${k}`), 'a_dice', 'b_dice'].map(csvField).join(','));
  const bmap = new Map(rb.map((r) => [r.idx, r]));
  for (const x of ra) {
    const y = bmap.get(x.idx);
    lines.push(
      [x.itemId, x.truth, x.label ?? (x.ok ? '' : 'unscored'), x.confidence, ...classes.map((k) => x.probs[k] ?? null), y?.label ?? (y && !y.ok ? 'unscored' : ''), y?.confidence ?? null, ...classes.map((k) => y?.probs[k] ?? null), x.dice, y?.dice ?? null]
        .map((v) => csvField(typeof v === 'number' ? Number(v.toPrecision(6)) : (v ?? null)))
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}
