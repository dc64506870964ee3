// Channels and records of the tumor model: installed models with their card and hash check,
// the runtimes and worker pool, and the per-image and per-series result records.
import { z } from 'zod';
import { channel } from './channel';
import { runtimeInfoSchema, runtimeNameSchema } from './system';

export const NOT_RECOGNISED_LABEL = 'not recognised';

export const modelSummarySchema = z.object({
  id: z.string(),
  version: z.string(),
  task: z.string(),
  classes: z.array(z.string()),
  /** Input height and width the model expects after preprocessing. */
  inputSize: z.tuple([z.number().int(), z.number().int()]),
  temperature: z.number(),
  /** Formats shipped (onnx, tfjs). */
  formats: z.array(z.enum(['onnx', 'tfjs'])),
  /** True when every file listed in the card matches its sha256. */
  verified: z.boolean(),
  /** Why the model cannot be used, when it cannot. */
  problem: z.string().optional(),
  /** Held-out metrics as the card states them (accuracy etc.), when present. */
  metrics: z.record(z.string(), z.unknown()).optional(),
  /**
   * The figure that best predicts a new site's data, as the card states it (for tumornet 2.0.0 the
   * leave-one-source-out accuracy with its n). Shown beside every AI result instead of the
   * flattering same-source figure.
   */
  headline: z.object({ figure: z.string(), accuracy: z.number(), n: z.number().int(), description: z.string().optional() }).optional(),
  /** MR sequences the card says the model was validated on (t1, t1ce, flair, ...). */
  validatedSequences: z.array(z.string()).optional(),
  /** Licence terms of the training data that bind the model (e.g. non-commercial). */
  licenseNotice: z.string().optional(),
  intendedUse: z.string().optional(),
});
export type ModelSummary = z.infer<typeof modelSummarySchema>;

export const inferenceStatusSchema = z.object({
  runtimes: z.array(runtimeInfoSchema),
  activeRuntime: runtimeNameSchema.nullable(),
  /** Worker threads in the pool (sized to the cores). */
  poolSize: z.number().int(),
  /** Intra-op threads per worker. */
  threadsPerWorker: z.number().int(),
  defaultModel: z.string().nullable(),
  /** Models whose workers are running now, with their runtime. */
  loaded: z.array(z.object({ modelId: z.string(), runtime: z.string(), workers: z.number().int() })),
  busy: z.boolean(),
});
export type InferenceStatus = z.infer<typeof inferenceStatusSchema>;

/** One scored image. The mask pixels travel separately (binary), not in this record. */
export const imageResultSchema = z.object({
  id: z.string(),
  modelId: z.string(),
  modelVersion: z.string(),
  runtime: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  /** Calibrated probabilities per model class. */
  probabilities: z.record(z.string(), z.number()),
  /** glioma, meningioma, notumor, pituitary, or "not recognised". */
  label: z.string(),
  confidence: z.number(),
  mask: z.object({ areaPx: z.number().int(), areaMm2: z.number().nullable(), threshold: z.number() }),
  ms: z.number(),
});
export type ImageResult = z.infer<typeof imageResultSchema>;

export const seriesFindingSchema = z.object({
  /** The aggregate finding for the series: a tumor class, notumor, or "not recognised". */
  label: z.string(),
  /** Probability of that finding on its strongest slice. */
  confidence: z.number(),
  /** The slice with the strongest evidence for the finding (its image id), null if none scored. */
  strongestSliceId: z.string().nullable(),
  slices: z.number().int(),
  /** How many slices got each label. */
  counts: z.record(z.string(), z.number().int()),
});
export type SeriesFinding = z.infer<typeof seriesFindingSchema>;

export const inferenceChannels = {
  'models.list': channel({
    summary: 'Installed models with their model card summary and sha256 verification state',
    request: z.object({}).strict(),
    response: z.object({ models: z.array(modelSummarySchema) }),
  }),
  'inference.status': channel({
    summary: 'Inference runtimes, the active runtime and the worker pool',
    request: z.object({}).strict(),
    response: inferenceStatusSchema,
  }),
};
