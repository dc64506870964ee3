// The encrypted store of one data folder: finds or makes the key (keychain or passphrase), opens
// workstation.db, applies migrations, and reports clearly why it is not open instead of crashing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import { appRoot } from '../config';
import type { Logger } from '../log';
import { isPlainSqliteFile, openEncrypted, type Db } from './database';
import {
  KEYCHAIN_SERVICE,
  checkPassphraseRules,
  deriveKey,
  keychainAccount,
  loadKeychain,
  newPassphraseParams,
  readKeyParams,
  writeKeyParams,
  type Keychain,
  type KeychainStatus,
  type KeyMode,
  type KeyParams,
} from './keys';
import { currentSchemaVersion, loadMigrations, migrate, type Migration, type MigrateOptions } from './migrator';
import { backupDatabase, type BackupResult } from './backup';
import { loadAuditKeyBytes, settleAuditKey, type AuditKeyState } from './audit-key';

export const DB_FILE = 'workstation.db';

export interface StoreOptions {
  dataFolder: string;
  keySource: 'auto' | 'keychain' | 'passphrase';
  passphrase: string | null;
  migrationsDir?: string;
  logger?: Logger;
  keychain?: Keychain;
  migrate?: MigrateOptions;
}

export interface StoreStatus {
  encrypted: boolean;
  unlocked: boolean;
  keySource: KeyMode | null;
  schemaVersion: number | null;
  problem: string | null;
  /** What the store waits for: a passphrase to create the database (first run) or to unlock it. */
  needsPassphrase: 'create' | 'unlock' | null;
  /** Which key mode and why, in one sentence for system.info and `tumorpredict doctor`. */
  modeStatement: string;
}

export interface Store {
  readonly dataFolder: string;
  readonly dbPath: string;
  status(): StoreStatus;
  keychainStatus(): KeychainStatus;
  isOpen(): boolean;
  /** The open connection; throws UNAVAILABLE saying why when the database is not open. */
  db(): Db;
  /** Passphrase mode: creates the database on first run, or unlocks it. */
  usePassphrase(passphrase: string): Promise<void>;
  /** An encrypted, verified copy of the live database (VACUUM INTO, consistent while others write). */
  backup(file: string): Promise<BackupResult>;
  /** The key of this data folder (for verifying backups and restore); throws when locked. */
  key(): Buffer;
  /** The audit log's MAC key (kept apart from the database key) and where the keyed chain starts; throws when locked. */
  auditKey(): AuditKeyState;
  readonly knownSchemaVersion: number;
  /** Runs the listener each time the database opens later (first-run setup, passphrase unlock). */
  onOpened(listener: () => void): () => void;
  close(): void;
}

export function defaultMigrationsDir(): string {
  return path.join(appRoot(), 'migrations');
}

export async function createStore(options: StoreOptions): Promise<Store> {
  const { dataFolder, logger } = options;
  fs.mkdirSync(dataFolder, { recursive: true, mode: 0o700 });
  const dbPath = path.join(dataFolder, DB_FILE);
  const migrations: Migration[] = loadMigrations(options.migrationsDir ?? defaultMigrationsDir());
  const keychain = options.keychain ?? loadKeychain();

  let db: Db | null = null;
  const openedListeners = new Set<() => void>();
  let key: Buffer | null = null;
  // The audit MAC key: its bytes are found before the database opens, settled right after.
  let auditBytes: Awaited<ReturnType<typeof loadAuditKeyBytes>> | null = null;
  let auditKeyState: AuditKeyState | null = null;
  let mode: KeyMode | null = null;
  let problem: string | null = null;
  let needsPassphrase: StoreStatus['needsPassphrase'] = null;
  let modeStatement = '';
  let keychainStatus: KeychainStatus = { available: false, detail: 'not checked' };
  // One passphrase use at a time: two first-run screens must not both derive a key and write
  // key parameters (the second would overwrite the salt of the database the first one made).
  let passphraseQueue: Promise<void> = Promise.resolve();

  const openWith = (k: Buffer, create: boolean): void => {
    const conn = openEncrypted(dbPath, k, { create });
    try {
      migrate(conn, migrations, {
        ...options.migrate,
        onChecksumMismatch: (m) => logger?.warn('store.migration-changed', { version: m.version }),
      });
      if (isPlainSqliteFile(dbPath)) throw new WorkstationError('INTERNAL', 'The database file was written without encryption; it was not used.');
    } catch (err) {
      conn.close();
      throw err;
    }
    db = conn;
    key = k;
    auditKeyState = auditBytes
      ? settleAuditKey(dataFolder, auditBytes, mode === 'keychain' ? 'keychain' : 'passphrase', () => (conn.prepare('SELECT last_id FROM audit_head WHERE one = 1').get() as { last_id: number }).last_id)
      : { key: null, keyedFrom: null, problem: 'the audit key could not be loaded' };
    auditBytes = null;
    problem = null;
    needsPassphrase = null;
    logger?.info('store.opened', { mode, schema: currentSchemaVersion(conn) });
    for (const listener of openedListeners) queueMicrotask(listener);
  };

  const fail = (err: unknown): void => {
    problem = err instanceof WorkstationError ? err.message : 'The database could not be opened (internal error).';
    logger?.error('store.open-failed', { err: (err as Error)?.cause ?? err });
  };

  const dbExists = fs.existsSync(dbPath) && fs.statSync(dbPath).size > 0;
  let params: KeyParams | null = null;
  try {
    params = readKeyParams(dataFolder);
  } catch (err) {
    fail(err);
  }
  keychainStatus = await keychain.status();

  if (!problem) {
    if (dbExists && !params) {
      problem = `The database ${dbPath} exists but ${path.join(dataFolder, 'key-params.json')} is missing, so it is not known how its key is kept. Put that file back (from the data folder's backup); no new database was created.`;
    } else if (params) {
      mode = params.mode;
      if (options.keySource !== 'auto' && options.keySource !== params.mode) {
        logger?.warn('store.key-source-ignored', { asked: options.keySource, folder: params.mode });
      }
    } else {
      // First run: choose the mode once; key-params.json records it for every later start.
      if (options.keySource === 'keychain' || (options.keySource === 'auto' && keychainStatus.available)) mode = 'keychain';
      else mode = 'passphrase';
    }
  }

  if (mode === 'keychain') {
    modeStatement = `Keychain mode: the database key is kept in the OS keychain (service "${KEYCHAIN_SERVICE}").`;
    try {
      const account = keychainAccount(dataFolder);
      if (!keychainStatus.available) {
        throw new WorkstationError('UNAVAILABLE', `The database key is kept in the OS keychain, but the keychain does not answer. ${keychainStatus.detail}`);
      }
      if (!dbExists) {
        let k = await keychain.get(account);
        if (!k) {
          k = crypto.randomBytes(32);
          await keychain.put(account, k);
        }
        auditBytes = await loadAuditKeyBytes(dataFolder, { mode: 'keychain', keychain, account });
        writeKeyParams(dataFolder, { format: 1, mode: 'keychain', cipher: 'sqlcipher-v4', keychain: { service: KEYCHAIN_SERVICE, account, createdAt: new Date().toISOString() } });
        openWith(k, true);
      } else {
        const k = await keychain.get(account);
        if (k) auditBytes = await loadAuditKeyBytes(dataFolder, { mode: 'keychain', keychain, account });
        if (!k) {
          const moved = params?.keychain?.account && params.keychain.account !== account;
          throw new WorkstationError(
            'UNAVAILABLE',
            moved
              ? `The OS keychain has no database key for this data folder: it was created at another path, and its key is stored under that folder's entry. Move the folder back, or restore a backup with "tumorpredict db restore FILE". No new database was created.`
              : `The OS keychain has no database key for this data folder (service "${KEYCHAIN_SERVICE}", account ${account.slice(0, 12)}…). Restore the keychain entry (e.g. from the user's keychain backup) or restore a database backup with "tumorpredict db restore FILE". No new database was created.`,
          );
        }
        try {
          openWith(k, false);
        } catch (err) {
          if (err instanceof WorkstationError && err.details?.reason === 'wrong-key') {
            throw new WorkstationError('UNAVAILABLE', 'The key in the OS keychain does not open this database (the entry was replaced, or the file belongs to another folder). Restore the original keychain entry or a database backup; no new database was created.', { cause: err });
          }
          throw err;
        }
      }
    } catch (err) {
      fail(err);
    }
  } else if (mode === 'passphrase') {
    modeStatement = keychainStatus.available
      ? 'Passphrase mode: the database key is derived with scrypt from a passphrase an admin chose.'
      : 'Passphrase mode (no OS keychain answered when this data folder was made): the database key is derived with scrypt from a passphrase an admin chose.';
    needsPassphrase = dbExists ? 'unlock' : 'create';
    if (options.passphrase) {
      try {
        await usePassphraseSerial(options.passphrase);
      } catch (err) {
        fail(err);
      }
    } else {
      problem = dbExists
        ? 'The database is locked: it is in passphrase mode. Enter the database passphrase (or start with TUMORPREDICT_PASSPHRASE set).'
        : 'First run in passphrase mode: the first admin chooses the database passphrase in first-run setup.';
    }
  }

  function usePassphraseSerial(passphrase: string): Promise<void> {
    const run = passphraseQueue.then(() => usePassphraseImpl(passphrase));
    passphraseQueue = run.catch(() => {});
    return run;
  }

  async function usePassphraseImpl(passphrase: string): Promise<void> {
    const alreadyOpen = (): WorkstationError => new WorkstationError('CONFLICT', 'The database is already open (first-run setup or an unlock finished a moment ago). Sign in instead.');
    if (db) throw alreadyOpen();
    if (mode !== 'passphrase') throw new WorkstationError('CONFLICT', 'This data folder keeps its key in the OS keychain; no passphrase is needed.');
    const exists = fs.existsSync(dbPath) && fs.statSync(dbPath).size > 0;
    if (!exists) {
      checkPassphraseRules(passphrase);
      const existing = readKeyParams(dataFolder);
      const p = existing ?? newPassphraseParams();
      const [k, a] = await Promise.all([deriveKey(passphrase, p), loadAuditKeyBytes(dataFolder, { mode: 'passphrase', passphrase })]);
      // Re-checked after the slow derivation: another process may have made the database meanwhile.
      if (db) throw alreadyOpen();
      if (fs.existsSync(dbPath) && fs.statSync(dbPath).size > 0) {
        throw new WorkstationError('CONFLICT', 'First-run setup was finished by someone else a moment ago; restart the workstation and enter the database passphrase.');
      }
      if (!existing) writeKeyParams(dataFolder, p, { exclusive: true });
      else if (readKeyParams(dataFolder)?.kdf?.salt !== p.kdf?.salt) throw new WorkstationError('CONFLICT', 'The key parameters of this data folder changed during setup; restart the workstation.');
      auditBytes = a;
      openWith(k, true);
      return;
    }
    const p = readKeyParams(dataFolder);
    if (!p || p.mode !== 'passphrase') throw new WorkstationError('UNAVAILABLE', 'The key parameters of this database are missing.');
    const [k, a] = await Promise.all([deriveKey(passphrase, p), loadAuditKeyBytes(dataFolder, { mode: 'passphrase', passphrase })]);
    auditBytes = a;
    try {
      openWith(k, false);
    } catch (err) {
      if (err instanceof WorkstationError && err.details?.reason === 'wrong-key') {
        throw new WorkstationError('UNAUTHENTICATED', 'That passphrase does not open the database. Check it and try again; nothing was changed.', { cause: err });
      }
      throw err;
    }
  }

  const store: Store = {
    dataFolder,
    dbPath,
    knownSchemaVersion: migrations.length,
    status() {
      return {
        // The store only ever writes encrypted files; false only when a plain file sits in its place.
        encrypted: !(fs.existsSync(dbPath) && isPlainSqliteFile(dbPath)),
        unlocked: db !== null,
        keySource: mode,
        schemaVersion: db ? currentSchemaVersion(db) : null,
        problem,
        needsPassphrase: db ? null : needsPassphrase,
        modeStatement,
      };
    },
    keychainStatus: () => keychainStatus,
    isOpen: () => db !== null,
    db() {
      if (!db) throw new WorkstationError('UNAVAILABLE', problem ?? 'The database is not open.');
      return db;
    },
    async usePassphrase(passphrase) {
      await usePassphraseSerial(passphrase);
    },
    onOpened(listener) {
      openedListeners.add(listener);
      return () => openedListeners.delete(listener);
    },
    auditKey() {
      if (!db || !auditKeyState) throw new WorkstationError('UNAVAILABLE', problem ?? 'The database is not open.');
      return auditKeyState;
    },
    key() {
      if (!key) throw new WorkstationError('UNAVAILABLE', problem ?? 'The database is not open.');
      return key;
    },
    async backup(file) {
      return backupDatabase(store.db(), store.key(), file, migrations.length);
    },
    close() {
      if (db) {
        try {
          db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // another connection may hold the WAL; SQLite checkpoints on its last close
        }
        db.close();
        db = null;
        logger?.info('store.closed');
      }
    },
  };
  return store;
}
