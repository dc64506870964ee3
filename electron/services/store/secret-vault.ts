// Where the workstation keeps secrets other than the database key (the hospital server's
// password or token, site keys): beside the database key. Keychain mode: the OS keychain, one
// entry per secret and data folder. Passphrase mode: the database's secrets table, AES-256-GCM
// under a key derived from the database key (the key hierarchy: passphrase -> scrypt -> database
// key -> HKDF -> secrets key). Never a plain file; a keychain failure names its real cause.
import crypto from 'node:crypto';
import { WorkstationError } from '../../contract';
import type { Logger } from '../log';
import type { Db } from './database';
import { KEYCHAIN_SERVICE, keychainAccount, loadTextKeychain, type KeyMode, type TextKeychain } from './keys';

export type SecretHolder = 'keychain' | 'database';

export interface SecretVault {
  /** Where secrets are kept in this data folder (follows where its database key is kept). */
  holder(): SecretHolder | null;
  /** One sentence for the settings page and `doctor`: which store holds the secrets. */
  statement(): string;
  /** `what` names the secret in error messages ("hospital server password"). */
  get(name: string, what: string): Promise<string | null>;
  set(name: string, value: string, what: string): Promise<void>;
  remove(name: string, what: string): Promise<void>;
}

export interface SecretVaultOptions {
  dataFolder: string;
  /** The store's key mode (null while the store could not decide: nothing can be kept then). */
  mode: () => KeyMode | null;
  db: () => Db;
  /** The database key (throws while the database is locked). */
  key: () => Buffer;
  keychain?: TextKeychain;
  service?: string;
  logger?: Logger | undefined;
}

const NAME = /^[a-z0-9][a-z0-9:._-]{0,127}$/;
const INFO = Buffer.from('tumorpredict:secrets:v1', 'utf8');

/** The secrets key: HKDF-SHA256 of the database key, so a secret never shares the key with SQLCipher. */
export function secretsKey(databaseKey: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', databaseKey, Buffer.alloc(0), INFO, 32));
}

export function createSecretVault(o: SecretVaultOptions): SecretVault {
  const service = o.service ?? KEYCHAIN_SERVICE;
  let keychain: TextKeychain | null = o.keychain ?? null;
  const kc = (): TextKeychain => (keychain ??= loadTextKeychain(service));
  const account = (name: string): string => `${name}:${keychainAccount(o.dataFolder)}`;
  const check = (name: string): void => {
    if (!NAME.test(name)) throw new WorkstationError('INTERNAL', `"${name.slice(0, 40)}" is not a valid secret name.`);
  };
  const holder = (): SecretHolder | null => {
    const m = o.mode();
    return m === 'keychain' ? 'keychain' : m === 'passphrase' ? 'database' : null;
  };
  const need = (what: string): SecretHolder => {
    const h = holder();
    if (!h) throw new WorkstationError('UNAVAILABLE', `The ${what} cannot be kept: the database is not set up yet, so it is not known where secrets go.`);
    return h;
  };
  const logged = async <T>(what: string, op: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      // The keychain's own words go to the log as well as to the message (never the secret).
      if (err instanceof WorkstationError) o.logger?.warn('secrets.failed', { what, op, errorCode: err.code, keychainCause: err.details?.keychainCause ?? null, sentence: err.message });
      throw err;
    }
  };

  const gcmKey = (what: string): Buffer => {
    try {
      return secretsKey(o.key());
    } catch (err) {
      throw new WorkstationError('UNAVAILABLE', `The ${what} cannot be read or written while the database is locked. Unlock it with the database passphrase first.`, { cause: err });
    }
  };

  return {
    holder,
    statement() {
      const h = holder();
      if (h === 'keychain') return `Secrets (the hospital server's password or token, site keys) are kept in the OS keychain (service "${service}"), beside the database key.`;
      if (h === 'database') return 'Secrets (the hospital server\'s password or token, site keys) are kept encrypted in the workstation database (AES-256-GCM under a key derived from the database key), because this data folder is in passphrase mode.';
      return 'Secrets cannot be kept yet: the database is not set up.';
    },
    get(name, what) {
      check(name);
      return logged(what, 'read', async () => {
        if (need(what) === 'keychain') return kc().get(account(name), what);
        const row = o.db().prepare('SELECT nonce, ciphertext, tag FROM secrets WHERE name = ?').get(name) as { nonce: Buffer; ciphertext: Buffer; tag: Buffer } | undefined;
        if (!row) return null;
        try {
          const d = crypto.createDecipheriv('aes-256-gcm', gcmKey(what), row.nonce);
          d.setAAD(Buffer.from(name, 'utf8'));
          d.setAuthTag(row.tag);
          return Buffer.concat([d.update(row.ciphertext), d.final()]).toString('utf8');
        } catch (err) {
          if (err instanceof WorkstationError) throw err;
          throw new WorkstationError('UNAVAILABLE', `The stored ${what} cannot be decrypted (it was changed outside the workstation). Enter it again.`, { cause: err });
        }
      });
    },
    set(name, value, what) {
      check(name);
      return logged(what, 'write', async () => {
        if (need(what) === 'keychain') return kc().put(account(name), value, what);
        const nonce = crypto.randomBytes(12);
        const c = crypto.createCipheriv('aes-256-gcm', gcmKey(what), nonce);
        c.setAAD(Buffer.from(name, 'utf8'));
        const ciphertext = Buffer.concat([c.update(value, 'utf8'), c.final()]);
        o.db()
          .prepare('INSERT INTO secrets (name, nonce, ciphertext, tag, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, tag = excluded.tag, updated_at = excluded.updated_at')
          .run(name, nonce, ciphertext, c.getAuthTag(), new Date().toISOString());
      });
    },
    remove(name, what) {
      check(name);
      return logged(what, 'remove', async () => {
        if (need(what) === 'keychain') return kc().remove(account(name), what);
        o.db().prepare('DELETE FROM secrets WHERE name = ?').run(name);
      });
    },
  };
}

/** The vault of an open store: secrets follow the store's key mode. */
export function createStoreSecretVault(store: { dataFolder: string; status(): { keySource: KeyMode | null }; db(): Db; key(): Buffer }, logger?: Logger): SecretVault {
  return createSecretVault({ dataFolder: store.dataFolder, mode: () => store.status().keySource, db: () => store.db(), key: () => store.key(), logger });
}
