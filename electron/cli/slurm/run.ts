// `tumorpredict score DIR --slurm`: writes an sbatch array job whose tasks each score one shard
// of DIR with this same CLI (`score DIR --shard K/N`), submits it, follows it with squeue and
// scontrol, shows progress across the tasks, resubmits only the shards that failed, and merges
// the parts into one CSV identical to a local run's. The job folder (job.json, the script, the
// parts, the logs) lets the same command, run again, pick up where a stopped one left off.
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import { appRoot } from '../../services/config';
import { parseCsvLine } from '../../services/csv';
import type { FolderEntry } from '../image-folder';
import { createProgress } from '../progress';
import { printScoreSummary } from '../score-report';
import { createSlurmClient, ENDED_BADLY, type SlurmClient } from './client';
import { effectiveShards, jobPaths, listingSha256, mergeParts, partName, readMarker, readProgress, shardBounds, writeAtomic, type JobPaths } from './shards';

export interface SlurmScoreOptions {
  out: string;
  batch: number;
  tasks?: number;
  retries?: number;
  partition?: string;
  model?: string;
  runtime?: string;
  data?: string;
  sbatchArgs: string[];
  jobDir: string;
  /** Tests: a client other than the real commands, a shorter poll. */
  client?: SlurmClient;
  pollMs?: number;
}

/** What job.json records: enough to resume, and to refuse resuming a different job. */
interface JobState {
  version: 1;
  folder: string;
  listingSha256: string;
  files: number;
  shards: number;
  batch: number;
  model: string | null;
  runtime: string | null;
  submissions: { arrayJobId: string; shards: number[]; at: string }[];
}

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The batch script: every task runs `score DIR --shard K/N` of the same installation. */
export function sbatchScript(o: { node: string; cli: string; folder: string; shards: number; listing: string; batch: number; model: string | null; runtime: string | null; paths: JobPaths }): string {
  const args = [
    'score',
    sh(o.folder),
    '--shard',
    `"$SLURM_ARRAY_TASK_ID/${o.shards}"`,
    '--listing-sha256',
    o.listing,
    '--batch',
    String(o.batch),
    '--out',
    `${sh(o.paths.parts)}/"$part".csv`,
    '--progress-file',
    `${sh(o.paths.progress)}/"$part".json`,
    ...(o.model ? ['--model', sh(o.model)] : []),
    ...(o.runtime ? ['--runtime', sh(o.runtime)] : []),
  ];
  return [
    '#!/bin/bash',
    '# Written by `tumorpredict score --slurm`. Each array task scores one shard of the folder with',
    '# the same command line tool and writes parts/part-K.csv, then parts/part-K.json when complete.',
    'set -euo pipefail',
    'part="$(printf \'part-%05d\' "$SLURM_ARRAY_TASK_ID")"',
    `exec ${sh(o.node)} ${sh(o.cli)} ${args.join(' ')}`,
    '',
  ].join('\n');
}

function loadState(paths: JobPaths): JobState | null {
  try {
    return JSON.parse(fs.readFileSync(paths.state, 'utf8')) as JobState;
  } catch {
    return null;
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export async function scoreOnSlurm(dir: string, entries: FolderEntry[], opts: SlurmScoreOptions): Promise<number> {
  const client = opts.client ?? createSlurmClient();
  const pollMs = opts.pollMs ?? Number(process.env.TUMORPREDICT_SLURM_POLL_MS ?? 3000);
  const folder = path.resolve(dir);
  const listing = listingSha256(entries);
  const requested = opts.tasks ?? Math.min(100, Math.max(1, Math.ceil(entries.length / 2000)));
  const shards = effectiveShards(entries.length, requested, opts.batch);
  const paths = jobPaths(opts.jobDir);
  const maxAttempts = (opts.retries ?? 2) + 1;
  const model = opts.model ?? null;
  const runtime = opts.runtime ?? null;

  let state = loadState(paths);
  if (state) {
    const same = state.folder === folder && state.listingSha256 === listing && state.shards === shards && state.batch === opts.batch && state.model === model && state.runtime === runtime;
    if (!same) {
      throw new WorkstationError(
        'CONFLICT',
        `${paths.root} holds a cluster job for ${state.folder === folder ? 'another listing of this folder or other settings' : state.folder}; remove that folder or give another --out or --job-dir.`,
      );
    }
  } else {
    state = { version: 1, folder, listingSha256: listing, files: entries.length, shards, batch: opts.batch, model, runtime, submissions: [] };
  }
  for (const p of [paths.parts, paths.progress, paths.logs]) fs.mkdirSync(p, { recursive: true });
  const node = process.env.TUMORPREDICT_SLURM_NODE ?? process.execPath;
  const cli = process.env.TUMORPREDICT_SLURM_CLI ?? path.join(appRoot(), 'bin', 'tumorpredict.js');
  writeAtomic(paths.script, sbatchScript({ node, cli, folder, shards, listing, batch: opts.batch, model, runtime, paths }));
  fs.chmodSync(paths.script, 0o755);
  const saveState = (): void => writeAtomic(paths.state, JSON.stringify(state, null, 1));
  saveState();

  const sizes = Array.from({ length: shards }, (_, k) => {
    const [lo, hi] = shardBounds(entries.length, shards, k, opts.batch);
    return hi - lo;
  });
  const isDone = (k: number): boolean => readMarker(paths, k, listing, shards) !== null;
  /** The array job a shard was last submitted in. */
  const current = new Map<number, string>();
  for (const s of state.submissions) for (const k of s.shards) current.set(k, s.arrayJobId);
  const attempts = new Map<number, number>();

  const extra = [
    '--job-name=tumorpredict-score',
    `--output=${path.join(paths.logs, 'shard-%a.job-%A.out')}`,
    ...(opts.partition ? [`--partition=${opts.partition}`] : []),
    ...opts.sbatchArgs,
  ];
  const submit = async (list: number[]): Promise<string> => {
    const id = await client.submit(paths.script, list, extra);
    for (const k of list) {
      current.set(k, id);
      attempts.set(k, (attempts.get(k) ?? 0) + 1);
      fs.rmSync(path.join(paths.progress, `${partName(k)}.json`), { force: true });
    }
    state.submissions.push({ arrayJobId: id, shards: list, at: new Date().toISOString() });
    saveState();
    return id;
  };

  // Resume: finished shards stay; shards still queued or running in an earlier submission are
  // followed; the rest are submitted now.
  const done0 = Array.from({ length: shards }, (_, k) => k).filter(isDone);
  const stillQueued = new Set<number>();
  if (state.submissions.length > 0) {
    const q = await client.queued([...new Set(current.values())]);
    for (const t of q) if (current.get(t.taskId) === t.arrayJobId && !done0.includes(t.taskId)) stillQueued.add(t.taskId);
  }
  const todo = Array.from({ length: shards }, (_, k) => k).filter((k) => !done0.includes(k) && !stillQueued.has(k));
  if (state.submissions.length > 0) {
    process.stderr.write(`Resuming the cluster job in ${paths.root}: ${done0.length} of ${plural(shards, 'shard')} done${stillQueued.size ? `, ${stillQueued.size} still queued or running` : ''}${todo.length ? `; submitting ${plural(todo.length, 'shard')} again (${todo.join(', ')})` : ''}.\n`);
  }
  if (todo.length > 0) {
    const id = await submit(todo);
    process.stderr.write(`Submitted Slurm array job ${id}: ${plural(todo.length, 'task')} over ${plural(entries.length, 'file')} (${paths.script}).\n`);
  }

  let stop = false;
  const onSigint = (): void => {
    stop = true;
  };
  process.on('SIGINT', onSigint);
  const progress = createProgress('Slurm');
  const failedFor = new Map<number, string>();
  const gave = new Set<number>();
  /** Polls a shard has been seen ended as COMPLETED without its marker (a shared file system may lag). */
  const grace = new Map<number, number>();
  let lastLine = '';
  try {
    for (;;) {
      const done = new Set(Array.from({ length: shards }, (_, k) => k).filter(isDone));
      const live = [...new Set([...current.entries()].filter(([k]) => !done.has(k) && !gave.has(k)).map(([, id]) => id))];
      const queued = await client.queued(live);
      const states = new Map<number, string>();
      for (const t of queued) if (current.get(t.taskId) === t.arrayJobId) states.set(t.taskId, t.state);
      const retry: number[] = [];
      for (let k = 0; k < shards; k++) {
        if (done.has(k) || gave.has(k) || states.has(k)) continue;
        if (isDone(k)) {
          done.add(k); // finished between the two looks
          continue;
        }
        const id = current.get(k)!;
        const final = (await client.show(id)).find((t) => t.taskId === k);
        const st = final?.state ?? 'GONE';
        if (st === 'COMPLETED' && (grace.get(k) ?? 0) < 3) {
          grace.set(k, (grace.get(k) ?? 0) + 1);
          states.set(k, 'COMPLETING');
          continue;
        }
        if (!final || ENDED_BADLY.has(st) || st === 'COMPLETED') {
          const why = final ? `${st}${final.exitCode ? `, exit ${final.exitCode}` : ''}` : 'no longer known to Slurm, and no part was written';
          failedFor.set(k, why);
          if ((attempts.get(k) ?? 1) < maxAttempts) {
            retry.push(k);
            process.stderr.write(`\nShard ${k} of array job ${id} failed (${why}); resubmitting only that shard (attempt ${(attempts.get(k) ?? 1) + 1} of ${maxAttempts}).\n`);
          } else {
            gave.add(k);
            process.stderr.write(`\nShard ${k} failed ${plural(attempts.get(k) ?? 1, 'time')} (${why}); its log: ${path.join(paths.logs, `shard-${k}.job-${id}.out`)}.\n`);
          }
        } else states.set(k, st);
      }
      if (retry.length > 0) {
        const id = await submit(retry);
        for (const k of retry) {
          states.set(k, 'PENDING');
          grace.delete(k);
        }
        process.stderr.write(`Resubmitted as Slurm array job ${id}.\n`);
      }
      // Progress across the tasks: finished shards count whole, running ones by their progress file.
      let images = 0;
      let failedImages = 0;
      for (let k = 0; k < shards; k++) {
        if (done.has(k)) {
          const m = readMarker(paths, k, listing, shards)!;
          images += sizes[k]!;
          failedImages += m.skipped.length;
        } else {
          const p = readProgress(paths, k);
          if (p) {
            images += Math.min(p.done, sizes[k]!);
            failedImages += p.failed;
          }
        }
      }
      const count = (pred: (s: string) => boolean): number => [...states.entries()].filter(([k, s]) => !done.has(k) && pred(s)).length;
      const line = `Slurm: ${done.size} of ${plural(shards, 'shard')} done, ${count((s) => s === 'RUNNING' || s === 'COMPLETING')} running, ${count((s) => s === 'PENDING' || s === 'CONFIGURING' || s === 'REQUEUED')} pending${gave.size ? `, ${gave.size} failed` : ''}`;
      if (line !== lastLine) {
        process.stderr.write(`${line}\n`);
        lastLine = line;
      }
      progress.update(images, entries.length, failedImages);
      if (done.size === shards) break;
      if (done.size + gave.size === shards) {
        progress.finish();
        const ks = [...gave].sort((a, b) => a - b);
        process.stderr.write(
          `${plural(ks.length, 'shard')} (${ks.join(', ')}) could not be scored; the ${plural(done.size, 'finished shard')} are kept in ${paths.root}. Run the same command again to resume only the failed shards.\n`,
        );
        return 1;
      }
      if (stop) {
        progress.finish();
        const ids = [...new Set([...current.entries()].filter(([k]) => !done.has(k)).map(([, id]) => id))];
        process.stderr.write(`\nStopped following (Ctrl-C); Slurm job(s) ${ids.join(', ')} keep running. Run the same command again to follow them and merge, or cancel them with scancel ${ids.join(' ')}.\n`);
        return 130;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  progress.finish();
  const merged = mergeParts(paths, shards);
  writeAtomic(opts.out, merged.text);
  if (merged.skipped.length > 0) {
    const bad = [...merged.skipped].sort((a, b) => (a.id < b.id ? -1 : 1));
    process.stderr.write(`Skipped ${bad.length} unreadable file(s):\n`);
    for (const b of bad) process.stderr.write(`  ${b.id}: ${b.message}\n`);
  }
  // Metrics from the merged rows, as the local run prints them.
  const rows = merged.text
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => parseCsvLine(l))
    .map((f) => ({ label: f[1] ?? '', truth: f[6] ? f[6] : null }));
  printScoreSummary(opts.out, rows, merged.skipped.length);
  process.stderr.write(`Merged ${plural(shards, 'shard')} from ${paths.root}.\n`);
  return 0;
}
