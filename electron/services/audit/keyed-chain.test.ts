// The audit chain against someone who holds the database key (issue 12, finding 7): rows are
// MAC'd under an audit key kept apart from the database key, so dropping the triggers and
// recomputing the chain fails verify; and a signed checkpoint kept outside the database finds a
// history rewritten after it even by someone who holds the audit key too.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../store';
import { AUDIT_KEY_FILE } from '../store/audit-key';
import { appRoot } from '../config';
import { createAuditLog, rowHash, rowMac, type AuditLog } from './audit-log';
import { createCheckpointSchedule } from './checkpoint-schedule';
import { parseCheckpoint } from './checkpoint';

const PASS = 'keyed audit test passphrase';
let dir: string;
let store: Store;
let audit: AuditLog;

interface Raw {
  id: number;
  at: string;
  actor_id: string | null;
  actor: string;
  action: string;
  object_type: string | null;
  object_id: string | null;
  outcome: 'success' | 'failure' | 'refused';
  detail: string | null;
  prev_hash: string;
  hash: string;
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-audit-keyed-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
  audit = createAuditLog(() => store.db(), () => store.auditKey());
  for (let i = 1; i <= 8; i++) audit.append({ actorId: 'u1', actor: 'alice', action: 'study.view', objectId: `o${i}`, outcome: i === 3 ? 'failure' : 'success' });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * The attacker: holds the database (and its key), drops the triggers, changes row 3, and
 * recomputes every hash after it with `hashOf`, keeping the head in step.
 */
function rewrite(hashOf: (r: Omit<Raw, 'hash'>) => string, change: (r: Raw) => Raw = (r) => (r.id === 3 ? { ...r, outcome: 'success' } : r)): void {
  const db = store.db();
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_head;');
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Raw[];
  let prev = rows[0]!.prev_hash;
  const upd = db.prepare('UPDATE audit_log SET outcome = ?, prev_hash = ?, hash = ? WHERE id = ?');
  for (const original of rows) {
    const r = change({ ...original, prev_hash: prev });
    const { hash: _old, ...rest } = r;
    const hash = hashOf(rest);
    upd.run(r.outcome, r.prev_hash, hash, r.id);
    prev = hash;
  }
  db.prepare('UPDATE audit_head SET last_id = ?, last_hash = ? WHERE one = 1').run(rows.at(-1)!.id, prev);
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  store.close();
  const r = spawnSync(process.execPath, [path.join(appRoot(), 'bin/tumorpredict.js'), ...args, '--data', dir], {
    env: { ...process.env, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: PASS },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the keyed audit chain', () => {
  it('dropping the triggers and recomputing the chain with the published row hash does not pass verify', () => {
    expect(audit.verify().ok).toBe(true);
    rewrite(rowHash);
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenId: 1, reason: expect.stringMatching(/plain hash where the keyed chain .* requires a MAC/) });
  });

  it('nor does recomputing it with a MAC under the database key', () => {
    const dbKey = Buffer.from(store.key());
    rewrite((r) => rowMac(dbKey, r));
    expect(audit.verify()).toMatchObject({ ok: false, firstBrokenId: 1, reason: expect.stringMatching(/was changed after it was written/) });
  });

  it('keeps the audit key apart from the database key: its own salt, its own record', () => {
    const state = store.auditKey();
    expect(state.problem).toBeNull();
    expect(state.key!.equals(store.key())).toBe(false);
    const record = JSON.parse(fs.readFileSync(path.join(dir, AUDIT_KEY_FILE), 'utf8')) as { kdf: { salt: string }; keyedFrom: number };
    const params = JSON.parse(fs.readFileSync(path.join(dir, 'key-params.json'), 'utf8')) as { kdf: { salt: string } };
    expect(record.kdf.salt).not.toBe(params.kdf.salt);
    expect(record.keyedFrom).toBe(1);
    expect(JSON.stringify(record)).not.toContain(state.key!.toString('hex'));
  });

  it('moving the start of the keyed chain in audit-key.json is found', async () => {
    const file = path.join(dir, AUDIT_KEY_FILE);
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { keyedFrom: number };
    fs.writeFileSync(file, JSON.stringify({ ...record, keyedFrom: 100 }));
    store.close();
    store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
    audit = createAuditLog(() => store.db(), () => store.auditKey());
    expect(audit.verify()).toMatchObject({ ok: false, reason: expect.stringMatching(/audit-key\.json was changed/) });
  });

  it('rows written before the audit key existed keep their sha256 chain, anchored by the first MAC\'d row', async () => {
    // A database from before this change: its rows are plain sha256.
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-audit-legacy-'));
    store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
    fs.rmSync(path.join(dir, AUDIT_KEY_FILE));
    const legacy = createAuditLog(() => store.db());
    for (let i = 0; i < 4; i++) legacy.append({ actorId: null, actor: 'old', action: 'x', outcome: 'success' });
    store.close();
    store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
    audit = createAuditLog(() => store.db(), () => store.auditKey());
    expect(store.auditKey().keyedFrom).toBe(5);
    audit.append({ actorId: null, actor: 'new', action: 'y', outcome: 'success' });
    expect(audit.verify()).toMatchObject({ ok: true, checked: 5 });
    // Rewriting a legacy row and its plain successors cannot fix the MAC'd row after them.
    rewrite(rowHash, (r) => (r.id === 2 ? { ...r, outcome: 'failure' } : r));
    expect(audit.verify()).toMatchObject({ ok: false });
  });
});

describe('signed checkpoints', () => {
  it('audit checkpoint FILE, then a history rewritten with the audit key itself is found by verify --checkpoint', async () => {
    const cpFile = path.join(os.tmpdir(), `tp-cp-${crypto.randomBytes(4).toString('hex')}.json`);
    try {
      const made = cli('audit', 'checkpoint', cpFile);
      expect(made.status, made.stderr).toBe(0);
      expect(made.stdout).toMatch(/Checkpoint of \d+ rows \(head row \d+\) written/);
      const cp = parseCheckpoint(fs.readFileSync(cpFile, 'utf8'));
      expect(cp).toMatchObject({ format: 'tumorpredict-audit-checkpoint/1', lastId: 8, rows: 8 });
      expect(cli('audit', 'verify', '--checkpoint', cpFile)).toMatchObject({ status: 0, stdout: expect.stringMatching(/intact/) });
      // Total compromise: the attacker has the audit key too and rewrites row 3 with valid MACs.
      store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: PASS });
      const key = store.auditKey().key!;
      rewrite((r) => rowMac(key, r));
      expect(cli('audit', 'verify').status).toBe(0); // the chain alone cannot tell
      const against = cli('audit', 'verify', '--checkpoint', cpFile);
      expect(against.status).toBe(1);
      expect(against.stdout).toMatch(/BROKEN at row 8: row 8 is not the row the checkpoint .* recorded: the history up to it was rewritten/);
    } finally {
      fs.rmSync(cpFile, { force: true });
    }
  }, 300_000);

  it('a checkpoint edited after signing, or deleted rows after it, are refused', () => {
    const cp = audit.checkpoint();
    expect(audit.verify({ checkpoint: cp }).ok).toBe(true);
    expect(audit.verify({ checkpoint: { ...cp, lastId: 5, headHash: (store.db().prepare('SELECT hash FROM audit_log WHERE id = 5').get() as { hash: string }).hash } })).toMatchObject({ ok: false, reason: expect.stringMatching(/changed after it was signed/) });
    expect(audit.verify({ checkpoint: { ...cp, publicKey: Buffer.alloc(32, 1).toString('base64') } })).toMatchObject({ ok: false, reason: expect.stringMatching(/signed by another key/) });
    // The tail cut back to row 6, head kept in step: the chain alone is a valid shorter chain.
    const db = store.db();
    db.exec('DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_head;');
    db.prepare('DELETE FROM audit_log WHERE id > 6').run();
    const h = db.prepare('SELECT hash FROM audit_log WHERE id = 6').get() as { hash: string };
    db.prepare('UPDATE audit_head SET last_id = 6, last_hash = ? WHERE one = 1').run(h.hash);
    expect(audit.verify().ok).toBe(true);
    expect(audit.verify({ checkpoint: cp })).toMatchObject({ ok: false, reason: expect.stringMatching(/rows were deleted after it/) });
  });

  it('writes the daily checkpoint once a day into the folder an admin chose, each one an audit row', () => {
    const folder = path.join(dir, '..', `${path.basename(dir)}-checkpoints`);
    let clock = Date.parse('2026-06-01T09:00:00Z');
    let chosen: string | null = null;
    const schedule = createCheckpointSchedule({ audit, ready: () => true, folder: () => chosen, now: () => clock });
    try {
      expect(schedule.runDue()).toBeNull(); // no folder chosen: nothing
      chosen = folder;
      const first = schedule.runDue();
      expect(first).toBe(path.join(folder, 'audit-checkpoint-2026-06-01.json'));
      expect(fs.statSync(first!).mode & 0o777).toBe(0o600);
      clock += 3 * 3_600_000;
      expect(schedule.runDue()).toBeNull(); // same day
      clock += 24 * 3_600_000;
      expect(schedule.runDue()).toBe(path.join(folder, 'audit-checkpoint-2026-06-02.json'));
      expect(audit.verify({ checkpoint: parseCheckpoint(fs.readFileSync(first!, 'utf8')) }).ok).toBe(true);
      const rows = store.db().prepare(`SELECT outcome FROM audit_log WHERE action = 'audit.checkpoint'`).all();
      expect(rows).toEqual([{ outcome: 'success' }, { outcome: 'success' }]);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
