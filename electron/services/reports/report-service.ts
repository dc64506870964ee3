// The reports service: one report per study through its life cycle (lifecycle.ts), autosaved
// drafts, key images, signing with a content hash (and the PDF, SR and the AI's SEG queued in the
// outbox in the same transaction), addenda, verification, history, export and the patient summary.
import crypto from 'node:crypto';
import { PNG } from 'pngjs';
import {
  REPORT_SECTIONS,
  WorkstationError,
  type DashboardFilter,
  type DashboardRow,
  type HistoryPoint,
  type KeyImage,
  type PatientSummary,
  type Report,
  type ReportAiFinding,
  type ReportSections,
  type ReportStatus,
  type Role,
  type StudyReportStatus,
  type VerifyResult,
  type AiStudyStatus,
} from '../../contract';
import type { AuditEntry } from '../audit';
import type { Logger } from '../log';
import type { Db } from '../store';
import { enqueueOutbox } from '../sync';
import { aiFindingFor, type AiSource } from './ai-finding';
import { contentHash, sha256Hex } from './canonical';
import { allowedActions, requireTransition, type LifecycleState, type ReportAction } from './lifecycle';
import { renderReportPdf } from './pdf';
import { applyEdits, changeSentence, formatDicomDate, prefillSections } from './template';
import { patientSummary } from './patient-summary';
import { buildReportSr } from './dicom/sr';
import { buildEncapsulatedPdf } from './dicom/encapsulated-pdf';
import { newUid, uidFor } from '../dicom-objects';
import type { DicomStudyInfo, EvidenceImage } from './dicom/study-info';
import { buildReportSeg, type StudyImages } from './dicom/report-seg';

export interface Actor {
  userId: string;
  username: string;
  role: Role;
  patientId: string | null;
}

export interface ReportsServiceOptions {
  db: () => Db;
  audit: { append(entry: AuditEntry): unknown };
  /** The stored AI results (null: drafts start without AI text). */
  ai: (AiSource & { statuses(studyIds: readonly string[]): AiStudyStatus[] }) | null;
  logger?: Logger | undefined;
  /** Printed on the PDF and named as the verifying organization in the SR. */
  institution?: string;
  /** Queue the signed report's DICOM objects for the hospital server (default: on). */
  queueForSync?: boolean;
  /** The DICOM index's series and instances, for the SEG of the AI mask (null: no SEG is queued). */
  images?: StudyImages | null;
}

export interface SignedObjects {
  pdf: Buffer;
  encapsulatedPdf: Buffer;
  sr: Buffer;
}

interface ReportRow {
  id: string;
  study_id: string;
  patient_id: string;
  status: ReportStatus;
  sections: string;
  ai_finding: string | null;
  ai_decision: Report['aiDecision'];
  reject_reason: string | null;
  notes: string;
  revision: number;
  created_by: string;
  created_at: string;
  updated_by: string;
  updated_at: string;
  preliminary_by: string | null;
  preliminary_at: string | null;
  signed_by: string | null;
  signed_by_name: string | null;
  signed_at: string | null;
  content_hash: string | null;
  sr_sop_uid: string | null;
  pdf_sop_uid: string | null;
}

interface StudyRow {
  id: string;
  patient_id: string;
  study_instance_uid: string;
  study_date: string | null;
  study_time: string | null;
  accession_number: string | null;
  description: string | null;
  referring_physician: string | null;
  modalities: string;
  series_count: number;
  imported_at: string;
  display_name: string;
  dicom_patient_id: string | null;
  birth_date: string | null;
  sex: string | null;
}

interface KeyImageRow {
  id: string;
  seq: number;
  caption: string;
  instance_id: string | null;
  sha256: string;
  width: number;
  height: number;
  created_at: string;
}

interface AddendumRow {
  id: string;
  report_id: string;
  seq: number;
  text: string;
  signed_by: string;
  signed_by_name: string;
  signed_at: string;
  content_hash: string;
}

const SIGNED_STATES: readonly ReportStatus[] = ['final', 'rejected'];
const isSigned = (s: ReportStatus): boolean => SIGNED_STATES.includes(s);
const MAX_KEY_IMAGES = 12;
const MAX_KEY_IMAGE_PIXELS = 4096 * 4096;

/** What a signed report's hash covers: everything the PDF and SR say, nothing internal. */
export function signedContent(r: {
  id: string;
  studyId: string;
  studyInstanceUid: string;
  patientId: string;
  status: ReportStatus;
  sections: ReportSections;
  aiFinding: ReportAiFinding | null;
  aiDecision: string;
  rejectReason: string | null;
  keyImages: { seq: number; sha256: string; caption: string; instanceId: string | null }[];
  signedBy: string;
  signedByName: string;
  signedAt: string;
}): unknown {
  return {
    v: 1,
    reportId: r.id,
    studyId: r.studyId,
    studyInstanceUid: r.studyInstanceUid,
    patientId: r.patientId,
    status: r.status,
    sections: r.sections,
    aiFinding: r.aiFinding,
    aiDecision: r.aiDecision,
    rejectReason: r.rejectReason,
    keyImages: r.keyImages.map((k) => ({ seq: k.seq, sha256: k.sha256, caption: k.caption, instanceId: k.instanceId })),
    signedBy: r.signedBy,
    signedByName: r.signedByName,
    signedAt: r.signedAt,
  };
}

export function addendumContent(a: { reportId: string; reportHash: string; seq: number; text: string; signedBy: string; signedByName: string; signedAt: string }): unknown {
  return { v: 1, ...a };
}

export interface ReportsService {
  dashboard(q: { filter: DashboardFilter; limit: number; offset: number }): { rows: DashboardRow[]; total: number; counts: { pending: number; all: number; approved: number; rejected: number } };
  statusForStudies(studyIds: readonly string[]): { studyId: string; reportId: string | null; status: StudyReportStatus }[];
  open(studyId: string, actor: Actor): Report;
  get(reportId: string, actor: Actor): Report;
  saveDraft(req: { reportId: string; baseRevision: number; sections: Partial<Record<keyof ReportSections, string>>; notes?: string | undefined }, actor: Actor): { revision: number; updatedAt: string; sections: ReportSections };
  saveNotes(reportId: string, notes: string, actor: Actor): { updatedAt: string };
  acceptAi(reportId: string, actor: Actor): Report;
  rejectAi(reportId: string, reason: string, actor: Actor): Report;
  markPreliminary(reportId: string, actor: Actor): Report;
  sign(reportId: string, baseRevision: number, actor: Actor): Promise<Report>;
  addAddendum(reportId: string, text: string, actor: Actor): Promise<Report>;
  addKeyImage(req: { reportId: string; png: Buffer; caption: string; instanceId?: string | undefined }, actor: Actor): Report;
  removeKeyImage(reportId: string, keyImageId: string, actor: Actor): Report;
  keyImagePng(reportId: string, keyImageId: string): Buffer;
  history(studyId: string): { points: HistoryPoint[]; change: string | null };
  verify(reportId: string): VerifyResult;
  exportPdf(reportId: string, actor: Actor): Promise<{ fileName: string; pdf: Buffer; sha256: string }>;
  /** The DICOM objects of a report: SR (UNVERIFIED for an unsigned report) and, once signed, the Encapsulated PDF. */
  dicomObjects(reportId: string, actor: Actor): Promise<{ sr: Buffer; encapsulatedPdf: Buffer | null }>;
  patientSummaries(actor: Actor, reportId?: string): PatientSummary[];
}

export function createReportsService(options: ReportsServiceOptions): ReportsService {
  const { db, audit, ai, logger } = options;
  const images = options.images ?? null;
  const institution = options.institution ?? 'TumorPredict Workstation';
  const queueForSync = options.queueForSync ?? true;
  const now = (): string => new Date().toISOString();

  // ---- reading -------------------------------------------------------------------------------
  const studyRow = (studyId: string): StudyRow => {
    const r = db()
      .prepare(
        `SELECT s.id, s.patient_id, s.study_instance_uid, s.study_date, s.study_time, s.accession_number, s.description, s.referring_physician, s.modalities, s.series_count, s.imported_at,
                p.display_name, p.dicom_patient_id, p.birth_date, p.sex
         FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.id = ?`,
      )
      .get(studyId) as StudyRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', 'This study is not in the workstation (it may have been deleted).', { details: { studyId } });
    return r;
  };
  const reportRow = (reportId: string): ReportRow => {
    const r = db().prepare('SELECT * FROM reports WHERE id = ?').get(reportId) as ReportRow | undefined;
    if (!r) throw new WorkstationError('NOT_FOUND', 'There is no such report.', { details: { reportId } });
    return r;
  };
  const keyImageRows = (reportId: string): KeyImageRow[] =>
    db().prepare('SELECT id, seq, caption, instance_id, sha256, width, height, created_at FROM report_key_images WHERE report_id = ? ORDER BY seq').all(reportId) as KeyImageRow[];
  const addendumRows = (reportId: string): AddendumRow[] => db().prepare('SELECT * FROM report_addenda WHERE report_id = ? ORDER BY seq').all(reportId) as AddendumRow[];
  const displayName = (userId: string, fallback: string): string =>
    (db().prepare('SELECT display_name FROM users WHERE id = ?').get(userId) as { display_name: string } | undefined)?.display_name ?? fallback;

  const toKeyImage = (k: KeyImageRow): KeyImage => ({ id: k.id, seq: k.seq, caption: k.caption, instanceId: k.instance_id, sha256: k.sha256, width: k.width, height: k.height, createdAt: k.created_at });

  const toReport = (r: ReportRow, role: Role): Report => {
    const s = studyRow(r.study_id);
    return {
      id: r.id,
      studyId: r.study_id,
      patientId: r.patient_id,
      status: r.status,
      sections: JSON.parse(r.sections) as ReportSections,
      aiFinding: r.ai_finding ? (JSON.parse(r.ai_finding) as ReportAiFinding) : null,
      aiDecision: r.ai_decision,
      rejectReason: r.reject_reason,
      notes: r.notes,
      revision: r.revision,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      preliminaryAt: r.preliminary_at,
      signedByName: r.signed_by_name,
      signedAt: r.signed_at,
      contentHash: r.content_hash,
      srSopInstanceUid: r.sr_sop_uid,
      pdfSopInstanceUid: r.pdf_sop_uid,
      keyImages: keyImageRows(r.id).map(toKeyImage),
      addenda: addendumRows(r.id).map((a) => ({ id: a.id, seq: a.seq, text: a.text, signedByName: a.signed_by_name, signedAt: a.signed_at, contentHash: a.content_hash })),
      study: {
        studyInstanceUid: s.study_instance_uid,
        studyDate: s.study_date,
        description: s.description,
        accessionNumber: s.accession_number,
        patientName: s.display_name,
        patientDicomId: s.dicom_patient_id,
        patientBirthDate: s.birth_date,
        patientSex: s.sex,
      },
      allowedActions: allowedActions(r.status, role),
    };
  };

  const dicomStudy = (s: StudyRow): DicomStudyInfo => ({
    studyInstanceUid: s.study_instance_uid,
    patientName: s.display_name,
    patientDicomId: s.dicom_patient_id,
    patientBirthDate: s.birth_date,
    patientSex: s.sex,
    studyDate: s.study_date,
    studyTime: s.study_time,
    accessionNumber: s.accession_number,
    referringPhysician: s.referring_physician,
  });

  const evidenceImage = (finding: ReportAiFinding | null): EvidenceImage | null => {
    const instanceId = finding?.keyInstanceId;
    if (!instanceId) return null;
    const r = db()
      .prepare('SELECT se.series_instance_uid, i.sop_class_uid, i.sop_instance_uid, i.frames FROM instances i JOIN series se ON se.id = i.series_id WHERE i.id = ?')
      .get(instanceId) as { series_instance_uid: string; sop_class_uid: string | null; sop_instance_uid: string; frames: number } | undefined;
    if (!r?.sop_class_uid) return null;
    // Findings stored before frames were scored have no keyFrame: they scored frame 0.
    const frame = finding.keyFrame ?? 0;
    return {
      seriesInstanceUid: r.series_instance_uid,
      sopClassUid: r.sop_class_uid,
      sopInstanceUid: r.sop_instance_uid,
      ...(r.frames > 1 ? { referencedFrameNumber: frame + 1 } : {}),
    };
  };

  // ---- auditing and checks -------------------------------------------------------------------
  const auditRow = (actor: Actor, action: string, reportId: string, outcome: AuditEntry['outcome'], detail?: AuditEntry['detail']): void => {
    audit.append({ actorId: actor.userId || null, actor: actor.username, action, objectType: 'report', objectId: reportId, outcome, detail: detail ?? null });
  };

  // A refusal inside a transaction is audited after the rollback (or its row would roll back too).
  let refusalToAudit: (() => void) | null = null;
  const auditRefusal = (write: () => void): void => {
    try {
      write();
    } catch (auditErr) {
      logger?.error('reports.audit-failed', { err: auditErr });
    }
  };

  /** Checks the life-cycle table; a refusal is itself an audit row. */
  const check = (action: ReportAction, state: LifecycleState, actor: Actor, objectId: string): void => {
    try {
      requireTransition(action, state, actor.role);
    } catch (err) {
      if (err instanceof WorkstationError) {
        const write = (): void => auditRow(actor, `report.${action}`, objectId, 'refused', { code: err.code, state });
        if (db().inTransaction) refusalToAudit = write;
        else auditRefusal(write);
      }
      throw err;
    }
  };

  const sectionsOf = (r: ReportRow): ReportSections => JSON.parse(r.sections) as ReportSections;

  /** Runs fn in an IMMEDIATE transaction (the write lock first, so checks and writes see one state). */
  const tx = <T>(fn: () => T): T => {
    refusalToAudit = null;
    try {
      return db().transaction(fn).immediate();
    } catch (err) {
      const write = refusalToAudit;
      refusalToAudit = null;
      if (write) auditRefusal(write);
      throw err;
    }
  };

  // ---- history -------------------------------------------------------------------------------
  const measurementOf = (studyId: string): { finding: ReportAiFinding | null } => {
    try {
      return { finding: aiFindingFor(ai, db(), studyId) };
    } catch (err) {
      logger?.warn('reports.ai-finding-failed', { studyId, err });
      return { finding: null };
    }
  };
  const studiesOfPatient = (patientId: string): StudyRow[] =>
    db()
      .prepare(
        `SELECT s.id, s.patient_id, s.study_instance_uid, s.study_date, s.study_time, s.accession_number, s.description, s.referring_physician, s.modalities, s.series_count, s.imported_at,
                p.display_name, p.dicom_patient_id, p.birth_date, p.sex
         FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.patient_id = ?
         ORDER BY coalesce(s.study_date, '') , coalesce(s.study_time, ''), s.imported_at`,
      )
      .all(patientId) as StudyRow[];

  const history = (studyId: string): { points: HistoryPoint[]; change: string | null } => {
    const current = studyRow(studyId);
    const studies = studiesOfPatient(current.patient_id);
    const points: HistoryPoint[] = studies.map((s) => {
      const rep = db().prepare('SELECT id, status, sections, ai_finding FROM reports WHERE study_id = ?').get(s.id) as Pick<ReportRow, 'id' | 'status' | 'sections' | 'ai_finding'> | undefined;
      // A report keeps the finding it was made from; a study without one asks the AI results.
      const finding = rep?.ai_finding ? (JSON.parse(rep.ai_finding) as ReportAiFinding) : measurementOf(s.id).finding;
      return {
        studyId: s.id,
        studyDate: s.study_date,
        importedAt: s.imported_at,
        current: s.id === studyId,
        aiLabel: finding?.label ?? null,
        areaMm2: finding ? (finding.areaMm2 ?? (finding.label === 'notumor' ? 0 : null)) : null,
        volumeMm3: finding?.volumeMm3 ?? null,
        reportId: rep?.id ?? null,
        reportStatus: rep?.status ?? 'none',
        impression: rep ? (JSON.parse(rep.sections) as ReportSections).impression.text || null : null,
      };
    });
    const idx = points.findIndex((p) => p.current);
    const cur = points[idx];
    const prior = points.slice(0, idx).reverse().find((p) => p.areaMm2 !== null || p.volumeMm3 !== null) ?? null;
    const change = cur && prior ? changeSentence({ areaMm2: cur.areaMm2, volumeMm3: cur.volumeMm3 }, { studyDate: prior.studyDate, areaMm2: prior.areaMm2, volumeMm3: prior.volumeMm3 }) : null;
    return { points, change };
  };

  // ---- signing helpers -----------------------------------------------------------------------
  const signedContentOf = (r: ReportRow, s: StudyRow, over: Partial<ReportRow> = {}): unknown => {
    const m = { ...r, ...over };
    return signedContent({
      id: m.id,
      studyId: m.study_id,
      studyInstanceUid: s.study_instance_uid,
      patientId: m.patient_id,
      status: m.status,
      sections: sectionsOf(m),
      aiFinding: m.ai_finding ? (JSON.parse(m.ai_finding) as ReportAiFinding) : null,
      aiDecision: m.ai_decision,
      rejectReason: m.reject_reason,
      keyImages: keyImageRows(m.id).map((k) => ({ seq: k.seq, sha256: k.sha256, caption: k.caption, instanceId: k.instance_id })),
      signedBy: m.signed_by ?? '',
      signedByName: m.signed_by_name ?? '',
      signedAt: m.signed_at ?? '',
    });
  };

  const keyImagesWithPng = (reportId: string): { caption: string; png: Buffer }[] =>
    (db().prepare('SELECT caption, png FROM report_key_images WHERE report_id = ? ORDER BY seq').all(reportId) as { caption: string; png: Buffer }[]).map((k) => ({ caption: k.caption, png: k.png }));

  const pdfFor = async (report: Report): Promise<Buffer> => renderReportPdf({ report, keyImages: keyImagesWithPng(report.id), institution });

  const pdfTitle = 'Brain MRI report';

  const service: ReportsService = {
    dashboard({ filter, limit, offset }) {
      const base = `FROM studies s JOIN patients p ON p.id = s.patient_id LEFT JOIN reports r ON r.study_id = s.id`;
      const where: Record<DashboardFilter, string> = {
        pending: `WHERE r.id IS NULL OR r.status IN ('draft', 'preliminary')`,
        all: '',
        approved: `WHERE r.status = 'final'`,
        rejected: `WHERE r.status = 'rejected'`,
      };
      const count = (f: DashboardFilter): number => (db().prepare(`SELECT count(*) AS n ${base} ${where[f]}`).get() as { n: number }).n;
      const counts = { pending: count('pending'), all: count('all'), approved: count('approved'), rejected: count('rejected') };
      const rows = db()
        .prepare(
          `SELECT s.id AS study_id, r.id AS report_id, coalesce(r.status, 'none') AS status, p.id AS patient_id, p.display_name, p.dicom_patient_id, s.study_date, s.description, r.updated_at, r.signed_at
           ${base} ${where[filter]} ORDER BY coalesce(s.study_date, '') DESC, s.imported_at DESC LIMIT ? OFFSET ?`,
        )
        .all(limit, offset) as { study_id: string; report_id: string | null; status: StudyReportStatus; patient_id: string; display_name: string; dicom_patient_id: string | null; study_date: string | null; description: string | null; updated_at: string | null; signed_at: string | null }[];
      let aiStatus = new Map<string, AiStudyStatus>();
      try {
        if (ai && rows.length) aiStatus = new Map(ai.statuses(rows.map((r) => r.study_id)).map((s) => [s.studyId, s]));
      } catch (err) {
        logger?.warn('reports.ai-statuses-failed', { err });
      }
      return {
        rows: rows.map((r) => ({
          studyId: r.study_id,
          reportId: r.report_id,
          status: r.status,
          patientId: r.patient_id,
          patientName: r.display_name,
          patientDicomId: r.dicom_patient_id,
          studyDate: r.study_date,
          description: r.description,
          aiLabel: aiStatus.get(r.study_id)?.label ?? null,
          aiConfidence: aiStatus.get(r.study_id)?.confidence ?? null,
          updatedAt: r.updated_at,
          signedAt: r.signed_at,
        })),
        total: counts[filter],
        counts,
      };
    },

    statusForStudies(studyIds) {
      if (!studyIds.length) return [];
      const rows = db()
        .prepare(`SELECT study_id, id, status FROM reports WHERE study_id IN (${studyIds.map(() => '?').join(',')})`)
        .all(...studyIds) as { study_id: string; id: string; status: ReportStatus }[];
      const by = new Map(rows.map((r) => [r.study_id, r]));
      return studyIds.map((id) => ({ studyId: id, reportId: by.get(id)?.id ?? null, status: by.get(id)?.status ?? 'none' }));
    },

    open(studyId, actor) {
      const existing = db().prepare('SELECT * FROM reports WHERE study_id = ?').get(studyId) as ReportRow | undefined;
      if (existing) return toReport(existing, actor.role);
      const study = studyRow(studyId);
      check('create', 'none', actor, studyId);
      const finding = measurementOf(studyId).finding;
      const change = finding ? history(studyId).change : null;
      const sections = prefillSections({ finding, modalities: study.modalities, seriesCount: study.series_count, description: study.description, change });
      const id = crypto.randomUUID();
      const at = now();
      return tx(() => {
        // Two windows opening the same study at once: the second finds the first's draft.
        const raced = db().prepare('SELECT * FROM reports WHERE study_id = ?').get(studyId) as ReportRow | undefined;
        if (raced) return toReport(raced, actor.role);
        db()
          .prepare(
            `INSERT INTO reports (id, study_id, patient_id, status, sections, ai_finding, ai_decision, created_by, created_at, updated_by, updated_at)
             VALUES (?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(id, studyId, study.patient_id, JSON.stringify(sections), finding ? JSON.stringify(finding) : null, finding ? 'pending' : 'none', actor.userId, at, actor.userId, at);
        auditRow(actor, 'report.create', id, 'success', { studyId, aiPrefilled: !!finding });
        logger?.info('reports.created', { reportId: id, studyId });
        return toReport(reportRow(id), actor.role);
      });
    },

    get(reportId, actor) {
      return toReport(reportRow(reportId), actor.role);
    },

    saveDraft(req, actor) {
      return tx(() => {
        const r = reportRow(req.reportId);
        check('edit', r.status, actor, r.id);
        if (req.baseRevision !== r.revision) {
          throw new WorkstationError('CONFLICT', 'This report was changed elsewhere since you opened it (another window or user). Reload it to see the latest text; your last change was not saved.', {
            details: { revision: r.revision },
          });
        }
        const sections = applyEdits(sectionsOf(r), req.sections);
        const at = now();
        const notes = req.notes ?? r.notes;
        db().prepare('UPDATE reports SET sections = ?, notes = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(sections), notes, actor.userId, at, r.id);
        const changed = REPORT_SECTIONS.filter((k) => req.sections[k] !== undefined && req.sections[k] !== sectionsOf(r)[k].text);
        auditRow(actor, 'report.saveDraft', r.id, 'success', { revision: r.revision + 1, sections: changed.join(',') || null, notes: req.notes !== undefined && req.notes !== r.notes });
        return { revision: r.revision + 1, updatedAt: at, sections };
      });
    },

    saveNotes(reportId, notes, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('editNotes', r.status, actor, r.id);
        const at = now();
        // Notes are internal and outside the signed content: changing them leaves the hash alone.
        db().prepare('UPDATE reports SET notes = ?, updated_by = ?, updated_at = ? WHERE id = ?').run(notes, actor.userId, at, r.id);
        auditRow(actor, 'report.saveNotes', r.id, 'success');
        return { updatedAt: at };
      });
    },

    acceptAi(reportId, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('acceptAi', r.status, actor, r.id);
        if (r.ai_decision === 'none') throw new WorkstationError('CONFLICT', 'This report has no AI finding to accept.');
        const sections = sectionsOf(r);
        for (const k of REPORT_SECTIONS) if (sections[k].origin === 'ai') sections[k].origin = 'ai-accepted';
        db().prepare(`UPDATE reports SET sections = ?, ai_decision = 'accepted', reject_reason = NULL, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`).run(JSON.stringify(sections), actor.userId, now(), r.id);
        auditRow(actor, 'report.acceptAi', r.id, 'success');
        return toReport(reportRow(r.id), actor.role);
      });
    },

    rejectAi(reportId, reason, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('rejectAi', r.status, actor, r.id);
        if (r.ai_decision === 'none') throw new WorkstationError('CONFLICT', 'This report has no AI finding to reject.');
        // The AI's text goes; what the radiologist wrote or edited stays as their own finding.
        const sections = sectionsOf(r);
        for (const k of REPORT_SECTIONS) {
          if (sections[k].origin === 'ai' || sections[k].origin === 'ai-accepted') sections[k] = { text: '', origin: 'human' };
          else if (sections[k].origin === 'ai-edited') sections[k].origin = 'human';
        }
        db()
          .prepare(`UPDATE reports SET sections = ?, ai_decision = 'rejected', reject_reason = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`)
          .run(JSON.stringify(sections), reason.trim(), actor.userId, now(), r.id);
        auditRow(actor, 'report.rejectAi', r.id, 'success');
        return toReport(reportRow(r.id), actor.role);
      });
    },

    markPreliminary(reportId, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('markPreliminary', r.status, actor, r.id);
        const at = now();
        db().prepare(`UPDATE reports SET status = 'preliminary', preliminary_by = ?, preliminary_at = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`).run(actor.userId, at, actor.userId, at, r.id);
        auditRow(actor, 'report.markPreliminary', r.id, 'success', { from: r.status, to: 'preliminary' });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    async sign(reportId, baseRevision, actor) {
      const r = reportRow(reportId);
      check('sign', r.status, actor, r.id);
      if (baseRevision !== r.revision) {
        throw new WorkstationError('CONFLICT', 'The report changed since you last saw it; review the latest text and sign again.', { details: { revision: r.revision } });
      }
      const sections = sectionsOf(r);
      const unreviewed = REPORT_SECTIONS.filter((k) => sections[k].origin === 'ai');
      if (unreviewed.length) {
        throw new WorkstationError('CONFLICT', 'The report still contains AI text you have not reviewed. Accept the AI finding, edit the text or reject the finding before signing.', { details: { sections: unreviewed } });
      }
      if (!sections.impression.text.trim()) throw new WorkstationError('INVALID_INPUT', 'Write an impression before signing.', { details: { fields: ['impression'] } });
      const study = studyRow(r.study_id);
      const signedAt = now();
      const signedByName = displayName(actor.userId, actor.username);
      const aiDecision = r.ai_decision === 'pending' ? 'accepted' : r.ai_decision;
      const status: ReportStatus = aiDecision === 'rejected' ? 'rejected' : 'final';
      const srUid = newUid();
      const pdfUid = newUid();
      const over: Partial<ReportRow> = { status, ai_decision: aiDecision, signed_by: actor.userId, signed_by_name: signedByName, signed_at: signedAt, sr_sop_uid: srUid, pdf_sop_uid: pdfUid };
      const hash = contentHash(signedContentOf(r, study, over));
      const signedRow: ReportRow = { ...r, ...over, content_hash: hash } as ReportRow;
      const report = toReport(signedRow, actor.role);
      // The PDF and SR are made before the transaction (pdf-lib is async); the transaction then
      // checks nothing changed meanwhile and commits the signature, the hash and the outbox rows.
      const objects = await buildSignedObjects(report, study, signedRow, pdfUid, srUid, 1);
      // The AI's tumor mask goes with them as a SEG, unless the radiologist rejected the finding.
      // A SEG that is due but cannot be made refuses the signature (nothing is written).
      let seg: { bytes: Buffer; sopInstanceUid: string } | null = null;
      try {
        if (queueForSync && ai && images && aiDecision !== 'rejected' && report.aiFinding) {
          seg = buildReportSeg({ ai, images, studyId: r.study_id, finding: report.aiFinding, study: dicomStudy(study), seriesInstanceUid: uidFor(`report-seg-series:${r.id}`) });
        }
      } catch (err) {
        auditRefusal(() => auditRow(actor, 'report.sign', r.id, 'failure', { step: 'seg', code: err instanceof WorkstationError ? err.code : 'INTERNAL' }));
        logger?.warn('reports.seg-failed', { reportId: r.id, err });
        throw err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', 'The AI tumor segmentation (DICOM SEG) could not be made; the report was not signed.', { cause: err });
      }
      return tx(() => {
        const again = reportRow(reportId);
        if (again.revision !== r.revision || again.status !== r.status) {
          throw new WorkstationError('CONFLICT', 'The report changed while it was being signed; review the latest text and sign again.');
        }
        db()
          .prepare(
            `UPDATE reports SET status = ?, ai_decision = ?, signed_by = ?, signed_by_name = ?, signed_at = ?, content_hash = ?, sr_sop_uid = ?, pdf_sop_uid = ?, revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?`,
          )
          .run(status, aiDecision, actor.userId, signedByName, signedAt, hash, srUid, pdfUid, actor.userId, signedAt, r.id);
        if (queueForSync) {
          enqueueOutbox(db(), { kind: 'pdf', content: objects.encapsulatedPdf, label: 'Signed report (PDF)' });
          enqueueOutbox(db(), { kind: 'sr', content: objects.sr, label: 'Report SR (TID 1500)' });
          if (seg) enqueueOutbox(db(), { kind: 'seg', content: seg.bytes, label: 'AI tumor segmentation (SEG)' });
        }
        auditRow(actor, 'report.sign', r.id, 'success', { status, hash, srSopInstanceUid: srUid, pdfSopInstanceUid: pdfUid, segSopInstanceUid: seg?.sopInstanceUid ?? null, queued: queueForSync });
        logger?.info('reports.signed', { reportId: r.id, status });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    async addAddendum(reportId, text, actor) {
      const r = reportRow(reportId);
      check('addAddendum', r.status, actor, r.id);
      const body = text.trim();
      if (!body) throw new WorkstationError('INVALID_INPUT', 'An addendum needs some text.');
      const study = studyRow(r.study_id);
      const seq = addendumRows(r.id).length + 1;
      const signedAt = now();
      const signedByName = displayName(actor.userId, actor.username);
      const hash = contentHash(addendumContent({ reportId: r.id, reportHash: r.content_hash ?? '', seq, text: body, signedBy: actor.userId, signedByName, signedAt }));
      const id = crypto.randomUUID();
      const pdfUid = newUid();
      const report = toReport(r, actor.role);
      report.addenda.push({ id, seq, text: body, signedByName, signedAt, contentHash: hash });
      // The amended report goes to the hospital server as a new Encapsulated PDF in the same series.
      const pdf = await pdfFor(report);
      const encapsulated = buildEncapsulatedPdf({ study: dicomStudy(study), pdf, title: `${pdfTitle} - addendum ${seq}`, contentAt: signedAt, sopInstanceUid: pdfUid, seriesInstanceUid: uidFor(`report-pdf-series:${r.id}`), instanceNumber: seq + 1 });
      return tx(() => {
        if (addendumRows(r.id).length + 1 !== seq) throw new WorkstationError('CONFLICT', 'Another addendum was added at the same moment; reload the report and add yours again.');
        db()
          .prepare('INSERT INTO report_addenda (id, report_id, seq, text, signed_by, signed_by_name, signed_at, content_hash, pdf_sop_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, r.id, seq, body, actor.userId, signedByName, signedAt, hash, pdfUid);
        if (queueForSync) enqueueOutbox(db(), { kind: 'pdf', content: encapsulated, label: `Report addendum ${seq} (PDF)` });
        auditRow(actor, 'report.addAddendum', r.id, 'success', { seq, hash });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    addKeyImage({ reportId, png, caption, instanceId }, actor) {
      let width = 0;
      let height = 0;
      try {
        const header = PNG.sync.read(png);
        width = header.width;
        height = header.height;
      } catch (err) {
        throw new WorkstationError('INVALID_INPUT', 'The key image is not a valid PNG image; capture it again from the viewer.', { cause: err });
      }
      if (width * height > MAX_KEY_IMAGE_PIXELS) throw new WorkstationError('INVALID_INPUT', 'The key image is too large (at most 4096 x 4096 pixels).');
      return tx(() => {
        const r = reportRow(reportId);
        check('addKeyImage', r.status, actor, r.id);
        const count = (db().prepare('SELECT count(*) AS n, coalesce(max(seq), 0) AS m FROM report_key_images WHERE report_id = ?').get(r.id) as { n: number; m: number });
        if (count.n >= MAX_KEY_IMAGES) throw new WorkstationError('CONFLICT', `A report holds at most ${MAX_KEY_IMAGES} key images; remove one first.`);
        const id = crypto.randomUUID();
        db()
          .prepare('INSERT INTO report_key_images (id, report_id, seq, caption, instance_id, png, sha256, width, height, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, r.id, count.m + 1, caption.slice(0, 200), instanceId ?? null, png, sha256Hex(png), width, height, actor.userId, now());
        db().prepare('UPDATE reports SET revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?').run(actor.userId, now(), r.id);
        auditRow(actor, 'report.addKeyImage', r.id, 'success', { keyImageId: id, bytes: png.length });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    removeKeyImage(reportId, keyImageId, actor) {
      return tx(() => {
        const r = reportRow(reportId);
        check('addKeyImage', r.status, actor, r.id);
        const info = db().prepare('DELETE FROM report_key_images WHERE id = ? AND report_id = ?').run(keyImageId, r.id);
        if (!info.changes) throw new WorkstationError('NOT_FOUND', 'There is no such key image in this report.');
        db().prepare('UPDATE reports SET revision = revision + 1, updated_by = ?, updated_at = ? WHERE id = ?').run(actor.userId, now(), r.id);
        auditRow(actor, 'report.removeKeyImage', r.id, 'success', { keyImageId });
        return toReport(reportRow(r.id), actor.role);
      });
    },

    keyImagePng(reportId, keyImageId) {
      const row = db().prepare('SELECT png FROM report_key_images WHERE id = ? AND report_id = ?').get(keyImageId, reportId) as { png: Buffer } | undefined;
      if (!row) throw new WorkstationError('NOT_FOUND', 'There is no such key image in this report.');
      return row.png;
    },

    history,

    verify(reportId) {
      const r = reportRow(reportId);
      if (!isSigned(r.status)) {
        return { reportId, ok: false, signed: false, storedHash: null, computedHash: null, addenda: [], message: `The report is ${r.status}, not signed: there is no content hash to verify.` };
      }
      const study = studyRow(r.study_id);
      const computed = contentHash(signedContentOf(r, study));
      const addenda = addendumRows(r.id).map((a) => ({
        seq: a.seq,
        ok: contentHash(addendumContent({ reportId: r.id, reportHash: r.content_hash ?? '', seq: a.seq, text: a.text, signedBy: a.signed_by, signedByName: a.signed_by_name, signedAt: a.signed_at })) === a.content_hash,
      }));
      const mainOk = computed === r.content_hash;
      const ok = mainOk && addenda.every((a) => a.ok);
      const badAddenda = addenda.filter((a) => !a.ok).map((a) => a.seq);
      const message = ok
        ? `The signed content matches its hash${addenda.length ? `, and so do its ${addenda.length} addend${addenda.length === 1 ? 'um' : 'a'}` : ''}.`
        : [mainOk ? null : 'The signed report was changed after signing: its content no longer matches the stored hash.', badAddenda.length ? `Addend${badAddenda.length === 1 ? 'um' : 'a'} ${badAddenda.join(', ')} changed after signing.` : null].filter(Boolean).join(' ');
      return { reportId, ok, signed: true, storedHash: r.content_hash, computedHash: computed, addenda, message };
    },

    async exportPdf(reportId, actor) {
      const r = reportRow(reportId);
      if (!isSigned(r.status)) throw new WorkstationError('CONFLICT', 'Only a signed report can be exported as PDF. Sign it first.');
      const v = service.verify(reportId);
      if (!v.ok) throw new WorkstationError('CONFLICT', `The report was not exported: ${v.message}`);
      const report = toReport(r, actor.role);
      const pdf = await pdfFor(report);
      auditRow(actor, 'report.exportPdf', r.id, 'success', { bytes: pdf.length });
      return { fileName: `report-${formatDicomDate(report.study.studyDate)}-${r.id.slice(0, 8)}.pdf`, pdf, sha256: sha256Hex(pdf) };
    },

    async dicomObjects(reportId, actor) {
      const r = reportRow(reportId);
      const study = studyRow(r.study_id);
      const report = toReport(r, actor.role);
      if (isSigned(r.status)) {
        const o = await buildSignedObjects(report, study, r, r.pdf_sop_uid ?? newUid(), r.sr_sop_uid ?? newUid(), 1);
        auditRow(actor, 'report.exportDicom', r.id, 'success');
        return { sr: o.sr, encapsulatedPdf: o.encapsulatedPdf };
      }
      const sr = buildReportSr({
        study: dicomStudy(study),
        finding: report.aiFinding,
        keyImage: evidenceImage(report.aiFinding),
        impression: report.sections.impression.text,
        verifiedBy: null,
        contentAt: now(),
        sopInstanceUid: newUid(),
        seriesInstanceUid: uidFor(`report-sr-series:${r.id}`),
        deviceUid: uidFor(`model:${report.aiFinding?.modelId ?? 'none'}:${report.aiFinding?.modelVersion ?? ''}`),
      });
      auditRow(actor, 'report.exportDicom', r.id, 'success', { verified: false });
      return { sr, encapsulatedPdf: null };
    },

    patientSummaries(actor, reportId) {
      const params: unknown[] = [];
      let sql = `SELECT * FROM reports WHERE status IN ('final', 'rejected')`;
      if (actor.role === 'patient') {
        if (!actor.patientId) return [];
        sql += ' AND patient_id = ?';
        params.push(actor.patientId);
      } else if (actor.role !== 'radiologist') {
        throw new WorkstationError('FORBIDDEN', 'Only the patient and their radiologists can read report summaries.');
      }
      if (reportId) {
        sql += ' AND id = ?';
        params.push(reportId);
      }
      const rows = db().prepare(`${sql} ORDER BY signed_at DESC LIMIT 100`).all(...params) as ReportRow[];
      // A patient asking for someone else's report learns nothing about whether it exists.
      if (reportId && !rows.length) throw new WorkstationError('NOT_FOUND', 'There is no signed report with this id for you.');
      for (const r of rows) auditRow(actor, 'report.patientSummary', r.id, 'success');
      return rows.map((r) => patientSummary(toReport(r, actor.role)));
    },
  };

  async function buildSignedObjects(report: Report, study: StudyRow, row: ReportRow, pdfUid: string, srUid: string, instanceNumber: number): Promise<SignedObjects> {
    const pdf = await pdfFor(report);
    const encapsulatedPdf = buildEncapsulatedPdf({
      study: dicomStudy(study),
      pdf,
      title: pdfTitle,
      contentAt: row.signed_at!,
      sopInstanceUid: pdfUid,
      seriesInstanceUid: uidFor(`report-pdf-series:${row.id}`),
      instanceNumber,
    });
    const sr = buildReportSr({
      study: dicomStudy(study),
      finding: report.aiDecision === 'rejected' ? null : report.aiFinding,
      keyImage: evidenceImage(report.aiFinding),
      impression: report.sections.impression.text,
      verifiedBy: { name: row.signed_by_name!, at: row.signed_at!, organization: institution },
      contentAt: row.signed_at!,
      sopInstanceUid: srUid,
      seriesInstanceUid: uidFor(`report-sr-series:${row.id}`),
      deviceUid: uidFor(`model:${report.aiFinding?.modelId ?? 'none'}:${report.aiFinding?.modelVersion ?? ''}`),
    });
    return { pdf, encapsulatedPdf, sr };
  }

  return service;
}
