// A refusal: why one file was not imported, in a sentence for the import report. Parsing and
// decoding code throws only these for bad input; anything else is a bug.
export class DicomRefusal extends Error {
  override readonly name = 'DicomRefusal';
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(reason, options?.cause === undefined ? undefined : { cause: options.cause });
  }
}

export function refuse(reason: string, cause?: unknown): never {
  throw new DicomRefusal(reason, cause === undefined ? undefined : { cause });
}
