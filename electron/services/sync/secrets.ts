// The hospital server's password or token, kept in the OS keychain (never in the database or
// logs), under an account of its own per data folder: dicomweb:<sha256 of the folder's real path>.
import { createRequire } from 'node:module';
import { WorkstationError } from '../../contract';
import { KEYCHAIN_SERVICE, keychainAccount } from '../store';

interface Keytar {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export interface SecretStore {
  get(): Promise<string | null>;
  set(secret: string): Promise<void>;
  remove(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the OS keychain did not answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

export function syncSecretAccount(dataFolder: string): string {
  return `dicomweb:${keychainAccount(dataFolder)}`;
}

/**
 * The store's keychain wrapper keeps 32-byte database keys (it checks their form), so the
 * free-text secret uses keytar directly with the same service name and load path.
 */
export function createSecretStore(dataFolder: string, service = KEYCHAIN_SERVICE, timeoutMs = 5000): SecretStore {
  let keytar: Keytar | null = null;
  let loadError = '';
  try {
    keytar = createRequire(import.meta.url)('keytar') as Keytar;
  } catch (err) {
    loadError = (err as Error).message.split('\n')[0] ?? '';
  }
  const account = (): string => syncSecretAccount(dataFolder);
  const run = async <T>(what: string, fn: (k: Keytar) => Promise<T>): Promise<T> => {
    if (!keytar) throw new WorkstationError('UNAVAILABLE', `The hospital server password cannot be kept: the OS keychain module did not load. Run "node scripts/ensure-native.mjs".`, { cause: loadError });
    try {
      return await withTimeout(fn(keytar), timeoutMs);
    } catch (err) {
      throw new WorkstationError('UNAVAILABLE', `The OS keychain did not answer (${what} of the hospital server password). On Linux it needs gnome-keyring (or KWallet) on the session D-Bus.`, { cause: err });
    }
  };
  return {
    get: () => run('read', (k) => k.getPassword(service, account())),
    async set(secret) {
      await run('write', (k) => k.setPassword(service, account(), secret));
      const back = await run('read', (k) => k.getPassword(service, account()));
      if (back !== secret) throw new WorkstationError('UNAVAILABLE', 'The OS keychain did not keep the hospital server password that was written to it.');
    },
    async remove() {
      await run('delete', (k) => k.deletePassword(service, account()));
    },
  };
}
