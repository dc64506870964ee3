// The hospital server's password or token, bound to the server it was entered for: the stored
// value records the server's origin (scheme, host, port) and auth type, and is handed out only
// for that same pair, so a changed address or auth type never receives it (issue 12, finding 4).
// It is kept in the data folder's secret vault (OS keychain or the encrypted database).
import { WorkstationError, type SyncAuthType } from '../../contract';
import type { SecretHolder, SecretVault } from '../store';

/** The secret's name in the vault (keychain account dicomweb:<sha256 of the folder's real path>). */
export const SYNC_SECRET_NAME = 'dicomweb';
const WHAT = 'hospital server password';

export interface BoundSecret {
  /** The server's origin, e.g. https://pacs.example.org:8443 */
  origin: string;
  authType: Exclude<SyncAuthType, 'none'>;
  secret: string;
}

export interface SecretStore {
  /** The stored secret and what it is bound to (null: none, or one stored before binding existed). */
  get(): Promise<BoundSecret | null>;
  set(secret: BoundSecret): Promise<void>;
  remove(): Promise<void>;
  holder(): SecretHolder | null;
  statement(): string;
}

/** The origin a base URL's secret is bound to (null for an address that does not parse). */
export function originOf(baseUrl: string): string | null {
  try {
    const u = new URL(baseUrl);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

/** The secret for this server, or null when the stored one belongs to another origin or auth type. */
export function secretFor(bound: BoundSecret | null, baseUrl: string, authType: SyncAuthType): string | null {
  if (!bound || authType === 'none') return null;
  return bound.origin === originOf(baseUrl) && bound.authType === authType ? bound.secret : null;
}

function parse(raw: string | null): BoundSecret | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<BoundSecret> & { v?: number };
    if (v && v.v === 1 && typeof v.origin === 'string' && (v.authType === 'basic' || v.authType === 'bearer') && typeof v.secret === 'string') return { origin: v.origin, authType: v.authType, secret: v.secret };
  } catch {
    // a plain value from before binding: bound to nothing, so it is entered again
  }
  return null;
}

export function createSecretStore(vault: SecretVault): SecretStore {
  return {
    async get() {
      return parse(await vault.get(SYNC_SECRET_NAME, WHAT));
    },
    async set(b) {
      if (!b.secret) throw new WorkstationError('INVALID_INPUT', 'The password or token is empty.');
      await vault.set(SYNC_SECRET_NAME, JSON.stringify({ v: 1, origin: b.origin, authType: b.authType, secret: b.secret }), WHAT);
    },
    remove: () => vault.remove(SYNC_SECRET_NAME, WHAT),
    holder: () => vault.holder(),
    statement: () => vault.statement(),
  };
}

/** A secret store in memory (the bench, and tests of what does not depend on where it is kept). */
export function memorySecretStore(initial: BoundSecret | null = null): SecretStore {
  let v = initial;
  return {
    get: async () => v,
    set: async (b) => void (v = { ...b }),
    remove: async () => void (v = null),
    holder: () => null,
    statement: () => 'Secrets are kept in memory only (a test or bench run).',
  };
}
