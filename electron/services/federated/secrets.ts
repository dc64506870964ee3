// The federation's secrets (the site's Ed25519 private key, its enrolment token, the
// coordinator's TLS key) in the data folder's secret vault: the OS keychain in keychain mode, the
// database's AES-GCM secrets table in passphrase mode. Never a plain file, never a log line.
import type { SecretVault } from '../store';

export type SecretName = 'site-key' | 'site-token' | 'tls-key';

export interface FederationSecrets {
  get(name: SecretName): Promise<string | null>;
  set(name: SecretName, value: string): Promise<void>;
  remove(name: SecretName): Promise<void>;
  /** Where secrets go: "OS keychain" or "encrypted database". */
  where(): Promise<string>;
}

const WHAT: Record<SecretName, string> = {
  'site-key': 'federation site key',
  'site-token': 'federation enrolment token',
  'tls-key': "coordinator's HTTPS key",
};

export function createFederationSecrets(vault: SecretVault): FederationSecrets {
  const name = (n: SecretName): string => `federation-${n}`;
  return {
    get: (n) => vault.get(name(n), WHAT[n]),
    set: (n, v) => vault.set(name(n), v, WHAT[n]),
    remove: (n) => vault.remove(name(n), WHAT[n]),
    async where() {
      const h = vault.holder();
      return h === 'keychain' ? 'OS keychain' : h === 'database' ? 'encrypted database' : 'nowhere yet (the database is not set up)';
    },
  };
}
