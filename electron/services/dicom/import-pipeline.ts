// The import pipeline: files go to the worker pool (read, parse once, check, hash once, encrypt
// into a staged blob: a temp file written and closed, not synced), and the main thread records
// them in batches. Each staged file's fsync is started on the I/O threads as soon as the worker
// answers (earlySyncQueue), and before a batch's index transaction (one WAL fsync for the batch
// instead of a commit per file) the whole batch is made durable (makeDurableMany: those fsyncs
// waited for, the renames, one fsync per folder), so the workers never wait for the disk and the
// last batch does not start its fsyncs only after the last file. A row is written only for a
// durable blob.
// Memory stays bounded: the main thread holds only metadata, at most a window of files is in the
// workers at a time, and a worker holds one file's bytes while it works on it.
import { WorkstationError, type ImportEntry, type ImportProgress, type ImportReport } from '../../contract';
import type { AuditEntry } from '../audit';
import { earlySyncQueue, makeDurableMany, type EarlySync } from '../blobs';
import type { Logger } from '../log';
import type { DicomIndex, IndexOutcome } from './index-db';
import { QUEUED_PER_WORKER, type DicomPool } from './pool';
import type { FileOutcome } from './process';
import type { UploadOrigin } from './reconcile';
import type { ToWorker } from './worker-protocol';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

export interface PipelineItem {
  /** What the report shows (a path, or an upload's name). */
  name: string;
  /**
   * The worker message, made when the file is sent: a copy of in-memory bytes is made only then,
   * so at most a window of copies exists at a time. `transfer`: buffers moved to the worker
   * without a copy.
   */
  message(): { msg: DistributiveOmit<ToWorker, 'id'>; transfer?: ArrayBuffer[] };
}

export interface PipelineOptions {
  pool: DicomPool;
  /** The blob store's folder: each batch's staged blobs are made durable there before its commit. */
  blobFolder: string;
  index: DicomIndex;
  items: PipelineItem[];
  /** Entries decided before any file was read (missing paths, unreadable folders). */
  pre: ImportEntry[];
  actor: string;
  actorId: string | null;
  importId: string;
  signal: AbortSignal;
  onProgress?: ((p: ImportProgress) => void) | undefined;
  logger?: Logger | undefined;
  audit?: { append(entry: AuditEntry): unknown } | undefined;
  /** Called after each committed batch with the studies that received new instances. */
  onCommitted?: ((studyIds: string[]) => void) | undefined;
  /** A patient upload: every file is filed under this record, and what each file claimed is collected. */
  filing?: { patientId: string; origins: UploadOrigin[] } | undefined;
  /** Files per index transaction (default 256). */
  batchSize?: number | undefined;
  /** The longest a batch waits for more files before it is recorded (default 500 ms), so progress shows on slow imports. */
  batchMaxWaitMs?: number | undefined;
}

/** Files sent to the workers at once: each worker's own queue full, and a few more. */
const windowFor = (poolSize: number): number => poolSize * QUEUED_PER_WORKER + 4;

/** A file whose blob is staged (outcome.pending: written, not yet synced) or already stored. */
interface Staged {
  item: PipelineItem;
  outcome: Extract<FileOutcome, { ok: true }>;
  /** The fsync of its temp file, started when it came back (the data is on disk by its commit). */
  synced?: EarlySync | undefined;
}

export async function runImportPipeline(o: PipelineOptions): Promise<ImportReport> {
  const started = Date.now();
  const { pool, index, items, signal } = o;
  const entries: ImportEntry[] = [...o.pre];
  const counts = { imported: 0, duplicates: 0, conflicts: 0, refused: o.pre.length };
  const total = items.length + o.pre.length;
  const batchSize = o.batchSize ?? 256;
  const batchMaxWaitMs = o.batchMaxWaitMs ?? 500;
  let done = o.pre.length;
  let lastEmit = 0;
  const emit = (phase: ImportProgress['phase'], force = false): void => {
    const now = Date.now();
    if (!force && now - lastEmit < 100) return; // at most ~10 events a second
    lastEmit = now;
    o.onProgress?.({ importId: o.importId, phase, done, total, ...counts });
  };
  emit('importing', true);

  let diskFull: string | null = null;
  let fatal: unknown = null;
  const studies = new Set<string>();
  const refuse = (name: string, reason: string): void => {
    entries.push({ path: name, status: 'refused', reason, studyId: null, instanceId: null });
    counts.refused++;
    done++;
  };
  const record = (s: Staged, r: IndexOutcome): void => {
    studies.add(r.studyId);
    if (r.status === 'imported') counts.imported++;
    else if (r.status === 'duplicate') counts.duplicates++;
    else counts.conflicts++;
    entries.push({
      path: s.item.name,
      status: r.status,
      reason: r.status === 'conflict' ? 'an image with the same SOP Instance UID but other content is already stored; both are kept and flagged' : null,
      studyId: r.studyId,
      instanceId: r.instanceId,
    });
    done++;
  };

  // Batches are recorded one after the other (the chain), while the workers go on.
  let batch: Staged[] = [];
  let batchTimer: ReturnType<typeof setTimeout> | null = null;
  let chain: Promise<void> = Promise.resolve();
  // Staged files not yet recorded are bounded too: when the commits (fsync, index) fall behind
  // the workers, the lanes wait for one, so a cancel or a full disk stops the import within a
  // bounded number of files instead of after every file has been processed.
  const maxUncommitted = Math.max(2 * batchSize, windowFor(pool.size));
  let uncommitted = 0;
  let waiting: (() => void)[] = [];
  const committedOne = (): Promise<void> => new Promise((resolve) => waiting.push(resolve));
  const commit = async (staged: Staged[]): Promise<void> => {
    // Group durability: the batch's blobs are synced and renamed together, and only the ones that
    // are durable get a row (a refusal says why for the others).
    const pending = staged.flatMap((s, i) => (s.outcome.pending ? [{ i, blob: s.outcome.pending, synced: s.synced }] : []));
    const errors = pending.length ? await makeDurableMany(o.blobFolder, pending.map((p) => p.blob), pending.map((p) => p.synced)) : [];
    const failed = new Map<number, WorkstationError>();
    pending.forEach((p, k) => {
      const err = errors[k];
      if (err) failed.set(p.i, err);
    });
    const ready: Staged[] = [];
    staged.forEach((s, i) => {
      const err = failed.get(i);
      if (!err) ready.push(s);
      else {
        if (err.details?.reason === 'disk-full') diskFull ??= err.message;
        refuse(s.item.name, err.message);
      }
    });
    if (ready.length) {
      const added: { studyIds: Set<string> } = { studyIds: new Set() };
      let results: IndexOutcome[] | null = null;
      try {
        results = index.addMany(ready.map((s) => ({ meta: s.outcome.meta, sha256: s.outcome.sha256, size: s.outcome.size, patientId: o.filing?.patientId })), o.actor);
      } catch (err) {
        // One bad row must not cost the batch: record the files one by one to find it.
        o.logger?.warn('dicom.index-batch-failed', { importId: o.importId, err });
      }
      ready.forEach((s, i) => {
        let r = results?.[i];
        if (!r) {
          try {
            r = index.add(s.outcome.meta, s.outcome.sha256, s.outcome.size, o.actor, o.filing?.patientId);
          } catch (err) {
            o.logger?.error('dicom.index-failed', { importId: o.importId, err });
            refuse(s.item.name, 'it could not be recorded in the database');
            return;
          }
        }
        record(s, r);
        if (o.filing && s.outcome.origin) o.filing.origins.push(s.outcome.origin);
        if (r.status !== 'duplicate') added.studyIds.add(r.studyId);
      });
      if (added.studyIds.size) {
        try {
          o.onCommitted?.([...added.studyIds]);
        } catch (err) {
          o.logger?.warn('dicom.import-hook-failed', { importId: o.importId, err });
        }
      }
    }
    emit('importing');
  };
  const flush = (): void => {
    if (batchTimer) { clearTimeout(batchTimer); batchTimer = null; }
    if (!batch.length) return;
    const b = batch;
    batch = [];
    chain = chain
      .then(() => commit(b))
      .finally(() => {
        uncommitted -= b.length;
        const w = waiting;
        waiting = [];
        for (const resolve of w) resolve();
      });
  };
  // Each staged blob's fsync starts as soon as it is back, on the I/O threads, while the workers
  // go on: by its batch's commit its data is on disk, and the commit is left with the renames,
  // the folder syncs and the index transaction.
  const syncEarly = earlySyncQueue();
  const stage = (item: PipelineItem, outcome: Extract<FileOutcome, { ok: true }>): void => {
    batch.push({ item, outcome, synced: outcome.pending ? syncEarly(outcome.pending) : undefined });
    uncommitted++;
    if (batch.length >= batchSize) flush();
    else if (!batchTimer) batchTimer = setTimeout(flush, batchMaxWaitMs);
  };

  // Up to WINDOW files in flight; each lane takes the next file when its last one is back.
  let next = 0;
  const stopped = (): boolean => signal.aborted || diskFull !== null || fatal !== null;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stopped()) {
      if (uncommitted >= maxUncommitted) {
        await committedOne();
        continue;
      }
      const item = items[next++]!;
      let outcome: FileOutcome;
      try {
        const { msg, transfer } = item.message();
        const m = await pool.run(msg, transfer ?? []);
        outcome = m.kind === 'outcome' ? m.outcome : { ok: false, reason: 'it could not be processed' };
      } catch (err) {
        if (err instanceof WorkstationError && err.code === 'UNAVAILABLE') {
          fatal ??= err;
          return;
        }
        outcome = { ok: false, reason: 'it could not be processed (internal error)' };
        o.logger?.error('dicom.import-file-failed', { importId: o.importId, err });
      }
      if (outcome.ok) stage(item, outcome);
      else {
        if (outcome.diskFull) diskFull = outcome.reason;
        refuse(item.name, outcome.reason);
        emit('importing');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(windowFor(pool.size), Math.max(1, items.length)) }, lane));
  flush();
  await chain;
  if (fatal) throw fatal;

  const report: ImportReport = {
    importId: o.importId,
    total,
    ...counts,
    cancelled: signal.aborted,
    notProcessed: total - done,
    studyIds: [...studies],
    entries,
    elapsedMs: Date.now() - started,
  };
  emit('done', true);
  o.logger?.info('dicom.import', { importId: o.importId, total, ...counts, cancelled: report.cancelled, ms: report.elapsedMs });
  try {
    o.audit?.append({
      actorId: o.actorId,
      actor: o.actor,
      action: 'dicom.import',
      objectType: 'import',
      objectId: o.importId,
      outcome: counts.refused > 0 && counts.imported + counts.duplicates + counts.conflicts === 0 ? 'failure' : 'success',
      detail: { files: total, imported: counts.imported, duplicates: counts.duplicates, conflicts: counts.conflicts, refused: counts.refused, cancelled: report.cancelled, studies: studies.size },
    });
  } catch (err) {
    o.logger?.error('dicom.audit-failed', { importId: o.importId, err });
  }
  if (diskFull) throw new WorkstationError('UNAVAILABLE', diskFull, { details: { reason: 'disk-full', imported: counts.imported, done } });
  return report;
}
