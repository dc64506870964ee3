// Streaming multipart/related reader and writer for WADO-RS and STOW-RS: each part of a response
// is handed on as soon as it is complete, so a study is never held in memory whole, and no part
// is ever written to a plain file (patient data stays out of the data folder until it is
// imported into the encrypted store).
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';

export interface ReceivedPart {
  /** Lower-cased header names. */
  headers: Record<string, string>;
  bytes: Buffer;
  size: number;
}

export class MultipartCutError extends Error {
  constructor(message: string, readonly partsCompleted: number) {
    super(message);
    this.name = 'MultipartCutError';
  }
}

/** The boundary parameter of a multipart Content-Type, or null. */
export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\//i.test(contentType.trim())) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

export interface ReadPartsOptions {
  /** Called with each complete part, in order; the stream waits while it runs. */
  onPart: (part: ReceivedPart) => Promise<void>;
  /** Largest single part accepted, in bytes (a server that streams forever is stopped; a part
   *  whose Content-Length says more is refused before its first byte). */
  maxPartBytes?: number;
  maxHeaderBytes?: number;
  /** Transport padding allowed after a boundary before its CRLF (RFC 2046 allows only whitespace). */
  maxPaddingBytes?: number;
}

/** A part is held whole until it is imported: this bounds the memory one part can take. */
export const DEFAULT_MAX_PART_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_PADDING_BYTES = 1024;

type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';

/**
 * Reads a multipart body from `stream`. Parts completed before a cut are delivered; a stream that
 * ends before the closing delimiter throws MultipartCutError (and drops the half part).
 */
export async function readMultipart(stream: Readable | AsyncIterable<Buffer>, boundary: string, options: ReadPartsOptions): Promise<number> {
  const maxPart = options.maxPartBytes ?? DEFAULT_MAX_PART_BYTES;
  const maxHeader = options.maxHeaderBytes ?? 16 * 1024;
  const maxPadding = options.maxPaddingBytes ?? DEFAULT_MAX_PADDING_BYTES;
  const firstDelimiter = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  let state: State = 'preamble';
  let buf: Buffer = Buffer.alloc(0);
  let parts = 0;
  let headers: Record<string, string> = {};
  let body: Buffer[] | null = null;
  let size = 0;

  const openPart = (): void => {
    body = [];
    size = 0;
  };
  const write = (data: Buffer): void => {
    if (body === null || data.length === 0) return;
    size += data.length;
    if (size > maxPart) throw new MultipartCutError(`a part is larger than ${maxPart} bytes`, parts);
    // Copy: the chunk's memory is reused by the caller's buffer handling.
    body.push(Buffer.from(data));
  };
  const discard = (): void => {
    body = null;
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // What waits in buf is bounded in every state (a delimiter's length in the preamble and a
      // body, the padding and header caps otherwise), so this concat is never quadratic.
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (state === 'preamble') {
          // The first delimiter may come without the CRLF before it.
          const at = buf.indexOf(firstDelimiter);
          if (at < 0) {
            buf = buf.subarray(Math.max(0, buf.length - firstDelimiter.length));
            break;
          }
          buf = buf.subarray(at + firstDelimiter.length);
          state = 'after-delimiter';
        }
        if (state === 'after-delimiter') {
          if (buf.length < 2) break;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            state = 'done';
            buf = Buffer.alloc(0);
            break;
          }
          // Transport padding, then CRLF.
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            if (buf.length > maxPadding) throw new MultipartCutError(`more than ${maxPadding} bytes of padding after a boundary`, parts);
            break;
          }
          if (eol > maxPadding) throw new MultipartCutError(`more than ${maxPadding} bytes of padding after a boundary`, parts);
          buf = buf.subarray(eol + 2);
          state = 'headers';
          headers = {};
        }
        if (state === 'headers') {
          const end = buf.indexOf('\r\n\r\n');
          const bare = buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a; // a part without headers
          if (end < 0 && !bare) {
            if (buf.length > maxHeader) throw new MultipartCutError('a part header is too long', parts);
            break;
          }
          const headerEnd = bare ? 0 : end;
          for (const line of buf.subarray(0, headerEnd).toString('latin1').split('\r\n')) {
            const c = line.indexOf(':');
            if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
          }
          buf = buf.subarray(bare ? 2 : end + 4);
          const declared = headers['content-length'] === undefined ? null : Number(headers['content-length']);
          if (declared !== null && Number.isFinite(declared) && declared > maxPart) throw new MultipartCutError(`a part says it is ${declared} bytes, more than the ${maxPart} accepted`, parts);
          openPart();
          state = 'body';
        }
        if (state === 'body') {
          const at = buf.indexOf(delimiter);
          if (at < 0) {
            // Keep a tail that could be the start of the delimiter.
            const keep = Math.min(buf.length, delimiter.length - 1);
            write(buf.subarray(0, buf.length - keep));
            buf = Buffer.from(buf.subarray(buf.length - keep));
            break;
          }
          write(buf.subarray(0, at));
          buf = buf.subarray(at + delimiter.length);
          const bytes = Buffer.concat(body ?? []);
          body = null;
          parts++;
          await options.onPart({ headers, bytes, size });
          state = 'after-delimiter';
          continue;
        }
        if (state === 'done') break;
      }
      // After the closing delimiter only an epilogue may follow: it is not read at all.
      if (state === 'done') break;
    }
  } catch (err) {
    discard();
    if (err instanceof MultipartCutError) throw err;
    throw new MultipartCutError(`the response stopped after ${parts} complete part(s): ${(err as Error).message}`, parts);
  }
  if (state !== 'done') {
    discard();
    throw new MultipartCutError(`the response ended after ${parts} complete part(s) without its closing boundary`, parts);
  }
  return parts;
}

/** A multipart/related body for STOW-RS from Part 10 files, with its Content-Type. */
export function buildMultipartRelated(files: Buffer[], type = 'application/dicom'): { body: Buffer; contentType: string } {
  const boundary = `tp-${crypto.randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const f of files) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\nContent-Length: ${f.length}\r\n\r\n`, 'latin1'), f, Buffer.from('\r\n', 'latin1'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}
