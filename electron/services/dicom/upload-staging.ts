// Uploads in flight (files sent in chunks over the API, before import): each belongs to one
// connection, memory is taken as chunks arrive (announcing a size reserves quota, not bytes),
// one owner may hold at most a share of the total, and an upload with no chunk for a while
// expires, so nobody can hold the quota until the workstation restarts.
import crypto from 'node:crypto';
import path from 'node:path';
import { UPLOAD_CHUNK_BYTES, WorkstationError } from '../../contract';

export interface UploadLimits {
  /** Bytes announced by all uploads in flight together. */
  totalBytes: number;
  /** Bytes announced by one owner's uploads in flight. */
  perOwnerBytes: number;
  /** An upload that received no chunk for this long is dropped. */
  idleMs: number;
  chunkBytes: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  totalBytes: 2 * 1024 * 1024 * 1024,
  perOwnerBytes: 1024 * 1024 * 1024,
  idleMs: 10 * 60_000,
  chunkBytes: UPLOAD_CHUNK_BYTES,
};

interface Upload {
  name: string;
  size: number;
  owner: string;
  chunks: Buffer[];
  received: number;
  lastActivity: number;
}

export interface UploadStaging {
  begin(name: string, size: number, owner: string): { uploadId: string; chunkBytes: number };
  chunk(uploadId: string, offset: number, data: Buffer, owner: string): { received: number };
  /** Hands over complete uploads (and forgets them); none is taken unless all are complete. */
  take(uploadIds: string[], owner: string): { name: string; bytes: Uint8Array }[];
  /** Bytes announced by uploads in flight (after dropping expired ones). */
  reserved(): number;
  clear(): void;
}

export function createUploadStaging(limits: UploadLimits, now: () => number = () => Date.now()): UploadStaging {
  const uploads = new Map<string, Upload>();
  const notFound = (): WorkstationError => new WorkstationError('NOT_FOUND', 'That upload does not exist (it finished, expired, or belongs to another session).');

  const sweep = (): void => {
    const t = now();
    for (const [id, u] of uploads) if (t - u.lastActivity > limits.idleMs) uploads.delete(id);
  };
  const sum = (filter: (u: Upload) => boolean): number => {
    let n = 0;
    for (const u of uploads.values()) if (filter(u)) n += u.size;
    return n;
  };
  const mine = (uploadId: string, owner: string): Upload => {
    sweep();
    const u = uploads.get(uploadId);
    if (!u || u.owner !== owner) throw notFound();
    return u;
  };

  return {
    begin(name, size, owner) {
      sweep();
      if (sum(() => true) + size > limits.totalBytes) throw new WorkstationError('UNAVAILABLE', 'Too much is being uploaded at once. Finish or cancel the current uploads first, or wait a few minutes.');
      if (sum((u) => u.owner === owner) + size > limits.perOwnerBytes) {
        throw new WorkstationError('UNAVAILABLE', `You are uploading more than ${Math.round(limits.perOwnerBytes / 2 ** 20)} MiB at once. Finish the current uploads first.`);
      }
      const uploadId = crypto.randomUUID();
      uploads.set(uploadId, { name: path.basename(name), size, owner, chunks: [], received: 0, lastActivity: now() });
      return { uploadId, chunkBytes: limits.chunkBytes };
    },

    chunk(uploadId, offset, data, owner) {
      const u = mine(uploadId, owner);
      if (offset !== u.received) throw new WorkstationError('INVALID_INPUT', `Upload chunks must arrive in order: expected offset ${u.received}, got ${offset}.`);
      if (data.length > limits.chunkBytes || offset + data.length > u.size) throw new WorkstationError('INVALID_INPUT', 'This chunk goes past the size announced for the upload.');
      u.chunks.push(Buffer.from(data)); // a copy: the caller's buffer may be reused
      u.received += data.length;
      u.lastActivity = now();
      return { received: u.received };
    },

    take(uploadIds, owner) {
      const list = uploadIds.map((id) => mine(id, owner));
      for (const u of list) if (u.received !== u.size) throw new WorkstationError('INVALID_INPUT', `The upload of ${u.name} is incomplete (${u.received} of ${u.size} bytes).`);
      for (const id of uploadIds) uploads.delete(id);
      return list.map((u) => ({ name: u.name, bytes: Buffer.concat(u.chunks, u.size) }));
    },

    reserved() {
      sweep();
      return sum(() => true);
    },

    clear: () => uploads.clear(),
  };
}
