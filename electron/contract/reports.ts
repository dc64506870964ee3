// Reports: the life cycle of one study's report (draft, preliminary, final, rejected, addenda),
// the structured brain-tumor MRI template, key images, history, export and the patient summary.
import { z } from 'zod';
import { passwordSchema, totpCodeSchema } from './auth';
import { channel } from './channel';

const id = z.string().min(1).max(64);

/**
 * What an electronic signature means, recorded with its audit row (21 CFR 11.50 style: the
 * printed name, the date and time, and the meaning of the signature).
 */
export const SIGNATURE_MEANINGS = { sign: 'final report, signed by', addendum: 'addendum, signed by' } as const;

/** Every signature asks for the signer's password again, and the TOTP code when enrolled. */
const signatureCredentials = { password: passwordSchema, totpCode: totpCodeSchema.optional() };

export const REPORT_STATUSES = ['draft', 'preliminary', 'final', 'rejected'] as const;
export const reportStatusSchema = z.enum(REPORT_STATUSES);
export type ReportStatus = z.infer<typeof reportStatusSchema>;
/** A study without a report yet shows as 'none' on the dashboard and the worklist. */
export type StudyReportStatus = ReportStatus | 'none';

/** The structured brain-tumor MRI template, in the order the report prints. */
export const REPORT_SECTIONS = ['clinicalInformation', 'technique', 'findings', 'impression', 'recommendation'] as const;
export const reportSectionKeySchema = z.enum(REPORT_SECTIONS);
export type ReportSectionKey = z.infer<typeof reportSectionKeySchema>;
export const REPORT_SECTION_LABELS: Record<ReportSectionKey, string> = {
  clinicalInformation: 'Clinical information',
  technique: 'Technique',
  findings: 'Findings',
  impression: 'Impression',
  recommendation: 'Recommendation',
};

/**
 * Where a section's text came from: 'ai' is AI text nobody has reviewed yet; 'ai-accepted' was
 * accepted unchanged by the radiologist; 'ai-edited' started as AI text and was edited; 'human'
 * was written by the radiologist.
 */
export const sectionOriginSchema = z.enum(['ai', 'ai-accepted', 'ai-edited', 'human']);
export type SectionOrigin = z.infer<typeof sectionOriginSchema>;

export const MAX_SECTION_CHARS = 20_000;
export const MAX_NOTES_CHARS = 20_000;
const sectionText = z.string().max(MAX_SECTION_CHARS);

export const reportSectionSchema = z.object({ text: z.string(), origin: sectionOriginSchema });
export type ReportSection = z.infer<typeof reportSectionSchema>;
export const reportSectionsSchema = z.object({
  clinicalInformation: reportSectionSchema,
  technique: reportSectionSchema,
  findings: reportSectionSchema,
  impression: reportSectionSchema,
  recommendation: reportSectionSchema,
});
export type ReportSections = z.infer<typeof reportSectionsSchema>;

/** The AI finding a draft was filled from, as stored with the report (a snapshot). */
export const reportAiFindingSchema = z.object({
  label: z.string(),
  /** "Glioma", "No tumor", ... */
  labelText: z.string(),
  /** Calibrated probability of the label on the key image. */
  probability: z.number().min(0).max(1),
  location: z.string().nullable(),
  areaMm2: z.number().nullable(),
  areaPx: z.number().int(),
  volumeMm3: z.number().nullable(),
  slicesWithTumor: z.number().int(),
  slices: z.number().int(),
  seriesId: z.string(),
  keyInstanceId: z.string().nullable(),
  /** The key slice's 0-based frame in keyInstanceId; absent in findings stored before frames were scored (frame 0). */
  keyFrame: z.number().int().min(0).nullable().optional(),
  modelId: z.string(),
  modelVersion: z.string(),
  runtime: z.string(),
  resultAt: z.string(),
  /** Largest in-plane diameter of the mask on the key slice and its perpendicular, mm (null without pixel spacing); absent in findings stored before. */
  sizeMm: z.object({ longest: z.number(), perpendicular: z.number() }).nullable().optional(),
  /** The key slice as a radiologist names it: "series 3 (AX T1 POST), image 12"; absent in findings stored before. */
  where: z.string().nullable().optional(),
  /** Slices the model did not recognise; absent in findings stored before. */
  notRecognised: z.number().int().optional(),
  /**
   * What the model's card claimed when the finding was taken, and the series' sequence against it:
   * the report and its PDF state the figure that predicts a new site and warn outside the validated
   * sequences. Absent in findings stored before; null when the card states neither.
   */
  evidence: z
    .object({
      headline: z.object({ figure: z.string(), accuracy: z.number().min(0).max(1), n: z.number().int() }).nullable(),
      validatedSequences: z.array(z.string()),
      sequence: z.object({ code: z.string(), name: z.string(), basis: z.string() }).nullable(),
      warning: z.string().nullable(),
    })
    .nullable()
    .optional(),
});
export type ReportAiFinding = z.infer<typeof reportAiFindingSchema>;

export const aiDecisionSchema = z.enum(['none', 'pending', 'accepted', 'rejected']);
export type AiDecision = z.infer<typeof aiDecisionSchema>;

export const keyImageSchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  caption: z.string(),
  instanceId: z.string().nullable(),
  sha256: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  createdAt: z.string(),
});
export type KeyImage = z.infer<typeof keyImageSchema>;

export const addendumSchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  text: z.string(),
  signedByName: z.string(),
  signedAt: z.string(),
  contentHash: z.string(),
});
export type Addendum = z.infer<typeof addendumSchema>;

export const reportStudySchema = z.object({
  studyInstanceUid: z.string(),
  studyDate: z.string().nullable(),
  description: z.string().nullable(),
  accessionNumber: z.string().nullable(),
  patientName: z.string(),
  patientDicomId: z.string().nullable(),
  patientBirthDate: z.string().nullable(),
  patientSex: z.string().nullable(),
});

export const reportSchema = z.object({
  id: z.string(),
  studyId: z.string(),
  patientId: z.string(),
  status: reportStatusSchema,
  sections: reportSectionsSchema,
  aiFinding: reportAiFindingSchema.nullable(),
  aiDecision: aiDecisionSchema,
  rejectReason: z.string().nullable(),
  notes: z.string(),
  revision: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  preliminaryAt: z.string().nullable(),
  signedByName: z.string().nullable(),
  signedAt: z.string().nullable(),
  contentHash: z.string().nullable(),
  srSopInstanceUid: z.string().nullable(),
  pdfSopInstanceUid: z.string().nullable(),
  keyImages: z.array(keyImageSchema),
  addenda: z.array(addendumSchema),
  study: reportStudySchema,
  /** What the role may do next with this report (from the life-cycle table). */
  allowedActions: z.array(z.string()),
});
export type Report = z.infer<typeof reportSchema>;

export const DASHBOARD_FILTERS = ['pending', 'all', 'approved', 'rejected'] as const;
export const dashboardFilterSchema = z.enum(DASHBOARD_FILTERS);
export type DashboardFilter = z.infer<typeof dashboardFilterSchema>;

export const dashboardRowSchema = z.object({
  studyId: z.string(),
  reportId: z.string().nullable(),
  status: z.enum(['none', ...REPORT_STATUSES]),
  patientId: z.string(),
  patientName: z.string(),
  patientDicomId: z.string().nullable(),
  studyDate: z.string().nullable(),
  description: z.string().nullable(),
  aiLabel: z.string().nullable(),
  aiConfidence: z.number().nullable(),
  updatedAt: z.string().nullable(),
  signedAt: z.string().nullable(),
});
export type DashboardRow = z.infer<typeof dashboardRowSchema>;

export const historyPointSchema = z.object({
  studyId: z.string(),
  studyDate: z.string().nullable(),
  importedAt: z.string(),
  current: z.boolean(),
  aiLabel: z.string().nullable(),
  areaMm2: z.number().nullable(),
  volumeMm3: z.number().nullable(),
  reportId: z.string().nullable(),
  reportStatus: z.enum(['none', ...REPORT_STATUSES]),
  impression: z.string().nullable(),
});
export type HistoryPoint = z.infer<typeof historyPointSchema>;

export const verifyResultSchema = z.object({
  reportId: z.string(),
  ok: z.boolean(),
  signed: z.boolean(),
  storedHash: z.string().nullable(),
  computedHash: z.string().nullable(),
  addenda: z.array(z.object({ seq: z.number().int(), ok: z.boolean() })),
  /** One sentence: what was checked and what was found. */
  message: z.string(),
});
export type VerifyResult = z.infer<typeof verifyResultSchema>;

export const patientSummarySchema = z.object({
  reportId: z.string(),
  studyDate: z.string().nullable(),
  signedAt: z.string(),
  signedByName: z.string(),
  headline: z.string(),
  paragraphs: z.array(z.string()),
  /** An AI finding was part of the report (accepted or not): the patient view shows AI_NOTICE with it. */
  aiAssisted: z.boolean(),
  /** The report's key images (fetch each with reports.keyImage). */
  keyImages: z.array(z.object({ id: z.string(), caption: z.string(), width: z.number().int(), height: z.number().int() })).default([]),
  /** Notes the radiologist added after signing, oldest first, with a plain-language lead-in. */
  addenda: z.array(z.object({ seq: z.number().int(), intro: z.string(), text: z.string(), signedByName: z.string(), signedAt: z.string() })).default([]),
  /** The radiologist's own words, for the glossary of report terms. */
  reportText: z.string().default(''),
});
export type PatientSummary = z.infer<typeof patientSummarySchema>;

/** Key image PNG, base64: about 700 KB of PNG fits the transports' request limit. */
export const MAX_KEY_IMAGE_BASE64 = 960_000;

const reportRef = z.object({ reportId: id }).strict();

export const reportsChannels = {
  'reports.dashboard': channel({
    summary: "The doctor's dashboard: studies with their report status, filtered, with counts",
    request: z.object({ filter: dashboardFilterSchema.default('pending'), limit: z.number().int().min(1).max(500).default(200), offset: z.number().int().min(0).default(0) }).strict(),
    response: z.object({
      rows: z.array(dashboardRowSchema),
      total: z.number().int(),
      counts: z.object({ pending: z.number().int(), all: z.number().int(), approved: z.number().int(), rejected: z.number().int() }),
    }),
  }),
  'reports.statusForStudies': channel({
    summary: 'Report status of several studies (the worklist column)',
    request: z.object({ studyIds: z.array(id).max(500) }).strict(),
    response: z.object({ statuses: z.array(z.object({ studyId: z.string(), reportId: z.string().nullable(), status: z.enum(['none', ...REPORT_STATUSES]) })) }),
  }),
  'reports.open': channel({
    summary: "Open a study's report; a new draft is filled from the stored AI result",
    request: z.object({ studyId: id }).strict(),
    response: reportSchema,
  }),
  'reports.get': channel({ summary: 'One report', request: reportRef, response: reportSchema }),
  'reports.saveDraft': channel({
    summary: 'Autosave: store the edited sections and notes of a draft or preliminary report',
    request: z
      .object({
        reportId: id,
        baseRevision: z.number().int().min(1),
        sections: z
          .object({ clinicalInformation: sectionText.optional(), technique: sectionText.optional(), findings: sectionText.optional(), impression: sectionText.optional(), recommendation: sectionText.optional() })
          .strict()
          .default({}),
        notes: z.string().max(MAX_NOTES_CHARS).optional(),
      })
      .strict(),
    response: z.object({ revision: z.number().int(), updatedAt: z.string(), sections: reportSectionsSchema }),
  }),
  'reports.saveNotes': channel({
    summary: "Store the internal doctor's notes (never exported; allowed after signing)",
    request: z.object({ reportId: id, notes: z.string().max(MAX_NOTES_CHARS) }).strict(),
    response: z.object({ updatedAt: z.string() }),
  }),
  'reports.acceptAi': channel({ summary: 'Accept the AI text of the report as it stands', request: reportRef, response: reportSchema }),
  'reports.rejectAi': channel({
    summary: "Reject the AI finding with a reason; the radiologist's own finding stands",
    request: z.object({ reportId: id, reason: z.string().trim().min(3).max(2000) }).strict(),
    response: reportSchema,
  }),
  'reports.markPreliminary': channel({ summary: 'Mark a draft as a preliminary report', request: reportRef, response: reportSchema }),
  'reports.sign': channel({
    summary: "Sign the report with the signer's password (and TOTP code) again: it becomes final (or rejected) and locked; its PDF and SR are queued for the hospital server",
    request: z.object({ reportId: id, baseRevision: z.number().int().min(1), ...signatureCredentials }).strict(),
    response: reportSchema,
  }),
  'reports.addAddendum': channel({
    summary: "Append a signed, dated addendum to a signed report (the signer's password and TOTP code again)",
    request: z.object({ reportId: id, text: z.string().trim().min(1).max(MAX_SECTION_CHARS), ...signatureCredentials }).strict(),
    response: reportSchema,
  }),
  'reports.addKeyImage': channel({
    summary: 'Add a key image (PNG captured from the viewer with the overlay) to a draft',
    request: z.object({ reportId: id, pngBase64: z.string().min(8).max(MAX_KEY_IMAGE_BASE64), caption: z.string().max(200).default(''), instanceId: id.optional() }).strict(),
    response: reportSchema,
  }),
  'reports.removeKeyImage': channel({
    summary: 'Remove a key image from a draft',
    request: z.object({ reportId: id, keyImageId: id }).strict(),
    response: reportSchema,
  }),
  'reports.keyImage': channel({
    summary: 'The PNG of one key image',
    request: z.object({ reportId: id, keyImageId: id }).strict(),
    response: z.object({ pngBase64: z.string() }),
  }),
  'reports.history': channel({
    summary: "The patient's earlier studies and reports, with the tumor area over time",
    request: z.object({ studyId: id }).strict(),
    response: z.object({ points: z.array(historyPointSchema), change: z.string().nullable() }),
  }),
  'reports.verify': channel({ summary: "Recompute a signed report's content hash and its addenda's", request: reportRef, response: verifyResultSchema }),
  'reports.exportPdf': channel({
    summary: 'The PDF of a signed report',
    request: reportRef,
    response: z.object({ fileName: z.string(), pdfBase64: z.string(), sha256: z.string() }),
  }),
  'reports.patientSummary': channel({
    summary: 'Plain-language summaries of signed reports (a patient gets only their own)',
    request: z.object({ reportId: id.optional() }).strict(),
    response: z.object({
      summaries: z.array(patientSummarySchema),
      /** For a patient: whose results these are, for the printout (name, birth date, hospital Patient ID). */
      patient: z.object({ displayName: z.string(), birthDate: z.string().nullable(), dicomPatientId: z.string().nullable() }).nullable().default(null),
    }),
  }),
};
