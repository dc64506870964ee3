// Pull: QIDO-RS for the studies that match the filters and changed since they were last pulled,
// WADO-RS for the instances not yet here, each handed to the import path in memory as soon as it
// has arrived (never written to a plain file).
import type { SyncFilters } from '../../contract';
import type { Db } from '../store';
import type { Logger } from '../log';
import { tagString, type DicomJson, type DicomWebClient } from './dicomweb-client';
import { dicomUids } from './dicom-uids';

export type ImportStatus = 'imported' | 'duplicate' | 'conflict' | 'refused';

/** The import path (the DICOM service's pipeline), seen from sync. */
export interface SyncImporter {
  /** Imports received instances; one result per instance, in order. */
  importParts(parts: { name: string; bytes: Uint8Array }[]): Promise<{ status: ImportStatus; reason?: string | null; studyId?: string | null }[]>;
}

/** The DICOM service as sync uses it (structural, so sync does not depend on its internals). */
export interface DicomImportPath {
  importBuffers(files: { name: string; bytes: Uint8Array }[], opts: { actor: string; actorId?: string | null; transferBuffers?: boolean }): Promise<{ entries: { path: string; status: ImportStatus; reason: string | null; studyId: string | null }[] }>;
}

/** Adapts the DICOM service's in-memory import to the importer sync calls. */
export function dicomServiceImporter(dicom: DicomImportPath, actor = 'system:sync'): SyncImporter {
  return {
    async importParts(parts) {
      // Names only tell the report's entries apart; they are not paths.
      const named = parts.map((p, i) => ({ name: `${i}:${p.name}`, bytes: p.bytes }));
      // The received parts are handed over: moved to the import worker without a copy.
      const report = await dicom.importBuffers(named, { actor, actorId: null, transferBuffers: true });
      const byName = new Map(report.entries.map((e) => [e.path, e]));
      return named.map((p) => {
        const e = byName.get(p.name);
        return e ? { status: e.status, reason: e.reason, studyId: e.studyId } : { status: 'refused' as const, reason: 'the import path did not report on this instance', studyId: null };
      });
    },
  };
}

export interface ArrivedStudy {
  studyInstanceUid: string;
  /** The study's id in the local index (from the import report). */
  studyId: string | null;
}

export interface PullResult {
  studiesFound: number;
  studiesPulled: number;
  instancesImported: number;
  instancesSkipped: number;
  instancesRefused: number;
  /** Studies that received at least one new instance (for auto-run of the model), with the local study id. */
  arrivedStudies: ArrivedStudy[];
}

export interface PullOptions {
  db: () => Db;
  client: DicomWebClient;
  importer: SyncImporter;
  filters: SyncFilters;
  logger: Logger;
  /** QIDO page size. */
  pageSize?: number;
  /** Most studies one pull looks at (a server that pages forever is stopped there). */
  maxStudies?: number;
  signal?: AbortSignal;
  /** Counts are written here as they happen, so a run cut half-way still reports what it did. */
  result?: PullResult;
  /** Only this study (a retrieve from the Hospital server page): the filters' series rules do not apply. */
  studyInstanceUid?: string;
  /** Called as instances arrive and as each batch is imported. */
  onProgress?: (p: PullProgress) => void;
  /** Instances per import batch (default 64; a retrieve shown with its progress uses fewer). */
  batchSize?: number;
}

export interface PullProgress {
  /** Instances the server says the studies hold (null when it does not say). */
  total: number | null;
  /** Instances that arrived completely. */
  received: number;
  /** Instances imported (new), already here, and refused. */
  imported: number;
  skipped: number;
  refused: number;
}

const STUDY_UID = '0020000D';
const SERIES_UID = '0020000E';
const SOP_UID = '00080018';
const MODALITY = '00080060';
const STATION = '00081010';
const STUDY_INSTANCES = '00201208';
const IMPORT_BATCH = 64;

export const DEFAULT_MAX_STUDIES_PER_PULL = 10_000;

/** A UID as DICOM defines it (digits and dots, at most 64): anything else from a server never reaches a request path. */
export const isDicomUid = (s: string | null): boolean => s !== null && /^[0-9.]{1,64}$/.test(s);

async function allStudies(client: DicomWebClient, filters: SyncFilters, pageSize: number, maxStudies: number, logger: Logger, studyInstanceUid?: string, signal?: AbortSignal): Promise<DicomJson[]> {
  const date = filters.dateFrom || filters.dateTo ? `${filters.dateFrom ?? ''}-${filters.dateTo ?? ''}` : undefined;
  const out: DicomJson[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await client.qido(
      '/studies',
      studyInstanceUid
        ? { StudyInstanceUID: studyInstanceUid, includefield: STUDY_INSTANCES, limit: pageSize, offset }
        : { ModalitiesInStudy: filters.modality || undefined, StudyDate: date, includefield: STUDY_INSTANCES, limit: pageSize, offset },
      signal,
    );
    // A server that ignores the page size gives no more than one page's worth.
    out.push(...page.slice(0, pageSize));
    if (out.length >= maxStudies) {
      logger.warn('sync.pull.capped', { studies: maxStudies });
      return out.slice(0, maxStudies);
    }
    if (page.length < pageSize) return out;
  }
}

export function emptyPullResult(): PullResult {
  return { studiesFound: 0, studiesPulled: 0, instancesImported: 0, instancesSkipped: 0, instancesRefused: 0, arrivedStudies: [] };
}

export async function pullStudies(o: PullOptions): Promise<PullResult> {
  const db = o.db;
  const result: PullResult = o.result ?? emptyPullResult();
  const single = o.studyInstanceUid;
  const studies = (await allStudies(o.client, o.filters, o.pageSize ?? 200, o.maxStudies ?? DEFAULT_MAX_STUDIES_PER_PULL, o.logger, single, o.signal))
    // A server that ignores the StudyInstanceUID key gives other studies too: only the one asked for.
    .filter((st) => !single || tagString(st, STUDY_UID) === single);
  result.studiesFound = studies.length;
  const totals = studies.map((st) => Number(tagString(st, STUDY_INSTANCES) ?? NaN));
  const progress: PullProgress = { total: totals.every(Number.isFinite) ? totals.reduce((a, b) => a + b, 0) : null, received: 0, imported: 0, skipped: 0, refused: 0 };
  const report = (): void => o.onProgress?.({ ...progress });
  const known = db().prepare('SELECT 1 FROM sync_pulled_instances WHERE sop_instance_uid = ?');
  const record = db().prepare('INSERT INTO sync_pulled_instances (sop_instance_uid, study_instance_uid, series_instance_uid, import_status, pulled_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sop_instance_uid) DO NOTHING');
  const studyDone = db().prepare('INSERT INTO sync_pulled_studies (study_instance_uid, remote_instances, completed_at) VALUES (?, ?, ?) ON CONFLICT (study_instance_uid) DO UPDATE SET remote_instances = excluded.remote_instances, completed_at = excluded.completed_at');
  const studySeen = db().prepare('SELECT remote_instances FROM sync_pulled_studies WHERE study_instance_uid = ?');
  const knownInSeries = db().prepare('SELECT 1 FROM sync_pulled_instances WHERE series_instance_uid = ? LIMIT 1');

  // Parts are imported in batches across series and studies, one batch importing while the
  // next is received (so the transfer and the import overlap), and memory stays at most two
  // batches. A batch's import starts as soon as it is complete, beside the one before it (whose
  // commit, fsyncs and index rows would otherwise leave the import workers idle), and the pull's
  // own records are written batch after batch, in order. A study is marked complete only in the
  // commit of the batch that holds its last part, after the batches before it are recorded, so a
  // cut or a crash never marks a study whose instances are not all recorded.
  let pending: PendingPart[] = [];
  let pendingBytes = 0;
  let studiesComplete: { studyUid: string; remoteCount: number }[] = [];
  let importing: Promise<void> = Promise.resolve();
  const newInStudy = new Map<string, number>();
  const recordBatch = (batch: PendingPart[], complete: typeof studiesComplete, results: Awaited<ReturnType<SyncImporter['importParts']>>): void => {
    // One commit for the batch's rows (not one per instance).
    db().transaction(() => {
      batch.forEach((b, i) => {
        const r = results[i];
        const status = r?.status ?? 'refused';
        if (status === 'refused') progress.refused++;
        else if (status === 'duplicate') progress.skipped++;
        else progress.imported++;
        if (status === 'refused') {
          result.instancesRefused++;
          o.logger.warn('sync.pull.refused', { study: b.studyUid, reason: r?.reason ?? null });
        } else {
          result.instancesImported++;
          const n = newInStudy.get(b.studyUid) ?? 0;
          newInStudy.set(b.studyUid, n + 1);
          if (n === 0) {
            result.studiesPulled++;
            result.arrivedStudies.push({ studyInstanceUid: b.studyUid, studyId: r?.studyId ?? null });
          }
        }
        // A refused file is recorded too: fetching it again would give the same bytes.
        if (b.ids.sopInstanceUid) record.run(b.ids.sopInstanceUid, b.ids.studyInstanceUid ?? b.studyUid, b.ids.seriesInstanceUid ?? b.seriesUid, status, new Date().toISOString());
      });
      for (const c of complete) studyDone.run(c.studyUid, c.remoteCount, new Date().toISOString());
    })();
    if (batch.length) report();
  };
  /**
   * Hands the pending parts to the import now and records them once the batch before them is
   * recorded; returns when the batch before is done (so at most two batches are held), or with
   * `wait` when this one is too.
   */
  const flush = async (wait: boolean): Promise<void> => {
    const batch = pending;
    const complete = studiesComplete;
    pending = [];
    pendingBytes = 0;
    studiesComplete = [];
    const before = importing;
    const imported = batch.length ? o.importer.importParts(batch.map((b) => ({ name: b.ids.sopInstanceUid ?? 'instance', bytes: b.bytes }))) : Promise.resolve([]);
    imported.catch(() => undefined); // awaited below, after the batch before
    const mine = before.then(async () => {
      const results = await imported;
      if (batch.length || complete.length) recordBatch(batch, complete, results);
    });
    mine.catch(() => undefined); // awaited by the next flush; never an unhandled rejection meanwhile
    importing = mine;
    await (wait ? mine : before);
  };

  try {
    for (const study of studies) {
      o.signal?.throwIfAborted();
      const studyUid = tagString(study, STUDY_UID);
      if (!studyUid) continue;
      if (!isDicomUid(studyUid)) {
        o.logger.warn('sync.pull.bad-uid', { what: 'study', length: studyUid.length });
        continue;
      }
      const remoteCount = Number(tagString(study, STUDY_INSTANCES) ?? NaN);
      const seen = studySeen.get(studyUid) as { remote_instances: number } | undefined;
      if (seen && Number.isFinite(remoteCount) && seen.remote_instances === remoteCount) {
        result.instancesSkipped += remoteCount;
        progress.skipped += remoteCount;
        report();
        continue;
      }
      const series = await o.client.qido(`/studies/${studyUid}/series`, { includefield: STATION }, o.signal);
      for (const se of series) {
        const seriesUid = tagString(se, SERIES_UID);
        if (!seriesUid) continue;
        if (!isDicomUid(seriesUid)) {
          o.logger.warn('sync.pull.bad-uid', { what: 'series', length: seriesUid.length });
          continue;
        }
        const modality = tagString(se, MODALITY);
        if (!single && o.filters.modality && modality && modality !== o.filters.modality) continue;
        if (!single && o.filters.stationName && (tagString(se, STATION) ?? '').trim() !== o.filters.stationName) continue;
        // A series with nothing of it here is fetched whole without listing its instances first.
        const haveAny = !!knownInSeries.get(seriesUid);
        const uids = haveAny ? (await o.client.qido(`/studies/${studyUid}/series/${seriesUid}/instances`, undefined, o.signal)).map((i) => tagString(i, SOP_UID)).filter((u): u is string => isDicomUid(u)) : [];
        const missing = uids.filter((u) => !known.get(u));
        const wholeSeries = !haveAny || missing.length * 2 >= uids.length;
        // Fetched whole, the instances already here come again and are counted as they arrive.
        if (!wholeSeries || !missing.length) {
          result.instancesSkipped += uids.length - missing.length;
          progress.skipped += uids.length - missing.length;
        }
        if (haveAny && !missing.length) continue;

        // A part goes to the import as soon as it is complete, so a cut keeps what arrived; the
        // next run asks only for what is still missing (by instance when few are missing).
        const onPart = async (part: { bytes: Buffer }): Promise<void> => {
          const ids = dicomUids(part.bytes);
          progress.received++;
          if (ids.sopInstanceUid && known.get(ids.sopInstanceUid)) {
            result.instancesSkipped++;
            progress.skipped++;
            report();
            return;
          }
          pending.push({ bytes: part.bytes, ids, studyUid, seriesUid });
          pendingBytes += part.bytes.length;
          report();
          // Batches bound the memory held: IMPORT_BATCH instances, or 64 MiB, whichever comes first.
          if (pending.length >= (o.batchSize ?? IMPORT_BATCH) || pendingBytes >= 64 * 2 ** 20) await flush(false);
        };
        if (wholeSeries) {
          await o.client.retrieve(`/studies/${studyUid}/series/${seriesUid}`, onPart, o.signal);
        } else {
          for (const uid of missing) await o.client.retrieve(`/studies/${studyUid}/series/${seriesUid}/instances/${uid}`, onPart, o.signal);
        }
      }
      if (Number.isFinite(remoteCount)) studiesComplete.push({ studyUid, remoteCount });
    }
  } finally {
    // What arrived is imported and recorded even when the pull stops half-way.
    await flush(true);
  }
  return result;
}

interface PendingPart {
  bytes: Buffer;
  ids: ReturnType<typeof dicomUids>;
  studyUid: string;
  seriesUid: string;
}
