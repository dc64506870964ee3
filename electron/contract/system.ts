// Channels that describe the workstation itself: version, data folder, runtimes, database state.
import { z } from 'zod';
import { channel } from './channel';

export const runtimeNameSchema = z.enum(['tfjs-node-gpu', 'onnxruntime-node', 'tfjs-node', 'tfjs-wasm']);
export type RuntimeName = z.infer<typeof runtimeNameSchema>;

/** What may be asked for: a runtime by name, or 'auto' (the fastest one that loads here). */
export const runtimePreferenceSchema = z.union([z.literal('auto'), runtimeNameSchema]);
export type RuntimePreference = z.infer<typeof runtimePreferenceSchema>;

/**
 * Which runtime is asked for and by whom. Precedence: the start configuration (the --runtime
 * flag, or the TUMORPREDICT_RUNTIME environment variable) wins over the admin's stored setting,
 * which wins over 'auto'.
 */
export const runtimeChoiceSchema = z.object({
  wanted: runtimePreferenceSchema,
  /** default: nothing asked for (auto); setting: the stored admin setting; flag / env: forced at start. */
  source: z.enum(['default', 'setting', 'flag', 'env']),
  /** The stored setting, also when the start configuration overrides it. */
  setting: runtimePreferenceSchema,
  /** Why the wanted runtime is not the one in use, when it is not (unavailable here). */
  problem: z.string().optional(),
});
export type RuntimeChoice = z.infer<typeof runtimeChoiceSchema>;

export const runtimeInfoSchema = z.object({
  name: runtimeNameSchema,
  available: z.boolean(),
  /** Execution device, e.g. "cpu" or "cuda". */
  device: z.string(),
  /** Why it is not available, and what would fix it (technical: for IT and `tumorpredict doctor`). */
  reason: z.string().optional(),
  /** The same for an administrator in the settings page: what it means and whom to ask, no commands. */
  adminHint: z.string().optional(),
});
export type RuntimeInfo = z.infer<typeof runtimeInfoSchema>;

export const systemInfoSchema = z.object({
  appVersion: z.string(),
  nodeVersion: z.string(),
  electronVersion: z.string().nullable(),
  platform: z.string(),
  transport: z.enum(['electron', 'host', 'cli']),
  dataFolder: z.string(),
  runtimes: z.array(runtimeInfoSchema),
  activeRuntime: runtimeNameSchema.nullable(),
  runtimeChoice: runtimeChoiceSchema,
  gpu: z.object({ found: z.boolean(), detail: z.string() }),
  keychain: z.object({ available: z.boolean(), detail: z.string() }),
  database: z.object({
    encrypted: z.boolean(),
    unlocked: z.boolean(),
    keySource: z.enum(['keychain', 'passphrase']).nullable(),
    schemaVersion: z.number().int().nullable(),
  }),
});
export type SystemInfo = z.infer<typeof systemInfoSchema>;

export const systemHealthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  databaseUnlocked: z.boolean(),
  /** True until the first admin account exists: the renderer shows first-run setup. */
  setupRequired: z.boolean(),
  problems: z.array(z.string()),
});
export type SystemHealth = z.infer<typeof systemHealthSchema>;

export const systemChannels = {
  'system.info': channel({
    summary: 'Version, data folder, inference runtimes and database state',
    request: z.object({}).strict(),
    response: systemInfoSchema,
  }),
  'system.health': channel({
    summary: 'Whether the workstation is ready and whether first-run setup is needed',
    request: z.object({}).strict(),
    response: systemHealthSchema,
  }),
};
