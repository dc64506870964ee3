// The hash-chained, append-only audit log: appending a row, walking the chain to find the first
// broken row, filtered listing and CSV export. Rows name objects by id, never patient data.
import crypto from 'node:crypto';
import type { Db } from '../store';

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
  verify(): VerifyResult;
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

/** CSV cell: quoted, and a leading = + - @ neutralised so a spreadsheet never runs it as a formula. */
function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return '"' + s.replace(/"/g, '""') + '"';
}

export function createAuditLog(db: () => Db): AuditLog {
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
        const hash = rowHash(base);
        conn
          .prepare('INSERT INTO audit_log (id, at, actor_id, actor, action, object_type, object_id, outcome, detail, prev_hash, hash) VALUES (@id, @at, @actor_id, @actor, @action, @object_type, @object_id, @outcome, @detail, @prev_hash, @hash)')
          .run({ ...base, hash });
        return toRow({ ...base, hash });
      });
      return conn.inTransaction ? tx() : tx.immediate();
    },
    verify() {
      const conn = db();
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
        if (rowHash(rest) !== hash) {
          return { ok: false, checked, firstBrokenId: r.id, reason: `row ${r.id} was changed after it was written (its hash does not match its fields)` };
        }
        prevHash = hash;
        prevId = r.id;
      }
      const head = conn.prepare('SELECT last_id, last_hash FROM audit_head WHERE one = 1').get() as { last_id: number; last_hash: string } | undefined;
      if (!head || head.last_id !== prevId || head.last_hash !== prevHash) {
        return { ok: false, checked, firstBrokenId: prevId + 1, reason: `the log ends at row ${prevId}, but row ${head?.last_id ?? '?'} was written: the last rows were deleted` };
      }
      return { ok: true, checked, firstBrokenId: null, reason: null };
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
      const lines = ['id,at,actor,actor_id,action,object_type,object_id,outcome,detail,prev_hash,hash'];
      let n = 0;
      for (const r of conn.prepare(`SELECT * FROM audit_log ${w.sql} ORDER BY id`).iterate(...w.args) as IterableIterator<RawRow>) {
        lines.push([r.id, r.at, r.actor, r.actor_id, r.action, r.object_type, r.object_id, r.outcome, r.detail, r.prev_hash, r.hash].map(csvCell).join(','));
        n++;
      }
      return { csv: lines.join('\r\n') + '\r\n', rows: n };
    },
  };
}
