// The reports service's shared context: the database rows of reports, their studies, key images
// and addenda, how they map to the contract's Report, and the audit and transaction helpers that
// reading, the life cycle and the exports all use.
import {
  WorkstationError,
  type AiStudyStatus,
  type KeyImage,
  type ModelClaims,
  type Report,
  type ReportAiFinding,
  type ReportSections,
  type ReportStatus,
  type Role,
  type Tracking,
} from '../../contract';
import type { AuditEntry } from '../audit';
import type { Logger } from '../log';
import type { Db } from '../store';
import { aiFindingFor, type AiSource } from './ai-finding';
import { allowedActions, requireTransition, type LifecycleState, type ReportAction } from './lifecycle';
import { signedContent } from './signed-content';
import type { DicomStudyInfo, EvidenceImage } from './dicom/study-info';
import type { StudyImages } from './dicom/report-seg';
import type { ReportMeasurementSource } from './report-measurements';

export interface Actor {
  userId: string;
  username: string;
  role: Role;
  patientId: string | null;
}

/** The signer's password (and TOTP code when enrolled), asked again for every signature. */
export interface SignatureCredentials {
  password: string;
  totpCode?: string | undefined;
}

/** Who confirmed their identity for a signature, how and when (auth.confirmIdentity's answer). */
export interface SignerConfirmation {
  userId: string;
  displayName: string;
  method: string;
  at: string;
}

/**
 * The identity check of an electronic signature: the auth service's confirmIdentity (it counts a
 * wrong password or code toward the account's lockout and writes its own audit row).
 */
export interface SignerIdentity {
  confirmIdentity(session: Actor, input: SignatureCredentials): Promise<SignerConfirmation>;
}

/** A report signed (addendum absent) or amended with its addendum number `addendum`. */
export interface SignedEvent {
  reportId: string;
  studyId: string;
  patientId: string;
  addendum?: number;
}

export interface ReportsServiceOptions {
  db: () => Db;
  /** Confirms the signer's identity for each signature and addendum (there is no signing without it). */
  identity: SignerIdentity;
  audit: { append(entry: AuditEntry): unknown };
  /** The stored AI results (null: drafts start without AI text). */
  ai: (AiSource & { statuses(studyIds: readonly string[]): AiStudyStatus[] }) | null;
  logger?: Logger | undefined;
  /** The hospital: printed on the PDF and named as the verifying organization in the SR (a setting, read when used). */
  institution?: string | (() => string | null);
  /** The radiologist's stored measurements (drafts list them; the PDF and the SR carry them); null: none. */
  measurements?: ReportMeasurementSource | null;
  /** An installed model's card claims (headline figure, validated sequences), stated with the finding. */
  modelClaims?: ((modelId: string) => ModelClaims | null) | null;
  /** Longitudinal tumor tracking (drafts state the change; the PDF shows it, as at signing). */
  tracking?: { patient(studyId: string): Tracking } | null;
  /** Whether signing also queues the study's source series (the sync setting; absent: never). */
  sourceImages?: { shouldSend(studyInstanceUid: string): boolean } | null;
  /**
   * After a report is signed, or a signed one gets an addendum (`addendum`: its number)
   * (notifications hook, wired in compose.ts); must not throw.
   */
  onSigned?: (e: SignedEvent) => void;
  /** Queue the signed report's DICOM objects for the hospital server (default: on). */
  queueForSync?: boolean;
  /** The DICOM index's series and instances, for the SEG of the AI mask (null: no SEG is queued). */
  images?: StudyImages | null;
}

/** Kept with a report at signing: what its PDF shows beside the text, as it stood then. */
export interface SignedContext {
  at: string;
  measurements: { text: string; where: string }[];
  tracking: Tracking | null;
}

export interface ReportRow {
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
  /** JSON of the measurements signed with the report (null before signing, or none): the SR's groups. */
  signed_measurements: string | null;
  /** JSON SignedContext: the measurements and tracking the PDF shows, as at signing (migration 0016). */
  signed_context?: string | null;
}

export interface StudyRow {
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

export interface KeyImageRow {
  id: string;
  seq: number;
  caption: string;
  instance_id: string | null;
  sha256: string;
  width: number;
  height: number;
  created_at: string;
}

export interface AddendumRow {
  id: string;
  report_id: string;
  seq: number;
  text: string;
  signed_by: string;
  signed_by_name: string;
  signed_at: string;
  content_hash: string;
  pdf_sop_uid: string | null;
  sr_sop_uid: string | null;
}

const SIGNED_STATES: readonly ReportStatus[] = ['final', 'rejected'];
export const isSigned = (s: ReportStatus): boolean => SIGNED_STATES.includes(s);

const STUDY_COLUMNS = `s.id, s.patient_id, s.study_instance_uid, s.study_date, s.study_time, s.accession_number, s.description, s.referring_physician, s.modalities, s.series_count, s.imported_at,
                p.display_name, p.dicom_patient_id, p.birth_date, p.sex`;

/** What the three parts of the reports service share: the options, row readers and helpers. */
export interface ReportContext {
  db: () => Db;
  ai: ReportsServiceOptions['ai'];
  logger: Logger | undefined;
  images: StudyImages | null;
  identity: SignerIdentity;
  /** The hospital's name, or null when the admin has not set it. */
  institution(): string | null;
  measurements: ReportMeasurementSource | null;
  tracking: { patient(studyId: string): Tracking } | null;
  /** The measurements and tracking of a study now, for a draft's text or a signature's context (empty when they fail). */
  contextOf(studyId: string): SignedContext;
  queueForSync: boolean;
  sourceImages: { shouldSend(studyInstanceUid: string): boolean } | null;
  now(): string;
  studyRow(studyId: string): StudyRow;
  reportRow(reportId: string): ReportRow;
  keyImageRows(reportId: string): KeyImageRow[];
  addendumRows(reportId: string): AddendumRow[];
  displayName(userId: string, fallback: string): string;
  toReport(r: ReportRow, role: Role): Report;
  dicomStudy(s: StudyRow): DicomStudyInfo;
  evidenceImage(finding: ReportAiFinding | null): EvidenceImage | null;
  sectionsOf(r: ReportRow): ReportSections;
  /** The AI finding of a study from the stored results (null when there is none or it fails). */
  measurementOf(studyId: string): { finding: ReportAiFinding | null };
  studiesOfPatient(patientId: string): StudyRow[];
  /** The content a signature's hash covers, from a row (with fields overridden before the UPDATE). */
  signedContentOf(r: ReportRow, s: StudyRow, over?: Partial<ReportRow>): unknown;
  auditRow(actor: Actor, action: string, reportId: string, outcome: AuditEntry['outcome'], detail?: AuditEntry['detail']): void;
  /** Writes an audit row that must not mask the error being thrown (a failure is logged). */
  auditRefusal(write: () => void): void;
  /** Checks the life-cycle table; a refusal is itself an audit row. */
  check(action: ReportAction, state: LifecycleState, actor: Actor, objectId: string): void;
  /** Runs fn in an IMMEDIATE transaction (the write lock first, so checks and writes see one state). */
  tx<T>(fn: () => T): T;
  /** Tells the onSigned hook (after the signing or addendum transaction committed); never throws. */
  notifySigned(e: SignedEvent): void;
}

export function createReportContext(options: ReportsServiceOptions): ReportContext {
  const { db, audit, ai, logger } = options;
  const now = (): string => new Date().toISOString();

  const studyRow = (studyId: string): StudyRow => {
    const r = db()
      .prepare(`SELECT ${STUDY_COLUMNS} FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.id = ?`)
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

  const auditRow: ReportContext['auditRow'] = (actor, action, reportId, outcome, detail) => {
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

  const check: ReportContext['check'] = (action, state, actor, objectId) => {
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

  const measurementOf = (studyId: string): { finding: ReportAiFinding | null } => {
    try {
      const images = options.images ?? null;
      return {
        finding: aiFindingFor(ai, db(), studyId, {
          modelClaims: options.modelClaims ?? undefined,
          sequenceOf: images ? (seriesId) => images.study(studyId).series.find((x) => x.seriesId === seriesId)?.sequence ?? null : undefined,
        }),
      };
    } catch (err) {
      logger?.warn('reports.ai-finding-failed', { studyId, err });
      return { finding: null };
    }
  };
  const studiesOfPatient = (patientId: string): StudyRow[] =>
    db()
      .prepare(
        `SELECT ${STUDY_COLUMNS}
         FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.patient_id = ?
         ORDER BY coalesce(s.study_date, '') , coalesce(s.study_time, ''), s.imported_at`,
      )
      .all(patientId) as StudyRow[];

  const contextOf = (studyId: string): SignedContext => {
    let measurements: SignedContext['measurements'] = [];
    let tracking: Tracking | null = null;
    try {
      measurements = (options.measurements?.forStudy(studyId) ?? []).map((m) => ({ text: m.text, where: m.where ?? '' }));
    } catch (err) {
      logger?.warn('reports.measurements-failed', { studyId, err });
    }
    try {
      tracking = options.tracking?.patient(studyId) ?? null;
    } catch (err) {
      logger?.warn('reports.tracking-failed', { studyId, err });
    }
    return { at: now(), measurements, tracking };
  };

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
      measurements: m.signed_measurements ? (JSON.parse(m.signed_measurements) as unknown[]) : null,
    });
  };

  return {
    db,
    ai,
    logger,
    images: options.images ?? null,
    identity: options.identity,
    institution: () => {
      const v = typeof options.institution === 'function' ? options.institution() : options.institution;
      return v?.trim() ? v.trim() : null;
    },
    measurements: options.measurements ?? null,
    tracking: options.tracking ?? null,
    contextOf,
    queueForSync: options.queueForSync ?? true,
    sourceImages: options.sourceImages ?? null,
    now,
    studyRow,
    reportRow,
    keyImageRows,
    addendumRows,
    displayName,
    toReport,
    dicomStudy,
    evidenceImage,
    sectionsOf,
    measurementOf,
    studiesOfPatient,
    signedContentOf,
    auditRow,
    auditRefusal,
    check,
    tx,
    notifySigned(e) {
      try {
        options.onSigned?.(e);
      } catch (err) {
        logger?.warn('reports.on-signed-failed', { err });
      }
    },
  };
}
