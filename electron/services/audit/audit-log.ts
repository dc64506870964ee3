// The MAC-chained, append-only audit log: appending a row, walking the chain to find the first
// broken row (against a signed checkpoint too), filtered listing and CSV export. Each row carries
// an HMAC under the audit key, which is kept apart from the database key, so dropping the triggers
// and recomputing the chain needs a key the database does not hold. Rows written before the key
// existed keep their plain sha256 chain, anchored by the first MAC'd row after them.
// Rows name objects by id, never patient data.
import crypto from 'node:crypto';
import { WorkstationError } from '../../contract';
import type { AuditKeyState, Db } from '../store';
import { csvDocument } from '../csv';
import { checkCheckpointSignature, signCheckpoint, type AuditCheckpoint } from './checkpoint';

export const GENESIS_HASH = '0'.repeat(64);
export type AuditOutcome = 'success' | 'failure' | 'refused';

export interface AuditEntry {
  actorId: string | null;
  /** Username, `cli:<os user>`, or `anonymous`. */
  actor: string;
  action: string;
  objectType?: string | null;
  objectId?: string | null;
  outcome: AuditOutcome;
  /** Small, non-identifying facts (error code, role names); never patient data or secrets. */
  detail?: Record<string, string | number | boolean | null> | null;
}

export interface AuditRow {
  id: number;
  at: string;
  actorId: string | null;
  actor: string;
  action: string;
  objectType: string | null;
  objectId: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  prevHash: string;
  hash: string;
}

interface RawRow {
  id: number;
  at: string;
  actor_id: string | null;
  actor: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  outcome: AuditOutcome;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

const toRow = (r: RawRow): AuditRow => ({
  id: r.id,
  at: r.at,
  actorId: r.actor_id,
  actor: r.actor,
  action: r.action,
  objectType: r.object_type,
  objectId: r.object_id,
  outcome: r.outcome,
  detail: r.detail,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/**
 * The hash of a row: sha256 over a JSON array of every field in a fixed order, the row id and the
 * previous row's hash included, so changing, deleting or reordering rows breaks the chain.
 */
export function rowHash(r: Omit<RawRow, 'hash'>): string {
  const canonical = JSON.stringify([1, r.id, r.at, r.actor_id, r.actor, r.action, r.object_type, r.object_id, r.outcome, r.detail, r.prev_hash]);
  return crypto.createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** A keyed row's hash: "h2:" and the HMAC-SHA256 under the audit key of the same fields. */
export const KEYED_PREFIX = 'h2:';
export function rowMac(key: Buffer, r: Omit<RawRow, 'hash'>): string {
  const canonical = JSON.stringify([2, r.id, r.at, r.actor_id, r.actor, r.action, r.object_type, r.object_id, r.outcome, r.detail, r.prev_hash]);
  return KEYED_PREFIX + crypto.createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first row that does not fit the chain (null when ok, or when only the tail is missing). */
  firstBrokenId: number | null;
  reason: string | null;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  objectId?: string | undefined;
  outcome?: AuditOutcome | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export interface AuditLog {
  append(entry: AuditEntry): AuditRow;
  /** Walks the chain; with a checkpoint, also finds a history rewritten after it was made. */
  verify(options?: { checkpoint?: AuditCheckpoint }): VerifyResult;
  /** The chain's head, signed (needs the audit key). */
  checkpoint(): AuditCheckpoint;
  list(filter: AuditFilter, page: { limit: number; offset: number }): { rows: AuditRow[]; total: number };
  exportCsv(filter: AuditFilter): { csv: string; rows: number };
}

function where(filter: AuditFilter): { sql: string; args: unknown[] } {
  const parts: string[] = [];
  const args: unknown[] = [];
  if (filter.actor) { parts.push('actor = ?'); args.push(filter.actor); }
  if (filter.action) { parts.push('(action = ? OR action LIKE ? ESCAPE \'\\\')'); args.push(filter.action, filter.action.replace(/[\\%_]/g, (c) => '\\' + c) + '.%'); }
  if (filter.objectId) { parts.push('object_id = ?'); args.push(filter.objectId); }
  if (filter.outcome) { parts.push('outcome = ?'); args.push(filter.outcome); }
  if (filter.from) { parts.push('at >= ?'); args.push(filter.from); }
  if (filter.to) { parts.push('at <= ?'); args.push(filter.to); }
  return { sql: parts.length ? 'WHERE ' + parts.join(' AND ') : '', args };
}

/**
 * keyOf: the audit key from the store (the composition root passes store.auditKey). Without one
 * (some tests), rows get the plain sha256 chain and verify can check only such rows.
 */
export function createAuditLog(db: () => Db, keyOf?: () => AuditKeyState): AuditLog {
  const keyState = (): AuditKeyState | null => (keyOf ? keyOf() : null);
  const head = (conn: Db): { last_id: number; last_hash: string } | undefined => conn.prepare('SELECT last_id, last_hash FROM audit_head WHERE one = 1').get() as { last_id: number; last_hash: string } | undefined;
  return {
    append(entry) {
      const conn = db();
      // IMMEDIATE: the head is read and the row written under one write lock, so a CLI command
      // and the running app appending at once still form one chain.
      const tx = conn.transaction((): AuditRow => {
        const head = conn.prepare('SELECT last_id, last_hash FROM audit_head WHERE one = 1').get() as { last_id: number; last_hash: string };
        const seq = conn.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'`).get() as { seq: number } | undefined;
        const id = Math.max(head.last_id, seq?.seq ?? 0) + 1;
        const base = {
          id,
          at: new Date().toISOString(),
          actor_id: entry.actorId,
          actor: entry.actor,
          action: entry.action,
          object_type: entry.objectType ?? null,
          object_id: entry.objectId ?? null,
          outcome: entry.outcome,
          detail: entry.detail ? JSON.stringify(entry.detail) : null,
          prev_hash: head.last_hash,
        };
        const key = keyState()?.key ?? null;
        const hash = key ? rowMac(key, base) : rowHash(base);
        conn
          .prepare('INSERT INTO audit_log (id, at, actor_id, actor, action, object_type, object_id, outcome, detail, prev_hash, hash) VALUES (@id, @at, @actor_id, @actor, @action, @object_type, @object_id, @outcome, @detail, @prev_hash, @hash)')
          .run({ ...base, hash });
        return toRow({ ...base, hash });
      });
      return conn.inTransaction ? tx() : tx.immediate();
    },
    verify(options = {}) {
      const conn = db();
      const state = keyState();
      const cp = options.checkpoint;
      if (state?.problem) return { ok: false, checked: 0, firstBrokenId: null, reason: `the audit key cannot be trusted: ${state.problem}` };
      if (cp) {
        if (!state?.key) return { ok: false, checked: 0, firstBrokenId: null, reason: 'the checkpoint cannot be checked without this workstation\'s audit key' };
        const bad = checkCheckpointSignature(state.key, cp);
        if (bad) return { ok: false, checked: 0, firstBrokenId: null, reason: `checkpoint refused: ${bad}` };
      }
      const keyedFrom = state?.keyedFrom ?? null;
      let prevHash = GENESIS_HASH;
      let prevId = 0;
      let checked = 0;
      for (const r of conn.prepare('SELECT * FROM audit_log ORDER BY id').iterate() as IterableIterator<RawRow>) {
        checked++;
        if (r.id !== prevId + 1) {
          return { ok: false, checked, firstBrokenId: r.id, reason: `row ${r.id} follows row ${prevId}: ${r.id - prevId - 1} row(s) before it are missing` };
        }
        if (r.prev_hash !== prevHash) {
          return { ok: false, checked, firstBrokenId: r.id, reason: `row ${r.id} does not carry the hash of row ${prevId} (rows were deleted, inserted or reordered)` };
        }
        const { hash, ...rest } = r;
        const keyed = hash.startsWith(KEYED_PREFIX);
        if (keyedFrom !== null && keyed !== r.id >= keyedFrom) {
          return {
            ok: false,
            checked,
            firstBrokenId: r.id,
            reason: keyed
              ? `row ${r.id} carries a MAC, but the keyed chain starts at row ${keyedFrom}`
              : `row ${r.id} has a plain hash where the keyed chain (from row ${keyedFrom}) requires a MAC: it was rewritten without the audit key`,
          };
        }
        if (keyed && !state?.key) return { ok: false, checked, firstBrokenId: r.id, reason: `row ${r.id} carries a MAC that cannot be checked without the audit key` };
        if ((keyed ? rowMac(state!.key!, rest) : rowHash(rest)) !== hash) {
          return { ok: false, checked, firstBrokenId: r.id, reason: `row ${r.id} was changed after it was written (its ${keyed ? 'MAC' : 'hash'} does not match its fields)` };
        }
        if (cp && r.id === cp.lastId && hash !== cp.headHash) {
          return { ok: false, checked, firstBrokenId: r.id, reason: `row ${r.id} is not the row the checkpoint of ${cp.at} recorded: the history up to it was rewritten after the checkpoint` };
        }
        prevHash = hash;
        prevId = r.id;
      }
      const h = head(conn);
      if (!h || h.last_id !== prevId || h.last_hash !== prevHash) {
        return { ok: false, checked, firstBrokenId: prevId + 1, reason: `the log ends at row ${prevId}, but row ${h?.last_id ?? '?'} was written: the last rows were deleted` };
      }
      if (cp && (prevId < cp.lastId || checked < cp.rows)) {
        return { ok: false, checked, firstBrokenId: prevId + 1, reason: `the log ends at row ${prevId}, but the checkpoint of ${cp.at} recorded ${cp.rows} rows up to row ${cp.lastId}: rows were deleted after it` };
      }
      return { ok: true, checked, firstBrokenId: null, reason: null };
    },
    checkpoint() {
      const state = keyState();
      const key = state?.key ?? null;
      const keyedFrom = state?.keyedFrom ?? null;
      if (!key || keyedFrom === null || state?.problem) throw new WorkstationError('UNAVAILABLE', `A checkpoint needs the audit key${state?.problem ? `, which cannot be trusted: ${state.problem}` : ''}.`);
      const conn = db();
      // One read transaction: the head and the count are of the same moment.
      return conn.transaction(() => {
        const h = head(conn)!;
        const rows = (conn.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
        return signCheckpoint(key, { lastId: h.last_id, headHash: h.last_hash, rows, keyedFrom, at: new Date().toISOString() });
      })();
    },
    list(filter, page) {
      const conn = db();
      const w = where(filter);
      const total = (conn.prepare(`SELECT count(*) AS n FROM audit_log ${w.sql}`).get(...w.args) as { n: number }).n;
      const rows = (conn.prepare(`SELECT * FROM audit_log ${w.sql} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...w.args, page.limit, page.offset) as RawRow[]).map(toRow);
      return { rows, total };
    },
    exportCsv(filter) {
      const conn = db();
      const w = where(filter);
      const rows: (string | number | null)[][] = [];
      for (const r of conn.prepare(`SELECT * FROM audit_log ${w.sql} ORDER BY id`).iterate(...w.args) as IterableIterator<RawRow>) {
        rows.push([r.id, r.at, r.actor, r.actor_id, r.action, r.object_type, r.object_id, r.outcome, r.detail, r.prev_hash, r.hash]);
      }
      return { csv: csvDocument(['id', 'at', 'actor', 'actor_id', 'action', 'object_type', 'object_id', 'outcome', 'detail', 'prev_hash', 'hash'], rows, { quoteAll: true }), rows: rows.length };
    },
  };
}
