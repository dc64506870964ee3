// Turns the stored AI result of a study (ai-results service) into the finding a report is filled
// from: class, calibrated probability, an approximate location from the mask, area and volume.
import { NOT_RECOGNISED_LABEL, decodeMaskRuns, type AiMask, type AiStudyResult, type ReportAiFinding } from '../../contract';
import type { Db } from '../store';

/** What reports need from the AI results service. */
export interface AiSource {
  studyResult(studyId: string): AiStudyResult;
  /** The mask of one frame of an instance (0 for single-frame images). */
  mask(instanceId: string, frame?: number): AiMask;
}

export const LABEL_TEXT: Record<string, string> = {
  glioma: 'Glioma',
  meningioma: 'Meningioma',
  pituitary: 'Pituitary tumor',
  notumor: 'No tumor',
  [NOT_RECOGNISED_LABEL]: 'Not recognised as a brain MRI slice',
};
export const labelText = (label: string): string => LABEL_TEXT[label] ?? label;
export const isTumorLabel = (label: string): boolean => label !== 'notumor' && label !== NOT_RECOGNISED_LABEL;

interface GeometryRow {
  id: string;
  image_orientation: string | null;
  image_position: string | null;
  pixel_spacing: string | null;
}

const parse = (s: string | null): number[] | null => {
  if (!s) return null;
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : null;
  } catch {
    return null;
  }
};

/**
 * Where the mask's centroid lies, in words. Only said for axial slices (rows along patient
 * x, columns along patient y), where DICOM's LPS axes make the image's left the patient's right.
 */
export function describeLocation(mask: Uint8Array, width: number, height: number, orientation: number[] | null): string | null {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x]) {
        n++;
        sx += x;
        sy += y;
      }
    }
  }
  if (n === 0) return null;
  const cx = sx / n / width;
  const cy = sy / n / height;
  const axial = orientation && orientation.length === 6 && Math.abs(orientation[0]!) > 0.9 && Math.abs(orientation[4]!) > 0.9;
  if (!axial) return `centred at ${Math.round(cx * 100)}% across and ${Math.round(cy * 100)}% down the key image`;
  // Row direction +x is patient left when orientation[0] > 0; column direction +y is posterior.
  const towardsLeft = orientation![0]! > 0 ? cx > 0.5 : cx < 0.5;
  const towardsPosterior = orientation![4]! > 0 ? cy > 0.5 : cy < 0.5;
  const side = Math.abs(cx - 0.5) < 0.06 ? 'midline' : towardsLeft ? 'left' : 'right';
  const ap = Math.abs(cy - 0.5) < 0.06 ? 'central' : towardsPosterior ? 'posterior' : 'anterior';
  return side === 'midline' ? `midline, ${ap}` : `${side} hemisphere, ${ap}`;
}

/** The finding to fill a report from, or null when the study has no finished AI result. */
export function aiFindingFor(ai: AiSource | null, db: Db, studyId: string): ReportAiFinding | null {
  if (!ai) return null;
  const result = ai.studyResult(studyId);
  if (result.status !== 'done' || !result.finding || !result.model) return null;
  const f = result.finding;
  const inSeries = result.instances.filter((i) => i.seriesId === f.seriesId);
  const key = inSeries.find((i) => i.instanceId === f.keyInstanceId && i.frame === (f.keyFrame ?? 0)) ?? null;
  const probability = key ? (key.probabilities[f.label] ?? key.confidence) : f.confidence;
  const geometry = db.prepare(`SELECT id, image_orientation, image_position, pixel_spacing FROM instances WHERE series_id = ?`).all(f.seriesId) as GeometryRow[];
  const geo = new Map(geometry.map((g) => [g.id, g]));

  let location: string | null = null;
  if (key?.hasMask && isTumorLabel(f.label)) {
    const m = ai.mask(key.instanceId, key.frame);
    location = describeLocation(decodeMaskRuns(m.runs, m.width, m.height), m.width, m.height, parse(geo.get(key.instanceId)?.image_orientation ?? null));
  }

  // Volume: the masked area of each slice times the spacing between slice positions; only
  // when every tumor slice has a physical area and the slices have positions. The index keeps
  // one position per instance, so the frames of a multi-frame image give no spacing (no volume).
  const withTumor = inSeries.filter((i) => i.areaPx > 0);
  let volumeMm3: number | null = null;
  if (withTumor.length >= 2 && withTumor.every((i) => i.areaMm2 !== null) && inSeries.every((i) => i.frame === 0)) {
    const positions = inSeries.map((i) => parse(geo.get(i.instanceId)?.image_position ?? null)).filter((p): p is number[] => !!p && p.length === 3);
    const zs = [...new Set(positions.map((p) => p[2]!))].sort((a, b) => a - b);
    const gaps = zs.slice(1).map((z, i) => z - zs[i]!).filter((g) => g > 0);
    if (gaps.length) {
      const spacing = gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)]!;
      volumeMm3 = withTumor.reduce((s, i) => s + (i.areaMm2 ?? 0), 0) * spacing;
    }
  }
  return {
    label: f.label,
    labelText: labelText(f.label),
    probability: Math.min(1, Math.max(0, probability)),
    location,
    areaMm2: key?.areaMm2 ?? null,
    areaPx: key?.areaPx ?? 0,
    volumeMm3,
    slicesWithTumor: withTumor.length,
    slices: f.slices,
    seriesId: f.seriesId,
    keyInstanceId: f.keyInstanceId,
    keyFrame: f.keyFrame,
    modelId: result.model.id,
    modelVersion: result.model.version,
    runtime: result.model.runtime,
    resultAt: result.finishedAt ?? result.startedAt ?? new Date(0).toISOString(),
  };
}
