// The encrypted store with real SQLCipher in passphrase mode: the file is not plain SQLite, wrong
// keys fail clearly without touching the file, migrations are atomic, newer schemas are refused,
// and backup then restore gives the same rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { WorkstationError } from '../../contract';
import { createStore, defaultMigrationsDir, type Store } from './store';
import { SQLITE_PLAIN_HEADER, checkIntegrity, openEncrypted } from './database';
import { restoreDatabase } from './backup';
import { loadMigrations, migrate } from './migrator';

const PASS = 'a long test passphrase';
const KNOWN = loadMigrations(defaultMigrationsDir()).length;
const dirs: string[] = [];
const stores: Store[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-store-'));
  dirs.push(d);
  return d;
}
async function open(dataFolder: string, passphrase: string | null = PASS, extra: Partial<Parameters<typeof createStore>[0]> = {}): Promise<Store> {
  const s = await createStore({ dataFolder, keySource: 'passphrase', passphrase, ...extra });
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('encrypted store', () => {
  it('writes a file that is not readable as plain SQLite and does not hold its data in clear', async () => {
    const dir = tmp();
    const s = await open(dir);
    expect(s.status()).toMatchObject({ unlocked: true, encrypted: true, keySource: 'passphrase', schemaVersion: KNOWN, problem: null });
    s.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('p1', 'MARKER-PLAINTEXT-4711', 'now')`).run();
    s.close();
    const bytes = fs.readFileSync(s.dbPath);
    expect(bytes.subarray(0, 16).equals(SQLITE_PLAIN_HEADER)).toBe(false);
    expect(bytes.includes('MARKER-PLAINTEXT-4711')).toBe(false);
    // Plain SQLite (no key) cannot read it.
    const plain = new Database(s.dbPath);
    expect(() => plain.prepare('SELECT * FROM sqlite_master').all()).toThrow(/not a database/);
    plain.close();
  });

  it('sets WAL, foreign keys and STRICT tables', async () => {
    const s = await open(tmp());
    const db = s.db();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string; sql: string }[];
    expect(tables.length).toBeGreaterThan(5);
    for (const t of tables) expect(t.sql, t.name).toMatch(/\)\s*STRICT\s*$/);
    expect(() => db.prepare(`INSERT INTO users (id, username, display_name, role, patient_id, created_at, updated_at) VALUES ('u', 'x', 'x', 'patient', 'nope', 'n', 'n')`).run()).toThrow(/FOREIGN KEY/);
  });

  it('a wrong passphrase fails clearly and leaves the database untouched (no new empty database)', async () => {
    const dir = tmp();
    const s = await open(dir);
    s.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('p1', 'x', 'now')`).run();
    s.close();
    const before = sha(s.dbPath);
    const wrong = await open(dir, 'not the right passphrase');
    expect(wrong.isOpen()).toBe(false);
    expect(wrong.status().problem).toMatch(/passphrase does not open the database/);
    expect(() => wrong.db()).toThrow(WorkstationError);
    await expect(wrong.usePassphrase('still not the passphrase')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(sha(s.dbPath)).toBe(before);
    // The right one still opens it, with the row.
    await wrong.usePassphrase(PASS);
    expect(wrong.db().prepare('SELECT count(*) AS n FROM patients').get()).toEqual({ n: 1 });
  });

  it('a raw wrong key fails with an UNAVAILABLE error naming the key', () => {
    const dir = tmp();
    const file = path.join(dir, 'x.db');
    const db = openEncrypted(file, crypto.randomBytes(32), { create: true });
    db.exec('CREATE TABLE t (a INTEGER) STRICT');
    db.close();
    expect(() => openEncrypted(file, crypto.randomBytes(32))).toThrow(/key does not open this database/);
  });

  it('without a passphrase it waits (locked, says why) instead of creating or crashing', async () => {
    const dir = tmp();
    const first = await open(dir, null);
    expect(first.status()).toMatchObject({ unlocked: false, needsPassphrase: 'create' });
    expect(fs.existsSync(first.dbPath)).toBe(false);
    await expect(first.usePassphrase('short')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(fs.existsSync(first.dbPath)).toBe(false);
    await first.usePassphrase(PASS);
    first.close();
    const again = await open(dir, null);
    expect(again.status()).toMatchObject({ unlocked: false, needsPassphrase: 'unlock' });
    expect(again.status().problem).toMatch(/locked/);
  });

  it('refuses a database whose key-params.json is missing, and a plain SQLite file', async () => {
    const dir = tmp();
    const s = await open(dir);
    s.close();
    fs.rmSync(path.join(dir, 'key-params.json'));
    const before = sha(s.dbPath);
    const again = await open(dir);
    expect(again.isOpen()).toBe(false);
    expect(again.status().problem).toMatch(/key-params\.json is missing/);
    expect(sha(s.dbPath)).toBe(before);

    const dir2 = tmp();
    const plain = new Database(path.join(dir2, 'workstation.db'));
    plain.exec('CREATE TABLE t (a)');
    plain.close();
    fs.copyFileSync(path.join(dir, 'workstation.db'), path.join(dir2, 'unused'));
    const params = { format: 1, mode: 'passphrase', cipher: 'sqlcipher-v4', kdf: { name: 'scrypt', N: 1024, r: 8, p: 1, keyLength: 32, salt: 'AAAAAAAAAAAAAAAAAAAAAA==' } };
    fs.writeFileSync(path.join(dir2, 'key-params.json'), JSON.stringify(params));
    const p = await open(dir2);
    expect(p.isOpen()).toBe(false);
    expect(p.status().problem).toMatch(/not encrypted/);
  });

  it('refuses a database newer than the app, with a clear message', async () => {
    const dir = tmp();
    const s = await open(dir);
    s.db().prepare(`INSERT INTO schema_version (version, name, checksum, applied_at) VALUES (99, 'future', 'x', 'now')`).run();
    s.close();
    const again = await open(dir);
    expect(again.isOpen()).toBe(false);
    expect(again.status().problem).toMatch(new RegExp(`newer version of TumorPredict Workstation \\(schema 99; this version knows up to ${KNOWN}\\)`));
  });

  it('rolls back a failing migration completely and records nothing', async () => {
    const dir = tmp();
    const migDir = path.join(dir, 'migs');
    fs.mkdirSync(migDir);
    const first = fs.readdirSync(defaultMigrationsDir()).find((f) => f.startsWith('0001_'))!;
    fs.copyFileSync(path.join(defaultMigrationsDir(), first), path.join(migDir, first));
    fs.writeFileSync(path.join(migDir, '0002_broken.sql'), 'CREATE TABLE half_done (a INTEGER) STRICT;\nINSERT INTO half_done VALUES (1);\nTHIS IS NOT SQL;\n');
    const s = await open(path.join(dir, 'data'), PASS, { migrationsDir: migDir });
    expect(s.isOpen()).toBe(false);
    expect(s.status().problem).toMatch(/0002_broken failed and was rolled back/);
    // Only 0001 is recorded, and there is no trace of the half-applied 0002.
    fs.rmSync(path.join(migDir, '0002_broken.sql'));
    const ok = await open(path.join(dir, 'data'), PASS, { migrationsDir: migDir });
    expect(ok.status().schemaVersion).toBe(1);
    expect(ok.db().prepare(`SELECT name FROM sqlite_master WHERE name = 'half_done'`).get()).toBeUndefined();
  });

  it('0007 keys AI results by frame: a version-6 row reads back as frame 0, its series key frame as 0', async () => {
    const dir = tmp();
    const migDir = path.join(dir, 'migs');
    fs.mkdirSync(migDir);
    for (const f of fs.readdirSync(defaultMigrationsDir()).filter((f) => /^000[1-6]_/.test(f))) fs.copyFileSync(path.join(defaultMigrationsDir(), f), path.join(migDir, f));
    const data = path.join(dir, 'data');
    const old = await open(data, PASS, { migrationsDir: migDir });
    expect(old.status().schemaVersion).toBe(6);
    const db = old.db();
    const hash = 'a'.repeat(64);
    db.exec(`
      INSERT INTO patients (id, display_name, created_at) VALUES ('p1', 'x', 'now');
      INSERT INTO studies (id, patient_id, study_instance_uid, imported_at, updated_at) VALUES ('st1', 'p1', '1.2.3', 'now', 'now');
      INSERT INTO series (id, study_id, series_instance_uid, imported_at) VALUES ('se1', 'st1', '1.2.3.4', 'now');
      INSERT INTO blobs (hash, size, created_at) VALUES ('${hash}', 1, 'now');
      INSERT INTO instances (id, series_id, sop_instance_uid, transfer_syntax, rows, columns, frames, samples_per_pixel, bits_allocated, bits_stored, pixel_representation, photometric, content_sha256, size_bytes, imported_at, imported_by)
        VALUES ('i1', 'se1', '1.2.3.4.5', '1.2.840.10008.1.2.1', 2, 2, 1, 1, 8, 8, 0, 'MONOCHROME2', '${hash}', 1, 'now', 'test');
      INSERT INTO ai_instance_results (instance_id, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, mask_width, mask_height, mask, ms, created_at)
        VALUES ('i1', 'st1', 'se1', 'tumornet', '1.0.0', 'wasm', 'glioma', 0.9, '{"glioma":0.9}', 3, 2, 2, X'0102', 5, 'then');
      INSERT INTO ai_series_results (series_id, study_id, model_id, model_version, runtime, label, confidence, key_instance_id, slices, counts, created_at)
        VALUES ('se1', 'st1', 'tumornet', '1.0.0', 'wasm', 'glioma', 0.9, 'i1', 1, '{"glioma":1}', 'then');
    `);
    const before = db.prepare('SELECT * FROM ai_instance_results').get() as Record<string, unknown>;
    old.close();

    const s = await open(data);
    expect(s.status()).toMatchObject({ schemaVersion: KNOWN, problem: null });
    const conn = s.db();
    expect(conn.prepare('SELECT * FROM ai_instance_results').all()).toEqual([{ ...before, frame: 0 }]);
    expect(conn.prepare('SELECT key_instance_id, key_frame FROM ai_series_results').get()).toEqual({ key_instance_id: 'i1', key_frame: 0 });
    // Keyed by (instance, frame) now: another frame of the same instance is a row of its own, the same one is refused.
    const insert = conn.prepare(
      `INSERT INTO ai_instance_results (instance_id, frame, study_id, series_id, model_id, model_version, runtime, mask_width, mask_height, created_at) VALUES ('i1', ?, 'st1', 'se1', 'tumornet', '1.0.0', 'wasm', 2, 2, 'now')`,
    );
    insert.run(1);
    expect(() => insert.run(1)).toThrow(/UNIQUE/);
    expect(conn.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ai_instance_results' AND name = 'ai_instance_results_study'`).get()).toBeDefined();
    expect(checkIntegrity(conn)).toEqual([]);
    // The instance's rows still go with it.
    conn.prepare(`DELETE FROM instances WHERE id = 'i1'`).run();
    expect(conn.prepare('SELECT count(*) AS n FROM ai_instance_results').get()).toEqual({ n: 0 });
  });

  it('refuses badly numbered migration files', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, '0001_a.sql'), 'SELECT 1;');
    fs.writeFileSync(path.join(dir, '0003_c.sql'), 'SELECT 1;');
    expect(() => loadMigrations(dir)).toThrow(/without gaps/);
  });

  it('backup then restore gives the same rows; the backup is encrypted and verified', async () => {
    const dir = tmp();
    const s = await open(dir);
    const db = s.db();
    const ins = db.prepare(`INSERT INTO patients (id, display_name, created_at) VALUES (?, ?, 'now')`);
    for (let i = 0; i < 200; i++) ins.run(`p${i}`, `Patient ${i}`);
    const rowsBefore = db.prepare('SELECT * FROM patients ORDER BY id').all();
    const file = path.join(dir, 'backup.db');
    const r = await s.backup(file);
    expect(r.schemaVersion).toBe(KNOWN);
    expect(fs.readFileSync(file).subarray(0, 16).equals(SQLITE_PLAIN_HEADER)).toBe(false);
    await expect(s.backup(file)).rejects.toMatchObject({ code: 'CONFLICT' });

    // Change the live data, then restore: the backup's rows come back.
    db.prepare(`DELETE FROM patients WHERE id LIKE 'p1%'`).run();
    db.prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('new', 'after backup', 'now')`).run();
    const key = Buffer.from(s.key());
    // While the store is open (the app is running) restore refuses.
    expect(() => restoreDatabase(s.dbPath, key, file, KNOWN)).toThrow(/in use/);
    s.close();
    const res = restoreDatabase(s.dbPath, key, file, KNOWN);
    expect(res.previous && fs.existsSync(res.previous)).toBeTruthy();
    const back = await open(dir);
    expect(back.db().prepare('SELECT * FROM patients ORDER BY id').all()).toEqual(rowsBefore);
    expect(checkIntegrity(back.db())).toEqual([]);
  });

  it('restore refuses a backup made with another key, leaving the database as it was', async () => {
    const a = await open(tmp());
    const fileA = path.join(tmp(), 'a.db');
    await a.backup(fileA);
    const bDir = tmp();
    const b = await open(bDir, 'another passphrase entirely');
    const keyB = Buffer.from(b.key());
    b.close();
    const before = sha(b.dbPath);
    expect(() => restoreDatabase(b.dbPath, keyB, fileA, KNOWN)).toThrow(/does not open with this data folder's key/);
    expect(sha(b.dbPath)).toBe(before);
  });

  it('migrate() on an up-to-date database applies nothing', async () => {
    const s = await open(tmp());
    const r = migrate(s.db(), loadMigrations(defaultMigrationsDir()));
    expect(r).toEqual({ from: KNOWN, to: KNOWN, applied: [] });
  });
});
