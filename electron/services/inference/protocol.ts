// Messages between the inference pool (main thread) and its workers, and the per-image work item.
// Plain data only: everything crosses a structured clone, mask buffers are transferred.
import type { ErrorCode } from '../../contract';
import type { EngineName } from './adapters';
import type { ModelSpec } from './model-card';
import type { RawImage } from './preprocess';

/** One image to score: a file the worker reads and decodes, or pixels already decoded (DICOM). */
export interface InferenceInput {
  /** Caller's id for the image (relative path, SOP instance UID); echoed in the outcome. */
  id: string;
  source:
    | { kind: 'file'; path: string }
    | { kind: 'pixels'; image: RawImage }
    /** Already preprocessed [H*W] model input (benchmarks, parity checks); width/height of the original. */
    | { kind: 'tensor'; data: Float32Array; width: number; height: number };
  /** Row and column spacing in mm, when known (DICOM PixelSpacing), for the area in mm^2. */
  pixelSpacingMm?: readonly [number, number] | null;
}

export interface WorkerResult {
  id: string;
  ok: true;
  width: number;
  height: number;
  /** Calibrated probabilities per model class. */
  probabilities: Record<string, number>;
  label: string;
  confidence: number;
  /** 0/255 at the input's width x height; absent when the job asked for no masks. */
  mask: Uint8Array | null;
  maskAreaPx: number;
  maskAreaMm2: number | null;
  /** Raw logits, kept for parity tests and research exports. */
  logits: number[];
  /** The head's input [F], when the job asked for features. */
  features?: Float32Array;
  /** This image's share of the batch: decode + preprocess + inference/n + postprocess. */
  ms: number;
}

export interface WorkerFailure {
  id: string;
  ok: false;
  error: { code: ErrorCode; message: string; reason: string };
}

export type WorkerOutcome = WorkerResult | WorkerFailure;

export type ToWorker =
  | { type: 'init'; engine: EngineName; device: string; threads: number; spec: ModelSpec; files: [string, Uint8Array][] }
  | { type: 'job'; jobId: number; items: InferenceInput[]; wantMask: boolean; wantProbMap?: boolean; wantFeatures?: boolean }
  /** Release the session and end the thread (terminating a worker inside a native run can abort the process). */
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; threads: number; loadMs: number }
  | { type: 'init-failed'; error: { code: ErrorCode; message: string; detail: string } }
  | { type: 'done'; jobId: number; outcomes: WorkerOutcome[]; probMaps?: Float32Array[] };
