// The comparison of two or more runs on the same data set against a reference run: each run's
// metrics side by side (labelled by model, version, runtime and data set), McNemar and a paired
// bootstrap of macro AUC for every run against the reference, and accuracy per source and per
// MR sequence where the data set records them. Also its CSV.
import { WorkstationError, type MultiComparison, type RunMetricsDto, type RunSummary } from '../../contract';
import { classesOf, csvField, runMetrics, scored, type StoredResult } from './compare';
import { bootstrapAuc, fmt, mcnemar, type ScoredItem } from './metrics';

/** A run's label: model id, version, runtime and data set. */
export function multiLabel(r: RunSummary): string {
  return `${r.modelId} ${r.modelVersion} · ${r.runtime ?? 'runtime n/a'} · ${r.datasetName}`;
}

const pct = (v: number | null): string => (v === null ? 'n/a' : (100 * v).toFixed(2) + '%');
const withCi = (v: string, i: { lo: number; hi: number } | null | undefined, percent: boolean): string =>
  i ? `${v} [${percent ? (100 * i.lo).toFixed(1) : i.lo.toFixed(3)}, ${percent ? (100 * i.hi).toFixed(1) : i.hi.toFixed(3)}]` : v;

function table(ms: RunMetricsDto[], classes: string[]): MultiComparison['table'] {
  const rows: MultiComparison['table'] = [];
  const row = (metric: string, f: (m: RunMetricsDto) => string): void => {
    rows.push({ metric, values: ms.map(f) });
  };
  row('Accuracy [95% CI]', (m) => withCi(pct(m.accuracy), m.intervals?.accuracy, true));
  row('Macro F1', (m) => fmt(m.macroF1));
  row('Balanced accuracy (macro recall)', (m) => pct(m.macroRecall));
  row('Macro AUC [95% CI]', (m) => withCi(fmt(m.macroAuc), m.intervals?.macroAuc, false));
  for (const cls of classes) {
    const pc = (m: RunMetricsDto) => m.perClass.find((c) => c.cls === cls)!;
    row(`${cls}: precision [95% CI]`, (m) => withCi(fmt(pc(m).precision), m.intervals?.perClass[cls]?.precision, false));
    row(`${cls}: recall [95% CI]`, (m) => withCi(fmt(pc(m).recall), m.intervals?.perClass[cls]?.recall, false));
    row(`${cls}: F1 [95% CI]`, (m) => withCi(fmt(pc(m).f1), m.intervals?.perClass[cls]?.f1, false));
    row(`${cls}: AUC`, (m) => fmt(m.auc[cls] ?? null));
  }
  row('ECE (10 bins)', (m) => fmt(m.ece));
  row('Mask Dice (mean)', (m) => fmt(m.dice.mean));
  row('Not recognised (count)', (m) => String(m.rejected));
  row('Throughput (images/s)', (m) => fmt(m.throughput.imagesPerSecond, 1));
  row('Mean time per image (ms)', (m) => fmt(m.throughput.meanMs, 1));
  return rows;
}

function breakdown(results: StoredResult[][], key: 'source' | 'sequence'): NonNullable<MultiComparison['breakdown']['source']> | null {
  if (!results.some((rs) => rs.some((r) => r[key] !== null))) return null;
  const groups = new Map<string, number>();
  // Group sizes from the first run's items with ground truth (every run scored the same data set).
  for (const r of results[0]!) if (r.truth !== null) groups.set(r[key] ?? '(none)', (groups.get(r[key] ?? '(none)') ?? 0) + 1);
  return [...groups.keys()].sort().map((group) => ({
    group,
    n: groups.get(group)!,
    accuracy: results.map((rs) => {
      const mine = rs.filter((r) => r.ok && r.truth !== null && r.label !== null && (r[key] ?? '(none)') === group);
      return mine.length ? mine.filter((r) => r.label === r.truth).length / mine.length : null;
    }),
  }));
}

export function compareMany(runs: RunSummary[], results: StoredResult[][], referenceId: string, opts: { resamples?: number; seed?: number } = {}): MultiComparison {
  if (runs.length < 2) throw new WorkstationError('INVALID_INPUT', 'Choose at least two runs to compare.');
  if (new Set(runs.map((r) => r.id)).size !== runs.length) throw new WorkstationError('INVALID_INPUT', 'A run is listed twice; choose each run once.');
  const ref = runs.findIndex((r) => r.id === referenceId);
  if (ref < 0) throw new WorkstationError('INVALID_INPUT', 'The reference run must be one of the compared runs.');
  for (const r of runs) {
    if (r.done === 0) throw new WorkstationError('CONFLICT', `Run ${r.id} has no results yet; wait for it to score some items.`);
    if (r.datasetHash !== runs[ref]!.datasetHash) {
      throw new WorkstationError('INVALID_INPUT', `These runs scored different data (data set hashes ${runs[ref]!.datasetHash.slice(0, 12)} and ${r.datasetHash.slice(0, 12)}); a paired comparison needs runs on the same data set.`);
    }
    if (classesOf(r).join('|') !== classesOf(runs[ref]!).join('|')) {
      throw new WorkstationError('INVALID_INPUT', `${r.modelId} reports other classes (${classesOf(r).join(', ')}) than ${runs[ref]!.modelId} (${classesOf(runs[ref]!).join(', ')}); they cannot be compared item by item.`);
    }
  }
  // The reference first, the others in the order given.
  const order = [ref, ...runs.map((_, i) => i).filter((i) => i !== ref)];
  const rs = order.map((i) => runs[i]!);
  const res = order.map((i) => results[i]!);
  const resamples = opts.resamples ?? 1000;
  const seed = opts.seed ?? 20240601;
  const metrics = rs.map((r, i) => runMetrics(r, res[i]!, { resamples, seed }));
  const labels = rs.map(multiLabel);
  // Two runs of the same model, runtime and data set still need two names.
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const named = labels.map((l, i) => (counts.get(l)! > 1 ? `${l} · run ${rs[i]!.id.slice(0, 8)}` : l));
  const classes = classesOf(rs[0]!);
  const refScored = new Map(scored(res[0]!).map((s) => [s.id, s]));
  const tests: MultiComparison['tests'] = rs.slice(1).map((r, k) => {
    const pa: ScoredItem[] = [];
    const pb: ScoredItem[] = [];
    for (const s of scored(res[k + 1]!)) {
      const t = refScored.get(s.id);
      if (t) {
        pa.push(t);
        pb.push(s);
      }
    }
    const mc = mcnemar(
      pa.map((s) => s.pred === s.truth),
      pb.map((s) => s.pred === s.truth),
    );
    const boot = bootstrapAuc(pa, pb, classes, { resamples, seed });
    const acc = (xs: ScoredItem[]): number | null => (xs.length ? xs.filter((s) => s.pred === s.truth).length / xs.length : null);
    const a = acc(pa);
    const b = acc(pb);
    return { runId: r.id, paired: pa.length, accuracyDiff: a === null || b === null ? null : b - a, mcnemar: mc, aucDiff: { value: boot.diff.value, lo: boot.diff.lo, hi: boot.diff.hi, significant: boot.significant } };
  });
  return {
    reference: rs[0]!.id,
    runs: rs.map((run, i) => ({ run, label: named[i]!, metrics: metrics[i]! })),
    table: table(metrics, classes),
    tests,
    resamples,
    seed,
    breakdown: { source: breakdown(res, 'source'), sequence: breakdown(res, 'sequence') },
  };
}

/**
 * The comparison as CSV: runs with provenance, the metric table, the tests, the breakdowns, then
 * every item's prediction by each run. `results` are in the order of `c.runs` (reference first).
 */
export function multiComparisonCsv(c: MultiComparison, results: StoredResult[][]): string {
  const lines: string[] = [];
  const put = (...cells: (string | number | null)[]): void => {
    lines.push(cells.map((v) => csvField(typeof v === 'number' ? Number(v.toPrecision(6)) : v)).join(','));
  };
  put('section', 'run', 'label', 'model', 'model_version', 'runtime', 'model_card_sha256', 'dataset', 'dataset_sha256', 'reference');
  for (const r of c.runs) put('run', r.run.id, r.label, r.run.modelId, r.run.modelVersion, r.run.runtime, r.run.cardSha256, r.run.datasetName, r.run.datasetHash, r.run.id === c.reference ? 'yes' : 'no');
  lines.push('');
  put('section', 'metric', ...c.runs.map((r) => r.label));
  for (const t of c.table) put('metrics', t.metric, ...t.values);
  lines.push('');
  put('section', 'run', 'label', 'paired_items', 'accuracy_diff_vs_reference', 'mcnemar_p', 'mcnemar_method', 'discordant_ref_right', 'discordant_run_right', 'macro_auc_diff', 'macro_auc_diff_lo', 'macro_auc_diff_hi');
  for (const t of c.tests) {
    const label = c.runs.find((r) => r.run.id === t.runId)!.label;
    put('test', t.runId, label, t.paired, t.accuracyDiff, t.mcnemar.pValue, t.mcnemar.method, t.mcnemar.b, t.mcnemar.c, t.aucDiff.value, t.aucDiff.lo, t.aucDiff.hi);
  }
  for (const key of ['source', 'sequence'] as const) {
    const b = c.breakdown[key];
    if (!b) continue;
    lines.push('');
    put('section', key, 'items', ...c.runs.map((r) => r.label));
    for (const g of b) put(`accuracy_by_${key}`, g.group, g.n, ...g.accuracy);
  }
  lines.push('');
  const classes = classesOf(c.runs[0]!.run);
  put('item', 'truth', 'source', 'sequence', ...c.runs.flatMap((_, i) => [`r${i + 1}_label`, `r${i + 1}_confidence`, ...classes.map((k) => `r${i + 1}_p_${k}`)]));
  const maps = results.map((rs) => new Map(rs.map((r) => [r.idx, r])));
  const first = results[0]!;
  for (const x of first) {
    const cells: (string | number | null)[] = [x.itemId, x.truth, x.source, x.sequence];
    for (const m of maps) {
      const y = m.get(x.idx);
      cells.push(y?.label ?? (y && !y.ok ? 'unscored' : ''), y?.confidence ?? null, ...classes.map((k) => y?.probs[k] ?? null));
    }
    put(...cells);
  }
  return lines.join('\n') + '\n';
}

/** The comparison as a plain-text table (the CLI prints this for three or more runs). */
export function multiComparisonText(c: MultiComparison): string {
  const names = c.runs.map((_, i) => `R${i + 1}`);
  const w0 = Math.max(6, ...c.table.map((r) => r.metric.length));
  const w = Math.max(12, ...c.table.flatMap((r) => r.values.map((v) => v.length))) + 2;
  const ref = c.runs[0]!;
  const lines = [
    ...c.runs.map((r, i) => `${names[i]}: run ${r.run.id}  ${r.label}${r.run.id === c.reference ? '  (reference)' : ''}`),
    `Data set: ${ref.run.datasetName} (sha256 ${ref.run.datasetHash.slice(0, 16)}...), ${ref.metrics.n} items with ground truth; research use only, not a medical device.`,
    '',
    'Metric'.padEnd(w0) + names.map((n) => n.padStart(w)).join(''),
    '-'.repeat(w0 + names.length * w),
    ...c.table.map((r) => r.metric.padEnd(w0) + r.values.map((v) => v.padStart(w)).join('')),
    '',
    `Paired tests against the reference R1 (${c.resamples} bootstrap resamples, seed ${c.seed}):`,
    ...c.tests.map((t) => {
      const i = c.runs.findIndex((r) => r.run.id === t.runId);
      const p = t.mcnemar.pValue < 0.0001 ? t.mcnemar.pValue.toExponential(2) : t.mcnemar.pValue.toFixed(4);
      const acc = t.accuracyDiff === null ? 'n/a' : `${t.accuracyDiff > 0 ? '+' : ''}${(100 * t.accuracyDiff).toFixed(2)} pp`;
      return `  ${names[i]}: accuracy ${acc}, McNemar p = ${p} (${t.paired} paired items); macro AUC ${fmt(t.aucDiff.value)} [${fmt(t.aucDiff.lo)}, ${fmt(t.aucDiff.hi)}] -> ${t.aucDiff.significant === null ? 'not computable' : t.aucDiff.significant ? 'significant' : 'not significant'}`;
    }),
  ];
  for (const key of ['source', 'sequence'] as const) {
    const b = c.breakdown[key];
    if (!b) continue;
    lines.push('', `Accuracy per ${key}:`);
    for (const g of b) lines.push(`  ${g.group.padEnd(Math.max(12, w0 - 2))}${String(g.n).padStart(6)} items${g.accuracy.map((a) => (a === null ? 'n/a' : `${(100 * a).toFixed(1)}%`).padStart(w)).join('')}`);
  }
  return lines.join('\n');
}
