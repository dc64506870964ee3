// The blob encryption: each blob is AES-256-GCM under its own key (HMAC of the store's key and
// the blob's sha256), with a random IV, its AAD binding it to its hash. The same record layout is
// used for a blob file of its own (blob-store.ts) and for a record in a pack file (packs.ts).
import crypto from 'node:crypto';
import { WorkstationError } from '../../contract';

/** File layout: MAGIC(4) | IV(12) | ciphertext | GCM tag(16). */
export const BLOB_MAGIC = Buffer.from('TPB1', 'latin1');
export const IV_BYTES = 12;
const TAG_BYTES = 16;
export const BLOB_OVERHEAD = BLOB_MAGIC.length + IV_BYTES + TAG_BYTES;

export function sha256Hex(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * The blob's own key: HMAC-SHA256(kek, hash). The key-encryption key lives only in the encrypted
 * database, so a blob file alone (or the whole blobs folder) reveals nothing.
 */
export function blobKey(kek: Buffer, hash: string): Buffer {
  if (kek.length !== 32) throw new WorkstationError('INTERNAL', 'The blob store key has the wrong length.');
  return crypto.createHmac('sha256', kek).update('tumorpredict-blob-v1:' + hash).digest();
}

/** The additional authenticated data binds a file to its name: a renamed or swapped file fails its tag. */
export function aad(hash: string): Buffer {
  return Buffer.from(BLOB_MAGIC.toString('latin1') + hash, 'latin1');
}

/**
 * A blob's encrypted record in two buffers, each of its own (not Node's shared pool), so both can
 * be moved to another thread without a copy: `frame` is MAGIC | IV | tag (32 bytes), `body` the
 * ciphertext. Written out, it is the record layout above: MAGIC | IV | body | tag (sealedParts).
 */
export interface SealedBlob {
  frame: Uint8Array;
  body: Uint8Array;
}

const FRAME_HEAD = BLOB_MAGIC.length + IV_BYTES;

/** The record's bytes in file order, as views (no copy): MAGIC | IV, the ciphertext, the tag. */
export const sealedParts = (s: SealedBlob): Uint8Array[] => [s.frame.subarray(0, FRAME_HEAD), s.body, s.frame.subarray(FRAME_HEAD)];

/** True when `b` views the whole of an ArrayBuffer of its own (so it can be moved to another thread). */
export const ownsBuffer = (b: Uint8Array): boolean => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;

/**
 * Encrypts a blob into a record without concatenating it: the cipher's output is the body as it
 * came (a buffer of its own in Node), and the 32 bytes around it are the frame. A record is held
 * once, not twice, on its way to a pack file.
 */
export function sealBlob(kek: Buffer, hash: string, plaintext: Uint8Array): SealedBlob {
  const frame = Buffer.allocUnsafeSlow(BLOB_OVERHEAD);
  BLOB_MAGIC.copy(frame, 0);
  crypto.randomFillSync(frame, BLOB_MAGIC.length, IV_BYTES); // random 96-bit IV for every write
  const cipher = crypto.createCipheriv('aes-256-gcm', blobKey(kek, hash), frame.subarray(BLOB_MAGIC.length, FRAME_HEAD));
  cipher.setAAD(aad(hash));
  let body = cipher.update(plaintext);
  const last = cipher.final(); // empty for GCM, kept for the API's sake
  if (last.length) body = Buffer.concat([body, last]);
  // Should a runtime hand back a view of a shared buffer, the body gets one of its own.
  if (!ownsBuffer(body)) {
    const own = Buffer.allocUnsafeSlow(body.length);
    body.copy(own);
    body = own;
  }
  cipher.getAuthTag().copy(frame, FRAME_HEAD);
  return { frame, body };
}

/** The record in one buffer (a blob file of its own is written from it). */
export function encryptBlob(kek: Buffer, hash: string, plaintext: Uint8Array): Buffer {
  return Buffer.concat(sealedParts(sealBlob(kek, hash, plaintext)));
}

export function decryptBlob(kek: Buffer, hash: string, file: Buffer): Buffer {
  if (file.length < BLOB_OVERHEAD || !file.subarray(0, 4).equals(BLOB_MAGIC)) {
    throw new WorkstationError('INTERNAL', 'A stored image file is damaged (it is not a workstation blob). Restore the data folder from a backup.', { details: { hash } });
  }
  const iv = file.subarray(4, 4 + IV_BYTES);
  const tag = file.subarray(file.length - TAG_BYTES);
  const decipher = crypto.createDecipheriv('aes-256-gcm', blobKey(kek, hash), iv);
  decipher.setAAD(aad(hash));
  decipher.setAuthTag(tag);
  let out: Buffer;
  try {
    out = Buffer.concat([decipher.update(file.subarray(4 + IV_BYTES, file.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new WorkstationError('INTERNAL', 'A stored image file failed its integrity check (it was changed or damaged on disk). Restore the data folder from a backup.', { cause: err, details: { hash } });
  }
  // The tag proves the key and name; the hash proves the content is what the index expects.
  if (sha256Hex(out) !== hash) {
    throw new WorkstationError('INTERNAL', 'A stored image file does not match its content hash. Restore the data folder from a backup.', { details: { hash } });
  }
  return out;
}

