// Inference: runtime detection, model loading with hash checks, preprocessing, the worker pool,
// scoring with progress and cancellation, and per-series aggregation. Other folders import this.
export { detectRuntimes, detectGpu, pickRuntime, RUNTIME_PREFERENCE } from './runtimes';
export { createInferenceService, DEFAULT_MODEL_ID } from './service';
export type { InferenceService, InferenceServiceOptions, ClassifyOptions, ImageOutcome, LoadedModel } from './service';
export type { InferenceInput } from './protocol';
export type { EngineName } from './adapters';
export { preprocess, DEFAULT_PREPROCESS, type RawImage, type PreprocessSpec } from './preprocess';
export { decodeImage, encodeMaskPng, sniffFormat } from './decode';
export { aggregateSeries, type SliceResult } from './aggregate';
export { NOT_RECOGNISED, softmaxT, classify } from './postprocess';
export { parseModelCard, readCardJson, readVerifiedFiles, REPORTED_CLASSES, sha256File, type ModelSpec, type HeadSpec } from './model-card';
export { countMacs, type LayerCount } from './flops';
export { bundledEntry, type RunPriority } from './pool';
