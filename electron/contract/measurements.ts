// Radiologist measurements that last: length, ellipse and freehand area, angle and probe, kept per
// image (an instance's frame) with the points in image pixel coordinates; the figures are computed
// by the main process from those points and the file's pixel spacing, so every screen, the report
// and the SR show the same number.
import { z } from 'zod';
import { channel } from './channel';

const id = z.string().min(1).max(64);

export const MEASUREMENT_KINDS = ['length', 'ellipse', 'freehand', 'angle', 'probe'] as const;
export const measurementKindSchema = z.enum(MEASUREMENT_KINDS);
export type MeasurementKind = z.infer<typeof measurementKindSchema>;

export const MEASUREMENT_KIND_LABELS: Record<MeasurementKind, string> = {
  length: 'Length',
  ellipse: 'Ellipse area',
  freehand: 'Freehand area',
  angle: 'Angle',
  probe: 'Probe',
};

/** Points each kind takes: [fewest, most]. An ellipse is given by two corners of its bounding box. */
export const MEASUREMENT_POINTS: Record<MeasurementKind, readonly [number, number]> = {
  length: [2, 2],
  ellipse: [2, 2],
  freehand: [3, 1000],
  angle: [3, 3],
  probe: [1, 1],
};

export const MAX_MEASUREMENT_LABEL = 120;

/** [x, y]: column and row in the image's pixel grid, 0..columns and 0..rows (continuous). */
const pointSchema = z.tuple([z.number().finite(), z.number().finite()]);

export const measurementStatsSchema = z.object({
  /** Pixel values (modality values: rescale applied) inside an area, or at a probe. */
  mean: z.number(),
  sd: z.number(),
  min: z.number(),
  max: z.number(),
  pixels: z.number().int(),
});
export type MeasurementStats = z.infer<typeof measurementStatsSchema>;

export const measurementSchema = z.object({
  id: z.string(),
  studyId: z.string(),
  seriesId: z.string(),
  instanceId: z.string(),
  frame: z.number().int().min(0),
  kind: measurementKindSchema,
  points: z.array(pointSchema),
  label: z.string(),
  /** Length or area in mm / mm² where the file gives pixel spacing (else px / px²), degrees, or the probe's pixel value. */
  value: z.number(),
  unit: z.enum(['mm', 'px', 'mm²', 'px²', '°', '']),
  /** For areas: the ellipse's axes or the freehand outline's longest chord, in the same length unit. */
  axes: z.object({ major: z.number(), minor: z.number() }).nullable(),
  stats: measurementStatsSchema.nullable(),
  /** The figure as a radiologist reads it: "Length 23.4 mm", "Ellipse area 412 mm² (mean 310, SD 41)". */
  text: z.string(),
  /** Where it is: "series 3 (T1 axial), image 12". */
  where: z.string(),
  createdByName: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** True when the caller made it (only its author may change or delete it). */
  mine: z.boolean(),
});
export type Measurement = z.infer<typeof measurementSchema>;

const measurementInput = z
  .object({
    /** Absent: a new measurement. Present: change the points or label of one's own. */
    id: id.optional(),
    instanceId: id,
    frame: z.number().int().min(0).default(0),
    kind: measurementKindSchema,
    points: z.array(pointSchema).min(1).max(1000),
    label: z.string().max(MAX_MEASUREMENT_LABEL).default(''),
  })
  .strict()
  .superRefine((m, ctx) => {
    const [lo, hi] = MEASUREMENT_POINTS[m.kind];
    if (m.points.length < lo || m.points.length > hi) {
      ctx.addIssue({ code: 'custom', path: ['points'], message: `a ${m.kind} measurement takes ${lo === hi ? lo : `${lo} to ${hi}`} points` });
    }
  });

export const measurementsChannels = {
  'measurements.list': channel({
    summary: "A study's measurements, every author's, oldest first",
    request: z.object({ studyId: id }).strict(),
    response: z.object({ measurements: z.array(measurementSchema) }),
  }),
  'measurements.save': channel({
    summary: 'Store a new measurement on an image, or change one of your own',
    request: measurementInput,
    response: measurementSchema,
  }),
  'measurements.delete': channel({
    summary: 'Delete one of your own measurements',
    request: z.object({ id }).strict(),
    response: z.object({ deleted: z.boolean() }),
  }),
};
