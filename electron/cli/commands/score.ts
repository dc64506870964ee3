// `tumorpredict score DIR --out results.csv`: batch-scores a folder of images for researchers,
// writes one CSV row per image and, with ground truth from class folders, prints the metrics.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkstationError, runtimeNameSchema } from '../../contract';
import type { ImageOutcome, InferenceService } from '../../services/inference';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { createProgress } from '../progress';
import { listImageFolder, TRUTH_CLASSES, type FolderEntry } from '../image-folder';

export const SCORE_COLUMNS = ['path', 'label', 'p_glioma', 'p_meningioma', 'p_notumor', 'p_pituitary', 'truth'] as const;
const EXTRA_COLUMNS = ['p_other', 'confidence', 'mask_area_px', 'width', 'height', 'model', 'model_version', 'runtime', 'ms'] as const;

export interface ScanOptions extends CommonOptions {
  model?: string;
  batch?: string;
}

export function csvField(v: string | number): string {
  const s = typeof v === 'number' ? String(Number.isInteger(v) ? v : Number(v.toPrecision(8))) : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function parseBatch(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new WorkstationError('INVALID_INPUT', `--batch must be a whole number from 1 to 1024 (got "${v}").`);
  return n;
}

export function checkRuntime(v: string | undefined): void {
  if (v !== undefined && v !== 'auto' && !runtimeNameSchema.safeParse(v).success) {
    throw new WorkstationError('INVALID_INPUT', `Unknown runtime "${v}". Use auto, ${runtimeNameSchema.options.join(', ')}.`);
  }
}

/** Scores entries with a progress display and Ctrl-C cancellation; returns what was scored. */
export async function scoreEntries(
  inference: InferenceService,
  entries: FolderEntry[],
  opts: { modelId?: string | undefined; batchSize?: number | undefined; wantMask: boolean; label: string },
  onOutcome?: (entry: FolderEntry, o: ImageOutcome) => void,
): Promise<{ outcomes: Map<string, ImageOutcome>; cancelled: boolean }> {
  const controller = new AbortController();
  const onSigint = (): void => {
    process.stderr.write('\nCancelling (Ctrl-C)...\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  const outcomes = new Map<string, ImageOutcome>();
  const byId = new Map(entries.map((e) => [e.rel, e]));
  const progress = createProgress(opts.label);
  progress.update(0, entries.length);
  try {
    await inference.classify(
      entries.map((e) => ({ id: e.rel, source: { kind: 'file' as const, path: e.file } })),
      {
        ...(opts.modelId ? { modelId: opts.modelId } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        wantMask: opts.wantMask,
        signal: controller.signal,
        onProgress: (p) => progress.update(p.done, p.total, p.failed),
        onOutcome: (o) => {
          outcomes.set(o.id, o);
          const entry = byId.get(o.id);
          if (entry && onOutcome) onOutcome(entry, o);
        },
      },
    );
    return { outcomes, cancelled: false };
  } catch (err) {
    if (err instanceof WorkstationError && err.details?.cancelled) return { outcomes, cancelled: true };
    throw err;
  } finally {
    progress.finish();
    process.removeListener('SIGINT', onSigint);
  }
}

export function printSkipped(outcomes: Iterable<ImageOutcome>): number {
  const bad = [...outcomes].filter((o): o is Extract<ImageOutcome, { ok: false }> => !o.ok).sort((a, b) => (a.id < b.id ? -1 : 1));
  if (bad.length > 0) {
    process.stderr.write(`Skipped ${bad.length} unreadable file(s):\n`);
    for (const b of bad) process.stderr.write(`  ${b.id}: ${b.error.message}\n`);
  }
  return bad.length;
}

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

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export function registerScore(program: Command): void {
  addCommonOptions(
    program
      .command('score')
      .description('score every image under DIR (recursively; class-named folders give the ground truth) and write a CSV; not a medical device')
      .argument('<dir>', 'folder of PNG/JPEG images')
      .requiredOption('--out <file>', 'CSV file to write')
      .option('--model <id>', 'model id (default: the installed default model)')
      .option('--batch <n>', 'images per inference batch'),
  ).action(async (dir: string, opts: ScanOptions & { out: string }) => {
    checkRuntime(opts.runtime);
    const batchSize = parseBatch(opts.batch);
    const entries = listImageFolder(dir);
    if (entries.length === 0) throw new WorkstationError('NOT_FOUND', `There are no files to score in ${dir}.`);
    await withWorkstation(opts, async (ws) => {
      const { outcomes, cancelled } = await scoreEntries(ws.services.inference, entries, { modelId: opts.model, batchSize, wantMask: false, label: 'Scoring' });
      const header = [...SCORE_COLUMNS, ...EXTRA_COLUMNS].join(',');
      const rows: { truth: string | null; label: string }[] = [];
      const lines = [header];
      for (const e of entries) {
        const o = outcomes.get(e.rel);
        if (!o || !o.ok) continue;
        const r = o.result;
        const p = (c: string): number => r.probabilities[c] ?? 0;
        rows.push({ truth: e.truth, label: r.label });
        lines.push(
          [e.rel, r.label, p('glioma'), p('meningioma'), p('notumor'), p('pituitary'), e.truth ?? '', p('other'), r.confidence, r.mask.areaPx, r.width, r.height, r.modelId, r.modelVersion, r.runtime, Number(r.ms.toFixed(2))]
            .map(csvField)
            .join(','),
        );
      }
      writeAtomic(opts.out, lines.join('\n') + '\n');
      const skipped = printSkipped(outcomes.values());
      process.stdout.write(`Scored ${rows.length} image(s)${skipped ? `, skipped ${skipped}` : ''}; results in ${opts.out}. Research use only: not a medical device.\n`);
      const report = metricsReport(rows);
      if (report) process.stdout.write(report + '\n');
      if (cancelled) {
        process.stderr.write(`Cancelled: ${outcomes.size} of ${entries.length} files were processed; ${opts.out} holds the rows scored before the cancel.\n`);
        process.exitCode = 130;
      }
    });
  });
}
