// Patient uploads and their review. A patient's files are always filed under the record their
// account is linked to (a radiologist in the consultation room names the record instead), as one
// new study made by the DICOM service's same import; the model then runs on it. The care team
// reviews each upload once: approve (the reports service opens its draft) or reject with a reason
// for the patient; notes at any time. Every step is an audit row; hooks tell the notifications.
import crypto from 'node:crypto';
import path from 'node:path';
import {
  UNLINKED_PATIENT_UPLOAD_SENTENCE,
  WorkstationError,
  type AiStudyStatus,
  type ImportReport,
  type MyUpload,
  type ReviewFilter,
  type ReviewItem,
  type ReviewState,
  type Role,
  type Settings,
  type StudyReportStatus,
  type UploadRefusal,
} from '../../contract';
import type { AuditEntry } from '../audit';
import type { Logger } from '../log';
import type { Db } from '../store';
import type { UploadOrigin } from '../dicom';
import { patientView } from './patient-view';

export interface UploadActor {
  userId: string;
  username: string;
  role: Role;
  patientId: string | null;
}

export interface UploadsServiceOptions {
  db: () => Db;
  audit: { append(entry: AuditEntry): unknown };
  logger?: Logger | undefined;
  /** The DICOM service's chunked uploads and its import for a patient record. */
  dicom: {
    beginUpload(name: string, size: number, owner: string): { uploadId: string; chunkBytes: number };
    uploadChunk(uploadId: string, offset: number, data: Buffer, owner: string): { received: number };
    takeUploads(uploadIds: string[], owner: string): { name: string; bytes: Uint8Array }[];
    importForPatient(files: { name: string; bytes: Uint8Array }[], target: { patientId: string; uploadId: string; receivedAt: string }, opts: { actor: string; actorId?: string | null }): Promise<{ report: ImportReport; origins: UploadOrigin[] }>;
    index: { patient(patientId: string): { id: string; displayName: string; dicomPatientId: string | null; birthDate: string | null } | null };
  };
  ai: { runStudy(studyId: string, opts: { actor: string; actorId: string | null }): Promise<unknown>; statuses(studyIds: readonly string[]): AiStudyStatus[] };
  reports: { open(studyId: string, actor: UploadActor): { id: string }; statusForStudies(studyIds: readonly string[]): { studyId: string; reportId: string | null; status: StudyReportStatus }[] };
  settings: () => Pick<Settings, 'patientUploadsFromAccount' | 'patientSeesBeforeReview'>;
  /** After an upload is filed (notify the care team); must not throw. */
  onSubmitted?: (e: { uploadId: string; patientId: string; byRole: 'patient' | 'radiologist' }) => void;
  /** After an upload was approved or rejected (notify the patient); must not throw. */
  onReviewed?: (e: { uploadId: string; patientId: string; review: Exclude<ReviewState, 'pending'> }) => void;
}

export interface UploadsService {
  begin(actor: UploadActor, name: string, size: number, owner: string): { fileId: string; chunkBytes: number };
  chunk(actor: UploadActor, fileId: string, offset: number, data: Buffer, owner: string): { received: number };
  submit(actor: UploadActor, req: { fileIds: string[]; patientId?: string | undefined }, owner: string): Promise<{ uploadId: string; files: number; imported: number; refused: number; refusals: UploadRefusal[] }>;
  mine(actor: UploadActor): { uploads: MyUpload[]; mayUpload: boolean; notAllowedReason: string | null };
  list(actor: UploadActor, q: { filter: ReviewFilter; limit: number; offset: number }): { rows: ReviewItem[]; total: number; counts: Record<ReviewFilter, number> };
  get(actor: UploadActor, uploadId: string): ReviewItem;
  approve(actor: UploadActor, uploadId: string): { item: ReviewItem; reportId: string; studyId: string };
  reject(actor: UploadActor, uploadId: string, reason: string): ReviewItem;
  saveNotes(actor: UploadActor, uploadId: string, notes: string): ReviewItem;
  /** Waits for the model runs started by submissions (tests, shutdown). */
  idle(): Promise<void>;
}

interface UploadRow {
  id: string;
  patient_id: string;
  study_id: string | null;
  uploaded_by: string;
  uploaded_by_role: 'patient' | 'radiologist';
  received_at: string;
  files: number;
  imported: number;
  refused: number;
  dicom_files: number;
  image_files: number;
  refusals: string;
  file_patient_ids: string;
  review: ReviewState;
  reviewed_by: string | null;
  reviewed_at: string | null;
  reject_reason: string | null;
  report_id: string | null;
  notes: string;
  updated_at: string;
  patient_name: string;
  patient_dicom_id: string | null;
  patient_birth_date: string | null;
  uploader_name: string;
  reviewer_name: string | null;
}

const SELECT = `SELECT u.*, p.display_name AS patient_name, p.dicom_patient_id AS patient_dicom_id, p.birth_date AS patient_birth_date,
                       up.display_name AS uploader_name, rv.display_name AS reviewer_name
                FROM patient_uploads u
                JOIN patients p ON p.id = u.patient_id
                JOIN users up ON up.id = u.uploaded_by
                LEFT JOIN users rv ON rv.id = u.reviewed_by`;

const MAX_REFUSALS = 50;
const normId = (s: string | null): string => (s ?? '').trim().toUpperCase();

export function createUploadsService(options: UploadsServiceOptions): UploadsService {
  const { db, audit, dicom, ai, reports, logger } = options;
  const now = (): string => new Date().toISOString();
  const runs = new Set<Promise<unknown>>();

  const auditRow = (actor: UploadActor, action: string, objectId: string | null, outcome: AuditEntry['outcome'], detail: AuditEntry['detail'] = null, objectType = 'upload'): void => {
    audit.append({ actorId: actor.userId || null, actor: actor.username, action, objectType, objectId, outcome, detail });
  };
  const hook = (fn: (() => void) | undefined): void => {
    try {
      fn?.();
    } catch (err) {
      logger?.warn('uploads.hook-failed', { err });
    }
  };

  const requireRole = (actor: UploadActor, roles: readonly Role[], what: string): void => {
    if (!roles.includes(actor.role)) throw new WorkstationError('FORBIDDEN', `Only ${what}.`);
  };

  /** Why a patient account may not upload now, or null when it may. */
  const patientRefusal = (actor: UploadActor): string | null => {
    if (!actor.patientId) return UNLINKED_PATIENT_UPLOAD_SENTENCE;
    if (!options.settings().patientUploadsFromAccount) {
      return 'Sending images from your own account is switched off at this hospital. Bring your images (for example a CD or USB stick) to your appointment: your care team can add them for you there.';
    }
    return null;
  };

  /** The record an upload is filed under: a patient's own, whatever they ask for; the one a radiologist names. */
  const targetRecord = (actor: UploadActor, requested: string | undefined): string => {
    if (actor.role === 'patient') {
      const refusal = patientRefusal(actor);
      if (refusal) {
        auditRow(actor, 'upload.submit', null, 'refused', { code: 'FORBIDDEN' });
        throw new WorkstationError('FORBIDDEN', refusal);
      }
      if (requested !== undefined && requested !== actor.patientId) {
        auditRow(actor, 'upload.submit', null, 'refused', { code: 'NOT_FOUND' }, 'patient');
        throw new WorkstationError('NOT_FOUND', 'You can only send images to your own record.');
      }
      return actor.patientId!;
    }
    requireRole(actor, ['radiologist'], 'a patient and the care team can send images for review');
    if (!requested) throw new WorkstationError('INVALID_INPUT', 'Choose the patient whose images these are.', { details: { fields: ['patientId'] } });
    if (!dicom.index.patient(requested)) throw new WorkstationError('NOT_FOUND', 'There is no such patient record in the workstation.', { details: { fields: ['patientId'] } });
    return requested;
  };

  const rowOf = (uploadId: string): UploadRow | undefined => db().prepare(`${SELECT} WHERE u.id = ?`).get(uploadId) as UploadRow | undefined;

  const items = (rows: UploadRow[]): ReviewItem[] => {
    const studyIds = rows.map((r) => r.study_id).filter((s): s is string => s !== null);
    const aiBy = new Map(ai.statuses(studyIds).map((s) => [s.studyId, s]));
    const reportBy = new Map(reports.statusForStudies(studyIds).map((s) => [s.studyId, s]));
    return rows.map((r) => {
      const filePatientIds = JSON.parse(r.file_patient_ids) as string[];
      const a = r.study_id ? aiBy.get(r.study_id) : undefined;
      const rep = r.study_id ? reportBy.get(r.study_id) : undefined;
      return {
        id: r.id,
        patientId: r.patient_id,
        patientName: r.patient_name,
        patientDicomId: r.patient_dicom_id,
        patientBirthDate: r.patient_birth_date,
        uploadedByName: r.uploader_name,
        uploadedByRole: r.uploaded_by_role,
        receivedAt: r.received_at,
        kind: r.dicom_files && r.image_files ? 'mixed' : r.image_files ? 'images' : 'dicom',
        files: r.files,
        imported: r.imported,
        refused: r.refused,
        refusals: JSON.parse(r.refusals) as UploadRefusal[],
        studyId: r.study_id,
        filePatientIds,
        patientIdMismatch: filePatientIds.some((id) => normId(id) !== normId(r.patient_dicom_id)),
        ai: { status: a?.status ?? 'not-run', label: a?.label ?? null, confidence: a?.confidence ?? null },
        review: r.review,
        reviewedByName: r.reviewer_name,
        reviewedAt: r.reviewed_at,
        rejectReason: r.reject_reason,
        reportId: rep?.reportId ?? r.report_id,
        reportStatus: rep?.status ?? 'none',
        notes: r.notes,
      };
    });
  };

  const itemOf = (uploadId: string): ReviewItem => {
    const row = rowOf(uploadId);
    if (!row) throw new WorkstationError('NOT_FOUND', 'There is no such upload.', { details: { uploadId } });
    return items([row])[0]!;
  };

  /** Moves a pending upload to its review outcome; a second reviewer (or a race) gets CONFLICT. */
  const decide = (actor: UploadActor, uploadId: string, action: 'upload.approve' | 'upload.reject', write: (row: UploadRow) => number): UploadRow => {
    requireRole(actor, ['radiologist'], 'a radiologist reviews uploads');
    const row = rowOf(uploadId);
    if (!row) {
      auditRow(actor, action, uploadId, 'refused', { code: 'NOT_FOUND' });
      throw new WorkstationError('NOT_FOUND', 'There is no such upload.');
    }
    if (row.review !== 'pending' || write(row) === 0) {
      const again = rowOf(uploadId) ?? row;
      auditRow(actor, action, uploadId, 'refused', { code: 'CONFLICT', state: again.review });
      throw new WorkstationError('CONFLICT', `This upload was already ${again.review} by ${again.reviewer_name ?? 'another radiologist'}.`);
    }
    return row;
  };

  return {
    begin(actor, name, size, owner) {
      requireRole(actor, ['patient', 'radiologist'], 'a patient and the care team can send images for review');
      if (actor.role === 'patient') {
        const refusal = patientRefusal(actor);
        if (refusal) throw new WorkstationError('FORBIDDEN', refusal);
      }
      // The DICOM service's staging bounds what one connection holds and drops uploads left idle.
      const r = dicom.beginUpload(name, size, owner);
      return { fileId: r.uploadId, chunkBytes: r.chunkBytes };
    },

    chunk(actor, fileId, offset, data, owner) {
      requireRole(actor, ['patient', 'radiologist'], 'a patient and the care team can send images for review');
      return dicom.uploadChunk(fileId, offset, data, owner);
    },

    async submit(actor, req, owner) {
      const patientId = targetRecord(actor, req.patientId);
      const files = dicom.takeUploads(req.fileIds, owner);
      const uploadId = crypto.randomUUID();
      const receivedAt = now();
      const { report, origins } = await dicom.importForPatient(files, { patientId, uploadId, receivedAt }, { actor: actor.username, actorId: actor.userId });
      const used = report.imported + report.duplicates + report.conflicts;
      const refusals: UploadRefusal[] = report.entries
        .filter((e) => e.status === 'refused')
        .slice(0, MAX_REFUSALS)
        .map((e) => ({ name: path.basename(e.path).slice(0, 255), reason: e.reason ?? 'it could not be used' }));
      if (used === 0) {
        auditRow(actor, 'upload.submit', null, 'failure', { files: report.total, refused: report.refused }, 'patient');
        const first = refusals.slice(0, 3).map((r) => `${r.name}: ${r.reason}`).join('; ');
        throw new WorkstationError('INVALID_INPUT', `None of these files could be used, so nothing was sent for review. ${first ? `${first}.` : ''} Send DICOM files from the scan (for example from the CD), or PNG/JPEG pictures of it.`, {
          details: { refusals },
        });
      }
      if (report.studyIds.length !== 1) logger?.warn('uploads.studies', { uploadId, studies: report.studyIds.length });
      const studyId = report.studyIds[0]!;
      const filePatientIds = [...new Set(origins.filter((o) => o.kind === 'dicom' && o.filePatientId).map((o) => o.filePatientId!))].slice(0, 20);
      const dicomFiles = origins.filter((o) => o.kind === 'dicom').length;
      const imageFiles = origins.filter((o) => o.kind === 'image').length;
      const record = dicom.index.patient(patientId);
      const mismatch = filePatientIds.some((id) => normId(id) !== normId(record?.dicomPatientId ?? null));
      const conn = db();
      conn.transaction(() => {
        conn
          .prepare(
            `INSERT INTO patient_uploads (id, patient_id, study_id, uploaded_by, uploaded_by_role, received_at, files, imported, refused, dicom_files, image_files, refusals, file_patient_ids, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(uploadId, patientId, studyId, actor.userId, actor.role === 'patient' ? 'patient' : 'radiologist', receivedAt, report.total, used, report.refused, dicomFiles, imageFiles, JSON.stringify(refusals), JSON.stringify(filePatientIds), receivedAt);
        auditRow(actor, 'upload.submit', uploadId, 'success', { files: report.total, imported: used, refused: report.refused, dicomFiles, imageFiles, patientIdMismatch: mismatch });
      })();
      hook(() => options.onSubmitted?.({ uploadId, patientId, byRole: actor.role === 'patient' ? 'patient' : 'radiologist' }));
      // The model runs in the background; the review queue and the patient's page read its result.
      const run = ai
        .runStudy(studyId, { actor: 'system:upload', actorId: null })
        .catch((err: unknown) => logger?.warn('uploads.ai-run-failed', { uploadId, err }))
        .finally(() => runs.delete(run));
      runs.add(run);
      return { uploadId, files: report.total, imported: used, refused: report.refused, refusals };
    },

    mine(actor) {
      requireRole(actor, ['patient'], 'a patient has their own uploads');
      const refusal = patientRefusal(actor);
      if (!actor.patientId) return { uploads: [], mayUpload: false, notAllowedReason: refusal };
      const rows = db().prepare(`${SELECT} WHERE u.patient_id = ? ORDER BY u.received_at DESC, u.rowid DESC LIMIT 200`).all(actor.patientId) as UploadRow[];
      const setting = options.settings().patientSeesBeforeReview;
      const uploads = items(rows).map((it): MyUpload => ({
        id: it.id,
        receivedAt: it.receivedAt,
        kind: it.kind,
        files: it.files,
        imported: it.imported,
        refused: it.refused,
        refusals: it.refusals,
        reviewedByName: it.review === 'pending' ? null : it.reviewedByName,
        reviewedAt: it.reviewedAt,
        rejectReason: it.rejectReason,
        ...patientView({ review: it.review, reviewedByName: it.reviewedByName, reviewedAt: it.reviewedAt, rejectReason: it.rejectReason, reportStatus: it.reportStatus, ai: it.ai, setting }),
      }));
      return { uploads, mayUpload: refusal === null, notAllowedReason: refusal };
    },

    list(actor, q) {
      requireRole(actor, ['radiologist'], 'the care team sees the review queue');
      const conn = db();
      const byState = new Map((conn.prepare('SELECT review, count(*) AS n FROM patient_uploads GROUP BY review').all() as { review: ReviewState; n: number }[]).map((r) => [r.review, r.n]));
      const counts = { pending: byState.get('pending') ?? 0, approved: byState.get('approved') ?? 0, rejected: byState.get('rejected') ?? 0, all: 0 };
      counts.all = counts.pending + counts.approved + counts.rejected;
      const where = q.filter === 'all' ? '' : ' WHERE u.review = ?';
      const args = q.filter === 'all' ? [] : [q.filter];
      // Pending: the oldest first (it has waited longest); the others: the newest first.
      const order = q.filter === 'pending' ? 'u.received_at ASC, u.rowid ASC' : 'coalesce(u.reviewed_at, u.received_at) DESC, u.rowid DESC';
      const rows = conn.prepare(`${SELECT}${where} ORDER BY ${order} LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as UploadRow[];
      return { rows: items(rows), total: counts[q.filter], counts };
    },

    get(actor, uploadId) {
      requireRole(actor, ['radiologist'], 'the care team opens review items');
      const item = itemOf(uploadId);
      auditRow(actor, 'upload.view', uploadId, 'success', { review: item.review });
      return item;
    },

    approve(actor, uploadId) {
      let reportId = '';
      const row = decide(actor, uploadId, 'upload.approve', (r) => {
        if (!r.study_id) return 0;
        // The draft is the reports service's, made as for any study (idempotent: a second open finds it).
        reportId = reports.open(r.study_id, actor).id;
        const at = now();
        return db()
          .prepare(`UPDATE patient_uploads SET review = 'approved', reviewed_by = ?, reviewed_at = ?, report_id = ?, updated_at = ? WHERE id = ? AND review = 'pending'`)
          .run(actor.userId, at, reportId, at, uploadId).changes;
      });
      auditRow(actor, 'upload.approve', uploadId, 'success', { reportId });
      hook(() => options.onReviewed?.({ uploadId, patientId: row.patient_id, review: 'approved' }));
      return { item: itemOf(uploadId), reportId, studyId: row.study_id! };
    },

    reject(actor, uploadId, reason) {
      const text = reason.trim();
      if (text.length < 3 || text.length > 1000) throw new WorkstationError('INVALID_INPUT', 'Write the reason the patient will read (3 to 1000 characters).', { details: { fields: ['reason'] } });
      const row = decide(actor, uploadId, 'upload.reject', () => {
        const at = now();
        return db()
          .prepare(`UPDATE patient_uploads SET review = 'rejected', reviewed_by = ?, reviewed_at = ?, reject_reason = ?, updated_at = ? WHERE id = ? AND review = 'pending'`)
          .run(actor.userId, at, text, at, uploadId).changes;
      });
      // The reason is for the patient; the audit row keeps only its length.
      auditRow(actor, 'upload.reject', uploadId, 'success', { reasonChars: text.length });
      hook(() => options.onReviewed?.({ uploadId, patientId: row.patient_id, review: 'rejected' }));
      return itemOf(uploadId);
    },

    saveNotes(actor, uploadId, notes) {
      requireRole(actor, ['radiologist'], 'the care team writes notes on uploads');
      const changed = db().prepare('UPDATE patient_uploads SET notes = ?, updated_at = ? WHERE id = ?').run(notes, now(), uploadId).changes;
      if (!changed) throw new WorkstationError('NOT_FOUND', 'There is no such upload.');
      auditRow(actor, 'upload.notes', uploadId, 'success', { chars: notes.length });
      return itemOf(uploadId);
    },

    async idle() {
      while (runs.size) await Promise.allSettled([...runs]);
    },
  };
}
