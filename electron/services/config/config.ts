// The configuration the composition root builds every service from: where data lives, how the
// database key is found, which inference runtime to use. Transports fill it from their flags.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import type { RuntimeName } from '../../contract';

export interface WorkstationConfig {
  dataFolder: string;
  transport: 'electron' | 'host' | 'cli';
  appVersion: string;
  electronVersion: string | null;
  /** Folder of installed models (each a sub-folder with model-card.json). */
  modelsFolder: string;
  /**
   * 'auto' picks the fastest runtime that loads here (or the admin's stored setting, once the
   * database opens). A runtime named here wins over that setting.
   */
  runtime: RuntimeName | 'auto';
  /** Where a runtime named above came from, for doctor and the settings page (absent: not said). */
  runtimeFrom?: 'flag' | 'env';
  /** How the database key is kept: the OS keychain, or a passphrase (headless servers). */
  keySource: 'auto' | 'keychain' | 'passphrase';
  /** Passphrase given on start (env TUMORPREDICT_PASSPHRASE or a file) for passphrase mode. */
  passphrase: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logToStderr: boolean;
}

/** The repository (or packaged app) root: the folder holding package.json. */
export function appRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'native-models'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export function appVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(appRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The platform's per-user app-data folder, as Electron's app.getPath('userData') would give. */
export function defaultDataFolder(): string {
  const home = os.homedir();
  const name = 'TumorPredict Workstation';
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), name);
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', name);
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), name);
}

function runtimeFrom(partial: Partial<WorkstationConfig>): Pick<WorkstationConfig, 'runtimeFrom'> {
  if (partial.runtime) return partial.runtime === 'auto' ? {} : { runtimeFrom: partial.runtimeFrom ?? 'flag' };
  const env = process.env.TUMORPREDICT_RUNTIME;
  return env && env !== 'auto' ? { runtimeFrom: 'env' } : {};
}

export function resolveConfig(partial: Partial<WorkstationConfig> & Pick<WorkstationConfig, 'transport'>): WorkstationConfig {
  const root = appRoot();
  return {
    dataFolder: path.resolve(partial.dataFolder ?? process.env.TUMORPREDICT_DATA ?? defaultDataFolder()),
    transport: partial.transport,
    appVersion: partial.appVersion ?? appVersion(),
    electronVersion: partial.electronVersion ?? process.versions.electron ?? null,
    modelsFolder: partial.modelsFolder ?? (process.env.TUMORPREDICT_MODELS ? path.resolve(process.env.TUMORPREDICT_MODELS) : path.join(root, 'native-models')),
    runtime: partial.runtime ?? ((process.env.TUMORPREDICT_RUNTIME as RuntimeName | undefined) || 'auto'),
    ...runtimeFrom(partial),
    keySource: partial.keySource ?? ((process.env.TUMORPREDICT_KEY_SOURCE as WorkstationConfig['keySource'] | undefined) || 'auto'),
    passphrase: partial.passphrase ?? process.env.TUMORPREDICT_PASSPHRASE ?? null,
    logLevel: partial.logLevel ?? 'info',
    logToStderr: partial.logToStderr ?? false,
  };
}
