// Images a patient sends for a preliminary analysis and the care team's review of them: chunked
// upload (DICOM files or folders, PNG/JPEG), filed under the patient's own record only; the
// review queue (pending, all, approved, rejected) with approve (a report draft) or reject (a
// reason for the patient) and notes; and what the patient sees of each upload.
import { z } from 'zod';
import { channel } from './channel';
import { aiStatusSchema } from './ai';
import { REPORT_STATUSES } from './reports';
import { UPLOAD_CHUNK_BYTES } from './dicom';

const id = z.string().min(1).max(64);

/** Files in one upload (a folder of a series is typically 20 to 200). */
export const MAX_UPLOAD_FILES = 1000;
export const MAX_REJECT_REASON_CHARS = 1000;
export const MAX_REVIEW_NOTES_CHARS = 20_000;

export const REVIEW_STATES = ['pending', 'approved', 'rejected'] as const;
export const reviewStateSchema = z.enum(REVIEW_STATES);
export type ReviewState = z.infer<typeof reviewStateSchema>;

export const REVIEW_FILTERS = ['pending', 'all', 'approved', 'rejected'] as const;
export const reviewFilterSchema = z.enum(REVIEW_FILTERS);
export type ReviewFilter = z.infer<typeof reviewFilterSchema>;
export const REVIEW_FILTER_LABELS: Record<ReviewFilter, string> = { pending: 'Pending', all: 'All', approved: 'Approved', rejected: 'Rejected' };

/** What a patient sees of an upload before a radiologist reviewed it (an admin setting). */
export const PATIENT_PRELIMINARY_VIEWS = ['received-only', 'preliminary-ai'] as const;
export const patientPreliminaryViewSchema = z.enum(PATIENT_PRELIMINARY_VIEWS);
export type PatientPreliminaryView = z.infer<typeof patientPreliminaryViewSchema>;

/** Said with every preliminary AI result a patient sees. */
export const PRELIMINARY_NOTICE = 'Preliminary: not reviewed by a doctor, and not a diagnosis.';
/** Said to a patient account whose record link is missing. */
export const UNLINKED_PATIENT_UPLOAD_SENTENCE = 'Your account is not linked to your patient record yet, so images cannot be sent. Please ask the front desk to link it.';
/** What a patient is told when the model did not recognise the images. */
export const NOT_ANALYSED_SENTENCE = 'We could not analyse these images.';

export const uploadRefusalSchema = z.object({ name: z.string(), reason: z.string() });
export type UploadRefusal = z.infer<typeof uploadRefusalSchema>;

const uploadKindSchema = z.enum(['dicom', 'images', 'mixed']);

/** A review item as the care team sees it. */
export const reviewItemSchema = z.object({
  id: z.string(),
  patientId: z.string(),
  patientName: z.string(),
  patientDicomId: z.string().nullable(),
  patientBirthDate: z.string().nullable(),
  uploadedByName: z.string(),
  uploadedByRole: z.enum(['patient', 'radiologist']),
  receivedAt: z.string(),
  kind: uploadKindSchema,
  files: z.number().int(),
  imported: z.number().int(),
  refused: z.number().int(),
  refusals: z.array(uploadRefusalSchema),
  /** The study the upload made (open it in the viewer), or null when nothing could be imported. */
  studyId: z.string().nullable(),
  /** Patient IDs as written in the DICOM files (the upload is filed under the record whatever they say). */
  filePatientIds: z.array(z.string()),
  /** True when a file's Patient ID differs from the record's: the radiologist checks whose images these are. */
  patientIdMismatch: z.boolean(),
  ai: z.object({ status: aiStatusSchema, label: z.string().nullable(), confidence: z.number().nullable() }),
  review: reviewStateSchema,
  reviewedByName: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  rejectReason: z.string().nullable(),
  reportId: z.string().nullable(),
  reportStatus: z.enum(['none', ...REPORT_STATUSES]),
  notes: z.string(),
});
export type ReviewItem = z.infer<typeof reviewItemSchema>;

/** An upload as its patient sees it: the state and what it means, in plain language. */
export const myUploadSchema = z.object({
  id: z.string(),
  receivedAt: z.string(),
  kind: uploadKindSchema,
  files: z.number().int(),
  imported: z.number().int(),
  refused: z.number().int(),
  refusals: z.array(uploadRefusalSchema),
  /** received: waiting for review; approved: a report is being written; report-signed: it is in My results. */
  state: z.enum(['received', 'approved', 'rejected', 'report-signed']),
  headline: z.string(),
  paragraphs: z.array(z.string()),
  /** The preliminary AI result in plain language, when the admin setting shows it and the run finished. */
  preliminary: z.object({ text: z.string(), notice: z.literal(PRELIMINARY_NOTICE) }).nullable(),
  reviewedByName: z.string().nullable(),
  reviewedAt: z.string().nullable(),
  rejectReason: z.string().nullable(),
});
export type MyUpload = z.infer<typeof myUploadSchema>;

const reviewRef = z.object({ uploadId: id }).strict();
const countsSchema = z.object({ pending: z.number().int(), all: z.number().int(), approved: z.number().int(), rejected: z.number().int() });

export const uploadsChannels = {
  'uploads.begin': channel({
    summary: 'Start sending one file of a patient upload in chunks',
    request: z.object({ name: z.string().min(1).max(255), size: z.number().int().min(1).max(1024 * 1024 * 1024) }).strict(),
    response: z.object({ fileId: z.string(), chunkBytes: z.number().int() }),
  }),
  'uploads.chunk': channel({
    summary: 'One chunk (base64) of a file of a patient upload, in order',
    request: z.object({ fileId: id, offset: z.number().int().min(0), data: z.string().max(Math.ceil((UPLOAD_CHUNK_BYTES * 4) / 3) + 8) }).strict(),
    response: z.object({ received: z.number().int() }),
  }),
  'uploads.submit': channel({
    summary: "File the sent files under the patient's own record for review (a radiologist names the record)",
    request: z.object({ fileIds: z.array(id).min(1).max(MAX_UPLOAD_FILES), patientId: id.optional() }).strict(),
    response: z.object({ uploadId: z.string(), files: z.number().int(), imported: z.number().int(), refused: z.number().int(), refusals: z.array(uploadRefusalSchema) }),
  }),
  'uploads.mine': channel({
    summary: "A patient's own uploads, newest first, with what each means; and whether they may upload from their account",
    request: z.object({}).strict(),
    response: z.object({ uploads: z.array(myUploadSchema), mayUpload: z.boolean(), notAllowedReason: z.string().nullable() }),
  }),
  'reviews.list': channel({
    summary: 'The review queue of patient uploads (pending, all, approved, rejected) with counts',
    request: z.object({ filter: reviewFilterSchema.default('pending'), limit: z.number().int().min(1).max(500).default(100), offset: z.number().int().min(0).default(0) }).strict(),
    response: z.object({ rows: z.array(reviewItemSchema), total: z.number().int(), counts: countsSchema }),
  }),
  'reviews.get': channel({ summary: 'One review item (audited as a view)', request: reviewRef, response: reviewItemSchema }),
  'reviews.approve': channel({
    summary: 'Approve an upload: it becomes a report draft to sign as usual',
    request: reviewRef,
    response: z.object({ item: reviewItemSchema, reportId: z.string(), studyId: z.string() }),
  }),
  'reviews.reject': channel({
    summary: 'Reject an upload with a reason the patient reads',
    request: z.object({ uploadId: id, reason: z.string().trim().min(3, 'Write the reason the patient will read (at least 3 characters).').max(MAX_REJECT_REASON_CHARS) }).strict(),
    response: reviewItemSchema,
  }),
  'reviews.saveNotes': channel({
    summary: "The care team's internal notes on an upload (never shown to the patient)",
    request: z.object({ uploadId: id, notes: z.string().max(MAX_REVIEW_NOTES_CHARS) }).strict(),
    response: reviewItemSchema,
  }),
};
