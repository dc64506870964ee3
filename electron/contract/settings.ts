// Workstation settings: one zod schema with defaults, read and written by the admin page, the CLI
// and the tests through settings.get / settings.update.
import { z } from 'zod';
import { channel } from './channel';
import { runtimePreferenceSchema } from './system';

const userIds = z.array(z.string().min(1).max(64)).max(100);

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
  /**
   * Folder (absolute path) where a signed checkpoint of the audit chain is written each day, so a
   * history rewritten later is found by `audit verify --checkpoint FILE`; null: none.
   */
  auditCheckpointFolder: z.string().max(4096).regex(/^(\/|[A-Za-z]:[\\/])/, 'an absolute folder path').nullable().default(null),
  /** Import the bundled demo study (derived images, made-up patients) while no study exists. */
  importDemoStudy: z.boolean().default(true),
  /**
   * Inference runtime: 'auto' (the fastest available) or one by name. Applied at once, from the
   * next AI run on; a --runtime flag or TUMORPREDICT_RUNTIME given at start wins over it.
   */
  inferenceRuntime: runtimePreferenceSchema.default('auto'),
  /**
   * Score every study as it arrives (import, hospital-server sync, DIMSE, patient uploads), one
   * at a time, behind the viewer's own requests, so opening it shows the result at once. Off
   * cancels the study being scored and empties the queue.
   */
  backgroundScoring: z.boolean().default(true),
  /** Patients may send images for review from their own account (the care team always may, for them). */
  patientUploadsFromAccount: z.boolean().default(false),
  /** What a patient sees of an upload before review: only "received", or the preliminary AI result too. */
  patientSeesBeforeReview: z.enum(['received-only', 'preliminary-ai']).default('received-only'),
  /** The hospital's emergency number for patients; empty: the page says to call the local emergency number. */
  emergencyNumber: z.string().trim().max(40).default(''),
  /** Further emergency contacts, one per line (ward, out-of-hours line). */
  emergencyContacts: z.string().max(2000).default(''),
  /** The department contact shown under My care team (phone, hours, address). */
  departmentContact: z.string().max(1000).default(''),
  /** The radiologists shown to patients as their care team (user ids). */
  careTeamUserIds: userIds.default([]),
  /** Radiologists on duty, who are notified of urgent messages; empty: every active radiologist. */
  onDutyUserIds: userIds.default([]),
  /** The hospital: the verifying organization of signed SRs, and printed on report PDFs and DICOM objects. */
  institutionName: z.string().trim().max(64).default(''),
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
    // Only the keys sent change: without the defaults (which .partial() would still fill in,
    // resetting every setting not named to its default).
    request: z.object(Object.fromEntries(Object.entries(settingsSchema.shape).map(([k, v]) => [k, v.unwrap().optional()]))).strict() as unknown as z.ZodType<Partial<Settings>, Partial<Settings>>,
    response: settingsSchema,
  }),
};
