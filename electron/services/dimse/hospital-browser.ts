// The Hospital server page's service: search the hospital's archive and retrieve a study into the
// worklist, over DIMSE (C-FIND, C-MOVE to this workstation's SCP) when a PACS is configured in the
// DIMSE settings, otherwise over DICOMweb (QIDO-RS, and the sync pull limited to the study). A
// retrieve reports its progress and can be cancelled by the user who started it; what arrived
// before the cancel stays in the worklist (each instance is imported whole or not at all).
import { WorkstationError, type PacsProgress, type PacsQuery, type PacsRetrieveResult, type PacsSource, type PacsStudy } from '../../contract';
import type { AuditLog } from '../audit';
import type { Logger } from '../log';
import type { Db } from '../store';
import type { SyncService } from '../sync';
import type { DimseActor, DimseService } from './dimse-service';

export interface HospitalBrowserOptions {
  db: () => Db;
  audit: AuditLog;
  logger: Logger;
  dimse: DimseService;
  sync: Pick<SyncService, 'serverDescription' | 'searchStudies' | 'pullStudy'>;
  /** The AI run on a retrieved study. */
  runAi?: (studyId: string, actor: DimseActor) => Promise<unknown>;
}

export interface RetrieveOptions {
  runAi: boolean;
  /** Chosen by the caller, to cancel with; absent: the retrieve cannot be cancelled. */
  retrieveId?: string;
  onProgress?: (p: PacsProgress) => void;
}

export interface HospitalBrowser {
  source(): PacsSource;
  find(q: PacsQuery, actor: DimseActor): Promise<{ studies: PacsStudy[]; truncated: boolean; transport: 'dimse' | 'dicomweb' }>;
  retrieve(studyInstanceUid: string, opts: RetrieveOptions, actor: DimseActor): Promise<PacsRetrieveResult>;
  /** Cancels a running retrieve of this actor's; false when there is none by that id (or it is someone else's). */
  cancel(retrieveId: string, actor: DimseActor): boolean;
  /** Cancels every running retrieve (the workstation closes). */
  cancelAll(): void;
}

const NOTHING_CONFIGURED =
  'No hospital archive is configured: an administrator enters the PACS (AE title, host, port) under Administration > DIMSE, or a DICOMweb hospital server under Administration > Hospital server.';

/** A name typed without wildcards matches names that start with it (DICOM matching is exact otherwise). */
function prefixMatch(q: PacsQuery): PacsQuery {
  const name = q.patientName?.trim();
  return name && !/[*?]/.test(name) ? { ...q, patientName: `${name}*` } : q;
}

export function createHospitalBrowser(o: HospitalBrowserOptions): HospitalBrowser {
  const { db, audit, logger, dimse, sync } = o;
  const running = new Map<string, { owner: string; controller: AbortController; studyInstanceUid: string }>();

  const transport = (): 'dimse' | 'dicomweb' | 'none' => (dimse.pacsDescription() ? 'dimse' : sync.serverDescription() ? 'dicomweb' : 'none');

  const source = (): PacsSource => {
    const t = transport();
    if (t === 'dimse') {
      const st = dimse.status();
      const listening = !!st.listening;
      return {
        transport: t,
        server: dimse.pacsDescription(),
        canRetrieve: listening,
        message: listening ? null : `Retrieving needs this workstation's DIMSE receiver (the PACS sends the study to it), and it is not listening${st.error ? `: ${st.error}` : ': an administrator turns it on under Administration > DIMSE'}. Searching works.`,
      };
    }
    if (t === 'dicomweb') return { transport: t, server: sync.serverDescription(), canRetrieve: true, message: null };
    return { transport: 'none', server: null, canRetrieve: false, message: NOTHING_CONFIGURED };
  };

  const localMark = (studies: Omit<PacsStudy, 'local'>[]): PacsStudy[] => {
    const local = db().prepare('SELECT 1 FROM studies WHERE study_instance_uid = ?');
    return studies.map((st) => ({ ...st, local: !!local.get(st.studyInstanceUid) }));
  };

  return {
    source,
    async find(q, actor) {
      const t = transport();
      if (t === 'none') throw new WorkstationError('UNAVAILABLE', NOTHING_CONFIGURED);
      const query = prefixMatch(q);
      if (t === 'dimse') return { ...(await dimse.find(query, actor)), transport: t };
      const server = sync.serverDescription();
      try {
        const r = await sync.searchStudies(query);
        audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.find', objectType: 'dicomweb', outcome: 'success', detail: { server, found: r.studies.length } });
        return { studies: localMark(r.studies), truncated: r.truncated, transport: t };
      } catch (err) {
        audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.find', objectType: 'dicomweb', outcome: 'failure', detail: { server } });
        throw err;
      }
    },
    async retrieve(studyInstanceUid, opts, actor) {
      const t = transport();
      if (t === 'none') throw new WorkstationError('UNAVAILABLE', NOTHING_CONFIGURED);
      const owner = actor.id ?? actor.name;
      if (opts.retrieveId && running.has(opts.retrieveId)) throw new WorkstationError('CONFLICT', 'A retrieve with this id is running already.');
      const controller = new AbortController();
      if (opts.retrieveId) running.set(opts.retrieveId, { owner, controller, studyInstanceUid });
      const id = opts.retrieveId ?? '';
      let last = { completed: 0, remaining: null as number | null, failed: 0, warnings: 0 };
      const emit = (p: Omit<PacsProgress, 'retrieveId' | 'studyInstanceUid' | 'transport'>): void => {
        last = { completed: p.completed, remaining: p.remaining, failed: p.failed, warnings: p.warnings };
        try {
          opts.onProgress?.({ retrieveId: id, studyInstanceUid, transport: t, ...p });
        } catch (err) {
          logger.warn('pacs.progress-failed', { err });
        }
      };
      try {
        let result: PacsRetrieveResult;
        if (t === 'dimse') {
          result = await dimse.retrieve(
            studyInstanceUid,
            {
              runAi: opts.runAi,
              signal: controller.signal,
              onProgress: (p) => emit({ phase: 'retrieving', completed: p.completed, remaining: p.remaining, failed: p.failed, warnings: p.warnings }),
              onAnalysing: () => emit({ ...last, phase: 'analysing', remaining: 0 }),
            },
            actor,
          );
        } else {
          result = await retrieveOverDicomWeb(studyInstanceUid, opts, actor, controller.signal, emit);
        }
        emit({ phase: 'done', completed: result.completed, remaining: 0, failed: result.failed, warnings: result.warnings });
        return result;
      } finally {
        if (opts.retrieveId) running.delete(opts.retrieveId);
      }
    },
    cancel(retrieveId, actor) {
      const r = running.get(retrieveId);
      // Someone else's retrieve is as good as none: its id says nothing to this user.
      if (!r || r.owner !== (actor.id ?? actor.name)) return false;
      r.controller.abort(new Error('The retrieve was cancelled.'));
      audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.cancel', objectType: 'study', objectId: r.studyInstanceUid, outcome: 'success', detail: null });
      return true;
    },
    cancelAll() {
      for (const r of running.values()) r.controller.abort(new Error('The workstation is closing.'));
    },
  };

  async function retrieveOverDicomWeb(
    studyInstanceUid: string,
    opts: RetrieveOptions,
    actor: DimseActor,
    signal: AbortSignal,
    emit: (p: Omit<PacsProgress, 'retrieveId' | 'studyInstanceUid' | 'transport'>) => void,
  ): Promise<PacsRetrieveResult> {
    const server = sync.serverDescription();
    let pulled;
    try {
      pulled = await sync.pullStudy(studyInstanceUid, {
        signal,
        onProgress: (p) => {
          const done = p.imported + p.skipped;
          emit({ phase: 'retrieving', completed: done, remaining: p.total === null ? null : Math.max(0, p.total - done - p.refused), failed: p.refused, warnings: 0 });
        },
      });
    } catch (err) {
      audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.retrieve', objectType: 'study', objectId: studyInstanceUid, outcome: 'failure', detail: { server } });
      throw err;
    }
    const cancelled = signal.aborted;
    if (!cancelled && pulled.studiesFound === 0) {
      throw new WorkstationError('NOT_FOUND', 'The hospital server no longer has this study (its search did not find it).');
    }
    const row = db().prepare('SELECT id FROM studies WHERE study_instance_uid = ?').get(studyInstanceUid) as { id: string } | undefined;
    const studyId = row?.id ?? null;
    let ai: PacsRetrieveResult['ai'] = { state: 'skipped', message: null };
    if (opts.runAi && studyId && o.runAi && !cancelled) {
      emit({ phase: 'analysing', completed: pulled.instancesImported + pulled.instancesSkipped, remaining: 0, failed: pulled.instancesRefused, warnings: 0 });
      try {
        await o.runAi(studyId, actor);
        ai = { state: 'done', message: null };
      } catch (err) {
        ai = { state: 'failed', message: (err as Error).message };
      }
    }
    const completed = pulled.instancesImported + pulled.instancesSkipped;
    audit.append({ actorId: actor.id, actor: actor.name, action: 'pacs.retrieve', objectType: 'study', objectId: studyId ?? studyInstanceUid, outcome: 'success', detail: { server, completed, failed: pulled.instancesRefused, ai: ai.state, cancelled } });
    return { studyInstanceUid, transport: 'dicomweb', cancelled, completed, failed: pulled.instancesRefused, warnings: 0, studyId, ai };
  }
}
