// The de-identified export of a DICOM data set, one implementation for the app and the CLI: the
// destination checks, and the copy loop that writes each file atomically with progress and cancel.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { WorkstationError, type DeidExportProgress, type DeidExportResult } from '../../contract';
import { deidentifyPart10, type DeidKey, type DeidReport } from './deid';
import type { DeidOptions } from './deid-profile';

export interface DeidExportItem {
  idx: number;
  itemId: string;
  label: string | null;
  file: string;
}

/** The path with the symbolic links of its existing part resolved (the rest may not exist yet). */
function resolvedPath(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest);
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.resolve(p);
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

/**
 * Refuses a destination that is relative, inside the workstation's data folder (which holds only
 * encrypted data) or the data set's own folder, a file, or a folder that already holds something
 * (nothing is overwritten or mixed). Returns the absolute path to write to.
 */
export function checkDestination(destination: string, where: { dataFolder?: string | undefined; source: string }): string {
  if (!path.isAbsolute(destination)) {
    throw new WorkstationError('INVALID_INPUT', 'Give the destination as a full folder path (for example /home/you/deid-export), not a relative one.');
  }
  const dest = path.resolve(destination);
  const real = resolvedPath(dest);
  if (where.dataFolder && isInside(real, resolvedPath(where.dataFolder))) {
    throw new WorkstationError('INVALID_INPUT', "The destination is inside the workstation's data folder, which holds only encrypted data; choose a folder outside it.");
  }
  const sourceDir = fs.existsSync(where.source) && fs.statSync(where.source).isFile() ? path.dirname(where.source) : where.source;
  if (isInside(real, resolvedPath(sourceDir))) {
    throw new WorkstationError('INVALID_INPUT', "The destination is inside the data set's own folder; the de-identified copies would mix with the originals. Choose a folder outside it.");
  }
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(dest);
  } catch {
    /* does not exist yet: created below */
  }
  if (stat && !stat.isDirectory()) throw new WorkstationError('CONFLICT', `${dest} is a file, not a folder; choose a new or empty folder for the de-identified copies.`);
  if (stat && fs.readdirSync(dest).length > 0) {
    throw new WorkstationError('CONFLICT', `The folder ${dest} is not empty; choose a new or empty folder so that no file is overwritten or mixed with the de-identified copies.`);
  }
  return dest;
}

/** Writes under a temporary name in the same folder, flushes, then renames: a reader never sees half a file. */
async function writeAtomic(to: string, bytes: Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(to), `.${path.basename(to)}.${crypto.randomBytes(4).toString('hex')}.partial`);
  try {
    const fh = await fsp.open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, to);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export interface CopyOptions {
  exportId: string;
  datasetId: string;
  signal: AbortSignal;
  onProgress?: ((p: DeidExportProgress) => void) | undefined;
  /** The profile's options (dates, Clean Descriptors). */
  deid: DeidOptions;
}

/**
 * De-identifies every item into `dest` (created if missing; checked by checkDestination first).
 * Stops between two files when the signal aborts. A file that cannot be de-identified is withheld
 * and listed; a destination that cannot be written stops the export with UNAVAILABLE.
 */
export async function copyDeidentified(items: readonly DeidExportItem[], key: DeidKey, dest: string, opts: CopyOptions): Promise<DeidExportResult> {
  const total: DeidReport = { removed: [], emptied: [], replaced: [], uidsReplaced: 0, datesShifted: 0, privateRemoved: 0 };
  const refused: { itemId: string; reason: string }[] = [];
  let written = 0;
  let done = 0;
  let lastEmit = 0;
  const emit = (phase: DeidExportProgress['phase'], force = false): void => {
    const now = Date.now();
    if (!force && now - lastEmit < 100) return; // at most ~10 events a second; the first file and the end always report
    lastEmit = now;
    opts.onProgress?.({ exportId: opts.exportId, datasetId: opts.datasetId, phase, done, total: items.length, written, refused: refused.length });
  };
  try {
    await fsp.mkdir(dest, { recursive: true });
  } catch (err) {
    throw new WorkstationError('UNAVAILABLE', `The folder ${dest} could not be created (${(err as NodeJS.ErrnoException).code ?? 'error'}); check that it is writable.`, { cause: err });
  }
  emit('writing', true);
  const removed = new Set<string>();
  const emptied = new Set<string>();
  const replaced = new Set<string>();
  for (const it of items) {
    if (opts.signal.aborted) break;
    let bytes: Uint8Array;
    try {
      const r = deidentifyPart10(await fsp.readFile(it.file), key, opts.deid);
      bytes = r.bytes;
      r.report.removed.forEach((x) => removed.add(x));
      r.report.emptied.forEach((x) => emptied.add(x));
      r.report.replaced.forEach((x) => replaced.add(x));
      total.uidsReplaced += r.report.uidsReplaced;
      total.datesShifted += r.report.datesShifted;
      total.privateRemoved += r.report.privateRemoved;
    } catch (err) {
      const reason = err instanceof WorkstationError ? err.message : 'The file could not be read (moved or deleted since the data set was registered).';
      refused.push({ itemId: it.itemId, reason });
      done++;
      emit('writing', done === 1);
      continue;
    }
    // File names are not carried over (they may hold names); the class folder is.
    const to = path.join(dest, it.label ?? '', `${String(it.idx).padStart(6, '0')}.dcm`);
    try {
      await fsp.mkdir(path.dirname(to), { recursive: true });
      await writeAtomic(to, bytes);
    } catch (err) {
      emit('failed', true);
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new WorkstationError('UNAVAILABLE', `The de-identified copies could not be written to ${dest} (${code === 'ENOSPC' ? 'the disk is full' : code}); ${written} complete file(s) were written before it stopped.`, {
        cause: err,
        details: { written },
      });
    }
    written++;
    done++;
    emit('writing', done === 1);
  }
  const cancelled = opts.signal.aborted && done < items.length;
  emit(cancelled ? 'cancelled' : 'done', true);
  return {
    exportId: opts.exportId,
    datasetId: opts.datasetId,
    destination: dest,
    total: items.length,
    written,
    refused,
    cancelled,
    report: { ...total, removed: [...removed], emptied: [...emptied], replaced: [...replaced] },
  };
}
