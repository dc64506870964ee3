// A process SIGKILLed in the middle of a write loop or of a slow migration leaves a database
// that opens with its key, passes integrity checks and holds only whole transactions.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore, defaultMigrationsDir, type Store } from './store';
import { checkIntegrity } from './database';
import { createAuditLog } from '../audit';

const PASS = 'kill test passphrase';
const CHILD = path.join(import.meta.dirname, 'fixtures', 'kill-child.ts');
const dirs: string[] = [];
const stores: Store[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-kill-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Runs the child until `until(stdout)` holds, then SIGKILLs it; resolves with its stdout. */
function runAndKill(args: string[], until: (out: string) => boolean, delayMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { env: { ...process.env, TP_TEST_PASSPHRASE: PASS }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killing = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child never reached the kill point:\n${out}\n${err}`));
    }, 60_000);
    child.stdout.on('data', (d) => {
      out += String(d);
      if (!killing && until(out)) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited by itself (${code}) before the kill:\n${out}\n${err}`));
      else resolve(out);
    });
  });
}

async function open(dataFolder: string, migrationsDir?: string): Promise<Store> {
  const s = await createStore({ dataFolder, keySource: 'passphrase', passphrase: PASS, ...(migrationsDir ? { migrationsDir } : {}) });
  stores.push(s);
  return s;
}

describe('SIGKILL in the middle', () => {
  it('of a write loop leaves a consistent database with every committed transaction', async () => {
    const dir = tmp();
    (await open(dir)).close();
    stores.length = 0;
    const out = await runAndKill(['write', dir], (o) => /committed 300\n/.test(o));
    const lastReported = Math.max(...[...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1])));
    const s = await open(dir);
    expect(s.isOpen()).toBe(true);
    const db = s.db();
    expect(checkIntegrity(db)).toEqual([]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const patients = (db.prepare('SELECT count(*) AS n FROM patients').get() as { n: number }).n;
    const audits = (db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'patient.create'`).get() as { n: number }).n;
    // Every commit the child reported survived, and each record has exactly its audit row.
    expect(patients).toBeGreaterThanOrEqual(lastReported);
    expect(audits).toBe(patients);
    expect(createAuditLog(() => db).verify()).toMatchObject({ ok: true });
  });

  it('of a slow migration leaves the database at the previous schema, without a trace of the half-applied one', async () => {
    const dir = tmp();
    const migDir = path.join(dir, 'migrations');
    fs.mkdirSync(migDir);
    const first = fs.readdirSync(defaultMigrationsDir()).find((f) => f.startsWith('0001_'))!;
    fs.copyFileSync(path.join(defaultMigrationsDir(), first), path.join(migDir, first));
    const data = path.join(dir, 'data');
    (await open(data, migDir)).close();
    stores.length = 0;
    fs.writeFileSync(
      path.join(migDir, '0002_slow.sql'),
      `CREATE TABLE slow (a INTEGER NOT NULL, b TEXT NOT NULL) STRICT;
       WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000)
       INSERT INTO slow SELECT x, hex(randomblob(16)) FROM c;
       CREATE INDEX slow_b ON slow (b);
       ALTER TABLE patients ADD COLUMN slow_marker TEXT;`,
    );
    const out = await runAndKill(['migrate', data, migDir], (o) => o.includes('applying 2'), 700);
    expect(out).not.toContain('done'); // it was killed inside the migration, not after
    fs.rmSync(path.join(migDir, '0002_slow.sql'));
    const s = await open(data, migDir);
    expect(s.isOpen()).toBe(true);
    expect(s.status().schemaVersion).toBe(1);
    const db = s.db();
    expect(checkIntegrity(db)).toEqual([]);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name IN ('slow', 'slow_b')`).all()).toEqual([]);
    expect((db.prepare('SELECT * FROM pragma_table_info(?)').all('patients') as { name: string }[]).map((c) => c.name)).not.toContain('slow_marker');
  });
});
