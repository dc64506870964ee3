// Stored radiologist measurements: creates, changes (the author only) and deletes them, with the
// figure computed here from the points, the image's pixel spacing and its decoded pixels, and an
// audit row for each change. Reports and the SR read the same rows (forStudy).
import crypto from 'node:crypto';
import { MEASUREMENT_POINTS, WorkstationError, type Frame, type Measurement, type MeasurementKind, type MeasurementStats } from '../../contract';
import type { AuditEntry } from '../audit';
import type { Db } from '../store';
import { figureOf, measurementText, statsOf, type Figure, type Point } from './geometry';

export interface MeasurementActor {
  userId: string;
  username: string;
}

export interface MeasurementInput {
  id?: string | undefined;
  instanceId: string;
  frame: number;
  kind: MeasurementKind;
  points: [number, number][];
  label: string;
}

export interface MeasurementsServiceOptions {
  db: () => Db;
  /** Decoded pixels (modality values) of one frame, for area statistics and probes. */
  frame(instanceId: string, frame: number): Promise<Frame>;
  audit?: { append(entry: AuditEntry): unknown } | undefined;
}

export interface MeasurementsService {
  list(studyId: string, actor: MeasurementActor): Measurement[];
  save(input: MeasurementInput, actor: MeasurementActor): Promise<Measurement>;
  remove(id: string, actor: MeasurementActor): { deleted: boolean };
  /** Every measurement of a study, for the report and the SR (mine is false). */
  forStudy(studyId: string): Measurement[];
}

interface Row {
  id: string;
  study_id: string;
  series_id: string;
  instance_id: string;
  frame: number;
  kind: MeasurementKind;
  points: string;
  label: string;
  value: number;
  unit: Measurement['unit'];
  axes: string | null;
  stats: string | null;
  created_by: string;
  created_by_name: string;
  created_at: string;
  updated_at: string;
  series_number: number | null;
  series_description: string | null;
  instance_number: number | null;
  frames: number;
}

interface ImageRow {
  id: string;
  series_id: string;
  study_id: string;
  rows: number;
  columns: number;
  frames: number;
  pixel_spacing: string | null;
}

const SELECT = `SELECT m.*, se.series_number, se.description AS series_description, i.instance_number, i.frames
  FROM measurements m JOIN instances i ON i.id = m.instance_id JOIN series se ON se.id = m.series_id`;

/** "series 3 (T1 axial), image 12" (and the frame of a multi-frame image). */
export function whereText(r: { series_number: number | null; series_description: string | null; instance_number: number | null; frame: number; frames: number }): string {
  const series = `series ${r.series_number ?? '?'}${r.series_description ? ` (${r.series_description})` : ''}`;
  const image = `image ${r.instance_number ?? '?'}${r.frames > 1 ? `, frame ${r.frame + 1}` : ''}`;
  return `${series}, ${image}`;
}

function toMeasurement(r: Row, viewerId: string | null): Measurement {
  const axes = r.axes ? (JSON.parse(r.axes) as { major: number; minor: number }) : null;
  const stats = r.stats ? (JSON.parse(r.stats) as MeasurementStats) : null;
  return {
    id: r.id,
    studyId: r.study_id,
    seriesId: r.series_id,
    instanceId: r.instance_id,
    frame: r.frame,
    kind: r.kind,
    points: JSON.parse(r.points) as [number, number][],
    label: r.label,
    value: r.value,
    unit: r.unit,
    axes,
    stats,
    text: measurementText(r.kind, r.label, { value: r.value, unit: r.unit, axes }, stats),
    where: whereText(r),
    createdByName: r.created_by_name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    mine: viewerId !== null && r.created_by === viewerId,
  };
}

export function createMeasurementsService(options: MeasurementsServiceOptions): MeasurementsService {
  const { db } = options;
  const now = (): string => new Date().toISOString();

  const image = (instanceId: string): ImageRow => {
    const r = db()
      .prepare('SELECT i.id, i.series_id, se.study_id, i.rows, i.columns, i.frames, i.pixel_spacing FROM instances i JOIN series se ON se.id = i.series_id WHERE i.id = ?')
      .get(instanceId) as ImageRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', 'That image is not in this workstation.');
    return r;
  };
  const row = (id: string): Row => {
    const r = db().prepare(`${SELECT} WHERE m.id = ?`).get(id) as Row | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', 'That measurement does not exist (it may have been deleted).');
    return r;
  };
  const ownedBy = (r: Row, actor: MeasurementActor): void => {
    if (r.created_by !== actor.userId) throw new WorkstationError('FORBIDDEN', `Only ${r.created_by_name}, who made this measurement, may change or delete it.`);
  };
  const audit = (actor: MeasurementActor, action: string, id: string, detail: AuditEntry['detail']): void => {
    options.audit?.append({ actorId: actor.userId, actor: actor.username, action, objectType: 'measurement', objectId: id, outcome: 'success', detail });
  };

  async function compute(input: MeasurementInput, img: ImageRow): Promise<{ figure: Figure; stats: MeasurementStats | null }> {
    const [lo, hi] = MEASUREMENT_POINTS[input.kind];
    if (input.points.length < lo || input.points.length > hi) throw new WorkstationError('INVALID_INPUT', `A ${input.kind} measurement takes ${lo === hi ? lo : `${lo} to ${hi}`} points.`);
    if (input.frame >= Math.max(1, img.frames)) throw new WorkstationError('NOT_FOUND', `This image has ${img.frames} frame(s); frame ${input.frame + 1} does not exist.`);
    for (const [x, y] of input.points) {
      if (x < 0 || y < 0 || x > img.columns || y > img.rows) {
        throw new WorkstationError('INVALID_INPUT', `A measurement point lies outside the image (${img.columns} x ${img.rows} pixels).`);
      }
    }
    const spacing = img.pixel_spacing ? (JSON.parse(img.pixel_spacing) as [number, number]) : null;
    const points = input.points as Point[];
    const figure = figureOf(input.kind, points, spacing);
    if (input.kind === 'length' && figure.value === 0) throw new WorkstationError('INVALID_INPUT', 'A length needs two different points.');
    let stats: MeasurementStats | null = null;
    if (input.kind === 'probe' || input.kind === 'ellipse' || input.kind === 'freehand') {
      const f = await options.frame(input.instanceId, input.frame);
      // Colour images have no single value per pixel: no statistics for them.
      if (f.samplesPerPixel === 1) {
        const bytes = Buffer.from(f.data, 'base64');
        const ab = new ArrayBuffer(bytes.length);
        new Uint8Array(ab).set(bytes);
        const pixels = f.dataType === 'uint8' ? new Uint8Array(ab) : f.dataType === 'int16' ? new Int16Array(ab) : f.dataType === 'uint16' ? new Uint16Array(ab) : f.dataType === 'int32' ? new Int32Array(ab) : new Float32Array(ab);
        stats = statsOf(input.kind, points, pixels, f.columns, f.rows);
      }
      if (input.kind === 'probe') {
        if (!stats) throw new WorkstationError('INVALID_INPUT', 'A probe reads one grey value; this is a colour image.');
        figure.value = stats.mean;
      }
    }
    return { figure, stats };
  }

  return {
    list(studyId, actor) {
      const exists = db().prepare('SELECT 1 FROM studies WHERE id = ?').get(studyId);
      if (!exists) throw new WorkstationError('NOT_FOUND', 'That study is not in this workstation.');
      const rows = db().prepare(`${SELECT} WHERE m.study_id = ? ORDER BY m.created_at, m.id`).all(studyId) as Row[];
      return rows.map((r) => toMeasurement(r, actor.userId));
    },
    forStudy(studyId) {
      const rows = db().prepare(`${SELECT} WHERE m.study_id = ? ORDER BY se.series_number, i.instance_number, m.frame, m.created_at`).all(studyId) as Row[];
      return rows.map((r) => toMeasurement(r, null));
    },
    async save(input, actor) {
      const previous = input.id ? row(input.id) : null;
      if (previous) {
        ownedBy(previous, actor);
        if (previous.instance_id !== input.instanceId || previous.frame !== input.frame || previous.kind !== input.kind) {
          throw new WorkstationError('INVALID_INPUT', 'A measurement stays on its image and keeps its kind; draw a new one instead.');
        }
      }
      const img = image(input.instanceId);
      const { figure, stats } = await compute(input, img);
      const t = now();
      const points = JSON.stringify(input.points);
      const axes = figure.axes ? JSON.stringify(figure.axes) : null;
      const statsJson = stats ? JSON.stringify(stats) : null;
      if (previous) {
        // Ownership is checked again in the statement: a concurrent change by someone else cannot slip in.
        const r = db()
          .prepare('UPDATE measurements SET points = ?, label = ?, value = ?, unit = ?, axes = ?, stats = ?, updated_at = ? WHERE id = ? AND created_by = ?')
          .run(points, input.label, figure.value, figure.unit, axes, statsJson, t, previous.id, actor.userId);
        if (r.changes !== 1) throw new WorkstationError('NOT_FOUND', 'That measurement does not exist (it may have been deleted).');
        audit(actor, 'measurement.update', previous.id, { kind: input.kind });
        return toMeasurement(row(previous.id), actor.userId);
      }
      const user = db().prepare('SELECT display_name FROM users WHERE id = ?').get(actor.userId) as { display_name: string } | undefined;
      const id = crypto.randomUUID();
      db()
        .prepare(
          `INSERT INTO measurements (id, study_id, series_id, instance_id, frame, kind, points, label, value, unit, axes, stats, created_by, created_by_name, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, img.study_id, img.series_id, img.id, input.frame, input.kind, points, input.label, figure.value, figure.unit, axes, statsJson, actor.userId, user?.display_name ?? actor.username, t, t);
      audit(actor, 'measurement.create', id, { kind: input.kind });
      return toMeasurement(row(id), actor.userId);
    },
    remove(id, actor) {
      const r = row(id);
      ownedBy(r, actor);
      const res = db().prepare('DELETE FROM measurements WHERE id = ? AND created_by = ?').run(id, actor.userId);
      if (res.changes === 1) audit(actor, 'measurement.delete', id, { kind: r.kind });
      return { deleted: res.changes === 1 };
    },
  };
}
