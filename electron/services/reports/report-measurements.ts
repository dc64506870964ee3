// Radiologist measurements in the report: the input type the measurements store feeds in (a
// subset of the contract's Measurement), the snapshot a signature keeps, and their image
// references resolved from the DICOM index for the SR's measurement groups.
import type { Measurement } from '../../contract';
import { uidFor } from '../dicom-objects';
import type { Db } from '../store';
import type { SrMeasurement } from './dicom/sr';

/** What the report, its PDF and its SR need of one measurement: `measurements.forStudy(studyId)` fits as is. */
export type ReportMeasurement = Pick<Measurement, 'id' | 'instanceId' | 'frame' | 'kind' | 'points' | 'label' | 'value' | 'unit' | 'stats' | 'text'> & Partial<Pick<Measurement, 'where'>>;

/** The report's view of the study's measurements (the measurements service). */
export interface ReportMeasurementSource {
  forStudy(studyId: string): ReportMeasurement[];
}
/** The same, under the name interop-api.md first gave it. */
export type MeasurementSource = ReportMeasurementSource;

/** The fields a signature keeps (and its hash covers), in a stable order. */
export function measurementSnapshot(list: readonly ReportMeasurement[]): ReportMeasurement[] {
  return list.map((m) => ({
    id: m.id,
    instanceId: m.instanceId,
    frame: m.frame,
    kind: m.kind,
    points: m.points.map(([x, y]) => [x, y] as [number, number]),
    label: m.label,
    value: m.value,
    unit: m.unit,
    stats: m.stats ? { mean: m.stats.mean, sd: m.stats.sd, min: m.stats.min, max: m.stats.max, pixels: m.stats.pixels } : null,
    text: m.text,
  }));
}

/** The SR form of measurements whose image is still in the index (others are left out, and counted). */
export function srMeasurements(db: Db, list: readonly ReportMeasurement[]): { measurements: SrMeasurement[]; missing: number } {
  const lookup = db.prepare('SELECT se.series_instance_uid, i.sop_class_uid, i.sop_instance_uid, i.frames FROM instances i JOIN series se ON se.id = i.series_id WHERE i.id = ?');
  const out: SrMeasurement[] = [];
  let missing = 0;
  for (const m of list) {
    const r = lookup.get(m.instanceId) as { series_instance_uid: string; sop_class_uid: string | null; sop_instance_uid: string; frames: number } | undefined;
    if (!r?.sop_class_uid) {
      missing++;
      continue;
    }
    out.push({
      trackingUid: uidFor(`measurement:${m.id}`),
      label: m.label,
      kind: m.kind,
      points: m.points,
      value: m.value,
      unit: m.unit,
      stats: m.stats,
      image: { seriesInstanceUid: r.series_instance_uid, sopClassUid: r.sop_class_uid, sopInstanceUid: r.sop_instance_uid, ...(r.frames > 1 ? { referencedFrameNumber: m.frame + 1 } : {}) },
    });
  }
  return { measurements: out, missing };
}
