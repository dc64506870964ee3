// Background scoring: every study that arrives (import, sync, DIMSE, patient uploads) is queued
// and scored by the AI results service one study at a time, at background priority in the
// inference pool (the viewer's own requests go ahead), so opening it shows the stored result with
// no new inference. The queue waits for a study to stop receiving images before scoring it,
// stops (cancelling the study under way at its next chunk) when the setting is turned off, and
// is rebuilt at start from the studies without a result for the current model. A study it cannot
// score is recorded as skipped or failed with a reason and the queue moves on.
import { WorkstationError, type AiBackgroundEvent, type AiBackgroundState, type AiStudyStatus, type StudyDetail } from '../../contract';
import type { Logger } from '../log';
import type { Db } from '../store';
import type { AiResultsService } from './ai-results-service';

export const BACKGROUND_ACTOR = 'system:background';

export interface BackgroundScoringOptions {
  db: () => Db;
  ai: Pick<AiResultsService, 'runStudy' | 'cancelBackground'>;
  /** A study's series and instances (no audit row). */
  study(studyId: string): StudyDetail;
  /** The model a run would use now (the clinical model, else the default); null: none installed. */
  currentModel(): Promise<{ id: string; version: string } | null>;
  /** The setting backgroundScoring, read at every step. */
  enabled(): boolean;
  /** False while the database is closed (locked, before first-run setup). */
  ready(): boolean;
  logger?: Logger | undefined;
  onChange?: ((e: AiBackgroundEvent) => void) | undefined;
  /**
   * How long a study must go without new images before it is scored (default 3000 ms): a DIMSE
   * push or a sync pull delivers a study in several batches, and scoring half of one is wasted.
   */
  settleMs?: number;
}

export interface BackgroundScoring {
  /** Rebuilds the queue from the studies without a result for the current model, and runs it. */
  start(): Promise<void>;
  /** Studies that received images (the import pipeline's hook). Ignored before start() and while the setting is off. */
  arrived(studyIds: readonly string[]): void;
  /** Applies a changed setting: off cancels the study under way and empties the queue; on rebuilds it. */
  settingChanged(): void;
  /** The worklist's statuses with the queue's state and reasons added. */
  annotate(statuses: AiStudyStatus[]): AiStudyStatus[];
  /** Studies waiting, in order (tests, the bench). */
  queued(): string[];
  /** The study being scored now, or null. */
  current(): string | null;
  /** Resolves once the queue is empty and nothing is being scored (tests, the bench). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  /** Not scored before this time (ms since the epoch): the settle period after the last arrival. */
  notBefore: number;
}

/** Frames the AI results service scores for a study: every frame of every instance of record. */
export function imagesToScore(detail: StudyDetail): number {
  return detail.series.reduce((n, s) => n + s.instances.filter((i) => i.conflictOf === null).reduce((m, i) => m + Math.max(1, i.frames), 0), 0);
}

/** Why the model cannot read a study, or null when it has an MR series with images. */
export function unscorableReason(detail: StudyDetail): string | null {
  const images = (s: StudyDetail['series'][number]): boolean => s.instances.some((i) => i.conflictOf === null && i.rows > 0 && i.columns > 0);
  if (detail.series.some((s) => s.modality === 'MR' && images(s))) return null;
  const modalities = [...new Set(detail.series.map((s) => s.modality).filter((m): m is string => !!m))];
  if (modalities.length && !modalities.includes('MR')) return `Not an MR study (${modalities.slice(0, 4).join(', ')}): the model reads brain MRI only.`;
  return 'The study has no MR series with images the model can read.';
}

function isCancelled(err: unknown): boolean {
  return err instanceof WorkstationError && err.code === 'CONFLICT' && (err.details as { cancelled?: boolean } | undefined)?.cancelled === true;
}

export function createBackgroundScoring(options: BackgroundScoringOptions): BackgroundScoring {
  const { db, ai, logger } = options;
  const settleMs = Math.max(0, options.settleMs ?? 3000);
  const queue = new Map<string, Entry>();
  let running: string | null = null;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let closed = false;
  /** Arrivals are queued only once start() ran: a one-shot CLI command never starts the queue. */
  let started = false;
  const idleWaiters = new Set<() => void>();

  const emit = (studyId: string, state: AiBackgroundEvent['state']): void => {
    try {
      options.onChange?.({ studyId, state });
    } catch (err) {
      logger?.warn('ai.background.event-failed', { err });
    }
  };

  const record = (studyId: string, state: 'skipped' | 'failed', reason: string, model: { id: string; version: string } | null): void => {
    db()
      .prepare(
        `INSERT INTO ai_background (study_id, state, reason, model_id, model_version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (study_id) DO UPDATE SET state = excluded.state, reason = excluded.reason, model_id = excluded.model_id, model_version = excluded.model_version, updated_at = excluded.updated_at`,
      )
      .run(studyId, state, reason, model?.id ?? null, model?.version ?? null, new Date().toISOString());
    emit(studyId, state);
  };

  const checkIdle = (): void => {
    if (running || queue.size > 0) return;
    for (const w of [...idleWaiters]) w();
  };

  /** Scores one study; never throws (a study that cannot be scored must not stop the queue). */
  async function score(studyId: string): Promise<void> {
    let model: { id: string; version: string } | null = null;
    try {
      let detail: StudyDetail;
      try {
        detail = options.study(studyId);
      } catch (err) {
        if (err instanceof WorkstationError && err.code === 'NOT_FOUND') return; // deleted meanwhile
        throw err;
      }
      const why = unscorableReason(detail);
      if (why) {
        record(studyId, 'skipped', why, null);
        return;
      }
      model = await options.currentModel();
      if (!model) {
        record(studyId, 'failed', 'No AI model is installed on this workstation.', null);
        return;
      }
      const run = db().prepare('SELECT status, model_id, model_version, total FROM ai_runs WHERE study_id = ?').get(studyId) as
        | { status: string; model_id: string | null; model_version: string | null; total: number }
        | undefined;
      // Already scored by this model over every image it has now (by a person, or before).
      if (run?.status === 'done' && run.model_id === model.id && run.model_version === model.version && run.total === imagesToScore(detail)) {
        emit(studyId, 'scored');
        return;
      }
      emit(studyId, 'running');
      const result = await ai.runStudy(studyId, { actor: BACKGROUND_ACTOR, actorId: null, force: !!run, priority: 'background' });
      if (result.instances.length === 0) {
        const first = result.failures[0]?.reason ?? 'the study has no image to score';
        record(studyId, 'failed', `No image of this study could be scored: ${first}`, model);
        return;
      }
      db().prepare('DELETE FROM ai_background WHERE study_id = ?').run(studyId);
      emit(studyId, 'scored');
    } catch (err) {
      if (isCancelled(err)) {
        // The setting was turned off, the workstation is closing, or a person cancelled it: the
        // partial result stays as the AI results service stored it, nothing more is recorded.
        emit(studyId, options.enabled() && !closed ? 'failed' : 'off');
        return;
      }
      const reason = err instanceof WorkstationError ? err.message : 'The AI run stopped because of an internal error.';
      logger?.warn('ai.background.failed', { study: studyId, code: err instanceof WorkstationError ? err.code : 'INTERNAL' });
      try {
        record(studyId, 'failed', reason, model);
      } catch (dbErr) {
        logger?.error('ai.background.record-failed', { study: studyId, err: dbErr });
      }
    }
  }

  async function drain(): Promise<void> {
    while (!closed && options.ready() && options.enabled() && queue.size > 0) {
      const now = Date.now();
      let next: string | null = null;
      let soonest = Infinity;
      for (const [id, e] of queue) {
        if (e.notBefore <= now) {
          next = id;
          break;
        }
        soonest = Math.min(soonest, e.notBefore);
      }
      if (!next) {
        // Nothing has settled yet: sleep until the first one does, or until a new arrival.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, soonest - now);
          t.unref?.();
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
        continue;
      }
      queue.delete(next);
      running = next;
      const t0 = performance.now();
      await score(next);
      logger?.info('ai.background.study', { study: next, ms: Math.round(performance.now() - t0), left: queue.size });
      running = null;
    }
  }

  function kick(): void {
    wake?.();
    if (loop || closed) {
      checkIdle();
      return;
    }
    loop = drain()
      .catch((err: unknown) => logger?.error('ai.background.loop-failed', { err }))
      .finally(() => {
        loop = null;
        running = null;
        // Arrivals while the loop was finishing its last study.
        if (!closed && options.ready() && options.enabled() && queue.size > 0) kick();
        else checkIdle();
      });
  }

  function enqueue(studyId: string, notBefore: number): void {
    const had = queue.has(studyId);
    queue.delete(studyId); // a new arrival moves it to the back and restarts its settle period
    queue.set(studyId, { notBefore });
    if (!had) emit(studyId, 'queued');
  }

  async function rebuild(): Promise<void> {
    if (closed || !options.ready() || !options.enabled()) return;
    const model = await options.currentModel().catch(() => null);
    if (!model) {
      logger?.warn('ai.background.no-model', {});
      return;
    }
    // Studies without a finished result for this model, except those a person cancelled and
    // those already found unscorable for this model; newest first (the likeliest to be opened).
    const rows = db()
      .prepare(
        `SELECT s.id FROM studies s
         LEFT JOIN ai_runs r ON r.study_id = s.id
         LEFT JOIN ai_background b ON b.study_id = s.id
         WHERE (r.study_id IS NULL OR NOT (r.status = 'done' AND r.model_id IS ? AND r.model_version IS ?))
           AND (r.study_id IS NULL OR NOT (r.status = 'cancelled' AND r.started_by NOT LIKE 'system:%'))
           AND (b.study_id IS NULL OR NOT (b.state = 'skipped' OR (b.model_id IS ? AND b.model_version IS ?)))
         ORDER BY s.imported_at DESC, s.id`,
      )
      .all(model.id, model.version, model.id, model.version) as { id: string }[];
    for (const r of rows) if (!queue.has(r.id) && r.id !== running) enqueue(r.id, 0);
    if (rows.length) logger?.info('ai.background.queued', { studies: rows.length });
    kick();
  }

  return {
    start() {
      started = true;
      return rebuild();
    },
    arrived(studyIds) {
      if (!started || closed || !options.enabled()) return;
      const at = Date.now() + settleMs;
      for (const id of studyIds) enqueue(id, at);
      kick();
    },
    settingChanged() {
      if (!started || closed) return;
      if (options.enabled()) {
        void rebuild().catch((err: unknown) => logger?.warn('ai.background.rebuild-failed', { err }));
        return;
      }
      const dropped = [...queue.keys()];
      queue.clear();
      for (const id of dropped) emit(id, 'off');
      if (running) ai.cancelBackground(running);
      wake?.();
      checkIdle();
    },
    annotate(statuses) {
      if (statuses.length === 0) return statuses;
      const ids = statuses.map((s) => s.studyId);
      const rows = db()
        .prepare(`SELECT study_id, state, reason FROM ai_background WHERE study_id IN (${ids.map(() => '?').join(',')})`)
        .all(...ids) as { study_id: string; state: 'skipped' | 'failed'; reason: string }[];
      const stored = new Map(rows.map((r) => [r.study_id, r]));
      const on = options.enabled();
      return statuses.map((s) => {
        if (s.status === 'running') return s;
        // A finished result is shown as it is, even while the study waits in the queue (a person
        // scored it meanwhile, or a retrieve did; the queue then finds it done and moves on).
        const scored = s.status === 'done' && s.label !== null;
        if (queue.has(s.studyId) && !scored) return { ...s, background: 'queued' as AiBackgroundState, reason: null };
        const b = stored.get(s.studyId);
        // A result a person ran later wins over the queue's failure.
        if (b && !scored) return { ...s, background: b.state, reason: b.reason };
        // Not scored (or stopped before any image was) while the setting is off.
        if (!on && (s.status === 'not-run' || (s.status === 'cancelled' && s.label === null))) return { ...s, background: 'off' as AiBackgroundState, reason: null };
        return s;
      });
    },
    queued: () => [...queue.keys()],
    current: () => running,
    idle() {
      if (!running && queue.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = (): void => {
          idleWaiters.delete(done);
          resolve();
        };
        idleWaiters.add(done);
      });
    },
    async close() {
      closed = true;
      queue.clear();
      if (running) ai.cancelBackground(running);
      wake?.();
      await loop;
      for (const w of [...idleWaiters]) w();
    },
  };
}
