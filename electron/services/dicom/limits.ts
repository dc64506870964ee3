// The limits that keep hostile or broken DICOM input from taking the workstation down: file size,
// decoded size, nesting depth and the deflate output cap. Each breach is a refusal with a reason.
export interface DicomLimits {
  /** Largest file read at all. */
  maxFileBytes: number;
  /** rows * columns * frames * samples * bytes per sample, after decoding. */
  maxDecodedBytes: number;
  /** Nesting depth of sequences (SQ inside items inside SQ ...). */
  maxSequenceDepth: number;
  /** Largest inflated data set of a deflated transfer syntax (zip-bomb guard). */
  maxInflatedBytes: number;
  /** Largest rows or columns. */
  maxDimension: number;
  maxFrames: number;
}

export const DEFAULT_LIMITS: DicomLimits = {
  maxFileBytes: 1024 * 1024 * 1024,
  maxDecodedBytes: 512 * 1024 * 1024,
  maxSequenceDepth: 64,
  maxInflatedBytes: 600 * 1024 * 1024,
  maxDimension: 65535,
  maxFrames: 10000,
};
