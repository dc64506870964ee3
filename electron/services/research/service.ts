// The research service: data set registration (with content hash, thumbnails and a
// de-identification secret; the files parsed in the reader worker), the folder picker and the
// preview, the model registry, scoring runs, one run's items and comparisons. Built by the
// composition root from the store, the inference service and the audit log.
import crypto from 'node:crypto';
import {
  WorkstationError,
  type Comparison,
  type DatasetDetail,
  type DatasetPreview,
  type DatasetSummary,
  type DeidExportProgress,
  type DeidExportResult,
  type FolderListing,
  type ItemFilter,
  type MultiComparison,
  type RunItem,
  type RunItemDetail,
  type RunMetricsDto,
  type RunSummary,
} from '../../contract';
import type { AuditLog } from '../audit';
import type { InferenceService } from '../inference';
import type { Logger } from '../log';
import type { Db } from '../store';
import { browseFolder } from './browse';
import { comparisonCsv, loadResults } from './compare';
import { multiComparisonCsv } from './compare-many';
import { DEFAULT_READER_LIMITS, ReaderPool, type ReaderLimits } from './reader-pool';
import { describeFilter, itemDetail, itemsCsv, selectItems, toRunItem, type ItemSort } from './run-items';
import { copyDeidentified, checkDestination } from './deid-export';
import { DEFAULT_DEID_OPTIONS, type DeidOptions } from './deid-profile';
import { newDeidSecret } from './deid';
import { createRegistry, type Actor } from './registry';
import { comparisonHtml } from './report-html';
import { createRunner } from './runs';

export interface ResearchServiceOptions {
  db: () => Db;
  inference: InferenceService;
  audit: AuditLog;
  logger: Logger;
  modelsFolder: string;
  flushEvery?: number;
  chunkSize?: number;
  /** Bootstrap resamples for comparisons (tests may lower it). */
  bootstrapResamples?: number;
  /** The workstation's data folder: de-identified exports into it are refused. */
  dataFolder?: string;
  /** Heap cap, time limit and DICOM limits of the worker that parses data set files. */
  readerLimits?: { heapMb?: number; requestMs?: number; dicom?: Partial<ReaderLimits['dicom']> };
}

interface DatasetRow {
  id: string;
  name: string;
  kind: DatasetSummary['kind'];
  source: string;
  content_hash: string;
  item_count: number;
  class_counts: string;
  thumbnails: string;
  created_at: string;
  created_by: string;
  with_masks: number;
  sources: string | null;
  sequences: string | null;
}

// Items per source and per sequence only where some item records one (else NULL).
const DS_SELECT = `SELECT d.*, (SELECT count(*) FROM research_items i WHERE i.dataset_id = d.id AND i.mask_file IS NOT NULL) AS with_masks,
  (SELECT CASE WHEN count(source) = 0 THEN NULL ELSE (SELECT json_group_object(g, n) FROM (SELECT coalesce(source, '(none)') AS g, count(*) AS n FROM research_items WHERE dataset_id = d.id GROUP BY g)) END
     FROM research_items WHERE dataset_id = d.id) AS sources,
  (SELECT CASE WHEN count(sequence) = 0 THEN NULL ELSE (SELECT json_group_object(g, n) FROM (SELECT coalesce(sequence, '(none)') AS g, count(*) AS n FROM research_items WHERE dataset_id = d.id GROUP BY g)) END
     FROM research_items WHERE dataset_id = d.id) AS sequences
  FROM research_datasets d`;

function groupsOf(json: string | null): Record<string, number> | null {
  if (!json) return null;
  const g = JSON.parse(json) as Record<string, number>;
  return Object.keys(g).length ? g : null;
}

function summary(r: DatasetRow): DatasetSummary {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    source: r.source,
    contentHash: r.content_hash,
    items: r.item_count,
    classCounts: JSON.parse(r.class_counts) as Record<string, number>,
    withMasks: r.with_masks,
    groups: { source: groupsOf(r.sources), sequence: groupsOf(r.sequences) },
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'dataset';
}

export function createResearchService(options: ResearchServiceOptions) {
  const { db, inference, audit, logger } = options;
  const registry = createRegistry({ db, inference, audit, modelsFolder: options.modelsFolder });
  const rl = options.readerLimits ?? {};
  const readerLimits: ReaderLimits = { heapMb: rl.heapMb ?? DEFAULT_READER_LIMITS.heapMb, requestMs: rl.requestMs ?? DEFAULT_READER_LIMITS.requestMs, dicom: { ...DEFAULT_READER_LIMITS.dicom, ...rl.dicom } };
  const reader = new ReaderPool(readerLimits, logger);
  // Statistics (bootstrap intervals, paired tests) take seconds on a large run: a process of their
  // own, so neither the main thread nor a data set being read waits for them.
  const stats = new ReaderPool({ ...readerLimits, heapMb: Math.max(readerLimits.heapMb, 1024) }, logger);
  let runner: ReturnType<typeof createRunner> | null = null;
  // The runner touches the database on creation; the store may still be locked at start.
  const runs = (): ReturnType<typeof createRunner> => (runner ??= createRunner({ db, inference, registry, reader, audit, logger, flushEvery: options.flushEvery, chunkSize: options.chunkSize }));
  const resamples = options.bootstrapResamples ?? 1000;
  // Metrics of a run, kept while its results do not change. While a run is still scoring they come
  // without bootstrap intervals (recomputed at every poll otherwise); the finished run gets them.
  const metricsCache = new Map<string, { key: string; m: Promise<RunMetricsDto> }>();
  function metricsOf(run: RunSummary): Promise<RunMetricsDto> {
    const active = run.status === 'queued' || run.status === 'running';
    const key = `${run.done}:${run.failed}:${run.status}:${run.scoringMs}`;
    const hit = metricsCache.get(run.id);
    if (hit && hit.key === key) return hit.m;
    const m = stats.metrics(run, loadResults(db(), run), active ? 0 : resamples);
    metricsCache.set(run.id, { key, m });
    m.catch(() => metricsCache.delete(run.id));
    if (metricsCache.size > 64) metricsCache.delete(metricsCache.keys().next().value!);
    return m;
  }
  function finishedRun(id: string): RunSummary {
    const r = runs().get(id);
    if (r.done === 0) throw new WorkstationError('CONFLICT', `Run ${r.id} has no results yet; wait for it to score some items.`);
    return r;
  }
  // Running de-identified exports by id (for cancel) and their destinations (one export per folder).
  const exports = new Map<string, { controller: AbortController; settled: Promise<void> }>();
  const exportDestinations = new Set<string>();

  function datasetRow(id: string): DatasetRow {
    const r = db().prepare(`${DS_SELECT} WHERE d.id = ?`).get(id) as DatasetRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', `There is no data set "${id.slice(0, 64)}".`, { details: { dataset: id } });
    return r;
  }

  function detail(id: string): DatasetDetail {
    const r = datasetRow(id);
    return { ...summary(r), thumbnails: JSON.parse(r.thumbnails) as DatasetDetail['thumbnails'] };
  }

  function pair(a: string, b: string): { ra: RunSummary; rb: RunSummary } {
    const ra = runs().get(a);
    const rb = runs().get(b);
    for (const r of [ra, rb]) if (r.done === 0) throw new WorkstationError('CONFLICT', `Run ${r.id} has no results yet; wait for it to score some items.`);
    return { ra, rb };
  }

  return {
    registry,
    /** One folder of the picker: sub-folders and CSV files (names only, nothing read). */
    browse(p: string | undefined): FolderListing {
      return browseFolder(p);
    },
    /** What a folder or CSV would register as: counts per class, source and sequence, thumbnails; nothing stored. */
    async previewDataset(input: string, name: string | undefined): Promise<DatasetPreview> {
      const scanned = await reader.scan(input, { name, hash: false, maxThumbs: 0 });
      const thumbnails = await reader.sampleThumbnails(scanned.items, 4, 24);
      return {
        kind: scanned.kind,
        source: scanned.source,
        name: scanned.name,
        items: scanned.items.length,
        classCounts: scanned.classCounts,
        withMasks: scanned.items.filter((i) => i.maskFile !== null).length,
        groups: scanned.groups,
        ignored: scanned.ignored,
        thumbnails,
      };
    },
    async registerDataset(input: string, name: string | undefined, actor: Actor): Promise<DatasetDetail> {
      // Every file is read, hashed and decoded in the reader worker, under its limits.
      const scanned = await reader.scan(input, { name, hash: true, maxThumbs: 0 });
      scanned.thumbnails = await reader.sampleThumbnails(scanned.items, 2, 12);
      const dup = db().prepare('SELECT id FROM research_datasets WHERE content_hash = ? AND source = ?').get(scanned.contentHash, scanned.source) as { id: string } | undefined;
      if (dup) return detail(dup.id); // registering the same bytes twice is a no-op
      const id = `${slug(scanned.name)}-${scanned.contentHash.slice(0, 8)}-${crypto.randomBytes(2).toString('hex')}`;
      const conn = db();
      conn.transaction(() => {
        conn
          .prepare(
            `INSERT INTO research_datasets (id, name, kind, source, content_hash, item_count, class_counts, thumbnails, deid_secret, created_at, created_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, scanned.name, scanned.kind, scanned.source, scanned.contentHash, scanned.items.length, JSON.stringify(scanned.classCounts), JSON.stringify(scanned.thumbnails), newDeidSecret(), new Date().toISOString(), actor.username);
        const ins = conn.prepare('INSERT INTO research_items (dataset_id, idx, item_id, label, file, sha256, mask_file, source, sequence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
        for (const it of scanned.items) ins.run(id, it.idx, it.itemId, it.label, it.file, it.sha256, it.maskFile, it.source, it.sequence);
      })();
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'datasets.register', objectType: 'research-dataset', objectId: id, outcome: 'success', detail: { items: scanned.items.length, kind: scanned.kind } });
      logger.info('research.dataset.registered', { dataset: id, items: scanned.items.length, kind: scanned.kind });
      return detail(id);
    },
    /**
     * A data set's items with their files, labels and content hashes, for services that read the
     * images themselves in this process (federated head training). Never sent to a renderer.
     */
    datasetItems(id: string): { itemId: string; label: string | null; file: string; sha256: string }[] {
      datasetRow(id);
      return db().prepare('SELECT item_id AS itemId, label, file, sha256 FROM research_items WHERE dataset_id = ? ORDER BY idx').all(id) as { itemId: string; label: string | null; file: string; sha256: string }[];
    },
    listDatasets(): DatasetSummary[] {
      return (db().prepare(`${DS_SELECT} ORDER BY d.created_at DESC`).all() as DatasetRow[]).map(summary);
    },
    getDataset: detail,
    /**
     * Writes de-identified copies of every file of a DICOM data set to a new or empty folder
     * (researchers never get the originals); the app's channel and the CLI both call this. Each
     * file is written atomically; the export stops between two files when cancelled.
     */
    async exportDeidentified(
      datasetId: string,
      destination: string,
      actor: Actor,
      opts: { onProgress?: ((p: DeidExportProgress) => void) | undefined; signal?: AbortSignal | undefined; deid?: DeidOptions | undefined } = {},
    ): Promise<DeidExportResult> {
      const ds = datasetRow(datasetId);
      if (ds.kind !== 'dicom') throw new WorkstationError('INVALID_INPUT', `The data set ${ds.name} is not a DICOM data set; its images carry no headers to de-identify.`);
      const dest = checkDestination(destination, { dataFolder: options.dataFolder, source: ds.source });
      if (exportDestinations.has(dest)) throw new WorkstationError('CONFLICT', `An export into ${dest} is already running; wait for it or cancel it.`);
      const secret = (db().prepare('SELECT deid_secret FROM research_datasets WHERE id = ?').get(datasetId) as { deid_secret: Buffer }).deid_secret;
      const items = (db().prepare('SELECT idx, item_id, label, file FROM research_items WHERE dataset_id = ? ORDER BY idx').all(datasetId) as { idx: number; item_id: string; label: string | null; file: string }[]).map(
        (r) => ({ idx: r.idx, itemId: r.item_id, label: r.label, file: r.file }),
      );
      const exportId = crypto.randomUUID();
      const deid = opts.deid ?? DEFAULT_DEID_OPTIONS;
      const controller = new AbortController();
      const onAbort = (): void => controller.abort();
      opts.signal?.addEventListener('abort', onAbort);
      exportDestinations.add(dest);
      const work = (async (): Promise<DeidExportResult> => {
        let result: DeidExportResult | null = null;
        try {
          result = await copyDeidentified(items, { secret }, dest, { exportId, datasetId, signal: controller.signal, onProgress: opts.onProgress, deid });
          return result;
        } finally {
          exports.delete(exportId);
          exportDestinations.delete(dest);
          opts.signal?.removeEventListener('abort', onAbort);
          // One row per export, with counts only: no paths, names or UIDs (a folder may be named after a patient).
          audit.append({
            actorId: actor.userId,
            actor: actor.username,
            action: 'dataset.export-deid',
            objectType: 'research-dataset',
            objectId: datasetId,
            outcome: result ? 'success' : 'failure',
            // The profile's options too: which dates and descriptions left is part of the record.
            detail: result
              ? { total: result.total, written: result.written, refused: result.refused.length, cancelled: result.cancelled, dates: deid.temporal, cleanDescriptors: deid.cleanDescriptors }
              : { total: items.length, dates: deid.temporal, cleanDescriptors: deid.cleanDescriptors },
          });
          logger.info('research.dataset.export-deid', { dataset: datasetId, exportId, written: result?.written ?? null, cancelled: result?.cancelled ?? null });
        }
      })();
      exports.set(exportId, { controller, settled: work.then(() => undefined, () => undefined) });
      return work;
    },
    /** Stops a running export after its current file; false when no export has that id. */
    cancelExport(exportId: string): boolean {
      const e = exports.get(exportId);
      if (!e) return false;
      e.controller.abort();
      return true;
    },
    startRuns: (datasetId: string, modelIds: string[], opts: { batchSize?: number | undefined; masks?: boolean | undefined }, actor: Actor) => {
      // The run re-hashes the data set in the reader first, and its page asks for statistics next.
      reader.warm();
      stats.warm();
      return runs().start(datasetId, modelIds, opts, actor);
    },
    listRuns: (datasetId?: string) => runs().list(datasetId),
    getRun: (id: string) => runs().get(id),
    cancelRun: (id: string, actor: Actor) => runs().cancel(id, actor),
    resumeRun: (id: string, actor: Actor) => runs().resume(id, actor),
    waitForRun: (id: string) => runs().waitFor(id),
    async runMetrics(id: string): Promise<RunMetricsDto | null> {
      const run = runs().get(id);
      if (run.done === 0) return null;
      return metricsOf(run);
    },
    /** The items behind a number of one run (a confusion cell, a reliability bin), a page at a time with thumbnails. */
    async runItems(id: string, filter: ItemFilter, opts: { sort?: ItemSort | undefined; offset?: number | undefined; limit?: number | undefined }): Promise<{ total: number; items: RunItem[] }> {
      const run = finishedRun(id);
      const all = selectItems(loadResults(db(), run), filter, opts.sort);
      const page = all.slice(opts.offset ?? 0, (opts.offset ?? 0) + (opts.limit ?? 60));
      const files = new Map((db().prepare('SELECT idx, file FROM research_items WHERE dataset_id = ?').all(run.datasetId) as { idx: number; file: string }[]).map((r) => [r.idx, r.file]));
      const thumbs = page.length ? await reader.thumbsEach(page.map((r) => files.get(r.idx) ?? ''), 96) : [];
      return { total: all.length, items: page.map((r, i) => toRunItem(r, thumbs[i] ?? null)) };
    },
    async runItem(id: string, idx: number): Promise<RunItemDetail> {
      const run = finishedRun(id);
      const r = loadResults(db(), run).find((x) => x.idx === idx && x.ok && x.label !== null);
      if (!r) throw new WorkstationError('NOT_FOUND', `Item ${idx} has no result in this run.`);
      return itemDetail({ db, inference, reader, logger }, run, r);
    },
    exportRunItems(id: string, filter: ItemFilter, sort: ItemSort | undefined, actor: Actor): { filename: string; csv: string } {
      const run = finishedRun(id);
      const items = selectItems(loadResults(db(), run), filter, sort);
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'runs.exportItems', objectType: 'research-run', objectId: id, outcome: 'success', detail: { items: items.length } });
      return { filename: `items-${run.modelId}-${describeFilter(filter)}.csv`, csv: itemsCsv(run, items) };
    },
    async compareMany(ids: string[], reference: string): Promise<MultiComparison> {
      const rs = ids.map(finishedRun);
      return stats.compareMany(rs, rs.map((r) => loadResults(db(), r)), reference, resamples);
    },
    async exportManyCsv(ids: string[], reference: string, actor: Actor): Promise<{ filename: string; csv: string }> {
      const rs = ids.map(finishedRun);
      const c = await stats.compareMany(rs, rs.map((r) => loadResults(db(), r)), reference, resamples);
      const ordered = c.runs.map((x) => loadResults(db(), x.run));
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'compare.exportCsv', objectType: 'research-run', objectId: ids.join(',').slice(0, 200), outcome: 'success' });
      return { filename: `comparison-${c.runs.length}-runs-${c.runs[0]!.run.modelId}.csv`, csv: multiComparisonCsv(c, ordered) };
    },
    compare(a: string, b: string): Promise<Comparison> {
      const { ra, rb } = pair(a, b);
      return stats.comparePair(ra, rb, loadResults(db(), ra), loadResults(db(), rb), resamples);
    },
    async exportCsv(a: string, b: string, actor: Actor): Promise<{ filename: string; csv: string }> {
      const { ra, rb } = pair(a, b);
      const resA = loadResults(db(), ra);
      const resB = loadResults(db(), rb);
      const c = await stats.comparePair(ra, rb, resA, resB, resamples);
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'compare.exportCsv', objectType: 'research-run', objectId: `${a},${b}`.slice(0, 200), outcome: 'success' });
      return { filename: `comparison-${ra.modelId}-vs-${rb.modelId}.csv`, csv: comparisonCsv(c, resA, resB) };
    },
    async exportHtml(a: string, b: string, actor: Actor): Promise<{ filename: string; html: string }> {
      const c = await this.compare(a, b);
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'compare.exportHtml', objectType: 'research-run', objectId: `${a},${b}`.slice(0, 200), outcome: 'success' });
      return { filename: `comparison-${c.a.modelId}-vs-${c.b.modelId}.html`, html: comparisonHtml(c) };
    },
    async close(): Promise<void> {
      // Exports stop after their current file and write their audit row before the store closes.
      for (const e of exports.values()) e.controller.abort();
      await Promise.all([...exports.values()].map((e) => e.settled));
      await runner?.close();
      await reader.close();
      await stats.close();
    },
  };
}

export type ResearchService = ReturnType<typeof createResearchService>;
