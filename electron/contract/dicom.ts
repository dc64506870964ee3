// DICOM channels: import (paths from the file/folder picker, chunked upload for browser drag and
// drop), the worklist (studies.list), one study's series and instances, and decoded frames for
// the viewer. Requests stay far under MAX_REQUEST_BYTES; replies can be larger (a frame is
// base64 pixel data): Electron IPC and the host's WebSocket limit only what they receive.
import { z } from 'zod';
import { channel } from './channel';

const id = z.string().min(1).max(64);

export const importStatusSchema = z.enum(['imported', 'duplicate', 'conflict', 'refused']);
export type ImportStatus = z.infer<typeof importStatusSchema>;

export const importEntrySchema = z.object({
  /** The file as the user named it (a path, or the upload's file name). */
  path: z.string(),
  status: importStatusSchema,
  /** Why it was refused, or what it conflicts with; null when imported or duplicate. */
  reason: z.string().nullable(),
  studyId: z.string().nullable(),
  instanceId: z.string().nullable(),
});
export type ImportEntry = z.infer<typeof importEntrySchema>;

export const importReportSchema = z.object({
  importId: z.string(),
  total: z.number().int(),
  imported: z.number().int(),
  duplicates: z.number().int(),
  conflicts: z.number().int(),
  refused: z.number().int(),
  cancelled: z.boolean(),
  /** Files found but not looked at because the import was cancelled. */
  notProcessed: z.number().int(),
  studyIds: z.array(z.string()),
  entries: z.array(importEntrySchema),
  elapsedMs: z.number(),
});
export type ImportReport = z.infer<typeof importReportSchema>;

/** Payload of the `import.progress` event pushed to the connection that started the import. */
export const importProgressSchema = z.object({
  importId: z.string(),
  phase: z.enum(['scanning', 'importing', 'done']),
  done: z.number().int(),
  total: z.number().int(),
  imported: z.number().int(),
  duplicates: z.number().int(),
  conflicts: z.number().int(),
  refused: z.number().int(),
});
export type ImportProgress = z.infer<typeof importProgressSchema>;
export const IMPORT_PROGRESS_EVENT = 'import.progress';

/** Bytes per upload chunk before base64: keeps each request well under MAX_REQUEST_BYTES. */
export const UPLOAD_CHUNK_BYTES = 512 * 1024;

export const studySortSchema = z.enum(['studyDate', 'patientName', 'importedAt', 'modality', 'instanceCount']);

export const studySummarySchema = z.object({
  studyId: z.string(),
  studyInstanceUid: z.string(),
  patientId: z.string(),
  patientName: z.string(),
  /** The PatientID written in the files (the hospital's number). */
  patientDicomId: z.string().nullable(),
  patientBirthDate: z.string().nullable(),
  patientSex: z.string().nullable(),
  studyDate: z.string().nullable(),
  studyTime: z.string().nullable(),
  accessionNumber: z.string().nullable(),
  description: z.string().nullable(),
  modalities: z.array(z.string()),
  seriesCount: z.number().int(),
  instanceCount: z.number().int(),
  /** Instances kept beside another copy with the same SOP Instance UID but other content. */
  conflictCount: z.number().int(),
  /** Derived images (e.g. the demo study): the viewer says so. */
  derived: z.boolean(),
  importedAt: z.string(),
});
export type StudySummary = z.infer<typeof studySummarySchema>;

export const instanceSummarySchema = z.object({
  instanceId: z.string(),
  sopInstanceUid: z.string(),
  sopClassUid: z.string().nullable(),
  instanceNumber: z.number().int().nullable(),
  rows: z.number().int(),
  columns: z.number().int(),
  frames: z.number().int(),
  samplesPerPixel: z.number().int(),
  photometric: z.string(),
  transferSyntax: z.string(),
  pixelSpacing: z.tuple([z.number(), z.number()]).nullable(),
  imagePosition: z.tuple([z.number(), z.number(), z.number()]).nullable(),
  imageOrientation: z.array(z.number()).nullable(),
  sliceLocation: z.number().nullable(),
  /** mm, as the file says (0018,0050); null when it does not (or it was imported before 0008). */
  sliceThickness: z.number().nullable().default(null),
  windowCenter: z.number().nullable(),
  windowWidth: z.number().nullable(),
  /** Id of the instance of record when this one is a conflicting copy; null otherwise. */
  conflictOf: z.string().nullable(),
});
export type InstanceSummary = z.infer<typeof instanceSummarySchema>;

export const seriesSummarySchema = z.object({
  seriesId: z.string(),
  seriesInstanceUid: z.string(),
  modality: z.string().nullable(),
  seriesNumber: z.number().int().nullable(),
  description: z.string().nullable(),
  bodyPart: z.string().nullable(),
  /** (0020,0052): derived objects (the SEG) repeat it; null when unknown. */
  frameOfReferenceUid: z.string().nullable().default(null),
  /** The MR sequence as far as the header tells: code as in a model card's validated_sequences. */
  sequence: z
    .object({
      code: z.enum(['t1', 't1ce', 't2', 'flair', 'dwi', 'swi', 'other', 'unknown']),
      name: z.string(),
      /** What the guess rests on, e.g. 'Series Description "AX T2 FSE"'. */
      basis: z.string(),
    })
    .nullable()
    .default(null),
  instances: z.array(instanceSummarySchema),
});
export type SeriesSummary = z.infer<typeof seriesSummarySchema>;

export const studyDetailSchema = z.object({
  study: studySummarySchema,
  series: z.array(seriesSummarySchema),
});
export type StudyDetail = z.infer<typeof studyDetailSchema>;

export const frameSchema = z.object({
  instanceId: z.string(),
  frame: z.number().int(),
  rows: z.number().int(),
  columns: z.number().int(),
  samplesPerPixel: z.number().int(),
  /** MONOCHROME1 (show inverted: `invert` is true), MONOCHROME2, RGB, PALETTE COLOR. */
  photometric: z.string(),
  invert: z.boolean(),
  /**
   * Pixel values, base64 of little-endian `dataType` samples, row by row, colour interleaved.
   * Greyscale: modality values (rescale slope/intercept applied). Colour: 8-bit RGB.
   */
  dataType: z.enum(['uint8', 'int16', 'uint16', 'int32', 'float32']),
  data: z.string(),
  min: z.number(),
  max: z.number(),
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  /** Defaults for window/level (from the file, else the value range). */
  windowCenter: z.number(),
  windowWidth: z.number(),
  /** True when windowCenter/windowWidth are the file's own (0028,1050/1051), false when they are the value range. */
  windowFromFile: z.boolean().default(false),
  /** [row spacing, column spacing] in mm, or null when the file gives none (derived images). */
  pixelSpacing: z.tuple([z.number(), z.number()]).nullable(),
});
export type Frame = z.infer<typeof frameSchema>;

/** One row of the read-only tag browser: an element, or an item header of a sequence. */
export const dicomTagSchema = z.object({
  /** "(0010,0010)". */
  tag: z.string(),
  /** Dictionary keyword ("PatientName"), "Private tag (CREATOR)", "Item 2", or "Unknown tag". */
  name: z.string(),
  vr: z.string(),
  /** The value as text; binary values summarised; at most 4096 characters. */
  value: z.string(),
  /** The value's length in bytes as the file gives it (-1 or 0xFFFFFFFF: undefined length). */
  length: z.number().int(),
  /** True when `value` was cut at 4096 characters. */
  truncated: z.boolean(),
  /** Odd group: a vendor's private element. */
  private: z.boolean(),
  /** 0 at the top level; sequence items' elements one deeper. */
  depth: z.number().int().min(0),
});
export type DicomTag = z.infer<typeof dicomTagSchema>;

export const dicomChannels = {
  'import.paths': channel({
    summary: 'Import DICOM files, folders (recursively) and DICOMDIR media from this computer',
    request: z.object({ paths: z.array(z.string().min(1).max(4096)).min(1).max(1000) }).strict(),
    response: importReportSchema,
  }),
  'import.cancel': channel({
    summary: 'Cancel a running import (files already imported stay)',
    request: z.object({ importId: id }).strict(),
    response: z.object({ cancelled: z.boolean() }),
  }),
  'import.uploadBegin': channel({
    summary: 'Start uploading one dropped file in chunks',
    request: z.object({ name: z.string().min(1).max(255), size: z.number().int().min(1).max(1024 * 1024 * 1024) }).strict(),
    response: z.object({ uploadId: z.string(), chunkBytes: z.number().int() }),
  }),
  'import.uploadChunk': channel({
    summary: 'One chunk (base64, at most UPLOAD_CHUNK_BYTES decoded) of an upload, in order',
    request: z.object({ uploadId: id, offset: z.number().int().min(0), data: z.string().max(Math.ceil((UPLOAD_CHUNK_BYTES * 4) / 3) + 8) }).strict(),
    response: z.object({ received: z.number().int() }),
  }),
  'import.uploadFinish': channel({
    summary: 'Import the completed uploads as one batch',
    request: z.object({ uploadIds: z.array(id).min(1).max(1000) }).strict(),
    response: importReportSchema,
  }),
  'studies.list': channel({
    summary: 'The worklist: studies with search, filters, sorting and paging',
    request: z
      .object({
        search: z.string().max(200).optional(),
        modality: z.string().max(16).optional(),
        dateFrom: z.string().regex(/^\d{8}$/).optional(),
        dateTo: z.string().regex(/^\d{8}$/).optional(),
        sort: studySortSchema.default('studyDate'),
        direction: z.enum(['asc', 'desc']).default('desc'),
        limit: z.number().int().min(1).max(500).default(50),
        offset: z.number().int().min(0).default(0),
      })
      .strict(),
    response: z.object({ rows: z.array(studySummarySchema), total: z.number().int() }),
  }),
  'studies.get': channel({
    summary: 'Open a study: its series and instances (audited as a study view)',
    request: z.object({ studyId: id }).strict(),
    response: studyDetailSchema,
  }),
  'studies.priors': channel({
    summary: "The patient's other studies (newest first), to open beside the current one",
    request: z.object({ studyId: id }).strict(),
    response: z.object({ studies: z.array(studySummarySchema) }),
  }),
  'images.tags': channel({
    summary: 'Every DICOM element of one image, read-only, for the tag browser (audited as an image view)',
    request: z.object({ instanceId: id }).strict(),
    response: z.object({ instanceId: z.string(), tags: z.array(dicomTagSchema), truncated: z.boolean() }),
  }),
  'images.frame': channel({
    summary: 'Decoded pixel data of one frame for the viewer',
    request: z.object({ instanceId: id, frame: z.number().int().min(0).default(0) }).strict(),
    response: frameSchema,
  }),
};
