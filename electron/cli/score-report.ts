// What `tumorpredict score` prints after writing its CSV, locally or after merging a cluster
// run's parts: the count, the notice, and accuracy, per-class recall and the confusion matrix.
import { TRUTH_CLASSES } from './image-folder';

/** Accuracy, per-class recall and the confusion matrix over images with ground truth. */
export function metricsReport(rows: { truth: string | null; label: string }[]): string | null {
  const withTruth = rows.filter((r) => r.truth !== null);
  if (withTruth.length === 0) return null;
  const predCols = [...TRUTH_CLASSES, 'not recognised'];
  const cm = new Map<string, Map<string, number>>();
  for (const t of TRUTH_CLASSES) cm.set(t, new Map(predCols.map((p) => [p, 0])));
  let correct = 0;
  for (const r of withTruth) {
    const row = cm.get(r.truth!)!;
    const col = predCols.includes(r.label) ? r.label : 'not recognised';
    row.set(col, (row.get(col) ?? 0) + 1);
    if (r.label === r.truth) correct++;
  }
  const lines: string[] = [];
  lines.push(`Accuracy: ${((100 * correct) / withTruth.length).toFixed(2)}% (${correct} of ${withTruth.length} images with ground truth; "not recognised" counts as wrong)`);
  lines.push('Per-class recall:');
  for (const t of TRUTH_CLASSES) {
    const row = cm.get(t)!;
    const n = [...row.values()].reduce((a, b) => a + b, 0);
    lines.push(`  ${t.padEnd(12)} ${n ? ((100 * row.get(t)!) / n).toFixed(2).padStart(6) + '%' : '     -'} (${row.get(t)} of ${n})`);
  }
  lines.push('Confusion matrix (rows: truth, columns: predicted):');
  const w = 15;
  lines.push(''.padEnd(12) + predCols.map((p) => p.padStart(w)).join(''));
  for (const t of TRUTH_CLASSES) lines.push(t.padEnd(12) + predCols.map((p) => String(cm.get(t)!.get(p)).padStart(w)).join(''));
  return lines.join('\n');
}

/** Prints what the local run prints after writing its CSV (the cluster run after merging). */
export function printScoreSummary(out: string, rows: { truth: string | null; label: string }[], skipped: number): void {
  process.stdout.write(`Scored ${rows.length} image(s)${skipped ? `, skipped ${skipped}` : ''}; results in ${out}. Research use only: not a medical device.\n`);
  const report = metricsReport(rows);
  if (report) process.stdout.write(report + '\n');
}

