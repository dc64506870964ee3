// Answers what the workstation is and whether it is ready: versions, data folder, runtimes,
// keychain and database state. Read by system.info, system.health and `tumorpredict doctor`.
import type { RuntimeChoice, RuntimeInfo, RuntimeName, SystemHealth, SystemInfo } from '../../contract';
import type { WorkstationConfig } from '../config';

export interface DatabaseStatus {
  encrypted: boolean;
  unlocked: boolean;
  keySource: 'keychain' | 'passphrase' | null;
  schemaVersion: number | null;
  /** Why the database is not open, in words an admin can act on. */
  problem: string | null;
  /** True while the database does not exist yet and waits for first-run setup (passphrase mode). */
  setupPending?: boolean;
}

export interface SystemServiceDeps {
  config: WorkstationConfig;
  runtimes: () => RuntimeInfo[];
  activeRuntime: () => RuntimeName | null;
  runtimeChoice: () => RuntimeChoice;
  gpu: () => { found: boolean; detail: string };
  keychain: () => { available: boolean; detail: string };
  database: () => DatabaseStatus;
  adminExists: () => boolean;
}

export interface SystemService {
  info(): SystemInfo;
  health(): SystemHealth;
}

export function createSystemService(deps: SystemServiceDeps): SystemService {
  return {
    info() {
      const db = deps.database();
      return {
        appVersion: deps.config.appVersion,
        nodeVersion: process.versions.node,
        electronVersion: deps.config.electronVersion,
        platform: `${process.platform}-${process.arch}`,
        transport: deps.config.transport,
        dataFolder: deps.config.dataFolder,
        runtimes: deps.runtimes(),
        activeRuntime: deps.activeRuntime(),
        runtimeChoice: deps.runtimeChoice(),
        gpu: deps.gpu(),
        keychain: deps.keychain(),
        database: { encrypted: db.encrypted, unlocked: db.unlocked, keySource: db.keySource, schemaVersion: db.schemaVersion },
      };
    },
    health() {
      const db = deps.database();
      const problems: string[] = [];
      if (db.problem) problems.push(db.problem);
      if (!deps.activeRuntime()) problems.push('No inference runtime could be loaded; AI results are unavailable.');
      return {
        status: problems.length ? 'degraded' : 'ok',
        version: deps.config.appVersion,
        databaseUnlocked: db.unlocked,
        setupRequired: db.unlocked ? !deps.adminExists() : db.setupPending === true,
        problems,
      };
    },
  };
}
