// The research service: data set registration (with content hash, thumbnails and a
// de-identification secret), the model registry, scoring runs and comparisons. Built by the
// composition root from the store, the inference service and the audit log.
import crypto from 'node:crypto';
import { WorkstationError, type Comparison, type DatasetDetail, type DatasetSummary, type DeidExportProgress, type DeidExportResult, type RunMetricsDto, type RunSummary } from '../../contract';
import type { AuditLog } from '../audit';
import type { InferenceService } from '../inference';
import type { Logger } from '../log';
import type { Db } from '../store';
import { comparisonCsv, compareRuns, loadResults, runMetrics } from './compare';
import { scanDataset } from './datasets';
import { copyDeidentified, checkDestination } from './deid-export';
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
}

const DS_SELECT = `SELECT d.*, (SELECT count(*) FROM research_items i WHERE i.dataset_id = d.id AND i.mask_file IS NOT NULL) AS with_masks FROM research_datasets d`;

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
  let runner: ReturnType<typeof createRunner> | null = null;
  // The runner touches the database on creation; the store may still be locked at start.
  const runs = (): ReturnType<typeof createRunner> => (runner ??= createRunner({ db, inference, registry, audit, logger, flushEvery: options.flushEvery, chunkSize: options.chunkSize }));
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
    async registerDataset(input: string, name: string | undefined, actor: Actor): Promise<DatasetDetail> {
      const scanned = await scanDataset(input, name);
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
        const ins = conn.prepare('INSERT INTO research_items (dataset_id, idx, item_id, label, file, sha256, mask_file) VALUES (?, ?, ?, ?, ?, ?, ?)');
        for (const it of scanned.items) ins.run(id, it.idx, it.itemId, it.label, it.file, it.sha256, it.maskFile);
      })();
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'datasets.register', objectType: 'research-dataset', objectId: id, outcome: 'success', detail: { items: scanned.items.length, kind: scanned.kind } });
      logger.info('research.dataset.registered', { dataset: id, items: scanned.items.length, kind: scanned.kind });
      return detail(id);
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
    async exportDeidentified(datasetId: string, destination: string, actor: Actor, opts: { onProgress?: ((p: DeidExportProgress) => void) | undefined; signal?: AbortSignal | undefined } = {}): Promise<DeidExportResult> {
      const ds = datasetRow(datasetId);
      if (ds.kind !== 'dicom') throw new WorkstationError('INVALID_INPUT', `The data set ${ds.name} is not a DICOM data set; its images carry no headers to de-identify.`);
      const dest = checkDestination(destination, { dataFolder: options.dataFolder, source: ds.source });
      if (exportDestinations.has(dest)) throw new WorkstationError('CONFLICT', `An export into ${dest} is already running; wait for it or cancel it.`);
      const secret = (db().prepare('SELECT deid_secret FROM research_datasets WHERE id = ?').get(datasetId) as { deid_secret: Buffer }).deid_secret;
      const items = (db().prepare('SELECT idx, item_id, label, file FROM research_items WHERE dataset_id = ? ORDER BY idx').all(datasetId) as { idx: number; item_id: string; label: string | null; file: string }[]).map(
        (r) => ({ idx: r.idx, itemId: r.item_id, label: r.label, file: r.file }),
      );
      const exportId = crypto.randomUUID();
      const controller = new AbortController();
      const onAbort = (): void => controller.abort();
      opts.signal?.addEventListener('abort', onAbort);
      exportDestinations.add(dest);
      const work = (async (): Promise<DeidExportResult> => {
        let result: DeidExportResult | null = null;
        try {
          result = await copyDeidentified(items, { secret }, dest, { exportId, datasetId, signal: controller.signal, onProgress: opts.onProgress });
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
            detail: result ? { total: result.total, written: result.written, refused: result.refused.length, cancelled: result.cancelled } : { total: items.length },
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
    startRuns: (datasetId: string, modelIds: string[], opts: { batchSize?: number | undefined; masks?: boolean | undefined }, actor: Actor) => runs().start(datasetId, modelIds, opts, actor),
    listRuns: (datasetId?: string) => runs().list(datasetId),
    getRun: (id: string) => runs().get(id),
    cancelRun: (id: string, actor: Actor) => runs().cancel(id, actor),
    resumeRun: (id: string, actor: Actor) => runs().resume(id, actor),
    waitForRun: (id: string) => runs().waitFor(id),
    runMetrics(id: string): RunMetricsDto | null {
      const run = runs().get(id);
      if (run.done === 0) return null;
      return runMetrics(run, loadResults(db(), run));
    },
    compare(a: string, b: string): Comparison {
      const { ra, rb } = pair(a, b);
      return compareRuns(ra, rb, loadResults(db(), ra), loadResults(db(), rb), { resamples: options.bootstrapResamples ?? 1000 });
    },
    exportCsv(a: string, b: string, actor: Actor): { filename: string; csv: string } {
      const { ra, rb } = pair(a, b);
      const resA = loadResults(db(), ra);
      const resB = loadResults(db(), rb);
      const c = compareRuns(ra, rb, resA, resB, { resamples: options.bootstrapResamples ?? 1000 });
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'compare.exportCsv', objectType: 'research-run', objectId: `${a},${b}`.slice(0, 200), outcome: 'success' });
      return { filename: `comparison-${ra.modelId}-vs-${rb.modelId}.csv`, csv: comparisonCsv(c, resA, resB) };
    },
    exportHtml(a: string, b: string, actor: Actor): { filename: string; html: string } {
      const c = this.compare(a, b);
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'compare.exportHtml', objectType: 'research-run', objectId: `${a},${b}`.slice(0, 200), outcome: 'success' });
      return { filename: `comparison-${c.a.modelId}-vs-${c.b.modelId}.html`, html: comparisonHtml(c) };
    },
    async close(): Promise<void> {
      // Exports stop after their current file and write their audit row before the store closes.
      for (const e of exports.values()) e.controller.abort();
      await Promise.all([...exports.values()].map((e) => e.settled));
      await runner?.close();
    },
  };
}

export type ResearchService = ReturnType<typeof createResearchService>;
