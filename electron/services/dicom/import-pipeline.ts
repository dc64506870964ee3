// The import pipeline: files go to the worker pool (read, parse once, check, hash once, encrypt),
// and the main thread records them in batches, one index transaction per batch (one WAL fsync
// instead of a commit per file). A row is written only for a durable blob:
// - A small blob comes back as an encrypted record, which the main thread appends to a pack file
//   (packs.ts: no file per blob, written on the I/O threads); before the batch's commit each pack
//   it went to is fsynced once.
// - A large blob comes back staged (a temp file written and closed, not synced). Its fsync starts
//   on the I/O threads as soon as the worker answers (earlySyncQueue), and before the batch's
//   commit the staged files are made durable together (makeDurableMany: those fsyncs waited for,
//   the renames, one fsync per folder).
// The workers never wait for the disk.
// Memory stays bounded: at most a window of files is in the workers at a time, a worker holds one
// file's bytes while it works on it, and the main thread holds metadata and the records not yet
// written (at most MAX_PENDING_PACK_BYTES).
import { WorkstationError, type ImportEntry, type ImportProgress, type ImportReport } from '../../contract';
import type { AuditEntry } from '../audit';
import { earlySyncQueue, makeDurableMany, sealedParts, type EarlySync, type PackAppend, type PackWriter } from '../blobs';
import type { Logger } from '../log';
import type { DicomIndex, IndexFile, IndexOutcome } from './index-db';
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
  /** The data folder's pack files: small blobs (outcome.record) are appended there, and each batch's packs fsynced before its commit. */
  packs: PackWriter;
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
  /**
   * Files per index transaction at most (default 256, DEFAULT_IMPORT_BATCH). While the main thread
   * records a batch (a synchronous SQLite transaction), the workers go on with the files queued in
   * them (QUEUED_PER_WORKER: enough for a batch's commit), so a large import records most of its
   * files while the rest are still in work, and only its last batch is left after the workers are
   * done. Alternating A/B here (500 slices, 4x3 processes of 3 rounds): batches of 256 with 64
   * files queued per worker took a median of 121.5 ms against 134.5 ms with one batch of 1,024
   * and 16 queued (with 16 queued, smaller batches had been slower: the workers ran dry during each
   * commit). batchMaxWaitMs still records a batch at least every half second, for the progress.
   */
  batchSize?: number | undefined;
  /** The longest a batch waits for more files before it is recorded (default 500 ms), so progress shows on slow imports. */
  batchMaxWaitMs?: number | undefined;
}

/** Files per index transaction unless told otherwise (see PipelineOptions.batchSize). */
const DEFAULT_IMPORT_BATCH = 256;

/** Files sent to the workers at once: each worker's own queue full, and a few more. */
const windowFor = (poolSize: number): number => poolSize * QUEUED_PER_WORKER + 4;

/** A file whose blob is staged (outcome.pending: written, not yet synced), appended to a pack (packed), or already stored. */
interface Staged {
  item: PipelineItem;
  outcome: Extract<FileOutcome, { ok: true }>;
  /** The fsync of its temp file, started when it came back (the data is on disk by its commit). */
  synced?: EarlySync | undefined;
  /** Its record's append to a pack file (its own, or that of an earlier file with the same content). */
  packed?: PackAppend | undefined;
}

/** Records handed to the pack writer and not yet written are held in memory: past this, the lanes wait for the disk. */
const MAX_PENDING_PACK_BYTES = 64 * 1024 * 1024;

export async function runImportPipeline(o: PipelineOptions): Promise<ImportReport> {
  const started = Date.now();
  const { pool, index, items, signal } = o;
  const entries: ImportEntry[] = [...o.pre];
  const counts = { imported: 0, duplicates: 0, conflicts: 0, refused: o.pre.length };
  const total = items.length + o.pre.length;
  const batchSize = o.batchSize ?? DEFAULT_IMPORT_BATCH;
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
    // Packed blobs: their writes are done (or failed), then one fsync per pack for the batch.
    const packedIdx = staged.flatMap((s, i) => (s.packed ? [i] : []));
    const writeErrors = await Promise.all(packedIdx.map((i) => staged[i]!.packed!.written));
    packedIdx.forEach((i, k) => {
      const err = writeErrors[k];
      if (err) failed.set(i, err);
    });
    const toSync = packedIdx.filter((i) => !failed.has(i));
    if (toSync.length) {
      const err = await o.packs.sync(toSync.map((i) => staged[i]!.packed!.loc.pack));
      if (err) for (const i of toSync) failed.set(i, err);
    }
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
      const files: IndexFile[] = ready.map((s) => ({ meta: s.outcome.meta, sha256: s.outcome.sha256, size: s.outcome.size, patientId: o.filing?.patientId, pack: s.packed?.loc }));
      try {
        results = index.addMany(files, o.actor);
      } catch (err) {
        // One bad row must not cost the batch: record the files one by one to find it.
        o.logger?.warn('dicom.index-batch-failed', { importId: o.importId, err });
      }
      ready.forEach((s, i) => {
        let r = results?.[i];
        if (!r) {
          try {
            r = index.addMany([files[i]!], o.actor)[0]!;
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
    // Their rows are written (or they were refused): later files with the same content look the blob up in the index.
    for (const s of staged) if (s.packed && appended.get(s.outcome.sha256) === s.packed) appended.delete(s.outcome.sha256);
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
  // Small blobs are appended to a pack unless their content is stored already or was appended by
  // an earlier file of this import whose row is not yet written: a re-import writes nothing.
  const appended = new Map<string, PackAppend>();
  const packRecord = (outcome: Extract<FileOutcome, { ok: true }>): PackAppend | undefined => {
    const record = outcome.record!;
    delete outcome.record;
    const earlier = appended.get(outcome.sha256);
    if (earlier) return earlier;
    if (index.hasBlob(outcome.sha256)) return undefined;
    const a = o.packs.append(sealedParts(record));
    appended.set(outcome.sha256, a);
    // A full disk stops the lanes now, not at the batch's commit.
    void a.written.then((err) => { if (err?.details?.reason === 'disk-full') diskFull ??= err.message; });
    return a;
  };
  const stage = (item: PipelineItem, outcome: Extract<FileOutcome, { ok: true }>): void => {
    const packed = outcome.record ? packRecord(outcome) : undefined;
    batch.push({ item, outcome, synced: outcome.pending ? syncEarly(outcome.pending) : undefined, packed });
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
      if (o.packs.pendingBytes() > MAX_PENDING_PACK_BYTES) {
        await o.packs.writeFinished();
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
