// The errors of the blob store's writes and reads, for blob files of their own and for packs alike.
import { WorkstationError } from '../../contract';

/** A write that failed: a full disk says so (details.reason 'disk-full'), anything else names the folder. */
export function writeError(folder: string, err: unknown): WorkstationError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new WorkstationError(
      'UNAVAILABLE',
      `The disk holding the data folder (${folder}) is full. Free some space and import again; nothing was half-written.`,
      { cause: err, details: { reason: 'disk-full' } },
    );
  }
  if (err instanceof WorkstationError) return err;
  return new WorkstationError('UNAVAILABLE', `An image could not be written to the data folder (${folder}). Check that the folder is writable.`, { cause: err });
}

/** A blob the index knows whose file (or pack) is not in the data folder. */
export function missingBlob(hash: string, err: unknown): WorkstationError {
  return new WorkstationError('NOT_FOUND', 'A stored image file is missing from the data folder. Restore the data folder from a backup.', { cause: err, details: { hash } });
}
