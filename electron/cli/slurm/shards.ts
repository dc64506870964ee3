// How a folder is cut into shards for a cluster run, and how the parts come back together. Shard
// boundaries fall on multiples of the batch size, so every batch a task scores holds the same
// images as the local run's batch would: the merged CSV is the local CSV, row for row.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import type { FolderEntry } from '../image-folder';

/** What a finished task leaves beside its part CSV (written last: its presence means "done"). */
export interface ShardMarker {
  shard: number;
  shards: number;
  listingSha256: string;
  rows: number;
  /** Files the task could not read, with the reason, as the local run prints them. */
  skipped: { id: string; message: string }[];
}

export interface ShardProgress {
  done: number;
  total: number;
  failed: number;
}

/** Identifies the folder listing (paths and ground truth, in order), not the file contents. */
export function listingSha256(entries: readonly FolderEntry[]): string {
  const h = crypto.createHash('sha256');
  for (const e of entries) h.update(`${e.rel}\t${e.truth ?? ''}\n`);
  return h.digest('hex');
}

/** Shards that hold at least one batch: never more than the batches there are. */
export function effectiveShards(n: number, requested: number, batch: number): number {
  const blocks = Math.ceil(n / batch);
  if (blocks === 0) return 0;
  const per = Math.ceil(blocks / Math.min(requested, blocks));
  return Math.ceil(blocks / per);
}

/** [lo, hi) of shard k of n entries in `shards` shards of whole batches. */
export function shardBounds(n: number, shards: number, k: number, batch: number): [number, number] {
  const blocks = Math.ceil(n / batch);
  const per = Math.ceil(blocks / shards);
  const lo = Math.min(n, k * per * batch);
  const hi = Math.min(n, (k + 1) * per * batch);
  return [lo, hi];
}

export function parseShard(v: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 0) || k >= n) throw new WorkstationError('INVALID_INPUT', `--shard must be K/N with 0 <= K < N (got "${v}").`);
  return { k, n };
}

export const partName = (k: number): string => `part-${String(k).padStart(5, '0')}`;

export interface JobPaths {
  root: string;
  parts: string;
  progress: string;
  logs: string;
  script: string;
  state: string;
}

export function jobPaths(root: string): JobPaths {
  return {
    root,
    parts: path.join(root, 'parts'),
    progress: path.join(root, 'progress'),
    logs: path.join(root, 'logs'),
    script: path.join(root, 'score.sbatch'),
    state: path.join(root, 'job.json'),
  };
}

export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export function readMarker(paths: JobPaths, k: number, listing: string, shards: number): ShardMarker | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(paths.parts, `${partName(k)}.json`), 'utf8')) as ShardMarker;
    if (m.shard !== k || m.shards !== shards || m.listingSha256 !== listing) return null;
    if (!fs.existsSync(path.join(paths.parts, `${partName(k)}.csv`))) return null;
    return m;
  } catch {
    return null;
  }
}

export function readProgress(paths: JobPaths, k: number): ShardProgress | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(paths.progress, `${partName(k)}.json`), 'utf8')) as ShardProgress;
  } catch {
    return null;
  }
}

/**
 * The parts in shard order under one header: each part is the local CSV's header plus the rows
 * of its shard, so concatenating their bodies gives the local file byte for byte.
 */
export function mergeParts(paths: JobPaths, shards: number): { text: string; skipped: ShardMarker['skipped'] } {
  let header: string | null = null;
  const bodies: string[] = [];
  const skipped: ShardMarker['skipped'] = [];
  for (let k = 0; k < shards; k++) {
    const text = fs.readFileSync(path.join(paths.parts, `${partName(k)}.csv`), 'utf8');
    const nl = text.indexOf('\n');
    const h = nl >= 0 ? text.slice(0, nl) : text;
    if (header === null) header = h;
    else if (h !== header) throw new WorkstationError('CONFLICT', `The part of shard ${k} has other columns than shard 0; run the job again from scratch.`);
    bodies.push(nl >= 0 ? text.slice(nl + 1) : '');
    const m = JSON.parse(fs.readFileSync(path.join(paths.parts, `${partName(k)}.json`), 'utf8')) as ShardMarker;
    skipped.push(...m.skipped);
  }
  return { text: `${header ?? ''}\n${bodies.join('')}`, skipped };
}
