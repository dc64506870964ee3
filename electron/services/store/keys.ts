// Where the database key comes from: 32 random bytes in the OS keychain (keytar), or, where no
// keychain answers, scrypt over a passphrase with a salt kept beside the database in key-params.json.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { WorkstationError } from '../../contract';

export const KEYCHAIN_SERVICE = 'TumorPredict Workstation';
export const KEY_PARAMS_FILE = 'key-params.json';

/**
 * scrypt N=2^17, r=8, p=1: 128 MiB and about half a second per derivation on this class of CPU.
 * It runs once per start or unlock, so the cost falls on an attacker guessing passphrases offline
 * against a stolen data folder (each guess costs them the same 128 MiB), not on users.
 */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1, keyLength: 32 } as const;
export const MIN_PASSPHRASE_LENGTH = 12;

export type KeyMode = 'keychain' | 'passphrase';

export interface KeyParams {
  format: 1;
  mode: KeyMode;
  cipher: 'sqlcipher-v4';
  keychain?: { service: string; account: string; createdAt: string };
  kdf?: { name: 'scrypt'; N: number; r: number; p: number; keyLength: number; salt: string };
}

/** The keychain account of a data folder: sha256 of its real path, so two folders never share a key. */
export function keychainAccount(dataFolder: string): string {
  const real = fs.realpathSync(dataFolder);
  return crypto.createHash('sha256').update(real, 'utf8').digest('hex');
}

export function readKeyParams(dataFolder: string): KeyParams | null {
  const file = path.join(dataFolder, KEY_PARAMS_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    const p = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyParams;
    if (p.format !== 1 || (p.mode !== 'keychain' && p.mode !== 'passphrase')) throw new Error('unknown format');
    if (p.mode === 'passphrase' && (!p.kdf || p.kdf.name !== 'scrypt' || !p.kdf.salt)) throw new Error('passphrase mode without scrypt parameters');
    return p;
  } catch (err) {
    throw new WorkstationError('UNAVAILABLE', `The file ${file} is damaged, so the database key cannot be found. Restore it from a backup of the data folder.`, { cause: err });
  }
}

/**
 * Writes key-params.json whole (never half a file). exclusive: only when none exists yet (first
 * run), so of two processes creating a data folder at once only one records its key parameters;
 * the other gets CONFLICT instead of overwriting the parameters of a database already made.
 */
export function writeKeyParams(dataFolder: string, params: KeyParams, options: { exclusive?: boolean } = {}): void {
  const file = path.join(dataFolder, KEY_PARAMS_FILE);
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(params, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    if (!options.exclusive) {
      fs.renameSync(tmp, file);
      return;
    }
    try {
      fs.linkSync(tmp, file); // fails with EEXIST where another setup got there first
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new WorkstationError('CONFLICT', 'First-run setup was finished by someone else a moment ago; this data folder already has its database key. Sign in instead.', { cause: err });
      }
      throw err;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function newPassphraseParams(): KeyParams {
  return {
    format: 1,
    mode: 'passphrase',
    cipher: 'sqlcipher-v4',
    kdf: { name: 'scrypt', ...SCRYPT_PARAMS, salt: crypto.randomBytes(16).toString('base64') },
  };
}

export function checkPassphraseRules(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new WorkstationError('INVALID_INPUT', `The database passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters.`, { details: { fields: ['passphrase'] } });
  }
}

export async function deriveKey(passphrase: string, params: KeyParams): Promise<Buffer> {
  const kdf = params.kdf;
  if (!kdf) throw new WorkstationError('INTERNAL', 'No key-derivation parameters are recorded for this database.');
  const salt = Buffer.from(kdf.salt, 'base64');
  return new Promise((resolve, reject) => {
    crypto.scrypt(passphrase.normalize('NFC'), salt, kdf.keyLength, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * 1024 * 1024 + 128 * kdf.N * kdf.r }, (err, key) => {
      if (err) reject(new WorkstationError('INTERNAL', 'The database key could not be derived from the passphrase.', { cause: err }));
      else resolve(key);
    });
  });
}

interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export interface KeychainStatus {
  available: boolean;
  detail: string;
}

export interface Keychain {
  status(): Promise<KeychainStatus>;
  get(account: string): Promise<Buffer | null>;
  /** Stores a key and reads it back, so a keychain that drops writes is found before first use. */
  put(account: string, key: Buffer): Promise<void>;
  remove(account: string): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

const INSTALL_HINT =
  'On Linux the keychain is the Secret Service (gnome-keyring or KWallet) on the session D-Bus: install gnome-keyring and libsecret-1-0, and run inside a desktop session (or dbus-run-session with gnome-keyring-daemon --unlock).';

/** The keychain's own words for a failure ("Cannot create an item in a locked collection"), one line. */
export function keychainCause(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').trim().slice(0, 300) || 'no reason given';
}

/**
 * A keychain failure as a sentence that names the real cause and what to do about it. A locked
 * collection is the common case on a host whose keyring was never unlocked in this session.
 */
export function keychainFailure(what: string, err: unknown): WorkstationError {
  const cause = keychainCause(err);
  const hint = /locked/i.test(cause)
    ? 'Unlock the keyring (log in to the desktop session, or run gnome-keyring-daemon --unlock) and try again.'
    : /did not answer within/i.test(cause)
      ? INSTALL_HINT
      : /does not exist|no such|not provided by any|ServiceUnknown/i.test(cause)
        ? `No keyring collection answers on the session D-Bus. ${INSTALL_HINT}`
        : INSTALL_HINT;
  return new WorkstationError('UNAVAILABLE', `The OS keychain refused the ${what}: ${cause}. ${hint}`, { cause: err, details: { keychainCause: cause } });
}

/** Free-text secrets in the OS keychain (the database key wrapper below insists on 32-byte keys). */
export interface TextKeychain {
  /** null when the keytar module did not load, else the sentence why. */
  readonly loadError: string | null;
  get(account: string, what: string): Promise<string | null>;
  /** Stores and reads back, so a keychain that drops writes is found at once. */
  put(account: string, value: string, what: string): Promise<void>;
  remove(account: string, what: string): Promise<void>;
}

export function loadTextKeychain(service = KEYCHAIN_SERVICE, timeoutMs = 5000): TextKeychain {
  let keytar: Keytar | null = null;
  let loadError: string | null = null;
  try {
    keytar = createRequire(import.meta.url)('keytar') as Keytar;
  } catch (err) {
    loadError = `the keytar module did not load (${keychainCause(err)}); run "node scripts/ensure-native.mjs" to build it`;
  }
  const wrap = async <T>(what: string, fn: (k: Keytar) => Promise<T>): Promise<T> => {
    if (!keytar) throw new WorkstationError('UNAVAILABLE', `The OS keychain cannot be used for the ${what}: ${loadError}.`);
    try {
      return await withTimeout(fn(keytar), timeoutMs, 'The OS keychain');
    } catch (err) {
      throw keychainFailure(what, err);
    }
  };
  return {
    loadError,
    get: (account, what) => wrap(`read of ${what}`, (k) => k.getPassword(service, account)),
    async put(account, value, what) {
      await wrap(`write of ${what}`, (k) => k.setPassword(service, account, value));
      const back = await wrap(`read of ${what}`, (k) => k.getPassword(service, account));
      if (back !== value) throw new WorkstationError('UNAVAILABLE', `The OS keychain did not keep the ${what} that was written to it.`);
    },
    async remove(account, what) {
      await wrap(`removal of ${what}`, (k) => k.deletePassword(service, account));
    },
  };
}

export function loadKeychain(service = KEYCHAIN_SERVICE, timeoutMs = 5000): Keychain {
  let keytar: Keytar | null = null;
  let loadError: string | null = null;
  try {
    keytar = createRequire(import.meta.url)('keytar') as Keytar;
  } catch (err) {
    loadError = `the keytar module did not load (${(err as Error).message.split('\n')[0]}); run "node scripts/ensure-native.mjs" to build it`;
  }
  const need = (): Keytar => {
    if (!keytar) throw new WorkstationError('UNAVAILABLE', `The OS keychain cannot be used: ${loadError}.`);
    return keytar;
  };
  const wrap = async <T>(what: string, fn: (k: Keytar) => Promise<T>): Promise<T> => {
    const k = need();
    try {
      return await withTimeout(fn(k), timeoutMs, 'The OS keychain');
    } catch (err) {
      throw keychainFailure(`${what} of the database key`, err);
    }
  };
  return {
    async status() {
      if (!keytar) return { available: false, detail: `Not available: ${loadError}.` };
      try {
        await withTimeout(keytar.getPassword(service, 'availability-probe'), timeoutMs, 'The OS keychain');
        return { available: true, detail: `OS keychain (service "${service}") answers.` };
      } catch (err) {
        return { available: false, detail: `The OS keychain does not answer: ${keychainCause(err)}. ${INSTALL_HINT}` };
      }
    },
    async get(account) {
      const hex = await wrap('read', (k) => k.getPassword(service, account));
      if (hex === null) return null;
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new WorkstationError('UNAVAILABLE', `The keychain entry for this data folder (service "${service}") is not a database key.`);
      return Buffer.from(hex, 'hex');
    },
    async put(account, key) {
      await wrap('write', (k) => k.setPassword(service, account, key.toString('hex')));
      const back = await wrap('read', (k) => k.getPassword(service, account));
      if (back !== key.toString('hex')) throw new WorkstationError('UNAVAILABLE', 'The OS keychain did not keep the database key that was written to it.');
    },
    async remove(account) {
      await wrap('delete', (k) => k.deletePassword(service, account));
    },
  };
}
