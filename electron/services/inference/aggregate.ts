// Per-series aggregation: one finding for a stack of slices, and the slice that shows it best.
// Model-agnostic: it reads only the labels and calibrated probabilities a model reports (the
// reported tumor classes, notumor and "not recognised"), never a model's own thresholds.
import type { SeriesFinding } from '../../contract';
import { TUMOR_CLASSES } from './model-card';
import { NOT_RECOGNISED } from './postprocess';

export interface SliceResult {
  id: string;
  label: string;
  probabilities: Record<string, number>;
}

/**
 * When most slices (strictly more than half) could not be analysed, the series says exactly that:
 * its finding is "not recognised", whatever the minority of analysed slices showed, so a class is
 * never reported from a minority. The strongest analysed slice stays the key slice, so a reader
 * can still look at what the model did see.
 *
 * Otherwise a series shows a tumor class when at least one recognised slice was labelled with it;
 * among such classes the one with the strongest single slice wins (a tumor is often visible on few
 * slices). Otherwise the series is notumor if any slice was recognised, else "not recognised".
 */
export function aggregateSeries(slices: readonly SliceResult[]): SeriesFinding {
  const counts: Record<string, number> = {};
  for (const s of slices) counts[s.label] = (counts[s.label] ?? 0) + 1;
  const notRecognised = counts[NOT_RECOGNISED] ?? 0;
  const mostlyUnrecognised = slices.length > 0 && notRecognised * 2 > slices.length;
  let best: { label: string; p: number; id: string } | null = null;
  for (const cls of TUMOR_CLASSES) {
    for (const s of slices) {
      if (s.label !== cls) continue;
      const p = s.probabilities[cls] ?? 0;
      if (!best || p > best.p) best = { label: cls, p, id: s.id };
    }
  }
  if (best && !mostlyUnrecognised) return { label: best.label, confidence: best.p, strongestSliceId: best.id, slices: slices.length, counts };
  const recognised = slices.filter((s) => s.label !== NOT_RECOGNISED);
  if (recognised.length === 0) return { label: NOT_RECOGNISED, confidence: 0, strongestSliceId: null, slices: slices.length, counts };
  // No tumor slice (or too few analysed slices): the key is the slice where a tumor class came
  // closest, or the strongest tumor slice of the minority.
  let top = recognised[0]!;
  let topP = -1;
  for (const s of recognised) {
    const p = Math.max(...TUMOR_CLASSES.map((c) => s.probabilities[c] ?? 0));
    if (p > topP) {
      topP = p;
      top = s;
    }
  }
  const keyId = best?.id ?? top.id;
  if (mostlyUnrecognised) return { label: NOT_RECOGNISED, confidence: 0, strongestSliceId: keyId, slices: slices.length, counts };
  const pNo = Math.min(...recognised.map((s) => s.probabilities.notumor ?? 0));
  return { label: 'notumor', confidence: pNo, strongestSliceId: keyId, slices: slices.length, counts };
}
