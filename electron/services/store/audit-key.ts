// The audit log's MAC key, kept apart from the database key so that whoever holds the database
// key (a stolen backup and its passphrase-derived key, a debugger on the running app's SQLCipher
// key) still cannot rewrite the audit chain: 32 random bytes in its own OS keychain entry, or
// scrypt over the passphrase with its own salt. audit-key.json records where the keyed chain
// starts (rows written before this key existed keep their plain sha256 chain), under a MAC.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SCRYPT_PARAMS, type Keychain, type KeyParams, deriveKey } from './keys';

export const AUDIT_KEY_FILE = 'audit-key.json';

export interface AuditKeyRecord {
  format: 1;
  source: 'keychain' | 'passphrase';
  /** Passphrase mode: the scrypt parameters and the audit key's own salt. */
  kdf?: KeyParams['kdf'];
  /** The first audit row MAC'd with this key. */
  keyedFrom: number;
  createdAt: string;
  /** HMAC of keyedFrom under the key: moving the start of the keyed chain is found. */
  mac: string;
}

/** What the audit log gets from the store. */
export type AuditKeyState = { key: Buffer; keyedFrom: number; problem: null } | { key: Buffer | null; keyedFrom: number | null; problem: string };

const anchorMac = (key: Buffer, keyedFrom: number): string => crypto.createHmac('sha256', key).update(`tumorpredict-audit-anchor:${keyedFrom}`).digest('hex');

export function readAuditKeyRecord(dataFolder: string): AuditKeyRecord | null {
  const file = path.join(dataFolder, AUDIT_KEY_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as AuditKeyRecord;
  } catch {
    return { format: 1, source: 'keychain', keyedFrom: Number.NaN, createdAt: '', mac: '' };
  }
}

function writeAuditKeyRecord(dataFolder: string, record: AuditKeyRecord): void {
  // Exclusive: a record is made once; an existing one is never overwritten.
  fs.writeFileSync(path.join(dataFolder, AUDIT_KEY_FILE), JSON.stringify(record, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}

/** The key bytes, found or made before the database opens (the keychain and scrypt are async). */
export async function loadAuditKeyBytes(
  dataFolder: string,
  source: { mode: 'keychain'; keychain: Keychain; account: string } | { mode: 'passphrase'; passphrase: string },
): Promise<{ key: Buffer; created: boolean; kdf?: KeyParams['kdf'] }> {
  const record = readAuditKeyRecord(dataFolder);
  if (source.mode === 'keychain') {
    const account = `audit:${source.account}`;
    const found = await source.keychain.get(account);
    if (found) return { key: found, created: false };
    const key = crypto.randomBytes(32);
    await source.keychain.put(account, key);
    return { key, created: true };
  }
  const kdf = record?.kdf ?? { name: 'scrypt' as const, ...SCRYPT_PARAMS, salt: crypto.randomBytes(16).toString('base64') };
  const key = await deriveKey(source.passphrase, { format: 1, mode: 'passphrase', cipher: 'sqlcipher-v4', kdf });
  return { key, created: !record, kdf };
}

/**
 * Settles the key state once the database is open: makes the record on first use (the keyed
 * chain starts after the rows already written), or checks an existing one. Never throws: a
 * problem is reported by audit verify, it does not keep the database shut.
 */
export function settleAuditKey(dataFolder: string, bytes: { key: Buffer; created: boolean; kdf?: KeyParams['kdf'] }, source: 'keychain' | 'passphrase', lastAuditId: () => number): AuditKeyState {
  const record = readAuditKeyRecord(dataFolder);
  if (!record) {
    if (source === 'keychain' && !bytes.created) {
      return { key: bytes.key, keyedFrom: null, problem: `${AUDIT_KEY_FILE} is missing although the keychain holds this folder's audit key: the record of where the keyed audit chain starts was removed` };
    }
    const keyedFrom = lastAuditId() + 1;
    try {
      writeAuditKeyRecord(dataFolder, { format: 1, source, ...(bytes.kdf ? { kdf: bytes.kdf } : {}), keyedFrom, createdAt: new Date().toISOString(), mac: anchorMac(bytes.key, keyedFrom) });
    } catch (err) {
      return { key: bytes.key, keyedFrom: null, problem: `${AUDIT_KEY_FILE} could not be written (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    return { key: bytes.key, keyedFrom, problem: null };
  }
  if (!Number.isInteger(record.keyedFrom) || record.mac !== anchorMac(bytes.key, record.keyedFrom)) {
    return { key: bytes.key, keyedFrom: null, problem: `${AUDIT_KEY_FILE} was changed or does not belong to this audit key` };
  }
  return { key: bytes.key, keyedFrom: record.keyedFrom, problem: null };
}
