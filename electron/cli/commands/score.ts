// `tumorpredict score DIR --out results.csv`: batch-scores a folder of images for researchers,
// writes one CSV row per image and, with ground truth from class folders, prints the metrics.
// With --slurm the same folder is scored on a cluster (slurm/run.ts); each array task runs this
// command with --shard K/N and writes its part, which the submitting command merges.
import path from 'node:path';
import { Option, type Command } from 'commander';
import { WorkstationError, runtimeNameSchema } from '../../contract';
import { createInferenceService, type ImageOutcome, type InferenceService } from '../../services/inference';
import { silentLogger } from '../../services/log';
import { csvCell } from '../../services/csv';
import { addCommonOptions, configFrom, withWorkstation, type CommonOptions } from '../shared';
import { createProgress } from '../progress';
import { listImageFolder, type FolderEntry } from '../image-folder';
import { listingSha256, parseShard, shardBounds, writeAtomic as writeFileAtomic, type ShardMarker } from '../slurm/shards';
import { scoreOnSlurm } from '../slurm/run';
import { printScoreSummary } from '../score-report';

export { metricsReport } from '../score-report';

export const SCORE_COLUMNS = ['path', 'label', 'p_glioma', 'p_meningioma', 'p_notumor', 'p_pituitary', 'truth'] as const;
const EXTRA_COLUMNS = ['p_other', 'confidence', 'mask_area_px', 'width', 'height', 'model', 'model_version', 'runtime', 'ms'] as const;

/** The header line of a score CSV (the local run's and every shard's part). */
export const SCORE_HEADER = [...SCORE_COLUMNS, ...EXTRA_COLUMNS].join(',');
/** Columns that measure time, not results: they differ between two runs of the same images. */
export const TIMING_COLUMNS = ['ms'] as const;

export const DEFAULT_BATCH = 8;

/** One CSV line of a scored image: the local run and a cluster shard write exactly this. */
export function scoreRow(e: FolderEntry, o: Extract<ImageOutcome, { ok: true }>): string {
  const r = o.result;
  const p = (c: string): number => r.probabilities[c] ?? 0;
  return [e.rel, r.label, p('glioma'), p('meningioma'), p('notumor'), p('pituitary'), e.truth ?? '', p('other'), r.confidence, r.mask.areaPx, r.width, r.height, r.modelId, r.modelVersion, r.runtime, Number(r.ms.toFixed(2))]
    .map(csvField)
    .join(',');
}

export interface ScanOptions extends CommonOptions {
  model?: string;
  batch?: string;
}

/** One cell of a score CSV: numbers to 8 significant digits, through the product's one CSV cell writer (file names can start with "="). */
export function csvField(v: string | number): string {
  return csvCell(typeof v === 'number' ? (Number.isInteger(v) ? v : Number(v.toPrecision(8))) : v);
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

function writeAtomic(file: string, text: string): void {
  writeFileAtomic(file, text);
}

/**
 * One shard of a cluster run, as an array task runs it: the same listing, the same rows, only
 * the inference service (no data folder: a compute node has no keychain and many tasks start at
 * once). The part and its marker are written atomically, the marker last.
 */
async function scoreShard(dir: string, entries: FolderEntry[], opts: ScanOptions & { out: string; shard: string; listingSha256?: string; progressFile?: string }, batchSize: number): Promise<void> {
  const { k, n } = parseShard(opts.shard);
  const listing = listingSha256(entries);
  if (opts.listingSha256 && opts.listingSha256 !== listing) {
    throw new WorkstationError('CONFLICT', `The folder ${dir} changed since the cluster job was submitted (its listing differs); run tumorpredict score --slurm again.`);
  }
  const [lo, hi] = shardBounds(entries.length, n, k, batchSize);
  const mine = entries.slice(lo, hi);
  const inference = createInferenceService({ config: configFrom(opts), logger: silentLogger });
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    let last = 0;
    const progress = (p: { done: number; total: number; failed: number }, force = false): void => {
      if (!opts.progressFile) return;
      const now = performance.now();
      if (!force && now - last < 1000) return;
      last = now;
      writeFileAtomic(opts.progressFile, JSON.stringify(p));
    };
    progress({ done: 0, total: mine.length, failed: 0 }, true);
    const outcomes = new Map<string, ImageOutcome>();
    await inference.classify(
      mine.map((e) => ({ id: e.rel, source: { kind: 'file' as const, path: e.file } })),
      { ...(opts.model ? { modelId: opts.model } : {}), batchSize, wantMask: false, onProgress: (p) => progress(p), onOutcome: (o) => outcomes.set(o.id, o) },
    );
    const lines = [SCORE_HEADER];
    const skipped: ShardMarker['skipped'] = [];
    for (const e of mine) {
      const o = outcomes.get(e.rel);
      if (o?.ok) lines.push(scoreRow(e, o));
      else if (o) skipped.push({ id: o.id, message: o.error.message });
    }
    writeFileAtomic(opts.out, lines.join('\n') + '\n');
    const marker: ShardMarker = { shard: k, shards: n, listingSha256: listing, rows: lines.length - 1, skipped };
    progress({ done: mine.length, total: mine.length, failed: skipped.length }, true);
    writeFileAtomic(opts.out.replace(/\.csv$/i, '') + '.json', JSON.stringify(marker));
    process.stderr.write(`Shard ${k} of ${n}: scored ${marker.rows} image(s), skipped ${skipped.length}.\n`);
  } finally {
    await inference.close();
    clearInterval(keepAlive);
  }
}

function positiveInt(v: string | undefined, what: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new WorkstationError('INVALID_INPUT', `${what} must be a whole number from 0 to ${max} (got "${v}").`);
  return n;
}

export function registerScore(program: Command): void {
  addCommonOptions(
    program
      .command('score')
      .description('score every image under DIR (recursively, links followed; class-named folders give the ground truth) and write a CSV; not a medical device')
      .argument('<dir>', 'folder of PNG/JPEG images')
      .requiredOption('--out <file>', 'CSV file to write')
      .option('--model <id>', 'model id (default: the installed default model)')
      .option('--batch <n>', 'images per inference batch')
      .option('--slurm', 'score on a Slurm cluster: an sbatch array job whose tasks score shards; follows it, merges the parts into --out, resubmits failed shards')
      .option('--partition <name>', 'with --slurm: the partition to submit to (default: the cluster\'s default partition)')
      .option('--tasks <n>', 'with --slurm: number of array tasks (shards); default one per 2000 images')
      .option('--retries <n>', 'with --slurm: resubmissions of a failed shard while following (default 2)')
      .option('--sbatch-arg <arg>', 'with --slurm: an extra sbatch option, e.g. --sbatch-arg=--account=radiology (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--job-dir <dir>', 'with --slurm: where the job script, parts and logs go (default OUT.slurm; must be on a file system the nodes share)')
      .addOption(new Option('--shard <k/n>', 'score only shard K of N (what each array task runs)').hideHelp())
      .addOption(new Option('--listing-sha256 <hash>', 'refuse to score a shard when the folder listing changed since submission').hideHelp())
      .addOption(new Option('--progress-file <file>', 'with --shard: where to write progress').hideHelp()),
  ).action(async (dir: string, opts: ScanOptions & { out: string; slurm?: boolean; partition?: string; tasks?: string; retries?: string; sbatchArg?: string[]; jobDir?: string; shard?: string; listingSha256?: string; progressFile?: string }) => {
    checkRuntime(opts.runtime);
    const batchSize = parseBatch(opts.batch);
    const tasks = positiveInt(opts.tasks, '--tasks', 10_000);
    if (tasks === 0) throw new WorkstationError('INVALID_INPUT', '--tasks must be at least 1.');
    const retries = positiveInt(opts.retries, '--retries', 20);
    if (!opts.slurm && (opts.partition || opts.tasks || opts.retries || opts.sbatchArg || opts.jobDir)) throw new WorkstationError('INVALID_INPUT', '--partition, --tasks, --retries, --sbatch-arg and --job-dir go with --slurm.');
    if (opts.slurm && opts.shard) throw new WorkstationError('INVALID_INPUT', '--slurm and --shard cannot be combined.');
    const entries = listImageFolder(dir);
    if (entries.length === 0) throw new WorkstationError('NOT_FOUND', `There are no files to score in ${dir}.`);
    if (opts.shard) return scoreShard(dir, entries, { ...opts, shard: opts.shard }, batchSize ?? DEFAULT_BATCH);
    if (opts.slurm) {
      const code = await scoreOnSlurm(dir, entries, {
        out: opts.out,
        batch: batchSize ?? DEFAULT_BATCH,
        ...(tasks !== undefined ? { tasks } : {}),
        ...(retries !== undefined ? { retries } : {}),
        ...(opts.partition ? { partition: opts.partition } : {}),
        ...(opts.model ? { model: opts.model } : {}),
        ...(opts.runtime ? { runtime: opts.runtime } : {}),
        ...(opts.data ? { data: opts.data } : {}),
        sbatchArgs: opts.sbatchArg ?? [],
        jobDir: opts.jobDir ? path.resolve(opts.jobDir) : path.resolve(`${opts.out}.slurm`),
      });
      if (code !== 0) process.exitCode = code;
      return;
    }
    await withWorkstation(opts, async (ws) => {
      const { outcomes, cancelled } = await scoreEntries(ws.services.inference, entries, { modelId: opts.model, batchSize, wantMask: false, label: 'Scoring' });
      const rows: { truth: string | null; label: string }[] = [];
      const lines = [SCORE_HEADER];
      for (const e of entries) {
        const o = outcomes.get(e.rel);
        if (!o || !o.ok) continue;
        rows.push({ truth: e.truth, label: o.result.label });
        lines.push(scoreRow(e, o));
      }
      writeAtomic(opts.out, lines.join('\n') + '\n');
      const skipped = printSkipped(outcomes.values());
      printScoreSummary(opts.out, rows, skipped);
      if (cancelled) {
        process.stderr.write(`Cancelled: ${outcomes.size} of ${entries.length} files were processed; ${opts.out} holds the rows scored before the cancel.\n`);
        process.exitCode = 130;
      }
    });
  });
}
