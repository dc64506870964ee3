// Configuration of one workstation instance (data folder, key source, runtime).
export { resolveConfig, defaultDataFolder, appRoot, appVersion } from './config';
export type { WorkstationConfig } from './config';
