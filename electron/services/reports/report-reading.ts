// Reading reports: the dashboard, report status per study, one report, the patient's history,
// verification of signed content, key image bytes and the patients' plain-language summaries.
import {
  WorkstationError,
  type AiStudyStatus,
  type DashboardFilter,
  type HistoryPoint,
  type ReportAiFinding,
  type ReportSections,
  type ReportStatus,
  type StudyReportStatus,
} from '../../contract';
import { contentHash } from './canonical';
import { patientSummary } from './patient-summary';
import { isSigned, type ReportContext, type ReportRow } from './report-rows';
import { addendumContent } from './signed-content';
import { changeSentence } from './template';
import type { ReportListRow, ReportsService } from './report-service';

export type ReportReading = Pick<ReportsService, 'dashboard' | 'statusForStudies' | 'list' | 'get' | 'history' | 'verify' | 'keyImagePng' | 'patientSummaries'>;

export function createReportReading(ctx: ReportContext): ReportReading {
  const { db, ai, logger, studyRow, reportRow, addendumRows, toReport, auditRow } = ctx;

  const history: ReportReading['history'] = (studyId) => {
    const current = studyRow(studyId);
    const studies = ctx.studiesOfPatient(current.patient_id);
    const points: HistoryPoint[] = studies.map((s) => {
      const rep = db().prepare('SELECT id, status, sections, ai_finding FROM reports WHERE study_id = ?').get(s.id) as Pick<ReportRow, 'id' | 'status' | 'sections' | 'ai_finding'> | undefined;
      // A report keeps the finding it was made from; a study without one asks the AI results.
      const finding = rep?.ai_finding ? (JSON.parse(rep.ai_finding) as ReportAiFinding) : ctx.measurementOf(s.id).finding;
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

  return {
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

    list({ status, patient, dateFrom, dateTo, limit }) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (status === 'pending') where.push(`(r.id IS NULL OR r.status IN ('draft', 'preliminary'))`);
      else if (status === 'signed') where.push(`r.status IN ('final', 'rejected')`);
      else if (status === 'none') where.push('r.id IS NULL');
      else if (status) {
        where.push('r.status = ?');
        params.push(status);
      }
      if (patient?.trim()) {
        // LIKE's wildcards in the query are taken literally.
        const q = patient.trim().toLowerCase();
        where.push(`(lower(p.dicom_patient_id) = ? OR lower(p.display_name) LIKE ? ESCAPE '\\')`);
        params.push(q, `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      }
      if (dateFrom) {
        where.push('s.study_date >= ?');
        params.push(dateFrom);
      }
      if (dateTo) {
        where.push('s.study_date <= ?');
        params.push(dateTo);
      }
      const rows = db()
        .prepare(
          `SELECT r.id AS report_id, s.id AS study_id, coalesce(r.status, 'none') AS status, p.display_name, p.dicom_patient_id, s.study_date, s.description, r.signed_by_name, r.signed_at,
                  (SELECT count(*) FROM report_addenda a WHERE a.report_id = r.id) AS addenda
           FROM studies s JOIN patients p ON p.id = s.patient_id LEFT JOIN reports r ON r.study_id = s.id
           ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY coalesce(s.study_date, '') DESC, s.imported_at DESC LIMIT ?`,
        )
        .all(...params, limit) as { report_id: string | null; study_id: string; status: StudyReportStatus; display_name: string; dicom_patient_id: string | null; study_date: string | null; description: string | null; signed_by_name: string | null; signed_at: string | null; addenda: number }[];
      return rows.map(
        (r): ReportListRow => ({
          reportId: r.report_id,
          studyId: r.study_id,
          status: r.status,
          patientName: r.display_name,
          patientDicomId: r.dicom_patient_id,
          studyDate: r.study_date,
          description: r.description,
          signedByName: r.signed_by_name,
          signedAt: r.signed_at,
          addenda: r.addenda,
        }),
      );
    },

    get(reportId, actor) {
      return toReport(reportRow(reportId), actor.role);
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
      const computed = contentHash(ctx.signedContentOf(r, study));
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
}
