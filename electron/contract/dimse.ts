// DIMSE, the DICOM network protocol of scanners and PACS: the workstation's C-STORE SCP (push a
// study to it; C-ECHO), and as SCU the PACS it queries with C-FIND and retrieves from with C-MOVE
// (the PACS sends the study back to the SCP). Settings and the echo are an admin's; the query and
// the retrieve are a radiologist's (they show and bring patient data).
import { z } from 'zod';
import { channel } from './channel';

/** An AE title: 1 to 16 characters, no backslash or control characters (PS3.5 AE). */
export const aeTitleSchema = z
  .string()
  .trim()
  .min(1)
  .max(16)
  .regex(/^[A-Za-z0-9 ._\-+]+$/, 'an AE title: letters, digits, space, . _ - + (16 at most)');
/** A host name or IP address (no scheme, no port). */
const hostSchema = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:\-_]+$/, 'a host name or IP address');
const portSchema = z.number().int().min(1).max(65535);

export const dimsePeerSchema = z.object({ aeTitle: aeTitleSchema, host: hostSchema, port: portSchema }).strict();
export type DimsePeer = z.infer<typeof dimsePeerSchema>;

export const dimseSettingsSchema = z
  .object({
    /** Listen for C-STORE and C-ECHO (the SCP); off by default. */
    scpEnabled: z.boolean().default(false),
    /** This workstation's AE title: the called AE a sender must use, and the C-MOVE destination. */
    aeTitle: aeTitleSchema.default('TUMORPREDICT'),
    port: portSchema.default(11112),
    /** The address the SCP listens on: 0.0.0.0 for every interface, 127.0.0.1 for this machine only. */
    bindAddress: hostSchema.default('0.0.0.0'),
    /**
     * Who may push: a calling AE title, and where given, the address it must come from. Nobody
     * else may associate. The PACS below may always send (a C-MOVE's studies come from it).
     */
    allowedCallers: z
      .array(
        z
          .object({
            aeTitle: aeTitleSchema,
            /** The IP address it must come from (as the SCP sees it); null: any. */
            host: z.string().trim().max(45).regex(/^[0-9A-Fa-f:.]+$/, 'an IP address').nullable().default(null),
          })
          .strict(),
      )
      .max(100)
      .default([]),
    /** Run the AI model on each study that arrives by DIMSE. */
    autoRunModel: z.boolean().default(false),
    /** The PACS queried with C-FIND and retrieved from with C-MOVE; null: none. */
    pacs: dimsePeerSchema.nullable().default(null),
  })
  .strict();
export type DimseSettings = z.infer<typeof dimseSettingsSchema>;

/**
 * A change to the settings: only the fields given. (Not `.partial()`: zod fills a partial
 * object's missing fields with their defaults, and a change of one field would reset the rest.)
 */
export const dimseSettingsPatchSchema = z
  .object(Object.fromEntries(Object.entries(dimseSettingsSchema.shape).map(([k, v]) => [k, v.unwrap().optional()])))
  .strict() as unknown as z.ZodType<Partial<DimseSettings>, Partial<DimseSettings>>;

export const dimseStatusSchema = z.object({
  /** Where the SCP listens now; null when it does not. */
  listening: z.object({ aeTitle: z.string(), address: z.string(), port: z.number().int() }).nullable(),
  /** Why it does not listen although enabled (port in use...). */
  error: z.string().nullable(),
  /** Since start: associations accepted and refused, instances received by outcome. */
  associations: z.number().int(),
  associationsRefused: z.number().int(),
  received: z.object({ imported: z.number().int(), duplicate: z.number().int(), refused: z.number().int() }),
});
export type DimseStatus = z.infer<typeof dimseStatusSchema>;

export const dimseSettingsViewSchema = z.object({ settings: dimseSettingsSchema, status: dimseStatusSchema });
export type DimseSettingsView = z.infer<typeof dimseSettingsViewSchema>;

const dicomDate = z.string().regex(/^\d{8}$/, 'use YYYYMMDD');
/** Query text: DICOM matching allows * and ?; no backslash (a value separator) or control characters. */
const queryText = z
  .string()
  .trim()
  .max(64)
  .refine((v) => !/\\/.test(v) && ![...v].some((c) => c.charCodeAt(0) < 0x20), 'no backslash or control characters');

export const pacsQuerySchema = z
  .object({
    patientName: queryText.optional(),
    patientId: queryText.optional(),
    accessionNumber: queryText.optional(),
    dateFrom: dicomDate.optional(),
    dateTo: dicomDate.optional(),
    modality: z.string().max(16).regex(/^[A-Z0-9]*$/, 'a DICOM modality code such as MR').optional(),
    limit: z.number().int().min(1).max(500).default(100),
  })
  .strict();
export type PacsQuery = z.infer<typeof pacsQuerySchema>;

export const pacsStudySchema = z.object({
  studyInstanceUid: z.string(),
  patientName: z.string(),
  patientId: z.string(),
  accessionNumber: z.string(),
  studyDate: z.string(),
  studyDescription: z.string(),
  modalities: z.array(z.string()),
  instances: z.number().int().nullable(),
  /** Whether the study is in the local worklist already. */
  local: z.boolean(),
});
export type PacsStudy = z.infer<typeof pacsStudySchema>;

/**
 * How the Hospital server page reaches the hospital's archive: DIMSE (C-FIND, C-MOVE) when a PACS
 * is configured in the DIMSE settings, otherwise DICOMweb (QIDO-RS, WADO-RS) through the hospital
 * server of the sync settings; 'none' when neither is configured.
 */
export const pacsTransportSchema = z.enum(['dimse', 'dicomweb', 'none']);
export type PacsTransport = z.infer<typeof pacsTransportSchema>;

export const pacsSourceSchema = z.object({
  transport: pacsTransportSchema,
  /** The server in words ("ORTHANC at pacs.example.org:104", or the DICOMweb address); null with 'none'. */
  server: z.string().nullable(),
  /** Whether a retrieve can work now (DIMSE needs this workstation's receiver listening). */
  canRetrieve: z.boolean(),
  /** Why not, or what to do (no server configured, receiver off). */
  message: z.string().nullable(),
});
export type PacsSource = z.infer<typeof pacsSourceSchema>;

/** A retrieve's id, chosen by the caller so that it can cancel the retrieve while it runs. */
export const retrieveIdSchema = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'a retrieve id: 8 to 64 letters, digits or -');

/** Payload of the `pacs.progress` event pushed to the connection that started the retrieve. */
export const pacsProgressSchema = z.object({
  retrieveId: z.string(),
  studyInstanceUid: z.string(),
  transport: z.enum(['dimse', 'dicomweb']),
  /** retrieving: instances arrive; analysing: the AI runs on the study; done: finished, cancelled or failed. */
  phase: z.enum(['retrieving', 'analysing', 'done']),
  /** Sub-operations (DIMSE) or instances (DICOMweb) completed, still to come (null when the server does not say), failed. */
  completed: z.number().int(),
  remaining: z.number().int().nullable(),
  failed: z.number().int(),
  warnings: z.number().int(),
});
export type PacsProgress = z.infer<typeof pacsProgressSchema>;
export const PACS_PROGRESS_EVENT = 'pacs.progress';

export const pacsRetrieveResultSchema = z.object({
  studyInstanceUid: z.string(),
  transport: z.enum(['dimse', 'dicomweb']),
  /** Stopped by pacs.cancel: what arrived before stays in the worklist; the AI did not run. */
  cancelled: z.boolean(),
  /** The C-MOVE's own counts (sub-operations). */
  completed: z.number().int(),
  failed: z.number().int(),
  warnings: z.number().int(),
  /** The study in the local worklist (null when nothing arrived). */
  studyId: z.string().nullable(),
  /** The AI run on it, when asked for: 'done', 'failed' with its reason, or 'skipped'. */
  ai: z.object({ state: z.enum(['done', 'failed', 'skipped']), message: z.string().nullable() }),
});
export type PacsRetrieveResult = z.infer<typeof pacsRetrieveResultSchema>;

const empty = z.object({}).strict();

export const dimseChannels = {
  'dimse.getSettings': channel({ summary: 'Read the DIMSE settings (C-STORE SCP, allowed callers, the PACS) and whether the SCP listens', request: empty, response: dimseSettingsViewSchema }),
  'dimse.setSettings': channel({ summary: 'Change the DIMSE settings (the SCP restarts on the new ones)', request: dimseSettingsPatchSchema, response: dimseSettingsViewSchema }),
  'dimse.echo': channel({
    summary: 'C-ECHO the configured PACS',
    request: empty,
    response: z.object({ ok: z.boolean(), message: z.string() }),
  }),
  'pacs.source': channel({ summary: 'Which hospital archive the Hospital server page searches, and over which transport (DIMSE or DICOMweb)', request: empty, response: pacsSourceSchema }),
  'pacs.find': channel({
    summary: 'Search the hospital archive for studies (C-FIND at study level, or QIDO-RS)',
    request: pacsQuerySchema,
    response: z.object({ studies: z.array(pacsStudySchema), truncated: z.boolean(), transport: z.enum(['dimse', 'dicomweb']) }),
  }),
  'pacs.retrieve': channel({
    summary: 'Retrieve a study into the worklist (C-MOVE to this workstation, or WADO-RS), with pacs.progress events, then run the AI on it',
    request: z.object({ studyInstanceUid: z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64), runAi: z.boolean().default(true), retrieveId: retrieveIdSchema.optional() }).strict(),
    response: pacsRetrieveResultSchema,
  }),
  'pacs.cancel': channel({
    summary: 'Stop a retrieve this user started (C-CANCEL, or the transfer closed); what arrived stays',
    request: z.object({ retrieveId: retrieveIdSchema }).strict(),
    response: z.object({ cancelled: z.boolean() }),
  }),
};
