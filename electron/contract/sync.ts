// The hospital-server (DICOMweb) sync API: server settings, connection test, sync status, a
// manual "sync now", and the durable outbox of results waiting to be sent (list, retry, cancel).
import { z } from 'zod';
import { channel } from './channel';

/** DICOM DA: YYYYMMDD. */
const dicomDate = z.string().regex(/^\d{8}$/, 'use YYYYMMDD');

export const syncFiltersSchema = z
  .object({
    /** Only studies that contain this modality (QIDO ModalitiesInStudy); empty means all. */
    modality: z.string().max(16).regex(/^[A-Z0-9]*$/, 'a DICOM modality code such as MR').default('MR'),
    /** Study date range, inclusive; null means open-ended. */
    dateFrom: dicomDate.nullable().default(null),
    dateTo: dicomDate.nullable().default(null),
    /** Only series whose Station Name (0008,1010) matches (many modalities put their AE title there). */
    stationName: z.string().max(64).nullable().default(null),
  })
  .strict();
export type SyncFilters = z.infer<typeof syncFiltersSchema>;

export const syncAuthTypeSchema = z.enum(['none', 'basic', 'bearer']);
export type SyncAuthType = z.infer<typeof syncAuthTypeSchema>;

/** What is stored (the secret never is: it lives in the secret vault, bound to the server's origin and auth type). */
export const syncSettingsSchema = z
  .object({
    /** Polling and automatic sending run only when enabled. */
    enabled: z.boolean().default(false),
    /** DICOMweb root, e.g. https://pacs.example.org/dicom-web */
    baseUrl: z
      .string()
      .max(2048)
      .refine((v) => v === '' || /^https?:\/\/[^\s/]+/i.test(v), 'an http:// or https:// address')
      .default(''),
    authType: syncAuthTypeSchema.default('none'),
    /** User name for HTTP basic auth. */
    username: z.string().max(256).default(''),
    /** Verify the server's TLS certificate (on unless an admin turns it off). */
    tlsVerify: z.boolean().default(true),
    /** Extra trusted CA certificate(s), PEM, for a hospital's own CA. */
    caCertificatePem: z.string().max(100_000).nullable().default(null),
    pollIntervalSeconds: z.number().int().min(10).max(86_400).default(300),
    filters: syncFiltersSchema.default(syncFiltersSchema.parse({})),
    /** Run the model on each study that arrives. */
    autoRunModel: z.boolean().default(false),
    /**
     * Send the password or token over plain http (insecure: anyone on the network path reads it).
     * Off by default; an admin's explicit choice, audited (sync.allowInsecureHttp).
     */
    allowInsecureHttp: z.boolean().default(false),
    /**
     * Send the source series with a signed report's SEG and SR, so every reference they make
     * resolves on the server: by default for studies imported here (the server has not got
     * them), not for studies pulled from the server (it has them already).
     */
    sendSourceImages: z
      .object({ localStudies: z.boolean().default(true), pulledStudies: z.boolean().default(false) })
      .strict()
      .default({ localStudies: true, pulledStudies: false }),
  })
  .strict();
export type SyncSettings = z.infer<typeof syncSettingsSchema>;

export const secretHolderSchema = z.enum(['keychain', 'database']);
export type SecretHolderName = z.infer<typeof secretHolderSchema>;

/** What the admin page reads: the settings plus whether a secret is stored for this server (never the secret). */
export const syncSettingsViewSchema = syncSettingsSchema.extend({
  /** A secret is stored for this server's origin and auth type (one for another server does not count). */
  hasSecret: z.boolean(),
  /** Where secrets are kept in this data folder: the OS keychain or the encrypted database (null: not set up). */
  secretStore: secretHolderSchema.nullable(),
  /** One sentence saying which store holds the secrets, for the settings page. */
  secretStoreStatement: z.string(),
});
export type SyncSettingsView = z.infer<typeof syncSettingsViewSchema>;

/**
 * A change: only the fields given. (Not `.partial()`: zod fills a partial object's missing
 * fields with their defaults, so changing one field through a channel reset the server address.)
 */
const syncSettingsPatchShape = Object.fromEntries(
  Object.entries(syncSettingsSchema.shape).map(([k, v]) => [k, (v instanceof z.ZodDefault ? v.unwrap() : v).optional()]),
) as unknown as { [K in keyof typeof syncSettingsSchema.shape]: z.ZodOptional<z.ZodType<SyncSettings[K], SyncSettings[K]>> };

export const syncSetSettingsRequestSchema = z
  .object(syncSettingsPatchShape)
  .extend({
    /** New password (basic) or token (bearer), kept in the secret vault bound to this server; null removes it. */
    secret: z.string().min(1).max(16_384).nullable().optional(),
  })
  .strict();

export const connectionStepSchema = z.enum(['url', 'dns', 'connect', 'tls', 'auth', 'dicomweb', 'server', 'ok']);
export type ConnectionStep = z.infer<typeof connectionStepSchema>;

export const connectionTestSchema = z.object({
  ok: z.boolean(),
  /** The step that failed, or 'ok'. */
  step: connectionStepSchema,
  message: z.string(),
  httpStatus: z.number().int().nullable(),
  elapsedMs: z.number(),
});
export type ConnectionTest = z.infer<typeof connectionTestSchema>;

export const outboxKindSchema = z.enum(['seg', 'sr', 'pdf', 'image', 'other']);
export type OutboxKind = z.infer<typeof outboxKindSchema>;
export const outboxStateSchema = z.enum(['queued', 'sending', 'sent', 'failed', 'cancelled']);
export type OutboxState = z.infer<typeof outboxStateSchema>;

export const outboxItemSchema = z.object({
  id: z.number().int(),
  kind: outboxKindSchema,
  sopInstanceUid: z.string(),
  studyInstanceUid: z.string(),
  /** A short label such as "Tumor SEG" (never patient data). */
  label: z.string(),
  state: outboxStateSchema,
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  sizeBytes: z.number().int(),
});
export type OutboxItem = z.infer<typeof outboxItemSchema>;

export const syncRunSummarySchema = z.object({
  startedAt: z.string(),
  finishedAt: z.string(),
  ok: z.boolean(),
  studiesFound: z.number().int(),
  studiesPulled: z.number().int(),
  instancesImported: z.number().int(),
  instancesSkipped: z.number().int(),
  instancesRefused: z.number().int(),
  pushed: z.number().int(),
  pushFailed: z.number().int(),
  error: z.string().nullable(),
});
export type SyncRunSummary = z.infer<typeof syncRunSummarySchema>;

export const syncStatusSchema = z.object({
  configured: z.boolean(),
  enabled: z.boolean(),
  running: z.boolean(),
  lastSuccessAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  nextRunAt: z.string().nullable(),
  outbox: z.object({ waiting: z.number().int(), failed: z.number().int(), sent: z.number().int() }),
  lastRun: syncRunSummarySchema.nullable(),
});
export type SyncStatus = z.infer<typeof syncStatusSchema>;

const empty = z.object({}).strict();
const itemId = z.object({ id: z.number().int().positive() }).strict();

export const syncChannels = {
  'sync.getSettings': channel({ summary: 'Read the hospital server (DICOMweb) settings', request: empty, response: syncSettingsViewSchema }),
  'sync.setSettings': channel({ summary: 'Change the hospital server settings (the secret goes to the secret vault)', request: syncSetSettingsRequestSchema, response: syncSettingsViewSchema }),
  'sync.testConnection': channel({
    summary: 'Test the connection to the hospital server and say which step failed',
    request: z.object({ settings: syncSettingsSchema.partial().optional(), secret: z.string().min(1).max(16_384).optional() }).strict(),
    response: connectionTestSchema,
  }),
  'sync.status': channel({ summary: 'Sync status: last sync, items waiting, errors', request: empty, response: syncStatusSchema }),
  'sync.now': channel({ summary: 'Pull new studies and send waiting results now', request: empty, response: syncRunSummarySchema }),
  'outbox.list': channel({
    summary: 'Results waiting to be sent to the hospital server, and their state',
    request: z.object({ states: z.array(outboxStateSchema).max(5).optional(), limit: z.number().int().min(1).max(500).default(100) }).strict(),
    response: z.object({ items: z.array(outboxItemSchema), total: z.number().int() }),
  }),
  'outbox.retry': channel({ summary: 'Send an outbox item again now', request: itemId, response: outboxItemSchema }),
  'outbox.cancel': channel({ summary: 'Cancel an outbox item that has not been sent', request: itemId, response: outboxItemSchema }),
};
