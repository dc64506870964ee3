// Research workspace channels: local data sets (browse for a folder, preview, register, list, get,
// de-identified export), the model registry (install for research, activate for clinical use,
// retire), scoring runs (start, progress, cancel, resume; one run's metrics with intervals and the
// images behind each number) and comparisons of two or more runs with their exports.
import { z } from 'zod';
import { channel } from './channel';

const id = z.string().min(1).max(80);
const nullableNumber = z.number().nullable();

export const datasetKindSchema = z.enum(['folders', 'csv', 'dicom']);

export const datasetSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: datasetKindSchema,
  /** The folder or CSV file it was registered from (on this machine). */
  source: z.string(),
  contentHash: z.string(),
  items: z.number().int(),
  /** Items per class ground-truth label; "(none)" counts unlabelled items. */
  classCounts: z.record(z.string(), z.number().int()),
  withMasks: z.number().int(),
  /** Items per source and per MR sequence, where the data set records them (a CSV's columns); else null. */
  groups: z.object({ source: z.record(z.string(), z.number().int()).nullable(), sequence: z.record(z.string(), z.number().int()).nullable() }),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type DatasetSummary = z.infer<typeof datasetSummarySchema>;

export const datasetDetailSchema = datasetSummarySchema.extend({
  /** A few thumbnails: small grey PNGs (data: URLs), pixels only. */
  thumbnails: z.array(z.object({ itemId: z.string(), label: z.string().nullable(), png: z.string() })),
});
export type DatasetDetail = z.infer<typeof datasetDetailSchema>;

/** What a folder or CSV would register as, read without registering (nothing hashed, nothing stored). */
export const datasetPreviewSchema = z.object({
  kind: datasetKindSchema,
  source: z.string(),
  name: z.string(),
  items: z.number().int(),
  classCounts: z.record(z.string(), z.number().int()),
  withMasks: z.number().int(),
  groups: z.object({ source: z.record(z.string(), z.number().int()).nullable(), sequence: z.record(z.string(), z.number().int()).nullable() }),
  /** Files in the folder that are not items (not images, unreadable, or outside a class folder). */
  ignored: z.number().int(),
  thumbnails: z.array(z.object({ itemId: z.string(), label: z.string().nullable(), png: z.string() })),
});
export type DatasetPreview = z.infer<typeof datasetPreviewSchema>;

/** One level of the folder picker: sub-folders and CSV files of a folder on this machine. */
export const folderListingSchema = z.object({
  path: z.string(),
  parent: z.string().nullable(),
  home: z.string(),
  entries: z.array(z.object({ name: z.string(), path: z.string(), kind: z.enum(['folder', 'csv']), link: z.boolean() })),
  /** More entries than the listing shows. */
  truncated: z.boolean(),
});
export type FolderListing = z.infer<typeof folderListingSchema>;

export const registryStatusSchema = z.enum(['research', 'active', 'retired']);
export const registryModelSchema = z.object({
  id: z.string(),
  version: z.string(),
  formats: z.array(z.string()),
  classes: z.array(z.string()),
  verified: z.boolean(),
  problem: z.string().optional(),
  /** research: usable for research runs; active: the model clinical scoring uses; retired: kept for old results only. */
  status: registryStatusSchema,
  /** sha256 of the model card (which itself lists the sha256 of every file). */
  cardSha256: z.string().nullable(),
});
export type RegistryModel = z.infer<typeof registryModelSchema>;

export const runStatusSchema = z.enum(['queued', 'running', 'interrupted', 'cancelled', 'done', 'failed']);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const runSummarySchema = z.object({
  id: z.string(),
  batchId: z.string(),
  datasetId: z.string(),
  datasetName: z.string(),
  datasetHash: z.string(),
  modelId: z.string(),
  modelVersion: z.string(),
  cardSha256: z.string(),
  runtime: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
  status: runStatusSchema,
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  scoringMs: z.number(),
  error: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  finishedAt: z.string().nullable(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

export const classMetricsSchema = z.object({
  cls: z.string(),
  support: z.number().int(),
  predicted: z.number().int(),
  precision: nullableNumber,
  recall: nullableNumber,
  f1: nullableNumber,
});

const rocPointSchema = z.object({ fpr: z.number(), tpr: z.number(), threshold: z.number().nullable() });

const intervalSchema = z.object({ lo: z.number(), hi: z.number() });
export const groupMetricsSchema = z.object({ group: z.string(), n: z.number().int(), correct: z.number().int(), accuracy: nullableNumber, interval: intervalSchema.nullable() });
export type GroupMetrics = z.infer<typeof groupMetricsSchema>;

export const runMetricsSchema = z.object({
  n: z.number().int(),
  classes: z.array(z.string()),
  accuracy: nullableNumber,
  correct: z.number().int(),
  perClass: z.array(classMetricsSchema),
  macroF1: nullableNumber,
  macroRecall: nullableNumber,
  auc: z.record(z.string(), nullableNumber),
  macroAuc: nullableNumber,
  roc: z.record(z.string(), z.array(rocPointSchema)),
  confusion: z.object({ rows: z.array(z.string()), cols: z.array(z.string()), matrix: z.array(z.array(z.number().int())) }),
  ece: nullableNumber,
  reliability: z.array(z.object({ lo: z.number(), hi: z.number(), count: z.number().int(), confidence: nullableNumber, accuracy: nullableNumber })),
  dice: z.object({ mean: nullableNumber, n: z.number().int() }),
  rejected: z.number().int(),
  /** Images per second over the scoring wall time, and mean per-image milliseconds. */
  throughput: z.object({ imagesPerSecond: nullableNumber, meanMs: nullableNumber }),
  /** Items that could not be scored (left out of the metrics). */
  unscored: z.number().int(),
  /**
   * 95% intervals: Wilson score for accuracy, precision and recall; paired percentile bootstrap
   * (seeded) for F1 and macro AUC. Null where the metric itself is undefined.
   */
  intervals: z
    .object({
      level: z.number(),
      resamples: z.number().int(),
      seed: z.number().int(),
      accuracy: intervalSchema.nullable(),
      macroAuc: intervalSchema.nullable(),
      perClass: z.record(z.string(), z.object({ precision: intervalSchema.nullable(), recall: intervalSchema.nullable(), f1: intervalSchema.nullable() })),
    })
    .optional(),
  /** Accuracy per source and per sequence, where the data set records them. */
  breakdown: z.object({ source: z.array(groupMetricsSchema).nullable(), sequence: z.array(groupMetricsSchema).nullable() }).optional(),
});
export type RunMetricsDto = z.infer<typeof runMetricsSchema>;

export const comparisonSchema = z.object({
  a: runSummarySchema,
  b: runSummarySchema,
  metricsA: runMetricsSchema,
  metricsB: runMetricsSchema,
  /** Items scored by both runs (the paired tests use only these). */
  paired: z.number().int(),
  mcnemar: z.object({ b: z.number().int(), c: z.number().int(), method: z.enum(['exact', 'chi-square', 'none']), statistic: nullableNumber, pValue: z.number() }),
  bootstrap: z.object({
    a: z.object({ auc: nullableNumber, lo: nullableNumber, hi: nullableNumber }),
    b: z.object({ auc: nullableNumber, lo: nullableNumber, hi: nullableNumber }),
    diff: z.object({ value: nullableNumber, lo: nullableNumber, hi: nullableNumber }),
    resamples: z.number().int(),
    seed: z.number().int(),
    significant: z.boolean().nullable(),
  }),
  /** The comparison table: metric, A, B, B - A (strings as printed; "n/a" when undefined). */
  table: z.array(z.object({ metric: z.string(), a: z.string(), b: z.string(), diff: z.string() })),
});
export type Comparison = z.infer<typeof comparisonSchema>;

/** Which scored items to list: a confusion cell (truth and prediction), a reliability bin, right or wrong. */
export const itemFilterSchema = z
  .object({
    truth: z.string().max(200).optional(),
    pred: z.string().max(200).optional(),
    /** Reliability bin index (10 equal-width confidence bins, 0 = [0, 0.1)). */
    bin: z.number().int().min(0).max(9).optional(),
    correct: z.boolean().optional(),
    source: z.string().max(200).optional(),
    sequence: z.string().max(200).optional(),
  })
  .strict();
export type ItemFilter = z.infer<typeof itemFilterSchema>;
export const itemSortSchema = z.enum(['confidence-desc', 'confidence-asc', 'item']);

export const runItemSchema = z.object({
  idx: z.number().int(),
  itemId: z.string(),
  truth: z.string().nullable(),
  pred: z.string(),
  confidence: z.number(),
  correct: z.boolean(),
  source: z.string().nullable(),
  sequence: z.string().nullable(),
  /** Small grey PNG (data URL); null when the file can no longer be read. */
  thumbnail: z.string().nullable(),
});
export type RunItem = z.infer<typeof runItemSchema>;

export const runItemDetailSchema = runItemSchema.omit({ thumbnail: true }).extend({
  probabilities: z.record(z.string(), z.number()),
  dice: nullableNumber,
  image: z.object({ png: z.string(), width: z.number().int(), height: z.number().int() }).nullable(),
  /** Overlays at the image's size (transparent PNGs): the data set's mask and the model's. */
  truthMask: z.string().nullable(),
  predictedMask: z.string().nullable(),
  /** Why a mask or the image is missing, in a sentence; null when all are there. */
  note: z.string().nullable(),
});
export type RunItemDetail = z.infer<typeof runItemDetailSchema>;

/** Two or more runs on the same data set, against a reference run. */
export const multiComparisonSchema = z.object({
  reference: z.string(),
  runs: z.array(z.object({ run: runSummarySchema, label: z.string(), metrics: runMetricsSchema })),
  /** Metric rows: one value per run, in the order of `runs` ("n/a" when undefined). */
  table: z.array(z.object({ metric: z.string(), values: z.array(z.string()) })),
  /** Paired tests of each other run against the reference, on the items both scored. */
  tests: z.array(
    z.object({
      runId: z.string(),
      paired: z.number().int(),
      accuracyDiff: nullableNumber,
      mcnemar: z.object({ b: z.number().int(), c: z.number().int(), method: z.enum(['exact', 'chi-square', 'none']), statistic: nullableNumber, pValue: z.number() }),
      aucDiff: z.object({ value: nullableNumber, lo: nullableNumber, hi: nullableNumber, significant: z.boolean().nullable() }),
    }),
  ),
  resamples: z.number().int(),
  seed: z.number().int(),
  /** Accuracy per source / sequence for each run (values in the order of `runs`), where recorded. */
  breakdown: z.object({
    source: z.array(z.object({ group: z.string(), n: z.number().int(), accuracy: z.array(nullableNumber) })).nullable(),
    sequence: z.array(z.object({ group: z.string(), n: z.number().int(), accuracy: z.array(nullableNumber) })).nullable(),
  }),
});
export type MultiComparison = z.infer<typeof multiComparisonSchema>;

/**
 * The de-identification options (PS3.15 E.3), chosen for each export: dates removed (the Basic
 * Profile alone), shifted by one secret offset per data set (Retain Longitudinal Temporal
 * Information, Modified Dates) or kept (Full Dates); and Clean Descriptors (descriptions keep
 * their known-safe words instead of being removed).
 */
export const deidOptionsSchema = z.object({
  temporal: z.enum(['remove', 'modified', 'full']).default('modified'),
  cleanDescriptors: z.boolean().default(false),
});
export type DeidOptionsInput = z.infer<typeof deidOptionsSchema>;

/** What the de-identification profile did over a whole export (no values, only counts and attribute names). */
export const deidSummarySchema = z.object({
  removed: z.array(z.string()),
  emptied: z.array(z.string()),
  replaced: z.array(z.string()),
  uidsReplaced: z.number().int(),
  datesShifted: z.number().int(),
  privateRemoved: z.number().int(),
});

export const deidExportResultSchema = z.object({
  exportId: z.string(),
  datasetId: z.string(),
  destination: z.string(),
  total: z.number().int(),
  /** Complete de-identified files now in the destination. */
  written: z.number().int(),
  /** Items withheld (unreadable, or text burned into the pixels), by content-derived item id. */
  refused: z.array(z.object({ itemId: z.string(), reason: z.string() })),
  cancelled: z.boolean(),
  report: deidSummarySchema,
});
export type DeidExportResult = z.infer<typeof deidExportResultSchema>;

/** Payload of the `datasets.exportProgress` event pushed to the connection that started an export. */
export const deidExportProgressSchema = z.object({
  exportId: z.string(),
  datasetId: z.string(),
  phase: z.enum(['writing', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  written: z.number().int(),
  refused: z.number().int(),
});
export type DeidExportProgress = z.infer<typeof deidExportProgressSchema>;
export const DEID_EXPORT_PROGRESS_EVENT = 'datasets.exportProgress';

export const researchChannels = {
  'datasets.browse': channel({
    summary: 'The folder picker: sub-folders and CSV files of a folder on this machine (default: the home folder)',
    request: z.object({ path: z.string().min(1).max(4096).optional() }).strict(),
    response: folderListingSchema,
  }),
  'datasets.preview': channel({
    summary: 'What a folder or CSV would register as: kind, per-class counts, sources and sequences, thumbnails (nothing stored)',
    request: z.object({ path: z.string().min(1).max(4096), name: z.string().min(1).max(200).optional() }).strict(),
    response: datasetPreviewSchema,
  }),
  'datasets.register': channel({
    summary: 'Register a local folder (class sub-folders or DICOM) or a CSV of path,label[,mask] as a research data set',
    request: z.object({ path: z.string().min(1).max(4096), name: z.string().min(1).max(200).optional() }).strict(),
    response: datasetDetailSchema,
  }),
  'datasets.list': channel({
    summary: 'Registered research data sets',
    request: z.object({}).strict(),
    response: z.object({ datasets: z.array(datasetSummarySchema) }),
  }),
  'datasets.get': channel({
    summary: 'One research data set with its class counts and thumbnails',
    request: z.object({ id }).strict(),
    response: datasetDetailSchema,
  }),
  'datasets.exportDeidentified': channel({
    summary: 'Write de-identified copies (PS3.15 basic profile) of every file of a DICOM data set to a new or empty folder (progress as datasets.exportProgress events)',
    request: z.object({ datasetId: id, destination: z.string().min(1).max(4096), options: deidOptionsSchema.default({ temporal: 'modified', cleanDescriptors: false }) }).strict(),
    response: deidExportResultSchema,
  }),
  'datasets.cancelExport': channel({
    summary: 'Stop a de-identified export after the file being written (files already written stay, complete)',
    request: z.object({ exportId: id }).strict(),
    response: z.object({ cancelled: z.boolean() }),
  }),
  'models.registry': channel({
    summary: 'Installed models with their registry status (research, active, retired) and hash check',
    request: z.object({}).strict(),
    response: z.object({ models: z.array(registryModelSchema) }),
  }),
  'models.install': channel({
    summary: 'Install a model folder (ONNX or TensorFlow.js plus model-card.json) after checking every file against its sha256',
    request: z.object({ path: z.string().min(1).max(4096) }).strict(),
    response: registryModelSchema,
  }),
  'models.activate': channel({
    summary: 'Make an installed, verified model the one clinical scoring uses',
    request: z.object({ id }).strict(),
    response: registryModelSchema,
  }),
  'models.retire': channel({
    summary: 'Retire a model: kept for its old results, no longer used for new runs',
    request: z.object({ id }).strict(),
    response: registryModelSchema,
  }),
  'runs.start': channel({
    summary: 'Score a data set with one or more models (one run per model), in worker threads',
    request: z
      .object({
        datasetId: id,
        modelIds: z.array(id).min(1).max(8),
        batchSize: z.number().int().min(1).max(256).optional(),
        masks: z.boolean().optional(),
      })
      .strict(),
    response: z.object({ runs: z.array(runSummarySchema) }),
  }),
  'runs.list': channel({
    summary: 'Scoring runs, newest first',
    request: z.object({ datasetId: id.optional() }).strict(),
    response: z.object({ runs: z.array(runSummarySchema) }),
  }),
  'runs.get': channel({
    summary: 'One run with its progress and, when it has results, its metrics',
    request: z.object({ id }).strict(),
    response: z.object({ run: runSummarySchema, metrics: runMetricsSchema.nullable() }),
  }),
  'runs.cancel': channel({
    summary: 'Cancel a queued or running run (results so far are kept; it can be resumed)',
    request: z.object({ id }).strict(),
    response: runSummarySchema,
  }),
  'runs.resume': channel({
    summary: 'Resume an interrupted or cancelled run from its first unscored item',
    request: z.object({ id }).strict(),
    response: runSummarySchema,
  }),
  'runs.items': channel({
    summary: 'The images behind a number of one run: the items of a confusion cell or a reliability bin, with thumbnails, sorted by confidence',
    request: z
      .object({
        id,
        filter: itemFilterSchema,
        sort: itemSortSchema.optional(),
        offset: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(200).optional(),
      })
      .strict(),
    response: z.object({ total: z.number().int(), items: z.array(runItemSchema) }),
  }),
  'runs.item': channel({
    summary: 'One scored item of a run: the image, its probabilities, the data set mask and the model mask',
    request: z.object({ id, idx: z.number().int().min(0) }).strict(),
    response: runItemDetailSchema,
  }),
  'runs.exportItems': channel({
    summary: 'The list of items behind a number (same filter and order as runs.items) as CSV',
    request: z.object({ id, filter: itemFilterSchema, sort: itemSortSchema.optional() }).strict(),
    response: z.object({ filename: z.string(), csv: z.string() }),
  }),
  'compare.many': channel({
    summary: 'Compare two or more runs on the same data set against a reference run: metrics, paired tests, per-source and per-sequence accuracy',
    request: z.object({ runIds: z.array(id).min(2).max(8), reference: id }).strict(),
    response: multiComparisonSchema,
  }),
  'compare.exportManyCsv': channel({
    summary: 'The comparison of two or more runs and every item\'s predictions by each, as CSV',
    request: z.object({ runIds: z.array(id).min(2).max(8), reference: id }).strict(),
    response: z.object({ filename: z.string(), csv: z.string() }),
  }),
  'compare.runs': channel({
    summary: 'Compare two runs on the same data set: metrics side by side, McNemar and bootstrap AUC intervals',
    request: z.object({ a: id, b: id }).strict(),
    response: comparisonSchema,
  }),
  'compare.exportCsv': channel({
    summary: 'The comparison table and per-item predictions of two runs as CSV',
    request: z.object({ a: id, b: id }).strict(),
    response: z.object({ filename: z.string(), csv: z.string() }),
  }),
  'compare.exportHtml': channel({
    summary: 'A self-contained HTML report of two runs with SVG plots (no scripts)',
    request: z.object({ a: id, b: id }).strict(),
    response: z.object({ filename: z.string(), html: z.string() }),
  }),
};
