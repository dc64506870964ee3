// The encrypted store: key management (keychain or passphrase), the database, migrations, backup.
export { createStore, defaultMigrationsDir, DB_FILE } from './store';
export type { Store, StoreOptions, StoreStatus } from './store';
export { openEncrypted, isPlainSqliteFile, checkIntegrity, SQLITE_PLAIN_HEADER, applyKey } from './database';
export type { Db } from './database';
export { loadMigrations, migrate, currentSchemaVersion } from './migrator';
export type { Migration, MigrateOptions } from './migrator';
export { restoreDatabase, verifyBackup } from './backup';
export type { BackupResult, RestoreResult } from './backup';
export { loadKeychain, keychainAccount, KEYCHAIN_SERVICE, SCRYPT_PARAMS, readKeyParams, deriveKey, MIN_PASSPHRASE_LENGTH } from './keys';
export type { Keychain, KeychainStatus, KeyMode } from './keys';
export { loadTextKeychain, keychainFailure, keychainCause } from './keys';
export type { TextKeychain } from './keys';
export { createSecretVault, createStoreSecretVault, secretsKey } from './secret-vault';
export type { SecretVault, SecretVaultOptions, SecretHolder } from './secret-vault';
export { AUDIT_KEY_FILE } from './audit-key';
export type { AuditKeyState } from './audit-key';
