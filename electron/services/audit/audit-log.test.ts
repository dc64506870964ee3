// The audit hash chain on a real encrypted database: appends chain, UPDATE/DELETE are refused by
// triggers, and a row changed, deleted or reordered behind the triggers' back is named by
// verify, in the service and through `tumorpredict audit verify`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../store';
import { appRoot } from '../config';
import { createAuditLog, GENESIS_HASH, type AuditLog } from './audit-log';

const PASS = 'audit test passphrase';
let dir: string;
let store: Store;
let audit: AuditLog;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-audit-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
  audit = createAuditLog(() => store.db(), () => store.auditKey());
  for (let i = 1; i <= 10; i++) audit.append({ actorId: 'u1', actor: 'alice', action: i % 2 ? 'auth.login' : 'study.view', objectType: 'user', objectId: `o${i}`, outcome: i === 3 ? 'failure' : 'success', detail: { n: i } });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The attacker's view: someone with the key who drops the triggers and edits rows by hand. */
function tamper(sql: string, ...args: unknown[]): void {
  const db = store.db();
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
  db.prepare(sql).run(...args);
}

function cliVerify(): { status: number | null; stdout: string; stderr: string } {
  store.close();
  const r = spawnSync(process.execPath, [path.join(appRoot(), 'bin/tumorpredict.js'), 'audit', 'verify', '--data', dir], {
    env: { ...process.env, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: PASS },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('audit log', () => {
  it('chains rows from the genesis hash and verifies', () => {
    const rows = store.db().prepare('SELECT id, prev_hash, hash FROM audit_log ORDER BY id').all() as { id: number; prev_hash: string; hash: string }[];
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect(audit.verify()).toEqual({ ok: true, checked: 10, firstBrokenId: null, reason: null });
  });

  it('refuses UPDATE and DELETE on the table itself', () => {
    expect(() => store.db().prepare(`UPDATE audit_log SET actor = 'mallory' WHERE id = 2`).run()).toThrow(/append-only/);
    expect(() => store.db().prepare('DELETE FROM audit_log WHERE id = 2').run()).toThrow(/append-only/);
  });

  it('finds a changed row', () => {
    tamper(`UPDATE audit_log SET outcome = 'success' WHERE id = 3`);
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenId: 3, reason: expect.stringMatching(/changed/) });
  });

  it('finds a deleted row, at the row after it', () => {
    tamper('DELETE FROM audit_log WHERE id = 5');
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenId: 6 });
  });

  it('finds a deleted tail through the chain head', () => {
    tamper('DELETE FROM audit_log WHERE id >= 9');
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenId: 9, reason: expect.stringMatching(/last rows were deleted/) });
  });

  it('finds reordered rows (two rows swapped with their hashes)', () => {
    const db = store.db();
    const r4 = db.prepare('SELECT * FROM audit_log WHERE id = 4').get() as Record<string, unknown>;
    const r5 = db.prepare('SELECT * FROM audit_log WHERE id = 5').get() as Record<string, unknown>;
    tamper('DELETE FROM audit_log WHERE id IN (4, 5)');
    const ins = db.prepare('INSERT INTO audit_log (id, at, actor_id, actor, action, object_type, object_id, outcome, detail, prev_hash, hash) VALUES (@id, @at, @actor_id, @actor, @action, @object_type, @object_id, @outcome, @detail, @prev_hash, @hash)');
    ins.run({ ...r5, id: 4 });
    ins.run({ ...r4, id: 5 });
    db.prepare('UPDATE audit_head SET last_id = 10, last_hash = (SELECT hash FROM audit_log WHERE id = 10)').run();
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenId: 4 });
  });

  it('`tumorpredict audit verify` exits 0 on an intact log and 1 naming the first broken row', () => {
    const r = cliVerify();
    expect(r.stdout + r.stderr).toMatch(/intact: 10 rows/);
    expect(r.status).toBe(0);
  });

  it('`tumorpredict audit verify` names a changed row', () => {
    tamper(`UPDATE audit_log SET actor = 'mallory' WHERE id = 7`);
    const r = cliVerify();
    expect(r.stdout).toMatch(/BROKEN at row 7/);
    expect(r.status).toBe(1);
  });

  it('filters, pages and exports CSV (formula cells neutralised)', () => {
    expect(audit.list({ action: 'auth' }, { limit: 100, offset: 0 }).total).toBe(5);
    expect(audit.list({ outcome: 'failure' }, { limit: 100, offset: 0 }).rows.map((r) => r.id)).toEqual([3]);
    const page = audit.list({}, { limit: 3, offset: 3 });
    expect(page.total).toBe(10);
    expect(page.rows.map((r) => r.id)).toEqual([7, 6, 5]);
    audit.append({ actorId: null, actor: '=cmd|calc', action: 'x', outcome: 'success' });
    const csv = audit.exportCsv({ actor: '=cmd|calc' });
    expect(csv.rows).toBe(1);
    expect(csv.csv.split('\r\n')[1]).toContain(`"'=cmd|calc"`);
  });
});
