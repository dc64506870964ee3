// Scoring runs: one data set scored by one model in the inference worker pool, with progress and
// cancellation. Each item's result is written as it completes (in transactions of a few items),
// so a run stopped by a cancel, a crash or a kill resumes from the items not yet scored.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { WorkstationError, type RunSummary } from '../../contract';
import type { AuditLog } from '../audit';
import type { ImageOutcome, InferenceInput, InferenceService } from '../inference';
import type { Logger } from '../log';
import type { Db } from '../store';
import { contentHash } from './datasets';
import type { ReaderPool } from './reader-pool';
import { dice } from './metrics';
import type { Actor, Registry } from './registry';

export interface RunnerDeps {
  db: () => Db;
  inference: InferenceService;
  registry: Registry;
  /** Parses the data set's files (DICOM pixels, masks, hashes) in its worker, never on this thread. */
  reader: ReaderPool;
  audit: AuditLog;
  logger: Logger;
  /** Items per transaction of results (a crash loses at most this many finished items). */
  flushEvery?: number;
  /** Items handed to the pool per classify call. */
  chunkSize?: number;
}

interface RunRow {
  id: string;
  batch_id: string;
  dataset_id: string;
  dataset_name: string;
  dataset_hash: string;
  model_id: string;
  model_version: string;
  card_sha256: string;
  runtime: string | null;
  settings: string;
  status: RunSummary['status'];
  total: number;
  done: number;
  failed: number;
  scoring_ms: number;
  error: string | null;
  created_at: string;
  created_by: string;
  finished_at: string | null;
}

interface ItemRow {
  idx: number;
  item_id: string;
  label: string | null;
  file: string;
  sha256: string;
  mask_file: string | null;
  source: string | null;
  sequence: string | null;
}

export interface RunSettings {
  batchSize: number;
  masks: boolean;
  /** The model's reported classes: the columns of the metrics. */
  classes: string[];
}

const RUN_SELECT = `SELECT r.*, d.name AS dataset_name FROM research_runs r JOIN research_datasets d ON d.id = r.dataset_id`;

export function toSummary(r: RunRow): RunSummary {
  return {
    id: r.id,
    batchId: r.batch_id,
    datasetId: r.dataset_id,
    datasetName: r.dataset_name,
    datasetHash: r.dataset_hash,
    modelId: r.model_id,
    modelVersion: r.model_version,
    cardSha256: r.card_sha256,
    runtime: r.runtime,
    settings: JSON.parse(r.settings) as Record<string, unknown>,
    status: r.status,
    total: r.total,
    done: r.done,
    failed: r.failed,
    scoringMs: r.scoring_ms,
    error: r.error,
    createdAt: r.created_at,
    createdBy: r.created_by,
    finishedAt: r.finished_at,
  };
}

async function hasDicomPreamble(file: string): Promise<boolean> {
  let fd: fs.promises.FileHandle | null = null;
  try {
    fd = await fs.promises.open(file, 'r');
    const b = Buffer.alloc(4);
    const { bytesRead } = await fd.read(b, 0, 4, 128);
    return bytesRead === 4 && b.toString('latin1') === 'DICM';
  } catch {
    return false; // the inference worker reports the unreadable file
  } finally {
    await fd?.close();
  }
}

export function createRunner(deps: RunnerDeps) {
  const { db, inference, registry, audit, logger, reader } = deps;
  const flushEvery = deps.flushEvery ?? 16;
  const chunkSize = deps.chunkSize ?? 128;
  const queue: string[] = [];
  let current: { id: string; controller: AbortController; reason: 'cancel' | 'shutdown' | null } | null = null;
  let loop: Promise<void> | null = null;
  let closed = false;
  const waiters = new Map<string, (() => void)[]>();
  /** Runs this process has queued or is scoring: never reported as interrupted. */
  const owned = new Set<string>();

  // A run left running or queued by a process that is gone (crash, kill, quit) is interrupted.
  // Another live process (the app while the CLI runs) keeps its runs.
  function alive(pid: number | null): boolean {
    if (pid === null) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  function markInterrupted(): void {
    let rows: { id: string; owner_pid: number | null }[];
    try {
      rows = db().prepare(`SELECT id, owner_pid FROM research_runs WHERE status IN ('running', 'queued')`).all() as typeof rows;
    } catch {
      return; // database not open yet: checked again on each listing
    }
    for (const r of rows) {
      if (owned.has(r.id)) continue;
      if (r.owner_pid !== process.pid && alive(r.owner_pid)) continue;
      db().prepare(`UPDATE research_runs SET status = 'interrupted' WHERE id = ? AND status IN ('running', 'queued')`).run(r.id);
    }
  }
  markInterrupted();

  function row(id: string): RunRow {
    markInterrupted();
    const r = db().prepare(`${RUN_SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', `There is no run "${id.slice(0, 64)}".`, { details: { run: id } });
    return r;
  }

  function notify(id: string): void {
    const ws = waiters.get(id);
    waiters.delete(id);
    for (const w of ws ?? []) w();
  }

  function items(datasetId: string): ItemRow[] {
    return db().prepare('SELECT idx, item_id, label, file, sha256, mask_file, source, sequence FROM research_items WHERE dataset_id = ? ORDER BY idx').all(datasetId) as ItemRow[];
  }

  /** Re-reads the data set's files (hashed in the reader): a run only scores exactly what was registered. */
  async function checkDatasetUnchanged(datasetId: string, expected: string): Promise<void> {
    const all = items(datasetId);
    const list: { itemId: string; label: string | null; sha256: string; maskSha256: string | null; source: string | null; sequence: string | null }[] = [];
    for (let start = 0; start < all.length; start += 500) {
      const chunk = all.slice(start, start + 500);
      const shas = await reader.hash(chunk.map((it) => ({ file: it.file, mask: it.mask_file })));
      chunk.forEach((it, k) => {
        const h = shas[k]!;
        if ('error' in h) throw new WorkstationError('CONFLICT', `The data set's file ${it.item_id} is missing or unreadable; register the data set again.`);
        list.push({ itemId: it.item_id, label: it.label, sha256: h.sha, maskSha256: h.mask, source: it.source, sequence: it.sequence });
      });
    }
    if (contentHash(list) !== expected) {
      throw new WorkstationError('CONFLICT', 'The data set changed on disk since it was registered (a file was added, removed or edited); register it again so results stay tied to what was scored.');
    }
  }

  async function execute(id: string): Promise<void> {
    const run = row(id);
    if (run.status !== 'queued') {
      owned.delete(id);
      notify(id);
      return;
    }
    const settings = JSON.parse(run.settings) as RunSettings;
    const controller = new AbortController();
    current = { id, controller, reason: null };
    const conn = db();
    conn.prepare(`UPDATE research_runs SET status = 'running', error = NULL, owner_pid = ? WHERE id = ?`).run(process.pid, id);
    const t0 = performance.now();
    let sessionMs = 0;
    const pending: { idx: number; o: ImageOutcome; dice: number | null }[] = [];
    const insert = conn.prepare(
      `INSERT OR REPLACE INTO research_results (run_id, idx, ok, label, confidence, probabilities, dice, ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const flush = conn.transaction((batch: typeof pending, ms: number) => {
      let runtime: string | null = null;
      for (const p of batch) {
        if (p.o.ok) {
          runtime = p.o.result.runtime;
          insert.run(id, p.idx, 1, p.o.result.label, p.o.result.confidence, JSON.stringify(p.o.result.probabilities), p.dice, p.o.result.ms, null);
        } else insert.run(id, p.idx, 0, null, null, null, null, null, p.o.error.message);
      }
      const c = conn.prepare('SELECT count(*) AS done, coalesce(sum(ok = 0), 0) AS failed FROM research_results WHERE run_id = ?').get(id) as { done: number; failed: number };
      conn.prepare('UPDATE research_runs SET done = ?, failed = ?, scoring_ms = scoring_ms + ?, runtime = coalesce(?, runtime) WHERE id = ?').run(c.done, c.failed, ms, runtime, id);
    });
    let lastFlush = t0;
    const flushNow = (): void => {
      const now = performance.now();
      const batch = pending.splice(0, pending.length);
      flush(batch, now - lastFlush);
      sessionMs += now - lastFlush;
      lastFlush = now;
    };
    try {
      await checkDatasetUnchanged(run.dataset_id, run.dataset_hash);
      lastFlush = performance.now(); // throughput counts scoring, not the re-hash of the data set
      const scored = new Set((conn.prepare('SELECT idx FROM research_results WHERE run_id = ?').all(id) as { idx: number }[]).map((r) => r.idx));
      const todo = items(run.dataset_id).filter((it) => !scored.has(it.idx));
      logger.info('research.run.started', { run: id, model: run.model_id, todo: todo.length, total: run.total });
      for (let start = 0; start < todo.length; start += chunkSize) {
        if (controller.signal.aborted) break;
        const chunk = todo.slice(start, start + chunkSize);
        const byId = new Map(chunk.map((it) => [String(it.idx), it]));
        const inputs: InferenceInput[] = [];
        for (const it of chunk) {
          // Only the first bytes are read here; the reader worker decodes DICOM (the inference worker, images).
          const isDicom = await hasDicomPreamble(it.file);
          if (isDicom) {
            try {
              inputs.push({ id: String(it.idx), source: { kind: 'pixels', image: await reader.pixels(it.file) } });
            } catch (err) {
              const msg = err instanceof WorkstationError ? err.message : 'The DICOM file could not be decoded.';
              pending.push({ idx: it.idx, o: { id: String(it.idx), ok: false, error: { code: 'INVALID_INPUT', message: msg, reason: 'decode' } }, dice: null });
            }
          } else inputs.push({ id: String(it.idx), source: { kind: 'file', path: it.file } });
        }
        // Items with a ground-truth mask wait for their Dice (the mask is decoded in the reader).
        const withMask: { it: ItemRow; o: Extract<ImageOutcome, { ok: true }> }[] = [];
        try {
          await inference.classify(inputs, {
            modelId: run.model_id,
            batchSize: settings.batchSize,
            wantMask: settings.masks && chunk.some((c) => c.mask_file),
            signal: controller.signal,
            onOutcome: (o) => {
              const it = byId.get(o.id)!;
              if (o.ok && it.mask_file && o.mask) withMask.push({ it, o });
              else {
                pending.push({ idx: it.idx, o, dice: null });
                if (pending.length >= flushEvery) flushNow();
              }
            },
          });
        } catch (err) {
          if (err instanceof WorkstationError && (err.details?.cancelled || (err.code === 'CONFLICT' && controller.signal.aborted))) break;
          throw err;
        }
        for (const { it, o } of withMask) {
          let d: number | null = null;
          try {
            d = dice(o.mask!, await reader.mask(it.mask_file!, o.result.width, o.result.height));
          } catch (err) {
            logger.warn('research.run.mask-unreadable', { run: id, idx: it.idx, err });
          }
          pending.push({ idx: it.idx, o, dice: d });
        }
        flushNow();
      }
      flushNow();
      const reason = current?.reason;
      if (controller.signal.aborted) {
        const status = reason === 'shutdown' ? 'interrupted' : 'cancelled';
        conn.prepare('UPDATE research_runs SET status = ? WHERE id = ?').run(status, id);
        logger.info('research.run.stopped', { run: id, status });
      } else {
        conn.prepare(`UPDATE research_runs SET status = 'done', finished_at = ? WHERE id = ?`).run(new Date().toISOString(), id);
        const r = row(id);
        logger.info('research.run.done', { run: id, done: r.done, failed: r.failed, ms: Math.round(sessionMs) });
      }
    } catch (err) {
      try {
        flushNow();
      } catch {
        /* keep the original error */
      }
      const message = err instanceof WorkstationError ? err.message : 'The run failed inside the workstation; see the log.';
      conn.prepare(`UPDATE research_runs SET status = 'failed', error = ? WHERE id = ?`).run(message, id);
      logger.error('research.run.failed', { run: id, err });
    } finally {
      current = null;
      owned.delete(id);
      notify(id);
    }
  }

  function kick(): void {
    if (loop || closed) return;
    loop = (async () => {
      while (queue.length > 0 && !closed) {
        const id = queue.shift()!;
        await execute(id);
      }
    })().finally(() => {
      loop = null;
      if (queue.length > 0 && !closed) kick();
    });
  }

  function enqueue(id: string): void {
    owned.add(id);
    queue.push(id);
    kick();
  }

  async function start(
    datasetId: string,
    modelIds: string[],
    opts: { batchSize?: number | undefined; masks?: boolean | undefined },
    actor: Actor,
  ): Promise<RunSummary[]> {
    if (closed) throw new WorkstationError('UNAVAILABLE', 'The workstation is shutting down; start the run again after it restarts.');
    const ds = db().prepare('SELECT id, content_hash, item_count FROM research_datasets WHERE id = ?').get(datasetId) as { id: string; content_hash: string; item_count: number } | undefined;
    if (!ds) throw new WorkstationError('NOT_FOUND', `There is no data set "${datasetId.slice(0, 64)}".`);
    const unique = [...new Set(modelIds)];
    const prepared: { id: string; version: string; card: string; classes: string[] }[] = [];
    for (const mid of unique) {
      const m = await registry.get(mid);
      if (m.status === 'retired') throw new WorkstationError('CONFLICT', `The model ${mid} is retired and is not used for new runs.`);
      const loaded = await inference.loadModel(mid); // refuses a model whose files fail their sha256
      prepared.push({ id: mid, version: loaded.spec.version, card: m.cardSha256 ?? '', classes: [...loaded.spec.reportedClasses] });
    }
    const batchId = crypto.randomUUID();
    const t = new Date().toISOString();
    const conn = db();
    const ids: string[] = [];
    conn.transaction(() => {
      for (const p of prepared) {
        const id = crypto.randomUUID();
        const settings: RunSettings = { batchSize: opts.batchSize ?? 8, masks: opts.masks ?? true, classes: p.classes };
        conn
          .prepare(
            `INSERT INTO research_runs (id, batch_id, dataset_id, dataset_hash, model_id, model_version, card_sha256, runtime, settings, status, total, owner_pid, created_at, created_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, 'queued', ?, ?, ?, ?)`,
          )
          .run(id, batchId, datasetId, ds.content_hash, p.id, p.version, p.card, JSON.stringify(settings), ds.item_count, process.pid, t, actor.username);
        ids.push(id);
      }
    })();
    for (const id of ids) owned.add(id); // before the first starts: the others are queued, not orphaned
    for (const id of ids) {
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'runs.start', objectType: 'research-run', objectId: id, outcome: 'success', detail: { dataset: datasetId, model: prepared[ids.indexOf(id)]!.id } });
      enqueue(id);
    }
    return ids.map((id) => toSummary(row(id)));
  }

  return {
    start,
    get: (id: string) => toSummary(row(id)),
    list(datasetId?: string): RunSummary[] {
      markInterrupted();
      const rows = (datasetId ? db().prepare(`${RUN_SELECT} WHERE r.dataset_id = ? ORDER BY r.created_at DESC, r.rowid DESC`).all(datasetId) : db().prepare(`${RUN_SELECT} ORDER BY r.created_at DESC, r.rowid DESC`).all()) as RunRow[];
      return rows.map(toSummary);
    },
    cancel(id: string, actor: Actor): RunSummary {
      const r = row(id);
      if (current?.id === id) {
        current.reason = 'cancel';
        current.controller.abort();
      } else if (r.status === 'queued') {
        const i = queue.indexOf(id);
        if (i >= 0) queue.splice(i, 1);
        owned.delete(id);
        db().prepare(`UPDATE research_runs SET status = 'cancelled' WHERE id = ?`).run(id);
        notify(id);
      } else if (r.status !== 'running') {
        throw new WorkstationError('CONFLICT', `The run is ${r.status}; only a queued or running run can be cancelled.`);
      }
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'runs.cancel', objectType: 'research-run', objectId: id, outcome: 'success' });
      return toSummary(row(id));
    },
    resume(id: string, actor: Actor): RunSummary {
      if (closed) throw new WorkstationError('UNAVAILABLE', 'The workstation is shutting down.');
      markInterruptedIfOrphaned(id);
      const r = row(id);
      if (!['interrupted', 'cancelled', 'failed'].includes(r.status)) throw new WorkstationError('CONFLICT', `The run is ${r.status}; only an interrupted, cancelled or failed run can be resumed.`);
      db().prepare(`UPDATE research_runs SET status = 'queued', finished_at = NULL, owner_pid = ? WHERE id = ?`).run(process.pid, id);
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'runs.resume', objectType: 'research-run', objectId: id, outcome: 'success', detail: { done: r.done, total: r.total } });
      enqueue(id);
      return toSummary(row(id));
    },
    /** Resolves when the run is no longer queued or running. */
    waitFor(id: string): Promise<RunSummary> {
      const r = row(id);
      if (r.status !== 'queued' && r.status !== 'running') return Promise.resolve(toSummary(r));
      return new Promise((resolve) => {
        const list = waiters.get(id) ?? [];
        list.push(() => resolve(toSummary(row(id))));
        waiters.set(id, list);
      });
    },
    /** Stops the running run (it becomes interrupted, resumable) and drops the queue. */
    async close(): Promise<void> {
      closed = true;
      for (const id of queue.splice(0)) {
        owned.delete(id);
        try {
          db().prepare(`UPDATE research_runs SET status = 'interrupted' WHERE id = ?`).run(id);
        } catch {
          /* database closed */
        }
        notify(id);
      }
      if (current) {
        current.reason = 'shutdown';
        current.controller.abort();
      }
      await loop;
    },
  };

  function markInterruptedIfOrphaned(_id: string): void {
    markInterrupted();
  }
}

export type Runner = ReturnType<typeof createRunner>;
