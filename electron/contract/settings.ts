// Workstation settings: one zod schema with defaults, read and written by the admin page, the CLI
// and the tests through settings.get / settings.update.
import { z } from 'zod';
import { channel } from './channel';
import { runtimePreferenceSchema } from './system';

export const settingsSchema = z.object({
  /** Minutes without a call after which a session ends. */
  sessionIdleMinutes: z.number().int().min(1).max(24 * 60).default(15),
  /** Hours after sign-in at which a session ends however busy it is (one clinical shift). */
  sessionMaxHours: z.number().int().min(1).max(7 * 24).default(12),
  /** Failed sign-ins in a row that lock an account... */
  lockoutAttempts: z.number().int().min(1).max(100).default(5),
  /** ...for this many minutes. */
  lockoutMinutes: z.number().int().min(1).max(24 * 60).default(15),
  passwordMinLength: z.number().int().min(8).max(128).default(12),
  passwordRequireUpper: z.boolean().default(false),
  passwordRequireLower: z.boolean().default(false),
  passwordRequireDigit: z.boolean().default(false),
  passwordRequireSymbol: z.boolean().default(false),
  /** Minutes a password reset code stays valid. */
  resetCodeMinutes: z.number().int().min(5).max(7 * 24 * 60).default(60),
  /** Import the bundled demo study (derived images, made-up patients) while no study exists. */
  importDemoStudy: z.boolean().default(true),
  /**
   * Inference runtime: 'auto' (the fastest available) or one by name. Applied at once, from the
   * next AI run on; a --runtime flag or TUMORPREDICT_RUNTIME given at start wins over it.
   */
  inferenceRuntime: runtimePreferenceSchema.default('auto'),
});
export type Settings = z.infer<typeof settingsSchema>;
export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});

export const settingsChannels = {
  'settings.get': channel({
    summary: 'Read the workstation settings (session, lockout, password rules, reset codes, inference runtime)',
    request: z.object({}).strict(),
    response: settingsSchema,
  }),
  'settings.update': channel({
    summary: 'Change workstation settings',
    request: settingsSchema.partial().strict(),
    response: settingsSchema,
  }),
};
