// Opens one SQLCipher-encrypted SQLite file with a raw 32-byte key and the connection settings
// every store connection shares. Refuses plain SQLite files and wrong keys with clear errors.
import fs from 'node:fs';
import Database from 'better-sqlite3-multiple-ciphers';
import { WorkstationError } from '../../contract';

export type Db = Database.Database;

/** The first 16 bytes of every unencrypted SQLite file. An encrypted file starts with its salt. */
export const SQLITE_PLAIN_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export function isPlainSqliteFile(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return n === 16 && head.equals(SQLITE_PLAIN_HEADER);
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export function assertKey(key: Buffer): void {
  if (key.length !== 32) throw new WorkstationError('INTERNAL', 'The database key has the wrong length.', { cause: new Error(`key length ${key.length}`) });
}

/** Applies the cipher and key to a fresh connection; must run before any other statement. */
export function applyKey(db: Db, key: Buffer): void {
  assertKey(key);
  // SQLCipher v4 format (compatible with the sqlcipher tool). The key is already 32 random or
  // scrypt-derived bytes, so it is given raw (x'..') and SQLCipher's PBKDF2 step is skipped.
  db.pragma(`cipher = 'sqlcipher'`);
  db.pragma('legacy = 4');
  db.pragma(`key = "x'${key.toString('hex')}'"`);
}

export interface OpenOptions {
  /** Create the file when it does not exist (only on first run and for backups). */
  create?: boolean;
  readonly?: boolean;
}

/**
 * Opens `file` with `key`. Throws UNAVAILABLE when the file is plain SQLite or the key does not
 * open it; never creates a file unless asked to.
 */
export function openEncrypted(file: string, key: Buffer, options: OpenOptions = {}): Db {
  const exists = fs.existsSync(file);
  if (!exists && !options.create) {
    throw new WorkstationError('UNAVAILABLE', `The database file ${file} does not exist.`);
  }
  if (exists && isPlainSqliteFile(file)) {
    throw new WorkstationError(
      'UNAVAILABLE',
      `The database file ${file} is not encrypted. The workstation only opens encrypted databases; restore an encrypted backup with "tumorpredict db restore FILE".`,
    );
  }
  if (!exists) {
    // Create it empty with owner-only permissions; SQLite gives the -wal and -shm files the same mode.
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  }
  const db = new Database(file, { readonly: !!options.readonly, fileMustExist: true });
  try {
    applyKey(db, key);
    // The first read decrypts page 1; a wrong key fails here with SQLITE_NOTADB.
    db.prepare('SELECT count(*) AS n FROM sqlite_master').get();
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new WorkstationError('UNAVAILABLE', 'The database key does not open this database (wrong key or passphrase, or the file is damaged).', { cause: err, details: { reason: 'wrong-key' } });
    }
    throw new WorkstationError('UNAVAILABLE', 'The database could not be opened.', { cause: err });
  }
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // FULL: a committed audit row or report survives a power cut, not only a crash.
    db.pragma('synchronous = FULL');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Runs PRAGMA integrity_check and cipher_integrity_check; returns the problems found (empty = ok). */
export function checkIntegrity(db: Db): string[] {
  const problems: string[] = [];
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  for (const r of rows) if (r.integrity_check !== 'ok') problems.push(r.integrity_check);
  const cipherRows = db.pragma('cipher_integrity_check') as Record<string, unknown>[];
  for (const r of cipherRows) problems.push(`cipher: ${JSON.stringify(r)}`);
  return problems;
}
