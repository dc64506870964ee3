// The DICOM service: imports (paths, folders, DICOMDIR, uploads) through the worker pool into the
// encrypted blob store and the index, the worklist queries, frames for the viewer, and the audit rows.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  WorkstationError,
  type DicomTag,
  type Frame,
  type ImportEntry,
  type ImportProgress,
  type ImportReport,
  type PatientMatch,
  type StudyDetail,
  type StudySummary,
} from '../../contract';
import type { AuditEntry } from '../audit';
import { createBlobStore, loadOrCreateKek, type BlobStore } from '../blobs';
import type { Logger } from '../log';
import type { Db } from '../store';
import type { DecodedFrame } from './decode';
import { createDicomIndex, type DicomIndex, type ListQuery } from './index-db';
import { DEFAULT_LIMITS, type DicomLimits } from './limits';
import { dicomParser, parseDicomFile } from './parse';
import { listTags } from './tags';
import { imageGeometry, type ImageGeometry } from './geometry';
import { DicomPool } from './pool';
import type { FileOutcome } from './process';
import { createUploadStaging, DEFAULT_UPLOAD_LIMITS, type UploadLimits } from './upload-staging';
import { pnFromDisplayName, type UploadOrigin } from './reconcile';

export interface DicomServiceOptions {
  db: () => Db;
  dataFolder: string;
  logger?: Logger | undefined;
  audit?: { append(entry: AuditEntry): unknown } | undefined;
  limits?: Partial<DicomLimits>;
  /** Worker threads for import and decoding (default: half the cores, 1 to 4). */
  workers?: number;
  /** Quotas and idle expiry of uploads in flight. */
  uploadLimits?: Partial<UploadLimits>;
  /** Clock for upload expiry (tests). */
  now?: () => number;
}

export interface ImportOptions {
  /** Username (or cli:<user>) for the index and the audit row. */
  actor: string;
  actorId?: string | null;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: ImportProgress) => void) | undefined;
  importId?: string;
}

export interface DicomService {
  readonly blobs: BlobStore;
  readonly index: DicomIndex;
  importPaths(paths: string[], opts: ImportOptions): Promise<ImportReport>;
  /** Imports in-memory files (uploads, the demo); `name` is what the report shows. */
  importBuffers(files: { name: string; bytes: Uint8Array }[], opts: ImportOptions): Promise<ImportReport>;
  beginUpload(name: string, size: number, owner: string): { uploadId: string; chunkBytes: number };
  uploadChunk(uploadId: string, offset: number, data: Buffer, owner: string): { received: number };
  finishUploads(uploadIds: string[], owner: string, opts: ImportOptions): Promise<ImportReport>;
  /** The completed uploads' bytes, handed over (and forgotten here) without importing them. */
  takeUploads(uploadIds: string[], owner: string): { name: string; bytes: Uint8Array }[];
  /**
   * Files a patient upload under one record: DICOM relabelled to it, PNG/JPEG wrapped as
   * Secondary Capture, all in one new study of its own (uploadId seeds its UIDs), through the
   * same workers, limits and refusals as any import. `origins` says what each file claimed.
   */
  importForPatient(files: { name: string; bytes: Uint8Array }[], target: { patientId: string; uploadId: string; receivedAt: string }, opts: ImportOptions): Promise<{ report: ImportReport; origins: UploadOrigin[] }>;
  cancel(importId: string): boolean;
  listStudies(q: ListQuery): { rows: StudySummary[]; total: number };
  getStudy(studyId: string, who: { actor: string; actorId: string | null }): StudyDetail;
  /** Patient records by hospital Patient ID or name, for linking a patient account (audited without the query). */
  searchPatients(query: string, who: { actor: string; actorId: string | null }): Omit<PatientMatch, 'linkedUsername'>[];
  getFrame(instanceId: string, frame: number): Promise<Frame>;
  /** Every element of one image for the tag browser (audited as an image view). */
  getTags(instanceId: string, who: { actor: string; actorId: string | null }): { instanceId: string; tags: DicomTag[]; truncated: boolean };
  /** Each frame's position, orientation, spacing and thickness, and the Frame of Reference (for derived objects such as the SEG). */
  imageGeometry(instanceId: string): ImageGeometry;
  countStudies(): number;
  /** First run: imports the bundled demo study when the worklist is empty and `allowed`. */
  importDemoStudyIfEmpty(opts: { allowed: boolean; folder: string; actor: string }): Promise<ImportReport | null>;
  close(): Promise<void>;
}


/** Files under `p`: recursive for folders (symlinked folders are not followed, so no loops), DICOMDIR expanded. */
async function expandPaths(paths: string[], signal?: AbortSignal): Promise<{ files: string[]; missing: ImportEntry[] }> {
  const files = new Set<string>();
  const missing: ImportEntry[] = [];
  const dicomdirs: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch (err) {
      missing.push({ path: dir, status: 'refused', reason: `the folder cannot be read (${(err as { code?: string }).code ?? 'error'})`, studyId: null, instanceId: null });
      return;
    }
    for (const e of entries) {
      if (signal?.aborted) return;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        if (e.name.toUpperCase() === 'DICOMDIR') dicomdirs.push(full);
        else files.add(full);
      }
    }
  };
  for (const raw of paths) {
    const p = path.resolve(raw);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(p);
    } catch {
      missing.push({ path: raw, status: 'refused', reason: 'there is no such file or folder', studyId: null, instanceId: null });
      continue;
    }
    if (st.isDirectory()) await walk(p);
    else if (path.basename(p).toUpperCase() === 'DICOMDIR') dicomdirs.push(p);
    else files.add(p);
  }
  for (const dd of dicomdirs) {
    const refs = readDicomdir(dd);
    if (refs === null) {
      missing.push({ path: dd, status: 'refused', reason: 'the DICOMDIR cannot be read', studyId: null, instanceId: null });
      continue;
    }
    for (const r of refs) {
      if (fs.existsSync(r)) files.add(r);
      else missing.push({ path: r, status: 'refused', reason: 'the DICOMDIR lists this file but it is not on the media', studyId: null, instanceId: null });
    }
  }
  return { files: [...files], missing };
}

/** The files a DICOMDIR references (ReferencedFileID, components joined under its folder). */
export function readDicomdir(file: string): string[] | null {
  try {
    const bytes = fs.readFileSync(file);
    if (bytes.length > 256 * 1024 * 1024) return null;
    const ds = dicomParser.parseDicom(bytes);
    const items = ds.elements.x00041220?.items ?? [];
    const root = path.dirname(file);
    const out = new Set<string>();
    for (const item of items) {
      const id = item.dataSet?.string('x00041500');
      if (!id) continue;
      const parts = id.split('\\').map((s) => s.trim()).filter(Boolean);
      // A reference may not climb out of the media folder.
      if (parts.some((s) => s === '..' || s.includes('/'))) continue;
      let full = path.join(root, ...parts);
      if (!fs.existsSync(full)) {
        // Media written on case-insensitive systems: match each component case-insensitively.
        let cur = root;
        for (const part of parts) {
          const hit = fs.existsSync(cur) ? fs.readdirSync(cur).find((n) => n.toUpperCase() === part.toUpperCase()) : undefined;
          cur = path.join(cur, hit ?? part);
        }
        full = cur;
      }
      out.add(full);
    }
    return [...out];
  } catch {
    return null;
  }
}

/** Stored values to what the viewer draws: the modality LUT for greyscale, 8-bit RGB for colour. */
export function toViewerFrame(
  instanceId: string,
  frameIndex: number,
  f: DecodedFrame,
  rec: { rescaleSlope: number; rescaleIntercept: number; windowCenter: number | null; windowWidth: number | null; pixelSpacing: [number, number] | null },
): Frame {
  const px = f.pixels;
  const n = px.length;
  let dataType: Frame['dataType'];
  let out: Uint8Array | Int16Array | Uint16Array | Int32Array | Float32Array;
  const slope = f.samplesPerPixel === 3 ? 1 : rec.rescaleSlope;
  const intercept = f.samplesPerPixel === 3 ? 0 : rec.rescaleIntercept;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = px[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) { min = 0; max = 0; }
  const lo = Math.min(min * slope + intercept, max * slope + intercept);
  const hi = Math.max(min * slope + intercept, max * slope + intercept);
  const integral = Number.isInteger(slope) && Number.isInteger(intercept);
  if (f.samplesPerPixel === 3 && px instanceof Uint8Array) {
    dataType = 'uint8';
    out = px;
  } else if (integral && lo >= -32768 && hi <= 32767) {
    dataType = 'int16';
    out = new Int16Array(n);
  } else if (integral && lo >= 0 && hi <= 65535) {
    dataType = 'uint16';
    out = new Uint16Array(n);
  } else if (integral && lo >= -(2 ** 31) && hi < 2 ** 31) {
    dataType = 'int32';
    out = new Int32Array(n);
  } else {
    dataType = 'float32';
    out = new Float32Array(n);
  }
  if (out !== px) for (let i = 0; i < n; i++) out[i] = px[i]! * slope + intercept;
  const wc = rec.windowCenter;
  const ww = rec.windowWidth;
  const data = Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64');
  return {
    instanceId,
    frame: frameIndex,
    rows: f.rows,
    columns: f.columns,
    samplesPerPixel: f.samplesPerPixel,
    photometric: f.photometric,
    invert: f.photometric === 'MONOCHROME1',
    dataType,
    data,
    min: lo,
    max: hi,
    rescaleSlope: slope,
    rescaleIntercept: intercept,
    windowCenter: wc !== null && ww !== null && ww > 0 ? wc : (lo + hi) / 2,
    windowWidth: wc !== null && ww !== null && ww > 0 ? ww : Math.max(1, hi - lo),
    windowFromFile: wc !== null && ww !== null && ww > 0,
    pixelSpacing: rec.pixelSpacing,
  };
}

export function createDicomService(options: DicomServiceOptions): DicomService {
  const limits: DicomLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const blobFolder = path.join(options.dataFolder, 'blobs');
  let kek: Buffer | null = null;
  const getKek = (): Buffer => (kek ??= loadOrCreateKek(options.db()));
  const blobs = createBlobStore({ folder: blobFolder, kek: getKek });
  const index = createDicomIndex(options.db);
  const size = options.workers ?? Math.max(1, Math.min(4, Math.floor(os.cpus().length / 2)));
  let pool: DicomPool | null = null;
  const getPool = (): DicomPool => (pool ??= new DicomPool({ size, limits, blobFolder, kek: getKek(), logger: options.logger }));
  const running = new Map<string, AbortController>();
  const uploads = createUploadStaging({ ...DEFAULT_UPLOAD_LIMITS, ...options.uploadLimits }, options.now);
  const log = options.logger;

  async function runImport(
    items: { name: string; task: () => Promise<FileOutcome> }[],
    pre: ImportEntry[],
    opts: ImportOptions,
    importId: string,
    controller: AbortController,
    filing?: { patientId: string; origins: UploadOrigin[] },
  ): Promise<ImportReport> {
    const started = Date.now();
    const entries: ImportEntry[] = [...pre];
    const counts = { imported: 0, duplicates: 0, conflicts: 0, refused: pre.length };
    const total = items.length + pre.length;
    let done = pre.length;
    let lastEmit = 0;
    const emit = (phase: ImportProgress['phase'], force = false): void => {
      const now = Date.now();
      if (!force && now - lastEmit < 100) return; // at most ~10 events a second
      lastEmit = now;
      opts.onProgress?.({ importId, phase, done, total, ...counts });
    };
    emit('importing', true);
    let next = 0;
    let diskFull: string | null = null;
    const studies = new Set<string>();
    const worker = async (): Promise<void> => {
      while (next < items.length && !controller.signal.aborted && !diskFull) {
        const item = items[next++]!;
        let outcome: FileOutcome;
        try {
          outcome = await item.task();
        } catch (err) {
          if (err instanceof WorkstationError && err.code === 'UNAVAILABLE') throw err;
          outcome = { ok: false, reason: 'it could not be processed (internal error)' };
          log?.error('dicom.import-file-failed', { importId, err });
        }
        if (!outcome.ok) {
          if (outcome.diskFull) diskFull = outcome.reason;
          entries.push({ path: item.name, status: 'refused', reason: outcome.reason, studyId: null, instanceId: null });
          counts.refused++;
        } else {
          try {
            const r = index.add(outcome.meta, outcome.sha256, outcome.size, opts.actor, filing?.patientId);
            studies.add(r.studyId);
            if (filing && outcome.origin) filing.origins.push(outcome.origin);
            if (r.status === 'imported') counts.imported++;
            else if (r.status === 'duplicate') counts.duplicates++;
            else counts.conflicts++;
            entries.push({
              path: item.name,
              status: r.status,
              reason: r.status === 'conflict' ? 'an image with the same SOP Instance UID but other content is already stored; both are kept and flagged' : null,
              studyId: r.studyId,
              instanceId: r.instanceId,
            });
          } catch (err) {
            log?.error('dicom.index-failed', { importId, err });
            entries.push({ path: item.name, status: 'refused', reason: 'it could not be recorded in the database', studyId: null, instanceId: null });
            counts.refused++;
          }
        }
        done++;
        emit('importing');
      }
    };
    await Promise.all(Array.from({ length: Math.min(getPool().size * 2, Math.max(1, items.length)) }, worker));
    const notProcessed = total - done;
    const report: ImportReport = {
      importId,
      total,
      ...counts,
      cancelled: controller.signal.aborted,
      notProcessed,
      studyIds: [...studies],
      entries,
      elapsedMs: Date.now() - started,
    };
    emit('done', true);
    log?.info('dicom.import', { importId, total, ...counts, cancelled: report.cancelled, ms: report.elapsedMs });
    try {
      options.audit?.append({
        actorId: opts.actorId ?? null,
        actor: opts.actor,
        action: 'dicom.import',
        objectType: 'import',
        objectId: importId,
        outcome: counts.refused > 0 && counts.imported + counts.duplicates + counts.conflicts === 0 ? 'failure' : 'success',
        detail: { files: total, imported: counts.imported, duplicates: counts.duplicates, conflicts: counts.conflicts, refused: counts.refused, cancelled: report.cancelled, studies: studies.size },
      });
    } catch (err) {
      log?.error('dicom.audit-failed', { importId, err });
    }
    if (diskFull) throw new WorkstationError('UNAVAILABLE', diskFull, { details: { reason: 'disk-full', imported: counts.imported, done } });
    return report;
  }

  function startImport(opts: ImportOptions): { importId: string; controller: AbortController; cleanup(): void } {
    getKek(); // fails here, clearly, when the database is locked
    const importId = opts.importId ?? crypto.randomUUID();
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.signal?.aborted) controller.abort();
    running.set(importId, controller);
    return { importId, controller, cleanup: () => { running.delete(importId); opts.signal?.removeEventListener('abort', onAbort); } };
  }

  const service: DicomService = {
    blobs,
    index,
    async importPaths(paths, opts) {
      const { importId, controller, cleanup } = startImport(opts);
      try {
        opts.onProgress?.({ importId, phase: 'scanning', done: 0, total: 0, imported: 0, duplicates: 0, conflicts: 0, refused: 0 });
        const { files, missing } = await expandPaths(paths, controller.signal);
        const p = getPool();
        return await runImport(
          files.map((f) => ({ name: f, task: async () => {
            const m = await p.run({ kind: 'file', path: f });
            return m.kind === 'outcome' ? m.outcome : { ok: false as const, reason: 'it could not be processed' };
          } })),
          missing,
          opts,
          importId,
          controller,
        );
      } finally {
        cleanup();
      }
    },
    async importBuffers(files, opts) {
      const { importId, controller, cleanup } = startImport(opts);
      try {
        const p = getPool();
        return await runImport(
          files.map((f) => ({ name: f.name, task: async () => {
            const copy = new Uint8Array(f.bytes); // transferred to the worker
            const m = await p.run({ kind: 'bytes', bytes: copy }, [copy.buffer]);
            return m.kind === 'outcome' ? m.outcome : { ok: false as const, reason: 'it could not be processed' };
          } })),
          [],
          opts,
          importId,
          controller,
        );
      } finally {
        cleanup();
      }
    },
    beginUpload(name, size, owner) {
      if (size > limits.maxFileBytes) throw new WorkstationError('INVALID_INPUT', `The file ${name} is larger than the import limit (${Math.round(limits.maxFileBytes / 2 ** 20)} MiB).`);
      return uploads.begin(name, size, owner);
    },
    uploadChunk: (uploadId, offset, data, owner) => uploads.chunk(uploadId, offset, data, owner),
    async finishUploads(uploadIds, owner, opts) {
      return service.importBuffers(uploads.take(uploadIds, owner), opts);
    },
    takeUploads: (uploadIds, owner) => uploads.take(uploadIds, owner),
    async importForPatient(files, filing, opts) {
      const record = index.patient(filing.patientId);
      if (!record) throw new WorkstationError('NOT_FOUND', 'The patient record this upload is for does not exist.');
      const target = {
        patientName: pnFromDisplayName(record.displayName),
        patientId: record.dicomPatientId ?? '',
        birthDate: record.birthDate ?? '',
        sex: record.sex ?? '',
        uploadId: filing.uploadId,
        receivedAt: filing.receivedAt,
      };
      const origins: UploadOrigin[] = [];
      const { importId, controller, cleanup } = startImport(opts);
      try {
        const p = getPool();
        const report = await runImport(
          files.map((f, i) => ({ name: f.name, task: async () => {
            const copy = new Uint8Array(f.bytes); // transferred to the worker
            const m = await p.run({ kind: 'upload', bytes: copy, target, index: i }, [copy.buffer]);
            return m.kind === 'outcome' ? m.outcome : { ok: false as const, reason: 'it could not be processed' };
          } })),
          [],
          opts,
          importId,
          controller,
          { patientId: record.id, origins },
        );
        return { report, origins };
      } finally {
        cleanup();
      }
    },
    cancel(importId) {
      const c = running.get(importId);
      if (!c) return false;
      c.abort();
      return true;
    },
    listStudies: (q) => index.list(q),
    getStudy(studyId, who) {
      const detail = index.get(studyId);
      options.audit?.append({ actorId: who.actorId, actor: who.actor, action: 'study.open', objectType: 'study', objectId: studyId, outcome: 'success', detail: { instances: detail.study.instanceCount } });
      return detail;
    },
    searchPatients(query, who) {
      const found = index.searchPatients(query);
      // The query may be a name: the audit row keeps only how many records it showed.
      options.audit?.append({ actorId: who.actorId, actor: who.actor, action: 'patients.search', objectType: 'patient', objectId: null, outcome: 'success', detail: { results: found.length } });
      return found;
    },
    async getFrame(instanceId, frame) {
      const rec = index.instance(instanceId);
      if (frame >= rec.frames) throw new WorkstationError('NOT_FOUND', `This image has ${rec.frames} frame(s); frame ${frame + 1} does not exist.`);
      const m = await getPool().run({ kind: 'frame', hash: rec.contentSha256, frame });
      if (m.kind === 'error') throw new WorkstationError(m.code, m.message, { cause: new Error(m.detail) });
      if (m.kind !== 'frame') throw new WorkstationError('INTERNAL', 'The decoder gave an unexpected answer.');
      return toViewerFrame(instanceId, frame, m.frame, rec);
    },
    getTags(instanceId, who) {
      const rec = index.instance(instanceId);
      // The stored file was parsed with these limits on import, so it parses again.
      const parsed = parseDicomFile(blobs.get(rec.contentSha256), limits);
      const out = listTags(parsed.dataSet);
      options.audit?.append({ actorId: who.actorId, actor: who.actor, action: 'image.tags', objectType: 'instance', objectId: instanceId, outcome: 'success', detail: { study: rec.studyId } });
      return { instanceId, ...out };
    },
    imageGeometry(instanceId) {
      const rec = index.instance(instanceId);
      const parsed = parseDicomFile(blobs.get(rec.contentSha256), limits);
      return imageGeometry(parsed.dataSet, rec.frames);
    },
    countStudies: () => index.countStudies(),
    async importDemoStudyIfEmpty({ allowed, folder, actor }) {
      if (!allowed || index.countStudies() > 0) return null;
      if (!fs.existsSync(folder)) {
        log?.warn('dicom.demo-missing', { folder });
        return null;
      }
      return service.importPaths([folder], { actor });
    },
    async close() {
      for (const c of running.values()) c.abort();
      uploads.clear();
      if (pool) await pool.close();
      pool = null;
    },
  };
  return service;
}
