// The durable outbox: rows written in the creator's own transaction, sent with STOW-RS, retried
// with exponential backoff and jitter, marked sent only on the server's word, never sent twice.
import crypto from 'node:crypto';
import { WorkstationError, type OutboxItem, type OutboxKind, type OutboxState } from '../../contract';
import type { Db } from '../store';
import { syncErrorDetails, tagString, type DicomJson, type DicomWebClient } from './dicomweb-client';
import { dicomUids } from './dicom-uids';

export type OutboxEntry =
  | {
      kind: OutboxKind;
      /** The Part 10 file. Its SOP Instance, SOP Class and Study UIDs are read from it. */
      content: Buffer;
      /** Short label for the UI ("Tumor SEG"); never patient data. */
      label: string;
    }
  | {
      /** A source image already in the blob store: the row points at it instead of copying it. */
      kind: 'image';
      blob: { hash: string; size: number; sopInstanceUid: string; sopClassUid: string; studyInstanceUid: string };
      label: string;
    };

/** Reads a stored image (the DICOM service's blob store) for an outbox row that points at one. */
export type BlobReader = (hash: string) => Buffer;

interface Row {
  id: number;
  kind: OutboxKind;
  sop_instance_uid: string;
  sop_class_uid: string;
  study_instance_uid: string;
  label: string;
  content_sha256: string;
  state: OutboxState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  size: number;
}

const COLS = 'id, kind, sop_instance_uid, sop_class_uid, study_instance_uid, label, content_sha256, state, attempts, last_error, next_attempt_at, created_at, updated_at, sent_at, size_bytes AS size';

const toItem = (r: Row): OutboxItem => ({
  id: r.id,
  kind: r.kind,
  sopInstanceUid: r.sop_instance_uid,
  studyInstanceUid: r.study_instance_uid,
  label: r.label,
  state: r.state,
  attempts: r.attempts,
  lastError: r.last_error,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  sizeBytes: r.size,
});

/**
 * Queues a result for sending. Call it inside the transaction that creates the result (the
 * caller's db.transaction), so the result and its outbox row are committed together or not at
 * all. Queuing the same SOP Instance UID with the same content again is a no-op.
 */
export function enqueueOutbox(db: Db, entry: OutboxEntry): OutboxItem {
  const uids = 'blob' in entry ? entry.blob : dicomUids(entry.content);
  if (!uids.sopInstanceUid || !uids.sopClassUid || !uids.studyInstanceUid) {
    throw new WorkstationError('INVALID_INPUT', 'This result cannot be queued for the hospital server: it is not a DICOM file with SOP Instance, SOP Class and Study UIDs.');
  }
  // A blob is named by the sha256 of its content, so a source image needs no hashing here.
  const sha = 'blob' in entry ? entry.blob.hash : crypto.createHash('sha256').update(entry.content).digest('hex');
  const existing = db.prepare(`SELECT ${COLS} FROM sync_outbox WHERE sop_instance_uid = ?`).get(uids.sopInstanceUid) as Row | undefined;
  if (existing) {
    if (existing.content_sha256 === sha) return toItem(existing);
    throw new WorkstationError('CONFLICT', `A different result with the same SOP Instance UID is already in the outbox (item ${existing.id}); a changed result needs a new UID.`, { details: { id: existing.id } });
  }
  const now = new Date().toISOString();
  const content = 'blob' in entry ? null : entry.content;
  const info = db
    .prepare(`INSERT INTO sync_outbox (kind, sop_instance_uid, sop_class_uid, study_instance_uid, label, content, blob_hash, size_bytes, content_sha256, state, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)`)
    .run(entry.kind, uids.sopInstanceUid, uids.sopClassUid, uids.studyInstanceUid, entry.label.slice(0, 120), content, 'blob' in entry ? entry.blob.hash : null, 'blob' in entry ? entry.blob.size : content!.length, sha, now, now);
  return toItem(db.prepare(`SELECT ${COLS} FROM sync_outbox WHERE id = ?`).get(info.lastInsertRowid) as Row);
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 30 * 60_000 };
const CLAIM_CHUNK = 16;
const GROUP_COMMIT = 8;

/** Exponential backoff with jitter: between half and all of base * 2^(attempt-1), capped. */
export function backoffDelay(attempts: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const full = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

export interface PushOutcome {
  id: number;
  sopInstanceUid: string;
  result: 'sent' | 'already-there' | 'retry' | 'failed';
  error: string | null;
}

export interface Outbox {
  get(id: number): OutboxItem;
  list(filter: { states?: OutboxState[]; limit: number }): { items: OutboxItem[]; total: number };
  counts(): { waiting: number; failed: number; sent: number };
  enqueue(entry: OutboxEntry): OutboxItem;
  retry(id: number): OutboxItem;
  cancel(id: number): OutboxItem;
  /** Sends every item that is due; resolves when each has an outcome. */
  /** onOutcome runs inside the transaction that records the item's new state (audit it there). */
  pushDue(client: DicomWebClient, options?: { concurrency?: number; onOutcome?: (o: PushOutcome) => void }): Promise<PushOutcome[]>;
  /** When the next retry is due (ISO), or null when nothing waits. */
  nextDueAt(): string | null;
}

export function createOutbox(db: () => Db, backoff: BackoffPolicy = DEFAULT_BACKOFF, readBlob: BlobReader | null = null): Outbox {
  const get = (id: number): OutboxItem => {
    const r = db().prepare(`SELECT ${COLS} FROM sync_outbox WHERE id = ?`).get(id) as Row | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', `There is no outbox item ${id}.`);
    return toItem(r);
  };
  const setState = (id: number, fields: Partial<Pick<Row, 'state' | 'attempts' | 'last_error' | 'next_attempt_at' | 'sent_at'>>): void => {
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    const sets = keys.map((k) => `${k} = @${k}`).join(', ');
    db().prepare(`UPDATE sync_outbox SET ${sets}, updated_at = @updated_at WHERE id = @id`).run({ ...fields, updated_at: new Date().toISOString(), id });
  };

  /** Does the server already hold this instance? (QIDO by SOP Instance UID.) */
  const onServer = async (client: DicomWebClient, row: Row): Promise<boolean> => {
    const found = await client.qido(`/studies/${row.study_instance_uid}/instances`, { SOPInstanceUID: row.sop_instance_uid });
    return found.some((ds) => tagString(ds, '00080018') === row.sop_instance_uid);
  };

  const stowAccepted = (response: DicomJson | null, uid: string): 'ok' | 'failed' | 'unknown' => {
    if (!response) return 'unknown';
    const refs = (response['00081199']?.Value ?? []) as DicomJson[];
    const fails = (response['00081198']?.Value ?? []) as DicomJson[];
    if (refs.some((r) => tagString(r, '00081155') === uid)) return 'ok';
    if (fails.some((r) => tagString(r, '00081155') === uid)) return 'failed';
    return 'unknown';
  };

  /**
   * Sends one item. Its final state and the caller's record of the outcome (the audit row) are
   * written together by `commit` (group-committed with other items' outcomes).
   */
  const sendOne = async (client: DicomWebClient, row: Row, commit: (o: PushOutcome, write: () => void) => void): Promise<PushOutcome> => {
    const base = { id: row.id, sopInstanceUid: row.sop_instance_uid };
    const finish = (o: PushOutcome, write: () => void): PushOutcome => {
      commit(o, write);
      return o;
    };
    // An item tried before may have reached the server even though no answer came back
    // (connection cut, crash while sending): ask before sending it again.
    // (The row was claimed, state 'sending' and attempts + 1, before this call.)
    const triedBefore = row.attempts > 0 || row.state === 'sending';
    try {
      if (triedBefore && (await onServer(client, row))) {
        return finish({ ...base, result: 'already-there', error: null }, () => markSent(row.id));
      }
      const stored = db().prepare('SELECT content, blob_hash FROM sync_outbox WHERE id = ?').get(row.id) as { content: Buffer | null; blob_hash: string | null };
      let content: Buffer;
      if (stored.content) content = stored.content;
      else {
        if (!readBlob || !stored.blob_hash) throw new WorkstationError('INTERNAL', 'This source image cannot be read: the image store is not available to the sender.', { details: { step: 'server', httpStatus: null, transient: false } });
        try {
          content = readBlob(stored.blob_hash);
        } catch (err) {
          throw new WorkstationError('UNAVAILABLE', 'The source image is no longer in the workstation (its file is missing or damaged); it cannot be sent.', { cause: err, details: { step: 'server', httpStatus: null, transient: false } });
        }
      }
      const { status, response } = await client.stow([content]);
      const verdict = stowAccepted(response, row.sop_instance_uid);
      if (status === 409 || verdict !== 'ok') {
        // 409, or an answer that does not name the instance: the server's index decides.
        if (await onServer(client, row)) {
          return finish({ ...base, result: status === 409 ? 'already-there' : 'sent', error: null }, () => markSent(row.id));
        }
        const reason = (response?.['00081198']?.Value as DicomJson[] | undefined)?.map((f) => tagString(f, '00081197')).find(Boolean);
        throw new WorkstationError('UNAVAILABLE', `The hospital server did not store the object (HTTP ${status}${reason ? `, failure reason ${reason}` : ''}).`, {
          details: { step: 'server', httpStatus: status, transient: status >= 500 || status === 409 },
        });
      }
      return finish({ ...base, result: 'sent', error: null }, () => markSent(row.id));
    } catch (err) {
      const d = syncErrorDetails(err);
      const message = err instanceof WorkstationError ? err.message : `Sending failed: ${(err as Error).message}`;
      const transient = d ? d.transient || d.step === 'auth' : true;
      const current = get(row.id);
      if (current.state === 'cancelled') return finish({ ...base, result: 'failed', error: message }, () => setState(row.id, { last_error: message }));
      if (transient) {
        const delay = backoffDelay(row.attempts + 1, backoff);
        return finish({ ...base, result: 'retry', error: message }, () => setState(row.id, { state: 'queued', last_error: message, next_attempt_at: new Date(Date.now() + delay).toISOString() }));
      }
      return finish({ ...base, result: 'failed', error: message }, () => setState(row.id, { state: 'failed', last_error: message, next_attempt_at: null }));
    }
  };

  const markSent = (id: number): void => {
    // Sent wins over a cancel that raced with the send: the server has it.
    setState(id, { state: 'sent', sent_at: new Date().toISOString(), last_error: null, next_attempt_at: null });
  };

  return {
    get,
    list({ states, limit }) {
      const where = states?.length ? `WHERE state IN (${states.map(() => '?').join(',')})` : '';
      const args = states ?? [];
      const total = (db().prepare(`SELECT count(*) AS n FROM sync_outbox ${where}`).get(...args) as { n: number }).n;
      const rows = db().prepare(`SELECT ${COLS} FROM sync_outbox ${where} ORDER BY id DESC LIMIT ?`).all(...args, limit) as Row[];
      return { items: rows.map(toItem), total };
    },
    counts() {
      const rows = db().prepare('SELECT state, count(*) AS n FROM sync_outbox GROUP BY state').all() as { state: OutboxState; n: number }[];
      const n = (s: OutboxState): number => rows.find((r) => r.state === s)?.n ?? 0;
      return { waiting: n('queued') + n('sending'), failed: n('failed'), sent: n('sent') };
    },
    enqueue(entry) {
      const conn = db();
      return conn.inTransaction ? enqueueOutbox(conn, entry) : conn.transaction(() => enqueueOutbox(conn, entry)).immediate();
    },
    retry(id) {
      const item = get(id);
      if (item.state === 'sent') throw new WorkstationError('CONFLICT', `Outbox item ${id} was already sent; it is not sent again.`);
      if (item.state === 'sending') return item;
      setState(id, { state: 'queued', next_attempt_at: null });
      return get(id);
    },
    cancel(id) {
      const item = get(id);
      if (item.state === 'sent') throw new WorkstationError('CONFLICT', `Outbox item ${id} was already sent and cannot be cancelled.`);
      setState(id, { state: 'cancelled', next_attempt_at: null });
      return get(id);
    },
    async pushDue(client, options = {}) {
      const now = new Date().toISOString();
      const rows = db()
        .prepare(`SELECT ${COLS} FROM sync_outbox WHERE state IN ('queued', 'sending') AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id`)
        .all(now) as Row[];
      const outcomes: PushOutcome[] = [];
      let next = 0;
      let stopAll = false;
      let claimed: Row[] = [];
      // Rows are claimed (state 'sending', one more attempt) a chunk per transaction: one commit
      // for many items, and a crash after the claim leaves them marked as possibly sent.
      const claimStmt = db().prepare(`UPDATE sync_outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND state IN ('queued', 'sending')`);
      const claim = (): Row | undefined => {
        while (!claimed.length && next < rows.length) {
          const chunk = rows.slice(next, next + CLAIM_CHUNK);
          next += chunk.length;
          const at = new Date().toISOString();
          db().transaction(() => {
            for (const r of chunk) if (claimStmt.run(at, r.id).changes) claimed.push(r);
          })();
        }
        return claimed.shift();
      };
      // Outcomes are group-committed: each item's new state and its audit row are written in the
      // same transaction, a few items per commit. A crash before the commit leaves an item in
      // 'sending', which the next round checks on the server before sending anything again.
      let pendingWrites: { o: PushOutcome; write: () => void }[] = [];
      let flushTimer: NodeJS.Timeout | null = null;
      const flush = (): void => {
        if (flushTimer) clearTimeout(flushTimer);
        flushTimer = null;
        if (!pendingWrites.length) return;
        const batch = pendingWrites;
        pendingWrites = [];
        db().transaction(() => {
          for (const p of batch) {
            p.write();
            options.onOutcome?.(p.o);
          }
        })();
      };
      const commit = (o: PushOutcome, write: () => void): void => {
        pendingWrites.push({ o, write });
        if (pendingWrites.length >= GROUP_COMMIT) flush();
        else flushTimer ??= setTimeout(flush, 25);
      };
      const worker = async (): Promise<void> => {
        for (let row = claim(); row && !stopAll; row = stopAll ? undefined : claim()) {
          const o = await sendOne(client, row, commit);
          outcomes.push(o);
          // A server that is down or refuses our credentials fails every item the same way:
          // stop this round instead of burning an attempt on each.
          if (o.result === 'retry' && !stopAll) {
            stopAll = true;
            flush();
            const wait = get(o.id).nextAttemptAt;
            const unclaimed = rows.slice(next).map((r) => r.id);
            const untried = claimed.map((r) => r.id);
            claimed = [];
            db().transaction(() => {
              const later = db().prepare(`UPDATE sync_outbox SET next_attempt_at = ? WHERE id = ? AND state = 'queued'`);
              for (const id of unclaimed) later.run(wait, id);
              const unclaim = db().prepare(`UPDATE sync_outbox SET state = 'queued', attempts = attempts - 1, next_attempt_at = ? WHERE id = ? AND state = 'sending'`);
              for (const id of untried) unclaim.run(wait, id);
            })();
          }
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
      } finally {
        flush();
      }
      return outcomes;
    },
    nextDueAt() {
      const r = db().prepare(`SELECT min(coalesce(next_attempt_at, '')) AS t FROM sync_outbox WHERE state IN ('queued', 'sending')`).get() as { t: string | null };
      if (r.t === null) return null;
      return r.t === '' ? new Date().toISOString() : r.t;
    },
  };
}
