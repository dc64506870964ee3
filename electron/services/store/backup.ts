// Encrypted, verified backups of the live database and restore from them. The copy is made by
// SQLite inside a read transaction (VACUUM INTO), so the app can keep writing meanwhile, and it
// is encrypted with the same key: no plaintext copy ever touches the disk.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { WorkstationError } from '../../contract';
import { checkIntegrity, isPlainSqliteFile, openEncrypted, type Db } from './database';
import { currentSchemaVersion, newerSchemaError } from './migrator';

export interface BackupResult {
  file: string;
  bytes: number;
  schemaVersion: number;
  sha256: string;
}

function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Opens a backup with the key and checks it; returns its schema version. Throws a clear error. */
export function verifyBackup(file: string, key: Buffer, knownSchema: number): number {
  if (!fs.existsSync(file)) throw new WorkstationError('NOT_FOUND', `The backup file ${file} does not exist.`);
  if (isPlainSqliteFile(file)) throw new WorkstationError('INVALID_INPUT', `${file} is an unencrypted SQLite file, not a workstation backup.`);
  let copy: Db;
  try {
    copy = openEncrypted(file, key, { readonly: true });
  } catch (err) {
    throw new WorkstationError('INVALID_INPUT', `The backup ${file} does not open with this data folder's key: it was made by another workstation or data folder, or it is damaged.`, { cause: err });
  }
  try {
    const problems = checkIntegrity(copy);
    if (problems.length) throw new WorkstationError('INVALID_INPUT', `The backup ${file} fails its integrity check (${problems.slice(0, 3).join('; ')}).`);
    const version = currentSchemaVersion(copy);
    if (version === 0) throw new WorkstationError('INVALID_INPUT', `The backup ${file} holds no workstation schema.`);
    if (version > knownSchema) throw newerSchemaError(version, knownSchema);
    return version;
  } finally {
    copy.close();
  }
}

export async function backupDatabase(db: Db, key: Buffer, file: string, knownSchema: number): Promise<BackupResult> {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) throw new WorkstationError('INVALID_INPUT', `The folder ${dir} does not exist.`);
  if (fs.existsSync(target)) throw new WorkstationError('CONFLICT', `${target} already exists; choose a new file name (a backup never overwrites a file).`);
  // Written beside the target and renamed once verified, so a half-written backup never has the final name.
  const partial = path.join(dir, `.${path.basename(target)}.${process.pid}.partial`);
  fs.rmSync(partial, { force: true });
  try {
    db.prepare('VACUUM INTO ?').run(partial);
    fs.chmodSync(partial, 0o600);
    if (isPlainSqliteFile(partial)) throw new WorkstationError('INTERNAL', 'The backup came out unencrypted and was deleted.');
    const schemaVersion = verifyBackup(partial, key, knownSchema);
    fs.renameSync(partial, target);
    return { file: target, bytes: fs.statSync(target).size, schemaVersion, sha256: sha256File(target) };
  } catch (err) {
    fs.rmSync(partial, { force: true });
    if (err instanceof WorkstationError) throw err;
    throw new WorkstationError('UNAVAILABLE', `The backup to ${target} failed; nothing was written.`, { cause: err });
  }
}

export interface RestoreResult {
  restoredSchemaVersion: number;
  /** Encrypted copy of the database as it was before the restore. */
  previous: string | null;
}

/**
 * Replaces `dbPath` with the backup. Refuses while any other process has the database open
 * (the running app), because replacing a file under a live connection would corrupt it.
 */
export function restoreDatabase(dbPath: string, key: Buffer, file: string, knownSchema: number): RestoreResult {
  const source = path.resolve(file);
  const restoredSchemaVersion = verifyBackup(source, key, knownSchema);
  const dir = path.dirname(dbPath);
  let previous: string | null = null;
  const staging = path.join(dir, `.restore-${process.pid}.db`);
  fs.rmSync(staging, { force: true });

  let live: Db | null = null;
  if (fs.existsSync(dbPath) && fs.statSync(dbPath).size > 0) {
    live = openEncrypted(dbPath, key);
    live.pragma('locking_mode = EXCLUSIVE');
    try {
      live.exec('BEGIN EXCLUSIVE');
      live.exec('COMMIT');
    } catch (err) {
      live.close();
      throw new WorkstationError('CONFLICT', 'The workstation database is in use (the app or another command is running). Close the app, then run the restore again; nothing was changed.', { cause: err });
    }
    previous = path.join(dir, `workstation.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}.db`);
    live.prepare('VACUUM INTO ?').run(previous);
    fs.chmodSync(previous, 0o600);
  }
  try {
    const src = openEncrypted(source, key, { readonly: true });
    try {
      src.prepare('VACUUM INTO ?').run(staging);
    } finally {
      src.close();
    }
    fs.chmodSync(staging, 0o600);
    verifyBackup(staging, key, knownSchema);
    if (live) {
      live.pragma('wal_checkpoint(TRUNCATE)');
      live.close();
      live = null;
    }
    for (const suffix of ['-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
    fs.renameSync(staging, dbPath);
    return { restoredSchemaVersion, previous };
  } catch (err) {
    live?.close();
    fs.rmSync(staging, { force: true });
    if (err instanceof WorkstationError) throw err;
    throw new WorkstationError('UNAVAILABLE', 'The restore failed; the database was left as it was.', { cause: err });
  }
}
