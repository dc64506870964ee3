// The DICOM index in the encrypted database: patients, studies, series and instances, written in
// one transaction per batch of files (the counts on the series and study rows recomputed once per
// batch), and the worklist queries. Rows hold metadata; pixels stay in blobs.
import crypto from 'node:crypto';
import { MAX_PATIENT_MATCHES, WorkstationError, type InstanceSummary, type PatientMatch, type SeriesSummary, type StudyDetail, type StudySummary } from '../../contract';
import type { PackedBlob, PackLocation } from '../blobs';
import type { Db } from '../store';
import { guessMrSequence, SEQUENCE_NAMES, type MrAcquisition } from './mr-sequence';
import type { DicomMeta } from './parse';

export type IndexOutcome = { status: 'imported' | 'duplicate' | 'conflict'; studyId: string; instanceId: string; conflictOf: string | null };

/** DICOM person names are Family^Given^Middle^Prefix^Suffix; show "Family, Given Middle". */
export function displayName(pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('=')[0]!.split('^').map((s) => s.trim());
  const rest = [given, middle].filter(Boolean).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest || '(no name)';
}

function patientKey(m: DicomMeta): string {
  if (m.patient.id) return `id:${m.patient.issuer}|${m.patient.id}`;
  return `name:${m.patient.name}|${m.patient.birthDate}`;
}

const nn = (s: string): string | null => (s === '' ? null : s);

/** The MR acquisition fields as stored (JSON), or null when the file carries none of them. */
function acquisitionJson(a: MrAcquisition): string | null {
  const kept = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== null && v !== ''));
  return Object.keys(kept).length ? JSON.stringify(kept) : null;
}

/** The series' MR sequence as far as its header tells (series imported before migration 0014 have only the description). */
function seriesSequence(modality: string | null, description: string | null, acquisition: string | null): SeriesSummary['sequence'] {
  let acq: MrAcquisition = {};
  try {
    acq = acquisition ? (JSON.parse(acquisition) as MrAcquisition) : {};
  } catch {
    acq = {};
  }
  const g = guessMrSequence({ ...acq, modality, seriesDescription: description });
  return { code: g.sequence, name: SEQUENCE_NAMES[g.sequence], basis: g.basis };
}

export interface ListQuery {
  search?: string | undefined;
  modality?: string | undefined;
  dateFrom?: string | undefined;
  dateTo?: string | undefined;
  sort: 'studyDate' | 'patientName' | 'importedAt' | 'modality' | 'instanceCount';
  direction: 'asc' | 'desc';
  limit: number;
  offset: number;
}

interface StudyRow {
  id: string; study_instance_uid: string; patient_id: string; display_name: string; dicom_patient_id: string | null;
  birth_date: string | null; sex: string | null; study_date: string | null; study_time: string | null; accession_number: string | null;
  description: string | null; modalities: string; series_count: number; instance_count: number; conflict_count: number; derived: number; imported_at: string;
}

const toStudy = (r: StudyRow): StudySummary => ({
  studyId: r.id,
  studyInstanceUid: r.study_instance_uid,
  patientId: r.patient_id,
  patientName: r.display_name,
  patientDicomId: r.dicom_patient_id,
  patientBirthDate: r.birth_date,
  patientSex: r.sex,
  studyDate: r.study_date,
  studyTime: r.study_time,
  accessionNumber: r.accession_number,
  description: r.description,
  modalities: r.modalities ? r.modalities.split('\\') : [],
  seriesCount: r.series_count,
  instanceCount: r.instance_count,
  conflictCount: r.conflict_count,
  derived: r.derived === 1,
  importedAt: r.imported_at,
});

const STUDY_SELECT = `SELECT s.id, s.study_instance_uid, s.patient_id, p.display_name, p.dicom_patient_id, p.birth_date, p.sex, s.study_date, s.study_time,
  s.accession_number, s.description, s.modalities, s.series_count, s.instance_count, s.conflict_count, s.derived, s.imported_at
  FROM studies s JOIN patients p ON p.id = s.patient_id`;

const SORT_SQL: Record<ListQuery['sort'], string> = {
  studyDate: "coalesce(s.study_date, '') %d, coalesce(s.study_time, '') %d",
  patientName: 'p.display_name COLLATE NOCASE %d',
  importedAt: 's.imported_at %d',
  modality: 's.modalities %d',
  instanceCount: 's.instance_count %d',
};

export interface InstanceRecord {
  id: string;
  contentSha256: string;
  frames: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number | null;
  windowWidth: number | null;
  pixelSpacing: [number, number] | null;
  studyId: string;
}

/** One file for addMany: `patientId` as for add(); `pack`: where its blob was appended (packs.ts), absent for a blob file of its own. */
export interface IndexFile { meta: DicomMeta; sha256: string; size: number; patientId?: string | undefined; pack?: PackLocation | undefined }

export interface DicomIndex {
  /**
   * Records one validated file whose blob is already written. `patientId` files it under that
   * record whatever the file's patient module says (a patient upload); otherwise the file's
   * Patient ID (or name and birth date) finds or makes the record.
   */
  add(meta: DicomMeta, sha256: string, size: number, actor: string, patientId?: string): IndexOutcome;
  /**
   * Records validated files whose blobs are durable, in one transaction; one outcome per file, in
   * order. A file that cannot be recorded (a filed upload whose record or study does not match)
   * throws and nothing of the batch is written.
   */
  addMany(files: IndexFile[], actor: string): IndexOutcome[];
  /** One patient record as the index knows it, or null. */
  patient(patientId: string): { id: string; displayName: string; dicomPatientId: string | null; birthDate: string | null; sex: string | null } | null;
  findBySha(sha256: string): { instanceId: string; studyId: string } | null;
  /** Whether a blob with this content is stored (cheaper than packedBlob()). */
  hasBlob(sha256: string): boolean;
  /** Where the stored blob with this content is, when it is in a pack; null when it is a file of its own, or not stored. */
  packedBlob(sha256: string): PackedBlob | null;
  countStudies(): number;
  list(q: ListQuery): { rows: StudySummary[]; total: number };
  get(studyId: string): StudyDetail;
  instance(instanceId: string): InstanceRecord;
  /** The other studies of the study's patient, newest first. */
  priors(studyId: string): StudySummary[];
  /** Patient records whose hospital Patient ID equals `query` or whose name holds every word of it. */
  searchPatients(query: string): Omit<PatientMatch, 'linkedUsername'>[];
}

/** `s` for a LIKE pattern (with ESCAPE '\\'): LIKE's own wildcards taken literally. */
const likeLiteral = (s: string): string => s.replace(/[\\%_]/g, (c) => '\\' + c);

function prepareWrites(conn: Db) {
  return {
    findBySha: conn.prepare('SELECT i.id AS instanceId, se.study_id AS studyId FROM instances i JOIN series se ON se.id = i.series_id WHERE i.content_sha256 = ?'),
    patientByKey: conn.prepare('SELECT id FROM patients WHERE dicom_key = ?'),
    patientById: conn.prepare('SELECT id FROM patients WHERE id = ?'),
    insertPatient: conn.prepare('INSERT INTO patients (id, display_name, created_at, dicom_key, dicom_patient_id, birth_date, sex, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    studyByUid: conn.prepare('SELECT id, patient_id FROM studies WHERE study_instance_uid = ?'),
    insertStudy: conn.prepare(`INSERT INTO studies (id, patient_id, study_instance_uid, study_date, study_time, accession_number, description, referring_physician, derived, imported_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    seriesByUid: conn.prepare('SELECT id, study_id FROM series WHERE series_instance_uid = ?'),
    insertSeries: conn.prepare('INSERT INTO series (id, study_id, series_instance_uid, modality, series_number, description, body_part, frame_of_reference_uid, acquisition, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    seriesFrameOfReference: conn.prepare('UPDATE series SET frame_of_reference_uid = ? WHERE id = ? AND frame_of_reference_uid IS NULL'),
    seriesAcquisition: conn.prepare('UPDATE series SET acquisition = ? WHERE id = ? AND acquisition IS NULL'),
    recordOfSop: conn.prepare('SELECT id FROM instances WHERE sop_instance_uid = ? AND conflict_of IS NULL'),
    packedBlob: conn.prepare('SELECT size, pack, pack_offset FROM blobs WHERE hash = ? AND pack IS NOT NULL AND pack_offset IS NOT NULL'),
    blobExists: conn.prepare('SELECT 1 FROM blobs WHERE hash = ?').pluck(),
    insertBlob: conn.prepare('INSERT OR IGNORE INTO blobs (hash, size, created_at, pack, pack_offset) VALUES (?, ?, ?, ?, ?)'),
    insertInstance: conn.prepare(`INSERT INTO instances (id, series_id, sop_instance_uid, sop_class_uid, instance_number, transfer_syntax, rows, columns, frames, samples_per_pixel,
        bits_allocated, bits_stored, pixel_representation, photometric, pixel_spacing, image_position, image_orientation, slice_location, window_center, window_width,
        rescale_slope, rescale_intercept, content_sha256, size_bytes, conflict_of, imported_at, imported_by, slice_thickness)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    seriesCount: conn.prepare('UPDATE series SET instance_count = (SELECT count(*) FROM instances WHERE series_id = ?) WHERE id = ?'),
    studyCounts: conn.prepare(`UPDATE studies SET
        series_count = (SELECT count(*) FROM series WHERE study_id = @s),
        instance_count = (SELECT count(*) FROM instances i JOIN series se ON se.id = i.series_id WHERE se.study_id = @s),
        conflict_count = (SELECT count(*) FROM instances i JOIN series se ON se.id = i.series_id WHERE se.study_id = @s AND i.conflict_of IS NOT NULL),
        modalities = coalesce((SELECT group_concat(m, '\\') FROM (SELECT DISTINCT modality AS m FROM series WHERE study_id = @s AND modality IS NOT NULL ORDER BY modality)), ''),
        updated_at = @now
      WHERE id = @s`),
  };
}

export function createDicomIndex(db: () => Db): DicomIndex {
  const findBySha = (sha256: string): { instanceId: string; studyId: string } | null => {
    const r = db().prepare('SELECT i.id AS instanceId, se.study_id AS studyId FROM instances i JOIN series se ON se.id = i.series_id WHERE i.content_sha256 = ?').get(sha256) as
      | { instanceId: string; studyId: string }
      | undefined;
    return r ?? null;
  };

  // Prepared once per connection (the store may reopen after an unlock or a restore).
  const statements = new WeakMap<Db, ReturnType<typeof prepareWrites>>();
  const writes = (conn: Db): ReturnType<typeof prepareWrites> => {
    let w = statements.get(conn);
    if (!w) statements.set(conn, (w = prepareWrites(conn)));
    return w;
  };

  const addMany = (files: IndexFile[], actor: string): IndexOutcome[] => {
    const conn = db();
    const w = writes(conn);
    const tx = conn.transaction((): IndexOutcome[] => {
      const now = new Date().toISOString();
      const touchedSeries = new Set<string>();
      const touchedStudies = new Set<string>();
      // The rows this transaction already found or made: the files of a batch are mostly one
      // series, so each patient, study and series is looked up once per batch, not once per file
      // (only this transaction writes meanwhile, so what it found stays true until it commits).
      const patients = new Map<string, { id: string }>();
      const studyRows = new Map<string, { id: string; patient_id: string }>();
      const seriesRows = new Map<string, { id: string; study_id: string }>();
      // Series whose frame of reference / acquisition column is known to be set (UPDATE ... IS NULL would change nothing).
      const forSet = new Set<string>();
      const acqSet = new Set<string>();
      const out = files.map(({ meta, sha256, size, patientId: forcedPatientId, pack }): IndexOutcome => {
        const dup = w.findBySha.get(sha256) as { instanceId: string; studyId: string } | undefined;
        if (dup) return { status: 'duplicate', studyId: dup.studyId, instanceId: dup.instanceId, conflictOf: null };
        const key = patientKey(meta);
        const patientLookup = forcedPatientId ? `id:${forcedPatientId}` : `key:${key}`;
        let patient = patients.get(patientLookup) ?? ((forcedPatientId ? w.patientById.get(forcedPatientId) : w.patientByKey.get(key)) as { id: string } | undefined);
        if (!patient && forcedPatientId) throw new WorkstationError('NOT_FOUND', 'The patient record this upload is for no longer exists.');
        if (!patient) {
          patient = { id: crypto.randomUUID() };
          w.insertPatient.run(patient.id, displayName(meta.patient.name), now, key, nn(meta.patient.id), nn(meta.patient.birthDate), nn(meta.patient.sex), now);
        }
        patients.set(patientLookup, patient);
        let study = studyRows.get(meta.study.uid) ?? (w.studyByUid.get(meta.study.uid) as { id: string; patient_id: string } | undefined);
        // A filed upload never joins a study of another record (its UIDs are its own; this is the guard).
        if (study && forcedPatientId && study.patient_id !== forcedPatientId) throw new WorkstationError('CONFLICT', 'This study belongs to another patient record.');
        if (!study) {
          study = { id: crypto.randomUUID(), patient_id: patient.id };
          w.insertStudy.run(study.id, patient.id, meta.study.uid, nn(meta.study.date), nn(meta.study.time), nn(meta.study.accession), nn(meta.study.description), nn(meta.study.referringPhysician), meta.instance.derived ? 1 : 0, now, now);
        }
        studyRows.set(meta.study.uid, study);
        let series = seriesRows.get(meta.series.uid) ?? (w.seriesByUid.get(meta.series.uid) as { id: string; study_id: string } | undefined);
        if (series && forcedPatientId && series.study_id !== study.id) throw new WorkstationError('CONFLICT', 'This series belongs to another study.');
        const acq = acquisitionJson(meta.series.acquisition);
        if (!series) {
          series = { id: crypto.randomUUID(), study_id: study.id };
          w.insertSeries.run(series.id, study.id, meta.series.uid, nn(meta.series.modality), meta.series.number, nn(meta.series.description), nn(meta.series.bodyPart), meta.series.frameOfReferenceUid, acq, now);
          if (meta.series.frameOfReferenceUid) forSet.add(series.id);
          if (acq) acqSet.add(series.id);
        } else {
          // A series imported before the index kept these (or from a file without them) learns them now.
          if (meta.series.frameOfReferenceUid && !forSet.has(series.id)) {
            w.seriesFrameOfReference.run(meta.series.frameOfReferenceUid, series.id);
            forSet.add(series.id);
          }
          if (acq && !acqSet.has(series.id)) {
            w.seriesAcquisition.run(acq, series.id);
            acqSet.add(series.id);
          }
        }
        seriesRows.set(meta.series.uid, series);
        const studyId = series.study_id;
        const existing = w.recordOfSop.get(meta.instance.sopInstanceUid) as { id: string } | undefined;
        w.insertBlob.run(sha256, size, now, pack?.pack ?? null, pack?.offset ?? null);
        const instanceId = crypto.randomUUID();
        const im = meta.image;
        const inst = meta.instance;
        w.insertInstance.run(
          instanceId, series.id, inst.sopInstanceUid, nn(inst.sopClassUid), inst.number, im.transferSyntax, im.rows, im.columns, im.frames, im.samplesPerPixel,
          im.bitsAllocated, im.bitsStored, im.pixelRepresentation, im.photometric,
          inst.pixelSpacing ? JSON.stringify(inst.pixelSpacing) : null, inst.imagePosition ? JSON.stringify(inst.imagePosition) : null,
          inst.imageOrientation ? JSON.stringify(inst.imageOrientation) : null, inst.sliceLocation, inst.windowCenter, inst.windowWidth,
          inst.rescaleSlope, inst.rescaleIntercept, sha256, size, existing?.id ?? null, now, actor, inst.sliceThickness !== null && inst.sliceThickness > 0 ? inst.sliceThickness : null,
        );
        touchedSeries.add(series.id);
        touchedStudies.add(studyId);
        return { status: existing ? 'conflict' : 'imported', studyId, instanceId, conflictOf: existing?.id ?? null };
      });
      // Counts and the modality list are kept on the study row so the worklist never aggregates;
      // recomputed once per batch for what the batch touched.
      for (const id of touchedSeries) w.seriesCount.run(id, id);
      for (const id of touchedStudies) w.studyCounts.run({ s: id, now });
      return out;
    });
    return tx.immediate();
  };

  return {
    findBySha,
    hasBlob: (sha256) => writes(db()).blobExists.get(sha256) !== undefined,
    packedBlob(sha256) {
      const r = writes(db()).packedBlob.get(sha256) as { size: number; pack: string; pack_offset: number } | undefined;
      return r ? { size: r.size, loc: { pack: r.pack, offset: r.pack_offset } } : null;
    },
    add(meta, sha256, size, actor, patientId) {
      return addMany([{ meta, sha256, size, patientId }], actor)[0]!;
    },
    addMany,
    patient(patientId) {
      const r = db().prepare('SELECT id, display_name, dicom_patient_id, birth_date, sex FROM patients WHERE id = ?').get(patientId) as
        | { id: string; display_name: string; dicom_patient_id: string | null; birth_date: string | null; sex: string | null }
        | undefined;
      return r ? { id: r.id, displayName: r.display_name, dicomPatientId: r.dicom_patient_id, birthDate: r.birth_date, sex: r.sex } : null;
    },
    countStudies() {
      return (db().prepare('SELECT count(*) AS n FROM studies').get() as { n: number }).n;
    },
    list(q) {
      const where: string[] = [];
      const args: Record<string, unknown> = {};
      if (q.search) {
        where.push(`(p.display_name LIKE @like ESCAPE '\\' OR p.dicom_patient_id LIKE @like ESCAPE '\\' OR s.accession_number LIKE @like ESCAPE '\\' OR s.description LIKE @like ESCAPE '\\')`);
        args.like = '%' + q.search.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
      }
      if (q.modality) {
        where.push(`('\\' || s.modalities || '\\') LIKE @mod`);
        args.mod = '%\\' + q.modality.toUpperCase().replace(/[\\%_]/g, '') + '\\%';
      }
      if (q.dateFrom) { where.push('s.study_date >= @from'); args.from = q.dateFrom; }
      if (q.dateTo) { where.push('s.study_date <= @to'); args.to = q.dateTo; }
      const w = where.length ? ' WHERE ' + where.join(' AND ') : '';
      const dir = q.direction === 'asc' ? 'ASC' : 'DESC';
      const order = SORT_SQL[q.sort].replaceAll('%d', dir) + ', s.id';
      const conn = db();
      const total = (conn.prepare(`SELECT count(*) AS n FROM studies s JOIN patients p ON p.id = s.patient_id${w}`).get(args) as { n: number }).n;
      const rows = conn.prepare(`${STUDY_SELECT}${w} ORDER BY ${order} LIMIT @limit OFFSET @offset`).all({ ...args, limit: q.limit, offset: q.offset }) as StudyRow[];
      return { rows: rows.map(toStudy), total };
    },
    get(studyId) {
      const conn = db();
      const row = conn.prepare(`${STUDY_SELECT} WHERE s.id = ?`).get(studyId) as StudyRow | undefined;
      if (!row) throw new WorkstationError('NOT_FOUND', 'That study is not in this workstation (it may have been removed).');
      const series = conn.prepare('SELECT * FROM series WHERE study_id = ? ORDER BY series_number IS NULL, series_number, imported_at').all(studyId) as {
        id: string; series_instance_uid: string; modality: string | null; series_number: number | null; description: string | null; body_part: string | null; frame_of_reference_uid: string | null;
        acquisition: string | null;
      }[];
      const instStmt = conn.prepare('SELECT * FROM instances WHERE series_id = ? ORDER BY instance_number IS NULL, instance_number, slice_location, imported_at');
      const out: SeriesSummary[] = series.map((s) => ({
        seriesId: s.id,
        seriesInstanceUid: s.series_instance_uid,
        modality: s.modality,
        seriesNumber: s.series_number,
        description: s.description,
        bodyPart: s.body_part,
        frameOfReferenceUid: s.frame_of_reference_uid ?? null,
        sequence: seriesSequence(s.modality, s.description, s.acquisition),
        instances: (instStmt.all(s.id) as Record<string, unknown>[]).map(
          (i): InstanceSummary => ({
            instanceId: i.id as string,
            sopInstanceUid: i.sop_instance_uid as string,
            sopClassUid: (i.sop_class_uid as string | null) ?? null,
            instanceNumber: (i.instance_number as number | null) ?? null,
            rows: i.rows as number,
            columns: i.columns as number,
            frames: i.frames as number,
            samplesPerPixel: i.samples_per_pixel as number,
            photometric: i.photometric as string,
            transferSyntax: i.transfer_syntax as string,
            pixelSpacing: i.pixel_spacing ? (JSON.parse(i.pixel_spacing as string) as [number, number]) : null,
            imagePosition: i.image_position ? (JSON.parse(i.image_position as string) as [number, number, number]) : null,
            imageOrientation: i.image_orientation ? (JSON.parse(i.image_orientation as string) as number[]) : null,
            sliceLocation: (i.slice_location as number | null) ?? null,
            sliceThickness: (i.slice_thickness as number | null) ?? null,
            windowCenter: (i.window_center as number | null) ?? null,
            windowWidth: (i.window_width as number | null) ?? null,
            conflictOf: (i.conflict_of as string | null) ?? null,
          }),
        ),
      }));
      return { study: toStudy(row), series: out };
    },
    priors(studyId) {
      const conn = db();
      const cur = conn.prepare('SELECT patient_id FROM studies WHERE id = ?').get(studyId) as { patient_id: string } | undefined;
      if (!cur) throw new WorkstationError('NOT_FOUND', 'That study is not in this workstation (it may have been removed).');
      const rows = conn
        .prepare(`${STUDY_SELECT} WHERE s.patient_id = ? AND s.id <> ? ORDER BY coalesce(s.study_date, '') DESC, coalesce(s.study_time, '') DESC, s.imported_at DESC, s.id`)
        .all(cur.patient_id, studyId) as StudyRow[];
      return rows.map(toStudy);
    },
    searchPatients(query) {
      const q = query.trim();
      // Names are stored "Family, Given"; an admin may type "given family" or "FAMILY^GIVEN", so
      // every word must appear somewhere in the name, in any order and case (LIKE ignores ASCII case).
      const words = q.split(/[\s,^]+/).filter(Boolean).slice(0, 8);
      const nameWhere = words.length ? words.map((_, i) => `p.display_name LIKE @w${i} ESCAPE '\\'`).join(' AND ') : '0';
      const args: Record<string, unknown> = { q, prefix: likeLiteral(q) + '%', limit: MAX_PATIENT_MATCHES };
      words.forEach((w, i) => (args[`w${i}`] = '%' + likeLiteral(w) + '%'));
      // The Patient ID must match whole (a part of one names some other patient), ignoring case
      // as people type it; exact ID matches sort first, then names that start with the query.
      const rows = db()
        .prepare(
          `SELECT p.id, p.display_name, p.dicom_patient_id, p.birth_date, (SELECT count(*) FROM studies s WHERE s.patient_id = p.id) AS study_count
           FROM patients p
           WHERE p.dicom_patient_id = @q COLLATE NOCASE OR (${nameWhere})
           ORDER BY (p.dicom_patient_id = @q COLLATE NOCASE) DESC, (p.display_name LIKE @prefix ESCAPE '\\') DESC, p.display_name COLLATE NOCASE, p.id
           LIMIT @limit`,
        )
        .all(args) as { id: string; display_name: string; dicom_patient_id: string | null; birth_date: string | null; study_count: number }[];
      return rows.map((r) => ({ id: r.id, displayName: r.display_name, dicomPatientId: r.dicom_patient_id, birthDate: r.birth_date, studyCount: r.study_count }));
    },
    instance(instanceId) {
      const r = db().prepare(`SELECT i.id, i.content_sha256, i.frames, i.rescale_slope, i.rescale_intercept, i.window_center, i.window_width, i.pixel_spacing, se.study_id
        FROM instances i JOIN series se ON se.id = i.series_id WHERE i.id = ?`).get(instanceId) as Record<string, unknown> | undefined;
      if (!r) throw new WorkstationError('NOT_FOUND', 'That image is not in this workstation.');
      return {
        id: r.id as string,
        contentSha256: r.content_sha256 as string,
        frames: r.frames as number,
        rescaleSlope: r.rescale_slope as number,
        rescaleIntercept: r.rescale_intercept as number,
        windowCenter: (r.window_center as number | null) ?? null,
        windowWidth: (r.window_width as number | null) ?? null,
        pixelSpacing: r.pixel_spacing ? (JSON.parse(r.pixel_spacing as string) as [number, number]) : null,
        studyId: r.study_id as string,
      };
    },
  };
}
