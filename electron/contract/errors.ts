// The error vocabulary shared by every transport. A WorkstationError carries a code from this
// list and a message a radiologist can act on; the cause stays in the main process for the log.
import { z } from 'zod';

export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'INVALID_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const errorPayloadSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** Machine-readable hints for the UI (field names, retry-after seconds); never patient data. */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorPayload = z.infer<typeof errorPayloadSchema>;

export class WorkstationError extends Error {
  override readonly name = 'WorkstationError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  toPayload(): ErrorPayload {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }

  static fromPayload(p: ErrorPayload): WorkstationError {
    return new WorkstationError(p.code, p.message, p.details ? { details: p.details } : undefined);
  }
}

export function isWorkstationError(e: unknown): e is WorkstationError {
  return e instanceof WorkstationError;
}
