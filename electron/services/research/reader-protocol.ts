// Messages between the research service and its worker processes (reader-process.ts): one parses
// every data set file (folder and CSV scans, DICOM and image decoding, masks and thumbnails), the
// other computes the statistics (bootstrap intervals, paired tests) off the main thread.
import type { Comparison, ErrorCode, MultiComparison, RunMetricsDto, RunSummary } from '../../contract';
import type { StoredResult } from './compare';
import type { DicomLimits } from '../dicom';
import type { RawImage } from '../inference';
import type { ScannedDataset } from './datasets';

export interface ReaderInit {
  limits: DicomLimits;
}

export type ReaderRequest =
  | { op: 'scan'; input: string; name?: string | undefined; hash: boolean; thumbsPerClass?: number; maxThumbs?: number }
  /** Decoded pixels of one item (scoring DICOM items, the image viewer). */
  | { op: 'pixels'; file: string }
  /** A 0/1 ground-truth mask at width x height. */
  | { op: 'mask'; file: string; width: number; height: number }
  /** Re-hash an item list (has the data set changed since it was registered?). */
  | { op: 'hash'; files: { file: string; mask: string | null }[] }
  /** Thumbnails (PNG data URLs, or null where undecodable) of several files. */
  | { op: 'thumbs'; files: string[]; size: number }
  /** One item for the viewer: the image as a grey PNG, its ground-truth mask and a predicted mask as PNGs. */
  | { op: 'view'; file: string; maxSize: number; maskFile: string | null; predicted: { mask: Uint8Array; width: number; height: number } | null }
  /** One run's metrics with bootstrap intervals (resamples 0: without them). */
  | { op: 'metrics'; run: RunSummary; results: StoredResult[]; resamples: number }
  | { op: 'comparePair'; a: RunSummary; b: RunSummary; ra: StoredResult[]; rb: StoredResult[]; resamples: number }
  | { op: 'compareMany'; runs: RunSummary[]; results: StoredResult[][]; reference: string; resamples: number };

export type ReaderResult =
  | { op: 'scan'; scanned: ScannedDataset }
  | { op: 'pixels'; image: RawImage }
  | { op: 'mask'; mask: Uint8Array }
  | { op: 'hash'; shas: ({ sha: string; mask: string | null } | { error: string })[] }
  | { op: 'thumbs'; pngs: (string | null)[] }
  | { op: 'view'; png: string; width: number; height: number; truthMask: string | null; predictedMask: string | null }
  | { op: 'metrics'; metrics: RunMetricsDto }
  | { op: 'comparePair'; comparison: Comparison }
  | { op: 'compareMany'; comparison: MultiComparison };

export type ToReader = { id: number; req: ReaderRequest };
export type FromReader = { id: 0; ready: true } | { id: number; ok: true; result: ReaderResult } | { id: number; ok: false; code: ErrorCode; message: string; details?: Record<string, unknown> };
