// The images behind one run's numbers: the items of a confusion-matrix cell or a reliability bin
// (with thumbnails, sorted by confidence so the confident mistakes come first), one item with its
// image and masks, and the list as CSV. Every file is read by the reader worker.
import { WorkstationError, type ItemFilter, type RunItem, type RunItemDetail, type RunSummary } from '../../contract';
import type { InferenceService } from '../inference';
import type { Logger } from '../log';
import type { Db } from '../store';
import { classesOf, csvField, type StoredResult } from './compare';
import type { ReaderPool } from './reader-pool';

export type ItemSort = 'confidence-desc' | 'confidence-asc' | 'item';

/** Reliability bins as metrics.calibration counts them: 10 equal-width bins, 1.0 in the last. */
export function binOf(confidence: number): number {
  return Math.min(9, Math.floor(Math.min(1, Math.max(0, confidence)) * 10));
}

/** The scored items with ground truth (the ones every metric counts) that match the filter, sorted. */
export function selectItems(results: readonly StoredResult[], f: ItemFilter, sort: ItemSort = 'confidence-desc'): StoredResult[] {
  const out = results.filter(
    (r) =>
      r.ok &&
      r.truth !== null &&
      r.label !== null &&
      (f.truth === undefined || r.truth === f.truth) &&
      (f.pred === undefined || r.label === f.pred) &&
      (f.bin === undefined || binOf(r.confidence ?? 0) === f.bin) &&
      (f.correct === undefined || (r.label === r.truth) === f.correct) &&
      (f.source === undefined || (r.source ?? '(none)') === f.source) &&
      (f.sequence === undefined || (r.sequence ?? '(none)') === f.sequence),
  );
  const byItem = (a: StoredResult, b: StoredResult): number => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);
  if (sort === 'item') out.sort(byItem);
  else {
    const s = sort === 'confidence-desc' ? -1 : 1;
    out.sort((a, b) => s * ((a.confidence ?? 0) - (b.confidence ?? 0)) || a.idx - b.idx);
  }
  return out;
}

export function toRunItem(r: StoredResult, thumbnail: string | null): RunItem {
  return { idx: r.idx, itemId: r.itemId, truth: r.truth, pred: r.label!, confidence: r.confidence ?? 0, correct: r.label === r.truth, source: r.source, sequence: r.sequence, thumbnail };
}

export function describeFilter(f: ItemFilter): string {
  const parts: string[] = [];
  if (f.truth !== undefined) parts.push(`truth-${f.truth}`);
  if (f.pred !== undefined) parts.push(`pred-${f.pred}`);
  if (f.bin !== undefined) parts.push(`conf-${(f.bin / 10).toFixed(1)}-${((f.bin + 1) / 10).toFixed(1)}`);
  if (f.correct !== undefined) parts.push(f.correct ? 'right' : 'wrong');
  if (f.source !== undefined) parts.push(`source-${f.source}`);
  if (f.sequence !== undefined) parts.push(`sequence-${f.sequence}`);
  return (parts.join('_') || 'all').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);
}

/** The items as CSV: one row each, in the list's order, with every class probability. */
export function itemsCsv(run: RunSummary, items: readonly StoredResult[]): string {
  const classes = classesOf(run);
  const lines = [['item', 'truth', 'predicted', 'confidence', 'correct', 'source', 'sequence', ...classes.map((c) => `p_${c}`), 'dice', 'model', 'model_version', 'run'].map(csvField).join(',')];
  for (const r of items) {
    lines.push(
      [r.itemId, r.truth, r.label, r.confidence, r.label === r.truth ? 'yes' : 'no', r.source, r.sequence, ...classes.map((c) => r.probs[c] ?? null), r.dice, run.modelId, run.modelVersion, run.id]
        .map((v) => csvField(typeof v === 'number' ? Number(v.toPrecision(6)) : (v ?? null)))
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

export interface ItemDeps {
  db: () => Db;
  inference: InferenceService;
  reader: ReaderPool;
  logger: Logger;
}

/** One item for the viewer: its image, the data set's mask and the mask the run's model draws on it now. */
export async function itemDetail(deps: ItemDeps, run: RunSummary, r: StoredResult): Promise<RunItemDetail> {
  const row = deps.db().prepare('SELECT file, mask_file FROM research_items WHERE dataset_id = ? AND idx = ?').get(run.datasetId, r.idx) as { file: string; mask_file: string | null } | undefined;
  if (!row) throw new WorkstationError('NOT_FOUND', `Item ${r.idx} is not in the data set of this run.`);
  const notes: string[] = [];
  let predicted: { mask: Uint8Array; width: number; height: number } | null = null;
  try {
    // The stored result has no mask (runs keep probabilities only): the run's model draws it
    // again, on pixels the reader decoded.
    const img = await deps.reader.pixels(row.file);
    const input = { id: 'x', source: { kind: 'pixels' as const, image: img } };
    const [o] = await deps.inference.classify([input], { modelId: run.modelId, wantMask: true, batchSize: 1 });
    if (o?.ok && o.mask) predicted = { mask: o.mask, width: o.result.width, height: o.result.height };
    else if (o && !o.ok) notes.push(`The model's mask could not be drawn: ${o.error.message}`);
    if (o?.ok && !o.mask) notes.push('The model draws no mask for this prediction.');
  } catch (err) {
    deps.logger.warn('research.item.mask-failed', { run: run.id, idx: r.idx, err });
    notes.push(err instanceof WorkstationError ? `The model's mask could not be drawn: ${err.message}` : "The model's mask could not be drawn.");
  }
  let image: RunItemDetail['image'] = null;
  let truthMask: string | null = null;
  let predictedMask: string | null = null;
  try {
    const v = await deps.reader.view(row.file, { maxSize: 512, maskFile: row.mask_file, predicted });
    image = { png: v.png, width: v.width, height: v.height };
    truthMask = v.truthMask;
    predictedMask = v.predictedMask;
    if (row.mask_file && !truthMask) notes.push("The data set's mask could not be read.");
  } catch (err) {
    notes.push(err instanceof WorkstationError ? err.message : 'The image could not be read.');
  }
  if (!row.mask_file) notes.push('The data set has no mask for this item.');
  const { thumbnail: _t, ...base } = toRunItem(r, null);
  return { ...base, probabilities: r.probs, dice: r.dice, image, truthMask, predictedMask, note: notes.length ? notes.join(' ') : null };
}
