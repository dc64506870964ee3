// Longitudinal tumor tracking: for every study of a patient with a stored AI mask, the tumor area
// on the key slice, its largest diameter with the perpendicular, and the volume where the slice
// geometry allows (sum of mask area x slice spacing), with the model that made it; the change
// since the prior and since the first study; plain statements when the points are not comparable
// (another model version, another sequence); and the radiologist's own measurements beside them.
import { z } from 'zod';
import { channel } from './channel';
import { AI_NOTICE } from './ai';

const id = z.string().min(1).max(64);

export const trackingPointSchema = z.object({
  studyId: z.string(),
  studyDate: z.string().nullable(),
  importedAt: z.string(),
  studyDescription: z.string().nullable(),
  /** The study the caller asked about. */
  current: z.boolean(),
  /** measured: a tumor mask was found; no-tumor: analysed, nothing marked; not-analysable: most slices not recognised; no-result: the AI has not run (or failed). */
  status: z.enum(['measured', 'no-tumor', 'not-analysable', 'no-result']),
  /** The AI finding's label (words: use aiLabelText). */
  label: z.string().nullable(),
  seriesId: z.string().nullable(),
  /** Series Description of the measured series: the sequence compared between points. */
  sequence: z.string().nullable(),
  modelId: z.string().nullable(),
  modelVersion: z.string().nullable(),
  /** The key slice (the finding's), where it is, and the mask on it. */
  keySlice: z
    .object({
      instanceId: z.string(),
      frame: z.number().int(),
      where: z.string(),
      areaMm2: z.number().nullable(),
      areaPx: z.number().int(),
      /** Largest in-plane diameter of the mask and the largest extent perpendicular to it, mm. */
      longestMm: z.number().nullable(),
      perpendicularMm: z.number().nullable(),
    })
    .nullable(),
  /** Tumor area per scored slice of the series (in slice order), mm² (null without pixel spacing). */
  sliceAreasMm2: z.array(z.number().nullable()),
  /** Sum of mask area x slice spacing, mm³; null where the geometry does not allow it (volumeNote says why). */
  volumeMm3: z.number().nullable(),
  sliceSpacingMm: z.number().nullable(),
  volumeNote: z.string().nullable(),
  /** The radiologist's measurements on this study, as they read ("Length 23.4 mm"). */
  radiologist: z.object({ count: z.number().int(), longestLengthMm: z.number().nullable(), texts: z.array(z.string()) }),
});
export type TrackingPoint = z.infer<typeof trackingPointSchema>;

export const trackingChangeSchema = z.object({
  /** What is compared: the volume when both points have one, else the key-slice area, else the largest diameter. */
  metric: z.enum(['volume', 'area', 'diameter']),
  fromStudyId: z.string(),
  fromDate: z.string().nullable(),
  from: z.number(),
  to: z.number(),
  /** (to - from) / from x 100; null when from is 0 (a new lesion). */
  percent: z.number().nullable(),
  /** "Volume 4.21 cm³ → 3.10 cm³ (-26%) since 2024-01-10". */
  text: z.string(),
});
export type TrackingChange = z.infer<typeof trackingChangeSchema>;

export const trackingSchema = z.object({
  patientId: z.string(),
  /** Oldest first. */
  points: z.array(trackingPointSchema),
  sincePrior: trackingChangeSchema.nullable(),
  sinceFirst: trackingChangeSchema.nullable(),
  /** Plain statements a reader must see with the figures (model versions or sequences differ, ...). */
  statements: z.array(z.string()),
  notice: z.literal(AI_NOTICE),
});
export type Tracking = z.infer<typeof trackingSchema>;

export const trackingChannels = {
  'tracking.patient': channel({
    summary: "Longitudinal tumor tracking over the patient's studies: AI area, diameter and volume per study, the change, and the radiologist's measurements",
    request: z.object({ studyId: id }).strict(),
    response: trackingSchema,
  }),
};

/** 1234 mm³ -> "1.23 cm³", 456 -> "456 mm³". */
export function formatVolumeMm3(mm3: number): string {
  return mm3 >= 1000 ? `${(mm3 / 1000).toFixed(2)} cm³` : `${Math.round(mm3)} mm³`;
}

/** 412.3 -> "412 mm²", 12.34 -> "12.3 mm²". */
export function formatAreaMm2(mm2: number): string {
  return `${mm2 >= 100 ? Math.round(mm2) : mm2.toFixed(1)} mm²`;
}

/** "20240110" -> "2024-01-10"; other text as it is; null -> "date unknown". */
export function formatStudyDate(d: string | null): string {
  if (!d) return 'date unknown';
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}
