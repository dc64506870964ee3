// The per-file work of an import and of a frame request, as plain functions: read (size-checked),
// parse once, check the pixel data (checkPixelData: lengths for native files, every frame located
// and the first and last decoded for compressed ones), hash once, then encrypt: a small blob into
// a record for the pipeline's pack files (`pack`), anything else into a staged blob file
// (stageFile / stageBytes: the CPU work), made durable later (finishStaged: fsync, rename, folder
// fsync, on the I/O threads while the worker goes on with the next file). The import worker runs
// these; tests call them directly.
import fs from 'node:fs';
import { sha256Hex, closeStaged, makeDurable, readStoredBlob, sealBlob, stageBlobFile, PACK_MAX_BLOB_BYTES, type ClosedStagedBlob, type PackedBlob, type SealedBlob, type StagedBlob } from '../blobs';
import { WorkstationError } from '../../contract';
import { checkPixelData, decodeFrame, type DecodedFrame } from './decode';
import type { DicomLimits } from './limits';
import { parseDicomFile, type DicomMeta, type ParsedDicom } from './parse';
import { DicomRefusal } from './refusal';
import { isImageFile, relabelDicom, wrapImage, type UploadOrigin, type UploadTarget } from './reconcile';

/**
 * What the service learns about one file of an import. When ok, its blob is durable, unless
 * `pending` or `record` is set. `pending`: its temp file is written and closed but not yet
 * synced, and the import pipeline makes it durable (with the rest of its batch) before it
 * records the file. `record`: a small blob, encrypted but not written (sealBlob: two buffers),
 * which the pipeline appends to a pack file (packs.ts) unless that content is stored already.
 */
export type FileOutcome =
  | { ok: true; meta: DicomMeta; sha256: string; size: number; origin?: UploadOrigin; pending?: ClosedStagedBlob; record?: SealedBlob }
  | { ok: false; reason: string; diskFull?: boolean };

/**
 * A file after the CPU work: its blob staged (written, still open, not yet synced), or, for a
 * small blob when the caller packs (`pack`), encrypted into `record` with nothing written.
 */
export type StagedOutcome =
  | { ok: true; meta: DicomMeta; sha256: string; size: number; origin?: UploadOrigin; staged: StagedBlob | null; record?: SealedBlob }
  | Extract<FileOutcome, { ok: false }>;

/**
 * What the per-file work needs. `pack`: small blobs come back as records for a pack file (the
 * import pipeline) instead of files of their own. `readBuffer`: a file of at most its size is
 * read into it instead of a new buffer (the import worker: one file at a time).
 */
export interface StageOptions { limits: DicomLimits; blobFolder: string; kek: Buffer; pack?: boolean; readBuffer?: ReadBuffer }

/**
 * One buffer that files are read into, one at a time, by a thread that works on one file at a
 * time (the import worker): a new 30 KB buffer per slice cost the worker and V8's background
 * threads more than reading it (its memory outside the heap is what drives their collections).
 * Only files small enough for a pack use it; nothing keeps a view of it past the file's work
 * (the metadata is strings, the record a buffer of its own). While it is lent out, a second
 * reader gets a buffer of its own, so an overlap can never share it.
 */
export class ReadBuffer {
  private buf: Buffer | null = null;
  private lent = false;
  constructor(readonly maxBytes: number = PACK_MAX_BLOB_BYTES) {}
  /** A buffer of `size` bytes to read into: this one, when it is free and the size fits. */
  take(size: number): { bytes: Buffer; shared: boolean } {
    if (this.lent || size > this.maxBytes) return { bytes: Buffer.allocUnsafe(size), shared: false };
    if (!this.buf || this.buf.length < size) this.buf = Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024, this.buf ? Math.min(this.maxBytes, this.buf.length * 2) : 0));
    this.lent = true;
    return { bytes: this.buf.subarray(0, size), shared: true };
  }
  /** Gives it back after the file's work (only the taker whose buffer was shared). */
  giveBack(): void {
    this.lent = false;
  }
}

function refusalOf(err: unknown): Extract<FileOutcome, { ok: false }> {
  if (err instanceof DicomRefusal) return { ok: false, reason: err.reason };
  if (err instanceof WorkstationError && err.details?.reason === 'disk-full') return { ok: false, reason: err.message, diskFull: true };
  if (err instanceof WorkstationError) return { ok: false, reason: err.message };
  if (err instanceof RangeError) return { ok: false, reason: 'it could not be read within the memory limits (the file is malformed or too large)' };
  return { ok: false, reason: `it could not be read (${err instanceof Error ? err.message.slice(0, 120) : 'unknown error'})` };
}

/** Reads a file within the import's size limit, into `into` when given and free (`shared`: give it back after the file's work). */
export function readLimited(file: string, limits: DicomLimits, into?: ReadBuffer): { bytes: Buffer; shared: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new DicomRefusal(`it cannot be read (${(err as { code?: string }).code ?? 'error'})`, { cause: err });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new DicomRefusal('it is not a regular file');
    if (st.size > limits.maxFileBytes) throw new DicomRefusal(`the file is larger than the import limit (${Math.round(limits.maxFileBytes / 2 ** 20)} MiB)`);
    const { bytes: buf, shared } = into ? into.take(st.size) : { bytes: Buffer.allocUnsafe(st.size), shared: false };
    let off = 0;
    try {
      while (off < st.size) {
        const n = fs.readSync(fd, buf, off, st.size - off, off);
        if (n === 0) break;
        off += n;
      }
    } catch (err) {
      if (shared) into!.giveBack();
      throw err;
    }
    return { bytes: off === st.size ? buf : buf.subarray(0, off), shared };
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses `bytes` once and checks its pixel data; returns the metadata or throws DicomRefusal. */
export async function validateDicom(bytes: Uint8Array, limits: DicomLimits): Promise<DicomMeta> {
  const parsed = parseDicomFile(bytes, limits);
  await checkPixelData(parsed);
  return parsed.meta;
}

export async function stageBytes(bytes: Uint8Array, opts: StageOptions): Promise<StagedOutcome> {
  try {
    const meta = await validateDicom(bytes, opts.limits);
    const sha256 = sha256Hex(bytes);
    if (opts.pack && bytes.length <= PACK_MAX_BLOB_BYTES) return { ok: true, meta, sha256, size: bytes.length, staged: null, record: sealBlob(opts.kek, sha256, bytes) };
    const staged = await stageBlobFile(opts.blobFolder, opts.kek, sha256, bytes);
    return { ok: true, meta, sha256, size: bytes.length, staged };
  } catch (err) {
    return refusalOf(err);
  }
}

export async function stageFile(file: string, opts: StageOptions): Promise<StagedOutcome> {
  let read: { bytes: Buffer; shared: boolean };
  try {
    read = readLimited(file, opts.limits, opts.readBuffer);
  } catch (err) {
    if (err instanceof DicomRefusal) return { ok: false, reason: err.reason };
    return { ok: false, reason: 'it cannot be read' };
  }
  try {
    return await stageBytes(read.bytes, opts);
  } finally {
    if (read.shared) opts.readBuffer!.giveBack();
  }
}

/**
 * One file of a patient upload: a PNG/JPEG is wrapped as Secondary Capture; DICOM is first
 * validated as it came (the same limits and refusals as any import), then relabelled to the
 * record. The result is validated and staged like any other file.
 */
export async function stageUpload(bytes: Uint8Array, target: UploadTarget, index: number, opts: StageOptions): Promise<StagedOutcome> {
  let prepared: { bytes: Buffer; origin: UploadOrigin };
  try {
    if (bytes.length > opts.limits.maxFileBytes) throw new DicomRefusal(`the file is larger than the import limit (${Math.round(opts.limits.maxFileBytes / 2 ** 20)} MiB)`);
    const format = isImageFile(bytes);
    if (format) prepared = wrapImage(bytes, format, target, index, opts.limits);
    else {
      await validateDicom(bytes, opts.limits);
      prepared = relabelDicom(bytes, target);
    }
  } catch (err) {
    return refusalOf(err);
  }
  const staged = await stageBytes(prepared.bytes, opts);
  return staged.ok ? { ...staged, origin: prepared.origin } : staged;
}

/** Makes a staged file's blob durable (in the thread that staged it); a failure refuses the file. */
export async function finishStaged(s: StagedOutcome, blobFolder: string): Promise<FileOutcome> {
  if (!s.ok) return s;
  if (!s.staged) return { ok: false, reason: 'it was encrypted for a pack file, which only the import pipeline writes (internal error)' };
  try {
    await makeDurable(blobFolder, s.staged);
  } catch (err) {
    return refusalOf(err);
  }
  return s.origin ? { ok: true, meta: s.meta, sha256: s.sha256, size: s.size, origin: s.origin } : { ok: true, meta: s.meta, sha256: s.sha256, size: s.size };
}

/**
 * A staged file handed on without making it durable: its temp file is closed, and the outcome
 * carries it as `pending` for the pipeline's group durability (makeDurableMany before the index
 * commit). A file whose blob was already stored has nothing pending.
 */
export function releaseStaged(s: StagedOutcome): FileOutcome {
  if (!s.ok) return s;
  let pending: ClosedStagedBlob | undefined;
  try {
    if (s.staged && s.staged.tmp !== null) pending = closeStaged(s.staged);
  } catch (err) {
    return refusalOf(err);
  }
  const base = { ok: true as const, meta: s.meta, sha256: s.sha256, size: s.size, ...(s.origin ? { origin: s.origin } : {}) };
  if (s.record) return { ...base, record: s.record };
  return pending ? { ...base, pending } : base;
}

/** All of a file's import work in one call (tests, and callers without a pipeline). */
export async function processBytes(bytes: Uint8Array, opts: StageOptions): Promise<FileOutcome> {
  return finishStaged(await stageBytes(bytes, opts), opts.blobFolder);
}

export async function processUpload(bytes: Uint8Array, target: UploadTarget, index: number, opts: StageOptions): Promise<FileOutcome> {
  return finishStaged(await stageUpload(bytes, target, index, opts), opts.blobFolder);
}

export async function processFile(file: string, opts: StageOptions): Promise<FileOutcome> {
  return finishStaged(await stageFile(file, opts), opts.blobFolder);
}

export interface FrameData {
  frame: DecodedFrame;
  meta: DicomMeta;
}

/**
 * The last file a worker decrypted and parsed, kept for the next frame request: scrolling
 * through a multi-frame image decrypts and hashes the file once, not once per frame. One entry,
 * released when another file is asked for.
 */
let lastParsed: { hash: string; parsed: ParsedDicom } | null = null;
let releaseTimer: ReturnType<typeof setTimeout> | null = null;
const CACHE_IDLE_MS = 30_000;

function keepParsed(hash: string, parsed: ParsedDicom): void {
  lastParsed = { hash, parsed };
  if (releaseTimer) clearTimeout(releaseTimer);
  releaseTimer = setTimeout(() => { lastParsed = null; releaseTimer = null; }, CACHE_IDLE_MS);
  releaseTimer.unref?.();
}

/** Decrypts a stored instance and decodes one frame of it. */
/** `packed`: where the index says the blob is, when it is in a pack (null: a file of its own). */
export async function loadFrame(hash: string, packed: PackedBlob | null, frame: number, opts: StageOptions): Promise<FrameData> {
  let parsed = lastParsed?.hash === hash ? lastParsed.parsed : null;
  if (!parsed) {
    lastParsed = null;
    const bytes = readStoredBlob(opts.blobFolder, opts.kek, hash, packed);
    try {
      parsed = parseDicomFile(bytes, opts.limits);
    } catch (err) {
      if (err instanceof DicomRefusal) throw new WorkstationError('INVALID_INPUT', `This image cannot be shown: ${err.reason}.`, { cause: err });
      throw err;
    }
  }
  keepParsed(hash, parsed);
  try {
    return { frame: await decodeFrame(parsed, frame), meta: parsed.meta };
  } catch (err) {
    if (err instanceof DicomRefusal) throw new WorkstationError('INVALID_INPUT', `This image cannot be shown: ${err.reason}.`, { cause: err });
    throw err;
  }
}
