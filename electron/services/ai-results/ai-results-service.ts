// Stored AI results per study: runs the tumor model over a study's images (decoded by the DICOM
// service, scored by the inference service), persists each image's result and mask and the
// per-series finding, tracks running/cancelled/failed runs, and serves masks for the overlay.
// An image is one frame of an instance: a multi-frame (enhanced) MR holds a whole series in one
// instance, and every one of its frames is scored and is a slice of the series finding.
import zlib from 'node:zlib';
import {
  AI_NOTICE,
  NOT_RECOGNISED_LABEL,
  WorkstationError,
  encodeMaskRuns,
  type AiInstanceResult,
  type AiMask,
  type AiProgress,
  type AiSeriesResult,
  type AiStatus,
  type AiStudyResult,
  type AiStudyStatus,
  type Frame,
  type StudyDetail,
} from '../../contract';
import type { AuditEntry } from '../audit';
import { aggregateSeries, type RunPriority, type ClassifyOptions, type ImageOutcome, type InferenceInput, type InferenceService, type RawImage } from '../inference';
import type { Logger } from '../log';
import type { Db } from '../store';

/** What the AI service needs from the DICOM side: a study's instances and decoded frames. */
export interface StudyImageSource {
  /** The study's series and instances, without writing a study-view audit row. */
  study(studyId: string): StudyDetail;
  frame(instanceId: string, frame: number): Promise<Frame>;
}

export interface AiResultsOptions {
  db: () => Db;
  images: StudyImageSource;
  inference: Pick<InferenceService, 'classify'>;
  audit?: { append(entry: AuditEntry): unknown } | undefined;
  logger?: Logger | undefined;
  /** Images (frames) decoded and scored per step (bounds memory on long series); default 8. */
  chunkSize?: number;
  /** Passed to classify (tests pin a runtime); default: the active runtime. */
  classifyOptions?: Pick<ClassifyOptions, 'runtime' | 'modelId'>;
  /**
   * The model an admin activated for clinical use (the research registry), asked at the start of
   * every run so an activation takes effect on the next study without a restart. Null, or no
   * function, means the inference service's default model. classifyOptions.modelId wins.
   */
  clinicalModelId?: () => Promise<string | null>;
}

export interface RunOptions {
  actor: string;
  actorId: string | null;
  /** Re-run even when a finished result is stored. */
  force?: boolean;
  onProgress?: (p: AiProgress) => void;
  /**
   * 'background' (the queue of arriving studies) lets every interactive inference go ahead; a
   * person who asks for a study whose background run is under way joins it and lifts it to
   * 'interactive' from its next chunk on. Default 'interactive'.
   */
  priority?: RunPriority;
}

export interface AiResultsService {
  studyResult(studyId: string): AiStudyResult;
  statuses(studyIds: readonly string[]): AiStudyStatus[];
  /** Runs (or joins the run already under way) and resolves with the stored result. */
  runStudy(studyId: string, opts: RunOptions): Promise<AiStudyResult>;
  cancel(studyId: string): boolean;
  /** Cancels a run only while it is a background one nobody has joined (false otherwise). */
  cancelBackground(studyId: string): boolean;
  /** The stored mask of one frame of an instance (0 for single-frame images). */
  mask(instanceId: string, frame?: number): AiMask;
  /** Cancels runs under way and waits for them to stop. */
  close(): Promise<void>;
}

interface RunRow {
  status: 'running' | 'done' | 'failed' | 'cancelled';
  model_id: string | null;
  model_version: string | null;
  runtime: string | null;
  total: number;
  done: number;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

/** One image to score: a frame of an instance of record. */
interface WorkItem {
  seriesId: string;
  instanceId: string;
  /** 0-based; 0 for single-frame instances. */
  frame: number;
  w: number;
  h: number;
}

interface ActiveRun {
  controller: AbortController;
  promise: Promise<AiStudyResult>;
  listeners: Set<(p: AiProgress) => void>;
  done: number;
  total: number;
  priority: RunPriority;
}

/** Turns a viewer frame (base64 modality values) into the pixels the model's preprocessing reads. */
export function frameToRawImage(f: Frame): RawImage {
  const bytes = Buffer.from(f.data, 'base64');
  // Copy into a fresh, aligned buffer: a base64 Buffer may sit at an odd offset in Node's pool.
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  let data: RawImage['data'];
  let bits: number;
  switch (f.dataType) {
    case 'uint8': data = new Uint8Array(ab); bits = 8; break;
    case 'int16': data = new Int16Array(ab); bits = 16; break;
    case 'uint16': data = new Uint16Array(ab); bits = 16; break;
    case 'int32': data = new Int32Array(ab); bits = 32; break;
    default: data = new Float32Array(ab); bits = 32;
  }
  const channels = f.samplesPerPixel === 3 ? 3 : 1;
  if (data.length !== f.rows * f.columns * channels) {
    throw new WorkstationError('INTERNAL', 'A decoded image has the wrong number of pixels.', { cause: new Error(`${data.length} != ${f.rows}x${f.columns}x${channels}`) });
  }
  if (f.invert && channels === 1) {
    // MONOCHROME1: low values are bright. The model was trained on MONOCHROME2-like images.
    const inv = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) inv[i] = f.max + f.min - data[i]!;
    return { width: f.columns, height: f.rows, channels: 1, bitsPerSample: 32, data: inv };
  }
  return { width: f.columns, height: f.rows, channels, bitsPerSample: bits, data };
}

const SERIES_COLUMNS = 'study_id, series_id, label, confidence, key_instance_id, key_frame, slices, counts';
interface SeriesRow {
  study_id: string;
  series_id: string;
  label: string;
  confidence: number;
  key_instance_id: string | null;
  key_frame: number | null;
  slices: number;
  counts: string;
}

function toSeriesResult(r: SeriesRow): AiSeriesResult {
  const counts = JSON.parse(r.counts) as Record<string, number>;
  // Rows stored before the majority rule (aggregate.ts) may name a class that only a minority of
  // analysable slices showed: read them as the rule says, so no screen shows that class.
  const mostlyUnrecognised = (counts[NOT_RECOGNISED_LABEL] ?? 0) * 2 > r.slices;
  return {
    seriesId: r.series_id,
    label: mostlyUnrecognised ? NOT_RECOGNISED_LABEL : r.label,
    confidence: mostlyUnrecognised ? 0 : r.confidence,
    keyInstanceId: r.key_instance_id,
    // The key instance may have been deleted (ON DELETE SET NULL): no frame without it.
    keyFrame: r.key_instance_id === null ? null : (r.key_frame ?? 0),
    slices: r.slices,
    counts,
  };
}

const TUMOR_RANK = (label: string): number => (label === NOT_RECOGNISED_LABEL ? 0 : label === 'notumor' ? 1 : 2);

/** The study's finding: a tumor series beats notumor beats not recognised; then the higher confidence. */
export function studyFinding(series: readonly AiSeriesResult[]): AiSeriesResult | null {
  let best: AiSeriesResult | null = null;
  for (const s of series) {
    if (!best || TUMOR_RANK(s.label) > TUMOR_RANK(best.label) || (TUMOR_RANK(s.label) === TUMOR_RANK(best.label) && s.confidence > best.confidence)) best = s;
  }
  return best;
}

function sentence(err: unknown): string {
  if (err instanceof WorkstationError) return err.message;
  return 'The AI run stopped because of an internal error. Nothing else was changed; try again or tell IT.';
}

export function createAiResultsService(options: AiResultsOptions): AiResultsService {
  const { db, images, inference, logger } = options;
  const chunkSize = Math.max(1, options.chunkSize ?? 8);
  const active = new Map<string, ActiveRun>();
  const now = (): string => new Date().toISOString();

  function runRow(studyId: string): RunRow | undefined {
    return db().prepare('SELECT status, model_id, model_version, runtime, total, done, error, started_at, finished_at FROM ai_runs WHERE study_id = ?').get(studyId) as RunRow | undefined;
  }

  function effectiveStatus(studyId: string, row: RunRow | undefined): { status: AiStatus; error: string | null } {
    if (active.has(studyId)) return { status: 'running', error: null };
    if (!row) return { status: 'not-run', error: null };
    // 'running' in the database but not in this process: the workstation stopped mid-run.
    if (row.status === 'running') return { status: 'failed', error: 'The AI run was interrupted (the workstation stopped). Run it again.' };
    return { status: row.status, error: row.error };
  }

  function seriesResults(studyId: string): AiSeriesResult[] {
    const rows = db().prepare(`SELECT ${SERIES_COLUMNS} FROM ai_series_results WHERE study_id = ? ORDER BY series_id`).all(studyId) as SeriesRow[];
    return rows.map(toSeriesResult);
  }

  function studyResult(studyId: string): AiStudyResult {
    const row = runRow(studyId);
    if (!row && !active.has(studyId)) images.study(studyId); // NOT_FOUND for an unknown study
    const { status, error } = effectiveStatus(studyId, row);
    const inst = db()
      .prepare('SELECT instance_id, frame, series_id, label, confidence, probabilities, area_px, area_mm2, mask IS NOT NULL AS has_mask, ms, error FROM ai_instance_results WHERE study_id = ? ORDER BY instance_id, frame')
      .all(studyId) as { instance_id: string; frame: number; series_id: string; label: string | null; confidence: number | null; probabilities: string | null; area_px: number; area_mm2: number | null; has_mask: number; ms: number; error: string | null }[];
    const instances: AiInstanceResult[] = [];
    const failures: AiStudyResult['failures'] = [];
    for (const r of inst) {
      if (r.label === null) failures.push({ instanceId: r.instance_id, frame: r.frame, reason: r.error ?? 'The image could not be scored.' });
      else
        instances.push({
          instanceId: r.instance_id,
          frame: r.frame,
          seriesId: r.series_id,
          label: r.label,
          confidence: r.confidence ?? 0,
          probabilities: r.probabilities ? (JSON.parse(r.probabilities) as Record<string, number>) : {},
          areaPx: r.area_px,
          areaMm2: r.area_mm2,
          hasMask: r.has_mask === 1,
          ms: r.ms,
        });
    }
    const series = seriesResults(studyId);
    const run = active.get(studyId);
    return {
      studyId,
      status,
      model: row?.model_id && row.model_version && row.runtime ? { id: row.model_id, version: row.model_version, runtime: row.runtime } : null,
      startedAt: row?.started_at ?? null,
      finishedAt: status === 'running' ? null : (row?.finished_at ?? null),
      progress: run ? { done: run.done, total: run.total } : null,
      error,
      finding: studyFinding(series),
      series,
      instances,
      failures,
      notice: AI_NOTICE,
    };
  }

  function persistOutcome(studyId: string, item: WorkItem, o: ImageOutcome, model: { id: string; version: string; runtime: string }): void {
    const stmt = db().prepare(
      `INSERT OR REPLACE INTO ai_instance_results (instance_id, frame, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, error, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const { instanceId, frame, seriesId } = item;
    if (o.ok) {
      const r = o.result;
      const mask = o.mask && r.mask.areaPx > 0 ? zlib.deflateRawSync(o.mask) : null;
      stmt.run(instanceId, frame, studyId, seriesId, r.modelId, r.modelVersion, r.runtime, r.label, r.confidence, JSON.stringify(r.probabilities), r.mask.areaPx, r.mask.areaMm2, r.width, r.height, mask, r.ms, null, now());
    } else {
      stmt.run(instanceId, frame, studyId, seriesId, model.id, model.version, model.runtime, null, null, null, 0, null, item.w, item.h, null, 0, o.error.message, now());
    }
  }

  function aggregate(studyId: string): void {
    const rows = db()
      .prepare('SELECT instance_id, frame, series_id, label, probabilities, model_id, model_version, runtime FROM ai_instance_results WHERE study_id = ? AND label IS NOT NULL ORDER BY instance_id, frame')
      .all(studyId) as { instance_id: string; frame: number; series_id: string; label: string; probabilities: string; model_id: string; model_version: string; runtime: string }[];
    const bySeries = new Map<string, typeof rows>();
    for (const r of rows) {
      const list = bySeries.get(r.series_id) ?? [];
      list.push(r);
      bySeries.set(r.series_id, list);
    }
    const conn = db();
    conn.transaction(() => {
      conn.prepare('DELETE FROM ai_series_results WHERE study_id = ?').run(studyId);
      const ins = conn.prepare(
        'INSERT INTO ai_series_results (series_id, study_id, model_id, model_version, runtime, label, confidence, key_instance_id, key_frame, slices, counts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      for (const [seriesId, list] of bySeries) {
        // One slice per frame: the slice id is the row's index, mapped back to (instance, frame).
        const f = aggregateSeries(list.map((r, i) => ({ id: String(i), label: r.label, probabilities: JSON.parse(r.probabilities) as Record<string, number> })));
        const key = f.strongestSliceId === null ? null : list[Number(f.strongestSliceId)]!;
        const first = list[0]!;
        ins.run(seriesId, studyId, first.model_id, first.model_version, first.runtime, f.label, f.confidence, key?.instance_id ?? null, key?.frame ?? null, f.slices, JSON.stringify(f.counts), now());
      }
    })();
  }

  async function execute(studyId: string, run: ActiveRun, opts: RunOptions): Promise<AiStudyResult> {
    const detail = images.study(studyId);
    // Score the instances of record only; a conflicting copy is for a person to resolve. Every
    // frame of a multi-frame instance is an image of its own (a missing or 0 count means one).
    const work: WorkItem[] = detail.series.flatMap((s) =>
      s.instances
        .filter((i) => i.conflictOf === null)
        .flatMap((i) => Array.from({ length: Math.max(1, i.frames) }, (_, frame) => ({ seriesId: s.seriesId, instanceId: i.instanceId, frame, w: i.columns, h: i.rows }))),
    );
    run.total = work.length;
    const emit = (phase: AiProgress['phase'], failed: number): void => {
      const p: AiProgress = { studyId, done: run.done, total: run.total, failed, phase };
      for (const l of run.listeners) {
        try {
          l(p);
        } catch {
          // A closed connection must not stop the run.
        }
      }
    };
    const conn = db();
    conn.transaction(() => {
      conn.prepare('DELETE FROM ai_instance_results WHERE study_id = ?').run(studyId);
      conn.prepare('DELETE FROM ai_series_results WHERE study_id = ?').run(studyId);
      conn
        .prepare(
          `INSERT INTO ai_runs (study_id, status, total, done, started_at, started_by) VALUES (?, 'running', ?, 0, ?, ?)
           ON CONFLICT (study_id) DO UPDATE SET status = 'running', model_id = NULL, model_version = NULL, runtime = NULL, total = excluded.total, done = 0, error = NULL, started_at = excluded.started_at, finished_at = NULL, started_by = excluded.started_by`,
        )
        .run(studyId, work.length, now(), opts.actor);
    })();
    emit('loading', 0);
    const t0 = performance.now();
    let failed = 0;
    let model: { id: string; version: string; runtime: string } | null = null;
    const finish = (status: 'done' | 'failed' | 'cancelled', error: string | null): void => {
      db()
        .prepare('UPDATE ai_runs SET status = ?, done = ?, error = ?, finished_at = ?, model_id = ?, model_version = ?, runtime = ? WHERE study_id = ?')
        .run(status, run.done, error, now(), model?.id ?? null, model?.version ?? null, model?.runtime ?? null, studyId);
    };
    try {
      const modelId = options.classifyOptions?.modelId ?? (await options.clinicalModelId?.()) ?? undefined;
      for (let start = 0; start < work.length; start += chunkSize) {
        if (run.controller.signal.aborted) throw new WorkstationError('CONFLICT', 'The AI run was cancelled.', { details: { cancelled: true } });
        const chunk = work.slice(start, start + chunkSize);
        const inputs: InferenceInput[] = [];
        const decodeFailures: { item: (typeof chunk)[number]; reason: string }[] = [];
        const frames = await Promise.all(chunk.map((c) => images.frame(c.instanceId, c.frame).then((f) => ({ ok: true as const, f }), (err: unknown) => ({ ok: false as const, err }))));
        chunk.forEach((c, i) => {
          const r = frames[i]!;
          if (!r.ok) {
            decodeFailures.push({ item: c, reason: sentence(r.err) });
            return;
          }
          // The input id is the item's place in the chunk: an instance id alone is not unique
          // once the frames of one instance share a chunk.
          inputs.push({ id: String(i), source: { kind: 'pixels', image: frameToRawImage(r.f) }, pixelSpacingMm: r.f.pixelSpacing });
        });
        const outcomes = inputs.length
          ? await inference.classify(inputs, { ...options.classifyOptions, ...(modelId ? { modelId } : {}), wantMask: true, signal: run.controller.signal, priority: run.priority })
          : [];
        for (const o of outcomes) {
          if (o.ok && !model) model = { id: o.result.modelId, version: o.result.modelVersion, runtime: o.result.runtime };
        }
        const m = model ?? { id: 'unknown', version: 'unknown', runtime: 'unknown' };
        conn.transaction(() => {
          for (const o of outcomes) {
            const c = chunk[Number(o.id)]!;
            if (!o.ok) failed++;
            persistOutcome(studyId, c, o, m);
          }
          for (const d of decodeFailures) {
            failed++;
            persistOutcome(studyId, d.item, { id: d.item.instanceId, ok: false, error: { code: 'INVALID_INPUT', message: d.reason, reason: 'decode' } }, m);
          }
        })();
        run.done += chunk.length;
        db().prepare('UPDATE ai_runs SET done = ?, model_id = ?, model_version = ?, runtime = ? WHERE study_id = ?').run(run.done, model?.id ?? null, model?.version ?? null, model?.runtime ?? null, studyId);
        emit('scoring', failed);
      }
      aggregate(studyId);
      finish('done', null);
      emit('done', failed);
      if (active.get(studyId) === run) active.delete(studyId); // the result below reads as done
      const result = studyResult(studyId);
      logger?.info('ai.run.done', { study: studyId, images: work.length, failed, ms: Math.round(performance.now() - t0), model: model?.id, runtime: model?.runtime });
      options.audit?.append({
        actorId: opts.actorId,
        actor: opts.actor,
        action: 'ai.run',
        objectType: 'study',
        objectId: studyId,
        outcome: 'success',
        detail: { images: work.length, failed, model: model?.id ?? null, version: model?.version ?? null, runtime: model?.runtime ?? null, label: result.finding?.label ?? null },
      });
      return result;
    } catch (err) {
      const wasCancelled = run.controller.signal.aborted;
      // Results of the finished chunks stay; the series finding covers what was scored.
      try {
        aggregate(studyId);
        finish(wasCancelled ? 'cancelled' : 'failed', wasCancelled ? null : sentence(err));
      } catch (dbErr) {
        logger?.error('ai.run.record-failed', { study: studyId, err: dbErr });
      }
      emit(wasCancelled ? 'cancelled' : 'failed', failed);
      logger?.warn('ai.run.stopped', { study: studyId, cancelled: wasCancelled, done: run.done, err });
      options.audit?.append({ actorId: opts.actorId, actor: opts.actor, action: 'ai.run', objectType: 'study', objectId: studyId, outcome: 'failure', detail: { cancelled: wasCancelled, done: run.done, total: run.total } });
      if (wasCancelled) throw new WorkstationError('CONFLICT', `The AI run was cancelled after ${run.done} of ${run.total} images; the results of those images are kept.`, { details: { cancelled: true, done: run.done, total: run.total } });
      throw err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', sentence(err), { cause: err });
    }
  }

  return {
    studyResult,
    statuses(studyIds) {
      if (studyIds.length === 0) return [];
      const placeholders = studyIds.map(() => '?').join(',');
      const runs = new Map(
        (db().prepare(`SELECT study_id, status, error, started_at, finished_at, model_id, model_version, runtime, total, done FROM ai_runs WHERE study_id IN (${placeholders})`).all(...studyIds) as (RunRow & { study_id: string })[]).map((r) => [r.study_id, r]),
      );
      const series = db().prepare(`SELECT ${SERIES_COLUMNS} FROM ai_series_results WHERE study_id IN (${placeholders})`).all(...studyIds) as SeriesRow[];
      return studyIds.map((studyId) => {
        const { status } = effectiveStatus(studyId, runs.get(studyId));
        const f = status === 'done' || status === 'cancelled'
          ? studyFinding(series.filter((s) => s.study_id === studyId).map(toSeriesResult))
          : null;
        return { studyId, status, label: f?.label ?? null, confidence: f?.confidence ?? null, background: null, reason: null };
      });
    },
    async runStudy(studyId, opts) {
      const existing = active.get(studyId);
      if (existing) {
        if (opts.priority !== 'background') existing.priority = 'interactive';
        if (opts.onProgress) existing.listeners.add(opts.onProgress);
        try {
          return await existing.promise;
        } finally {
          if (opts.onProgress) existing.listeners.delete(opts.onProgress);
        }
      }
      images.study(studyId); // NOT_FOUND before anything is written
      if (!opts.force) {
        const row = runRow(studyId);
        if (row?.status === 'done') return studyResult(studyId);
      }
      const run: ActiveRun = { controller: new AbortController(), promise: null as unknown as Promise<AiStudyResult>, listeners: new Set(), done: 0, total: 0, priority: opts.priority ?? 'interactive' };
      if (opts.onProgress) run.listeners.add(opts.onProgress);
      active.set(studyId, run);
      run.promise = execute(studyId, run, opts).finally(() => {
        if (active.get(studyId) === run) active.delete(studyId);
      });
      return run.promise;
    },
    cancel(studyId) {
      const run = active.get(studyId);
      if (!run) return false;
      run.controller.abort();
      return true;
    },
    cancelBackground(studyId) {
      const run = active.get(studyId);
      if (!run || run.priority !== 'background') return false;
      run.controller.abort();
      return true;
    },
    mask(instanceId, frame = 0) {
      const r = db().prepare('SELECT mask_width, mask_height, mask, area_px, label FROM ai_instance_results WHERE instance_id = ? AND frame = ?').get(instanceId, frame) as
        | { mask_width: number; mask_height: number; mask: Buffer | null; area_px: number; label: string | null }
        | undefined;
      if (!r || r.label === null) throw new WorkstationError('NOT_FOUND', 'This image has no AI result yet. Run the AI on the study first.');
      const n = r.mask_width * r.mask_height;
      if (!r.mask) return { instanceId, frame, width: r.mask_width, height: r.mask_height, runs: [n], areaPx: 0 };
      let pixels: Buffer;
      try {
        pixels = zlib.inflateRawSync(r.mask);
      } catch (err) {
        throw new WorkstationError('INTERNAL', 'The stored tumor mask of this image is damaged. Run the AI on the study again.', { cause: err });
      }
      if (pixels.length !== n) throw new WorkstationError('INTERNAL', 'The stored tumor mask of this image has the wrong size. Run the AI on the study again.', { cause: new Error(`${pixels.length} != ${n}`) });
      const { runs, areaPx } = encodeMaskRuns(pixels);
      return { instanceId, frame, width: r.mask_width, height: r.mask_height, runs, areaPx };
    },
    async close() {
      const runs = [...active.values()];
      for (const r of runs) r.controller.abort();
      await Promise.allSettled(runs.map((r) => r.promise));
    },
  };
}
