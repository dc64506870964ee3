// Migration 0009 (messages) on a real SQLCipher database left at schema 8 with rows in it: it
// applies, the table is STRICT with its checks and foreign keys, and the inbox indexes exist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkIntegrity, createStore, defaultMigrationsDir, loadMigrations, type Store } from '../store';

const PASS = 'a long test passphrase for 0009';
const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function open(dataFolder: string, migrationsDir?: string): Promise<Store> {
  const s = await createStore({ dataFolder, keySource: 'passphrase', passphrase: PASS, ...(migrationsDir ? { migrationsDir } : {}) });
  stores.push(s);
  return s;
}

describe('0009_messages', () => {
  it('applies on a version-8 database with patients, users and reports in it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-msg-mig-'));
    dirs.push(dir);
    const migDir = path.join(dir, 'migs');
    fs.mkdirSync(migDir);
    for (const f of fs.readdirSync(defaultMigrationsDir()).filter((f) => /^000[1-8]_/.test(f))) fs.copyFileSync(path.join(defaultMigrationsDir(), f), path.join(migDir, f));
    const data = path.join(dir, 'data');
    const old = await open(data, migDir);
    expect(old.status().schemaVersion).toBe(8);
    old.db().exec(`
      INSERT INTO patients (id, display_name, created_at) VALUES ('p1', 'x', 'now');
      INSERT INTO users (id, username, display_name, role, patient_id, created_at, updated_at) VALUES ('u1', 'pat', 'Pat', 'patient', 'p1', 'now', 'now');
      INSERT INTO users (id, username, display_name, role, created_at, updated_at) VALUES ('u2', 'rad', 'Dr R', 'radiologist', 'now', 'now');
      INSERT INTO studies (id, patient_id, study_instance_uid, imported_at, updated_at) VALUES ('st1', 'p1', '1.2.3', 'now', 'now');
    `);
    old.close();

    const s = await open(data);
    const known = loadMigrations(defaultMigrationsDir()).length;
    expect(known).toBeGreaterThanOrEqual(9);
    expect(s.status()).toMatchObject({ schemaVersion: known, problem: null });
    const db = s.db();
    const table = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'`).get() as { sql: string };
    expect(table.sql).toMatch(/\)\s*STRICT\s*$/);
    const indexes = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name).sort();
    expect(indexes).toEqual(['messages_thread', 'messages_unread']);

    const insert = db.prepare(`INSERT INTO messages (id, patient_id, sender_user_id, sender_role, body, report_id, created_at) VALUES (?, ?, ?, ?, ?, ?, 'now')`);
    insert.run('m1', 'p1', 'u1', 'patient', 'hello', null);
    insert.run('m2', 'p1', 'u2', 'radiologist', 'hello back', null);
    expect(db.prepare('SELECT id, read_at FROM messages ORDER BY id').all()).toEqual([{ id: 'm1', read_at: null }, { id: 'm2', read_at: null }]);
    // The schema refuses what the service never writes.
    expect(() => insert.run('m3', 'p1', 'u1', 'admin', 'x', null)).toThrow(/CHECK/);
    expect(() => insert.run('m4', 'p1', 'u1', 'patient', '', null)).toThrow(/CHECK/);
    expect(() => insert.run('m5', 'p1', 'u1', 'patient', 'y'.repeat(4001), null)).toThrow(/CHECK/);
    expect(() => insert.run('m6', 'no-such-patient', 'u1', 'patient', 'x', null)).toThrow(/FOREIGN KEY/);
    expect(() => insert.run('m7', 'p1', 'no-such-user', 'patient', 'x', null)).toThrow(/FOREIGN KEY/);
    expect(() => insert.run('m8', 'p1', 'u1', 'patient', 'x', 'no-such-report')).toThrow(/FOREIGN KEY/);
    // A patient record with messages cannot be deleted from under its conversation.
    expect(() => db.prepare(`DELETE FROM patients WHERE id = 'p1'`).run()).toThrow(/FOREIGN KEY/);
    expect(checkIntegrity(db)).toEqual([]);
  });
});
