// Applies migrations/NNNN_name.sql in order, each in its own transaction with its row in
// schema_version, so a migration is either fully applied and recorded or not at all.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import type { Db } from './database';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir: string): Migration[] {
  if (!fs.existsSync(dir)) throw new WorkstationError('INTERNAL', `The migrations folder ${dir} is missing from this installation.`);
  const out: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_RE.exec(file);
    if (!m) throw new WorkstationError('INTERNAL', `The migration file ${file} is not named NNNN_name.sql.`);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    out.push({ version: Number(m[1]), name: m[2]!, sql, checksum: crypto.createHash('sha256').update(sql).digest('hex') });
  }
  out.forEach((mig, i) => {
    if (mig.version !== i + 1) throw new WorkstationError('INTERNAL', `Migrations must be numbered 0001, 0002, ... without gaps; found ${String(mig.version).padStart(4, '0')} at position ${i + 1}.`);
  });
  return out;
}

function ensureVersionTable(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
}

export function currentSchemaVersion(db: Db): number {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get();
  if (!exists) return 0;
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

export interface MigrateOptions {
  /** Called just before a migration starts (tests use it to kill a process mid-migration). */
  onBeforeApply?: (m: Migration) => void;
  /** Called when a recorded migration's file has changed since it was applied (a landed migration must never be edited). */
  onChecksumMismatch?: (m: Migration) => void;
}

export interface MigrateResult {
  from: number;
  to: number;
  applied: number[];
}

export function newerSchemaError(dbVersion: number, known: number): WorkstationError {
  return new WorkstationError(
    'UNAVAILABLE',
    `This database was written by a newer version of TumorPredict Workstation (schema ${dbVersion}; this version knows up to ${known}). Install the newer version, or restore a backup made with this version. Nothing was changed.`,
    { details: { reason: 'newer-schema', dbVersion, known } },
  );
}

export function migrate(db: Db, migrations: Migration[], options: MigrateOptions = {}): MigrateResult {
  ensureVersionTable(db);
  const from = currentSchemaVersion(db);
  const known = migrations.length;
  if (from > known) throw newerSchemaError(from, known);
  const recorded = db.prepare('SELECT version, checksum FROM schema_version').all() as { version: number; checksum: string }[];
  for (const r of recorded) {
    const m = migrations[r.version - 1];
    if (m && m.checksum !== r.checksum) options.onChecksumMismatch?.(m);
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_version (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)');
  for (const m of migrations.slice(from)) {
    options.onBeforeApply?.(m);
    // IMMEDIATE: a second process starting at the same time waits instead of applying it twice.
    db.exec('BEGIN IMMEDIATE');
    try {
      // Another process may have applied it while we waited for the lock.
      if (currentSchemaVersion(db) >= m.version) {
        db.exec('ROLLBACK');
        continue;
      }
      db.exec(m.sql);
      record.run(m.version, m.name, m.checksum, new Date().toISOString());
      db.exec('COMMIT');
      applied.push(m.version);
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw new WorkstationError('UNAVAILABLE', `Database migration ${String(m.version).padStart(4, '0')}_${m.name} failed and was rolled back; the database is unchanged at schema ${currentSchemaVersion(db)}.`, { cause: err });
    }
  }
  return { from, to: currentSchemaVersion(db), applied };
}
