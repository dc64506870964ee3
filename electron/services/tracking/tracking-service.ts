// Longitudinal tumor tracking over a patient's studies: per study with a stored AI result, the
// measured series' key-slice area and diameters, its volume where the slice geometry allows, the
// model that made it and the radiologist's measurements; then the change since the prior and the
// first study, with plain statements whenever the points are not comparable.
import {
  AI_NOTICE,
  NOT_RECOGNISED_LABEL,
  WorkstationError,
  decodeMaskRuns,
  formatAreaMm2,
  formatStudyDate,
  formatVolumeMm3,
  summariseFinding,
  type AiMask,
  type AiStudyResult,
  type Tracking,
  type TrackingChange,
  type TrackingPoint,
} from '../../contract';
import { whereText, type MeasurementsService } from '../measurements';
import type { Db } from '../store';
import { maskDiameters, slicePosition, stackVolume } from './geometry';

export interface TrackingServiceOptions {
  db: () => Db;
  ai: { studyResult(studyId: string): AiStudyResult; mask(instanceId: string, frame?: number): AiMask };
  measurements?: Pick<MeasurementsService, 'forStudy'> | null;
}

export interface TrackingService {
  patient(studyId: string): Tracking;
}

interface StudyRow {
  id: string;
  patient_id: string;
  study_date: string | null;
  imported_at: string;
  description: string | null;
}

interface ImageRow {
  id: string;
  instance_number: number | null;
  frames: number;
  image_position: string | null;
  image_orientation: string | null;
  pixel_spacing: string | null;
  series_number: number | null;
  series_description: string | null;
}

const json = <T>(s: string | null): T | null => {
  if (!s) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
};

/** Sequences compare by their description, ignoring case, spacing and punctuation. */
export const sequenceKey = (d: string | null): string => (d ?? '').toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();

const metricValue = (p: TrackingPoint, metric: TrackingChange['metric']): number | null =>
  metric === 'volume' ? p.volumeMm3 : metric === 'area' ? (p.keySlice?.areaMm2 ?? (p.status === 'no-tumor' ? 0 : null)) : (p.keySlice?.longestMm ?? (p.status === 'no-tumor' ? 0 : null));

const fmtMetric = (metric: TrackingChange['metric'], v: number): string => (metric === 'volume' ? formatVolumeMm3(v) : metric === 'area' ? formatAreaMm2(v) : `${v.toFixed(1)} mm`);

/** The change from `from` to `to` in the best metric both points have, or null. */
export function changeBetween(from: TrackingPoint, to: TrackingPoint): TrackingChange | null {
  for (const metric of ['volume', 'area', 'diameter'] as const) {
    const a = metricValue(from, metric);
    const b = metricValue(to, metric);
    if (a === null || b === null) continue;
    const percent = a === 0 ? null : ((b - a) / a) * 100;
    const name = { volume: 'Volume', area: 'Key-slice area', diameter: 'Largest diameter' }[metric];
    const pct = percent === null ? (b === 0 ? 'no tumor on either' : 'new since then') : `${percent >= 0 ? '+' : '−'}${Math.abs(percent).toFixed(0)}%`;
    return { metric, fromStudyId: from.studyId, fromDate: from.studyDate, from: a, to: b, percent, text: `${name} ${fmtMetric(metric, a)} → ${fmtMetric(metric, b)} (${pct}) since ${formatStudyDate(from.studyDate)}` };
  }
  return null;
}

/** The change since the prior and the first comparable study, and what a reader must know about them. */
export function compare(points: readonly TrackingPoint[]): Pick<Tracking, 'sincePrior' | 'sinceFirst' | 'statements'> {
  const statements: string[] = [];
  const idx = points.findIndex((p) => p.current);
  const comparable = (p: TrackingPoint): boolean => p.status === 'measured' || p.status === 'no-tumor';
  for (const p of points) {
    if (p.status === 'not-analysable') statements.push(`${formatStudyDate(p.studyDate)}: most slices could not be analysed by the AI; this study is left out of the change.`);
    else if (p.status === 'no-result') statements.push(`${formatStudyDate(p.studyDate)}: no AI result is stored for this study.`);
  }
  const cur = points[idx];
  const earlier = points.slice(0, Math.max(0, idx)).filter(comparable);
  const used = cur && comparable(cur) ? [...earlier, cur] : [];
  const sincePrior = used.length >= 2 ? changeBetween(earlier[earlier.length - 1]!, cur!) : null;
  const sinceFirst = used.length >= 3 ? changeBetween(earlier[0]!, cur!) : sincePrior;
  const models = new Map<string, string[]>();
  const sequences = new Map<string, { shown: string; dates: string[] }>();
  for (const p of used) {
    const model = `${p.modelId ?? '?'} ${p.modelVersion ?? '?'}`;
    models.set(model, [...(models.get(model) ?? []), formatStudyDate(p.studyDate)]);
    if (p.status === 'measured') {
      const key = sequenceKey(p.sequence);
      const s = sequences.get(key) ?? { shown: p.sequence ?? 'no description', dates: [] };
      s.dates.push(formatStudyDate(p.studyDate));
      sequences.set(key, s);
    }
  }
  if (models.size > 1) {
    const list = [...models].map(([m, dates]) => `${m} for ${dates.join(', ')}`).join('; ');
    statements.unshift(`The AI results come from different model versions (${list}): a change between them may come from the model, not the tumor.`);
  }
  if (sequences.size > 1) {
    const list = [...sequences.values()].map((s) => `"${s.shown}" on ${s.dates.join(', ')}`).join('; ');
    statements.unshift(`The measured series are different sequences (${list}): their figures are not directly comparable.`);
  }
  for (const c of [sincePrior, sinceFirst]) {
    if (c && c.metric !== 'volume' && !statements.some((s) => s.includes('volume is not available'))) {
      statements.push(`The change compares the ${c.metric === 'area' ? 'key-slice area' : 'largest diameter'}: a volume is not available for every study.`);
    }
  }
  return { sincePrior, sinceFirst, statements };
}

export function createTrackingService(options: TrackingServiceOptions): TrackingService {
  const { db, ai } = options;

  function pointOf(s: StudyRow, current: boolean): TrackingPoint {
    const radiologist = (() => {
      const list = options.measurements?.forStudy(s.id) ?? [];
      const lengths = list.filter((m) => m.kind === 'length' && m.unit === 'mm').map((m) => m.value);
      return { count: list.length, longestLengthMm: lengths.length ? Math.max(...lengths) : null, texts: list.map((m) => `${m.text} (${m.where})`) };
    })();
    const base: TrackingPoint = {
      studyId: s.id,
      studyDate: s.study_date,
      importedAt: s.imported_at,
      studyDescription: s.description,
      current,
      status: 'no-result',
      label: null,
      seriesId: null,
      sequence: null,
      modelId: null,
      modelVersion: null,
      keySlice: null,
      sliceAreasMm2: [],
      volumeMm3: null,
      sliceSpacingMm: null,
      volumeNote: null,
      radiologist,
    };
    const result = ai.studyResult(s.id);
    const f = result.finding;
    if (result.status !== 'done' || !f || !result.model) return base;
    const summary = summariseFinding(f);
    const images = new Map(
      (
        db()
          .prepare(
            `SELECT i.id, i.instance_number, i.frames, i.image_position, i.image_orientation, i.pixel_spacing, se.series_number, se.description AS series_description
             FROM instances i JOIN series se ON se.id = i.series_id WHERE i.series_id = ?`,
          )
          .all(f.seriesId) as ImageRow[]
      ).map((r) => [r.id, r]),
    );
    const anyImage = images.values().next().value as ImageRow | undefined;
    const point: TrackingPoint = {
      ...base,
      label: f.label,
      seriesId: f.seriesId,
      sequence: anyImage?.series_description ?? null,
      modelId: result.model.id,
      modelVersion: result.model.version,
    };
    if (summary.mostlyUnanalysed || summary.analysed === 0 || f.label === NOT_RECOGNISED_LABEL) return { ...point, status: 'not-analysable' };
    // The series' scored slices in order along the slice normal (instance number, frame otherwise).
    const slices = result.instances
      .filter((i) => i.seriesId === f.seriesId)
      .map((i) => {
        const img = images.get(i.instanceId);
        const multiFrame = (img?.frames ?? 1) > 1;
        return { r: i, img, position: multiFrame ? null : slicePosition(json<number[]>(img?.image_position ?? null), json<number[]>(img?.image_orientation ?? null)) };
      })
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || (a.img?.instance_number ?? 0) - (b.img?.instance_number ?? 0) || a.r.frame - b.r.frame);
    const tumor = f.label !== 'notumor';
    const vol = stackVolume(slices.map((x) => ({ areaMm2: tumor ? x.r.areaMm2 : 0, areaPx: tumor ? x.r.areaPx : 0, position: x.position })));
    point.sliceAreasMm2 = slices.map((x) => (tumor ? x.r.areaMm2 : 0));
    point.volumeMm3 = vol.volumeMm3;
    point.sliceSpacingMm = vol.spacingMm;
    point.volumeNote = vol.note;
    const key = slices.find((x) => x.r.instanceId === f.keyInstanceId && x.r.frame === (f.keyFrame ?? 0));
    if (key && key.img) {
      let longest: number | null = null;
      let perpendicular: number | null = null;
      const spacing = json<[number, number]>(key.img.pixel_spacing);
      if (tumor && key.r.hasMask && spacing) {
        const m = ai.mask(key.r.instanceId, key.r.frame);
        const d = maskDiameters(decodeMaskRuns(m.runs, m.width, m.height), m.width, m.height, spacing);
        longest = d.longest;
        perpendicular = d.perpendicular;
      } else if (!tumor) {
        longest = 0;
        perpendicular = 0;
      }
      point.keySlice = {
        instanceId: key.r.instanceId,
        frame: key.r.frame,
        where: whereText({ series_number: key.img.series_number, series_description: key.img.series_description, instance_number: key.img.instance_number, frame: key.r.frame, frames: key.img.frames }),
        areaMm2: tumor ? key.r.areaMm2 : 0,
        areaPx: tumor ? key.r.areaPx : 0,
        longestMm: longest,
        perpendicularMm: perpendicular,
      };
    }
    return { ...point, status: tumor ? 'measured' : 'no-tumor' };
  }

  return {
    patient(studyId) {
      const cur = db().prepare('SELECT patient_id FROM studies WHERE id = ?').get(studyId) as { patient_id: string } | undefined;
      if (!cur) throw new WorkstationError('NOT_FOUND', 'That study is not in this workstation (it may have been removed).');
      const studies = db()
        .prepare(`SELECT id, patient_id, study_date, imported_at, description FROM studies WHERE patient_id = ? ORDER BY coalesce(study_date, ''), coalesce(study_time, ''), imported_at, id`)
        .all(cur.patient_id) as StudyRow[];
      const points = studies.map((s) => pointOf(s, s.id === studyId));
      return { patientId: cur.patient_id, points, ...compare(points), notice: AI_NOTICE };
    },
  };
}
