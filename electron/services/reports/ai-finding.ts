// Turns the stored AI result of a study (ai-results service) into the finding a report is filled
// from, as a radiologist states it: class and calibrated probability, the side and front-back
// position from Image Orientation (Patient), the size in mm (largest diameter and perpendicular,
// from Pixel Spacing), the series and image of the key slice, the area and the volume.
import { NOT_RECOGNISED_LABEL, aiLabelText, decodeMaskRuns, sequenceWarning, type AiMask, type AiStudyResult, type ModelClaims, type ReportAiFinding, type SeriesSequenceGuess } from '../../contract';
import { whereText } from '../measurements';
import type { Db } from '../store';
import { maskDiameters, maskPosition, slicePosition, stackVolume } from '../tracking';

/** What reports need from the AI results service. */
export interface AiSource {
  studyResult(studyId: string): AiStudyResult;
  /** The mask of one frame of an instance (0 for single-frame images). */
  mask(instanceId: string, frame?: number): AiMask;
}

export const labelText = (label: string): string => aiLabelText(label);
export const isTumorLabel = (label: string): boolean => label !== 'notumor' && label !== NOT_RECOGNISED_LABEL && label !== 'other';

interface GeometryRow {
  id: string;
  image_orientation: string | null;
  image_position: string | null;
  pixel_spacing: string | null;
  instance_number: number | null;
  frames: number;
  series_number: number | null;
  series_description: string | null;
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
 * Where the mask lies, in words, from Image Orientation (Patient): "left hemisphere, posterior",
 * "midline, central"; null where the orientation (or a left-right axis in the slice) is missing.
 * Never a percentage of the image: that says nothing about the patient.
 */
export function describeLocation(mask: Uint8Array, width: number, height: number, orientation: number[] | null, spacing: [number, number] | null = null): string | null {
  const p = maskPosition(mask, width, height, orientation, spacing);
  if (!p.side) return null;
  const side = p.side === 'midline' ? 'midline' : `${p.side} hemisphere`;
  return p.frontBack ? `${side}, ${p.frontBack}` : side;
}

/** What a finding's evidence is read from: the model's card and the DICOM index's sequence guess. */
export interface FindingEvidenceSource {
  /** The card's claims of an installed model (null: not installed, or states nothing). */
  modelClaims?: ((modelId: string) => ModelClaims | null) | undefined;
  /** The sequence of a series of this study, as the DICOM index guesses it. */
  sequenceOf?: ((seriesId: string) => SeriesSequenceGuess | null) | undefined;
}

/** The card's figure for a new site and its validated sequences, with the series' sequence against them. */
export function findingEvidence(modelId: string, seriesId: string, src: FindingEvidenceSource): ReportAiFinding['evidence'] {
  const claims = src.modelClaims?.(modelId) ?? null;
  const sequence = src.sequenceOf?.(seriesId) ?? null;
  const validated = claims?.validatedSequences ?? [];
  if (!claims?.headline && validated.length === 0) return null;
  const h = claims?.headline;
  return {
    headline: h ? { figure: h.figure, accuracy: h.accuracy, n: h.n } : null,
    validatedSequences: [...validated],
    sequence: sequence ? { code: sequence.code, name: sequence.name, basis: sequence.basis } : null,
    warning: sequenceWarning(sequence, validated),
  };
}

/** The finding to fill a report from, or null when the study has no finished AI result. */
export function aiFindingFor(ai: AiSource | null, db: Db, studyId: string, evidence: FindingEvidenceSource = {}): ReportAiFinding | null {
  if (!ai) return null;
  const result = ai.studyResult(studyId);
  if (result.status !== 'done' || !result.finding || !result.model) return null;
  const f = result.finding;
  const inSeries = result.instances.filter((i) => i.seriesId === f.seriesId);
  const key = inSeries.find((i) => i.instanceId === f.keyInstanceId && i.frame === (f.keyFrame ?? 0)) ?? null;
  const probability = key ? (key.probabilities[f.label] ?? key.confidence) : f.confidence;
  const geometry = db
    .prepare(
      `SELECT i.id, i.image_orientation, i.image_position, i.pixel_spacing, i.instance_number, i.frames, se.series_number, se.description AS series_description
       FROM instances i JOIN series se ON se.id = i.series_id WHERE i.series_id = ?`,
    )
    .all(f.seriesId) as GeometryRow[];
  const geo = new Map(geometry.map((g) => [g.id, g]));
  const keyGeo = key ? geo.get(key.instanceId) : undefined;
  const spacing = (parse(keyGeo?.pixel_spacing ?? null) as [number, number] | null) ?? null;

  let location: string | null = null;
  let sizeMm: { longest: number; perpendicular: number } | null = null;
  if (key?.hasMask && isTumorLabel(f.label)) {
    const m = ai.mask(key.instanceId, key.frame);
    const mask = decodeMaskRuns(m.runs, m.width, m.height);
    location = describeLocation(mask, m.width, m.height, parse(keyGeo?.image_orientation ?? null), spacing);
    if (spacing) {
      const d = maskDiameters(mask, m.width, m.height, spacing);
      sizeMm = { longest: d.longest, perpendicular: d.perpendicular };
    }
  }

  // Volume: the masked area of each slice times the spacing between slice positions along the
  // slice normal, where the geometry allows it (the frames of a multi-frame image have no indexed
  // positions, so they give no volume).
  const withTumor = inSeries.filter((i) => i.areaPx > 0);
  const vol = withTumor.length
    ? stackVolume(
        inSeries.map((i) => {
          const g = geo.get(i.instanceId);
          return { areaMm2: i.areaMm2, areaPx: i.areaPx, position: (g?.frames ?? 1) > 1 ? null : slicePosition(parse(g?.image_position ?? null), parse(g?.image_orientation ?? null)) };
        }),
      )
    : { volumeMm3: null };
  const where = key && keyGeo ? whereText({ series_number: keyGeo.series_number, series_description: keyGeo.series_description, instance_number: keyGeo.instance_number, frame: key.frame, frames: keyGeo.frames }) : null;
  return {
    label: f.label,
    labelText: labelText(f.label),
    probability: Math.min(1, Math.max(0, probability)),
    location,
    areaMm2: key?.areaMm2 ?? null,
    areaPx: key?.areaPx ?? 0,
    volumeMm3: isTumorLabel(f.label) ? vol.volumeMm3 : null,
    slicesWithTumor: withTumor.length,
    slices: f.slices,
    seriesId: f.seriesId,
    keyInstanceId: f.keyInstanceId,
    keyFrame: f.keyFrame,
    modelId: result.model.id,
    modelVersion: result.model.version,
    runtime: result.model.runtime,
    resultAt: result.finishedAt ?? result.startedAt ?? new Date(0).toISOString(),
    sizeMm,
    where,
    notRecognised: (f.counts[NOT_RECOGNISED_LABEL] ?? 0) + (f.counts.other ?? 0),
    evidence: findingEvidence(result.model.id, f.seriesId, evidence),
  };
}
