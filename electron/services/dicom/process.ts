// The per-file work of an import and of a frame request, as plain functions: read (size-checked),
// parse, decode every frame once (so broken pixel data is refused at import, not in the viewer),
// hash, encrypt and write the blob. The import worker runs these; tests call them directly.
import fs from 'node:fs';
import { encryptBlob, sha256Hex, writeBlobFile, decryptBlob, blobPath } from '../blobs';
import { WorkstationError } from '../../contract';
import { decodeFrame, type DecodedFrame } from './decode';
import type { DicomLimits } from './limits';
import { parseDicomFile, type DicomMeta } from './parse';
import { DicomRefusal } from './refusal';
import { isImageFile, relabelDicom, wrapImage, type UploadOrigin, type UploadTarget } from './reconcile';

export type FileOutcome =
  | { ok: true; meta: DicomMeta; sha256: string; size: number; origin?: UploadOrigin }
  | { ok: false; reason: string; diskFull?: boolean };

export function readLimited(file: string, limits: DicomLimits): Buffer {
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
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses and fully decodes `bytes`; returns the metadata or throws DicomRefusal. */
export async function validateDicom(bytes: Uint8Array, limits: DicomLimits): Promise<DicomMeta> {
  const parsed = parseDicomFile(bytes, limits);
  for (let f = 0; f < parsed.meta.image.frames; f++) await decodeFrame(parsed, f);
  return parsed.meta;
}

/** A failed file as the import report words it. */
function refusalOutcome(err: unknown): FileOutcome {
  if (err instanceof DicomRefusal) return { ok: false, reason: err.reason };
  if (err instanceof WorkstationError && err.details?.reason === 'disk-full') return { ok: false, reason: err.message, diskFull: true };
  if (err instanceof WorkstationError) return { ok: false, reason: err.message };
  if (err instanceof RangeError) return { ok: false, reason: 'it could not be read within the memory limits (the file is malformed or too large)' };
  return { ok: false, reason: `it could not be read (${err instanceof Error ? err.message.slice(0, 120) : 'unknown error'})` };
}

export async function processBytes(bytes: Uint8Array, opts: { limits: DicomLimits; blobFolder: string; kek: Buffer }): Promise<FileOutcome> {
  try {
    const meta = await validateDicom(bytes, opts.limits);
    const sha256 = sha256Hex(bytes);
    writeBlobFile(opts.blobFolder, sha256, encryptBlob(opts.kek, sha256, bytes));
    return { ok: true, meta, sha256, size: bytes.length };
  } catch (err) {
    return refusalOutcome(err);
  }
}

/**
 * One file of a patient upload: a PNG/JPEG is wrapped as Secondary Capture; DICOM is first
 * validated as it came (the same limits and refusals as any import), then relabelled to the
 * record. The result is validated and stored like any other file.
 */
export async function processUpload(bytes: Uint8Array, target: UploadTarget, index: number, opts: { limits: DicomLimits; blobFolder: string; kek: Buffer }): Promise<FileOutcome> {
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
    return refusalOutcome(err);
  }
  const outcome = await processBytes(prepared.bytes, opts);
  return outcome.ok ? { ...outcome, origin: prepared.origin } : outcome;
}

export async function processFile(file: string, opts: { limits: DicomLimits; blobFolder: string; kek: Buffer }): Promise<FileOutcome> {
  let bytes: Buffer;
  try {
    bytes = readLimited(file, opts.limits);
  } catch (err) {
    if (err instanceof DicomRefusal) return { ok: false, reason: err.reason };
    return { ok: false, reason: 'it cannot be read' };
  }
  return processBytes(bytes, opts);
}

export interface FrameData {
  frame: DecodedFrame;
  meta: DicomMeta;
}

/** Decrypts a stored instance and decodes one frame of it. */
export async function loadFrame(hash: string, frame: number, opts: { limits: DicomLimits; blobFolder: string; kek: Buffer }): Promise<FrameData> {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(blobPath(opts.blobFolder, hash));
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', 'The stored image file is missing from the data folder. Restore the data folder from a backup.', { cause: err });
  }
  const bytes = decryptBlob(opts.kek, hash, raw);
  try {
    const parsed = parseDicomFile(bytes, opts.limits);
    return { frame: await decodeFrame(parsed, frame), meta: parsed.meta };
  } catch (err) {
    if (err instanceof DicomRefusal) throw new WorkstationError('INVALID_INPUT', `This image cannot be shown: ${err.reason}.`, { cause: err });
    throw err;
  }
}
