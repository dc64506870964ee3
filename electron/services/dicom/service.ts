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
import { createBlobStore, createPackWriter, loadOrCreateKek, type BlobStore, type PackIo, type PackWriter } from '../blobs';
import type { Logger } from '../log';
import type { Db } from '../store';
import type { DecodedFrame } from './decode';
import { createDicomIndex, type DicomIndex, type ListQuery } from './index-db';
import { DEFAULT_LIMITS, type DicomLimits } from './limits';
import { dicomParser, parseDicomFile } from './parse';
import { listTags } from './tags';
import { imageGeometry, type ImageGeometry } from './geometry';
import { DicomPool } from './pool';
import { runImportPipeline, type PipelineItem } from './import-pipeline';
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
  /**
   * Called after each recorded batch of an import (files, uploads, sync, DIMSE) with the studies
   * that received new instances: the background AI queue listens here.
   */
  onStudiesImported?: ((studyIds: string[], info: { actor: string }) => void) | undefined;
  /**
   * Files recorded per index transaction (default 256), and the longest a batch waits for more
   * (default 500 ms). Tests change them to reach each path of the pipeline.
   */
  importBatch?: { size?: number; maxWaitMs?: number } | undefined;
  /** The pack files' writes and fsyncs (packs.ts); a test passes a disk that fails. */
  packIo?: PackIo | undefined;
}

export interface ImportOptions {
  /** Username (or cli:<user>) for the index and the audit row. */
  actor: string;
  actorId?: string | null;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: ImportProgress) => void) | undefined;
  importId?: string;
  /**
   * importBuffers only: the caller hands the bytes over. Large buffers that own their whole
   * memory are moved to the worker without a copy and are empty (detached) afterwards.
   */
  transferBuffers?: boolean;
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
  /** Starts the import and decoding workers ahead of the first use (they start on demand otherwise). */
  warmUp(): Promise<void>;
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

/**
 * DICOM worker threads by default: half the cores, so the rest of the machine keeps its share,
 * but at least 2 where there are 2 cores or more, at most 4. With one worker on a 2-core machine
 * the import left a core mostly idle (the main thread is busy about a quarter of the import's
 * time): a 500-file series imported in a median of 395 ms with 2 workers against 476 ms with one
 * (8 alternating rounds, load 1.6). Memory stays bounded per worker (heap cap, one file each).
 */
export function defaultDicomWorkers(cpus: number): number {
  return cpus >= 2 ? Math.min(4, Math.max(2, Math.floor(cpus / 2))) : 1;
}

/** In-memory files from this size on are moved to the worker rather than copied. */
const MOVE_BYTES_FROM = 256 * 1024;

export function createDicomService(options: DicomServiceOptions): DicomService {
  const limits: DicomLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const blobFolder = path.join(options.dataFolder, 'blobs');
  let kek: Buffer | null = null;
  const getKek = (): Buffer => (kek ??= loadOrCreateKek(options.db()));
  const index = createDicomIndex(options.db);
  const blobs = createBlobStore({
    folder: blobFolder,
    kek: getKek,
    locate: (hash) => index.packedBlob(hash),
  });
  // Small blobs of every import go into pack files, written from this thread (packs.ts).
  let packs: PackWriter | null = null;
  const getPacks = (): PackWriter => (packs ??= createPackWriter(blobFolder, options.packIo));
  const size = options.workers ?? defaultDicomWorkers(os.cpus().length);
  let pool: DicomPool | null = null;
  const getPool = (): DicomPool => (pool ??= new DicomPool({ size, limits, blobFolder, kek: getKek(), logger: options.logger }));
  const running = new Map<string, AbortController>();
  const uploads = createUploadStaging({ ...DEFAULT_UPLOAD_LIMITS, ...options.uploadLimits }, options.now);
  const log = options.logger;

  function runImport(
    items: PipelineItem[],
    pre: ImportEntry[],
    opts: ImportOptions,
    importId: string,
    controller: AbortController,
    filing?: { patientId: string; origins: UploadOrigin[] },
  ): Promise<ImportReport> {
    return runImportPipeline({
      pool: getPool(),
      blobFolder,
      packs: getPacks(),
      index,
      items,
      pre,
      actor: opts.actor,
      actorId: opts.actorId ?? null,
      importId,
      signal: controller.signal,
      onProgress: opts.onProgress,
      logger: log,
      audit: options.audit,
      onCommitted: options.onStudiesImported ? (studyIds) => options.onStudiesImported!(studyIds, { actor: opts.actor }) : undefined,
      batchSize: options.importBatch?.size,
      batchMaxWaitMs: options.importBatch?.maxWaitMs,
      filing,
    });
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
        return await runImport(files.map((f): PipelineItem => ({ name: f, message: () => ({ msg: { kind: 'file', path: f } }) })), missing, opts, importId, controller);
      } finally {
        cleanup();
      }
    },
    async importBuffers(files, opts) {
      const { importId, controller, cleanup } = startImport(opts);
      try {
        const items = files.map((f): PipelineItem => ({
          name: f.name,
          message: () => {
            // A large file handed over (uploads, sync) that owns its whole memory is moved to the
            // worker without a copy (and is detached afterwards); another large one is copied
            // here, when it is sent, so only a window of copies exists at once. A small one is
            // sent as a structured-clone copy: only such a task can wait in a worker's queue (it
            // can be sent again if the worker dies), which keeps the workers busy.
            const b = f.bytes;
            if (b.byteLength < MOVE_BYTES_FROM) return { msg: { kind: 'bytes', bytes: b } };
            const whole = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
            const bytes = opts.transferBuffers && whole ? b : new Uint8Array(b);
            return { msg: { kind: 'bytes', bytes }, transfer: [bytes.buffer as ArrayBuffer] };
          },
        }));
        return await runImport(items, [], opts, importId, controller);
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
      return service.importBuffers(uploads.take(uploadIds, owner), { ...opts, transferBuffers: true });
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
        const report = await runImport(
          files.map((f, i): PipelineItem => ({
            name: f.name,
            message: () => {
              const copy = new Uint8Array(f.bytes); // made when sent, moved to the worker
              return { msg: { kind: 'upload', bytes: copy, target, index: i }, transfer: [copy.buffer] };
            },
          })),
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
      const m = await getPool().run({ kind: 'frame', hash: rec.contentSha256, packed: index.packedBlob(rec.contentSha256), frame });
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
    warmUp: () => getPool().warmUp(),
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
      if (packs) await packs.close();
      packs = null;
    },
  };
  return service;
}
