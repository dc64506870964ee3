// Exports of a report: the PDF, and the DICOM objects the signature queues for the hospital
// server and `report export` writes: the Comprehensive SR (one version per signed addendum), the
// Encapsulated PDF, and the SEG of the AI's tumor mask.
import { WorkstationError, type Report } from '../../contract';
import { newUid, uidFor } from '../dicom-objects';
import { labelText } from './ai-finding';
import { sha256Hex } from './canonical';
import { buildEncapsulatedPdf } from './dicom/encapsulated-pdf';
import { buildReportSeg } from './dicom/report-seg';
import { buildReportSr, type SrSegmentRef } from './dicom/sr';
import { renderReportPdf } from './pdf';
import { measurementSnapshot, srMeasurements, type ReportMeasurement } from './report-measurements';
import { isSigned, type AddendumRow, type ReportContext, type ReportRow, type SignedContext, type StudyRow } from './report-rows';
import type { ReportsService } from './report-service';
import { formatDicomDate } from './template';

export const PDF_TITLE = 'Brain MRI report';

/** The measurements and tracking a signed report's row keeps for its PDF (null: signed before they were kept). */
export function signedContextOf(row: Pick<ReportRow, 'signed_context'>): SignedContext | null {
  if (!row.signed_context) return null;
  try {
    return JSON.parse(row.signed_context) as SignedContext;
  } catch {
    return null;
  }
}

export interface ReportSeg {
  bytes: Buffer;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  sourceSeriesInstanceUid: string;
}

/** One SR version of a signed report: the signature (version 1) or the signature and addenda 1..n. */
export interface SrVersion {
  sopInstanceUid: string;
  instanceNumber: number;
  addenda: Pick<AddendumRow, 'seq' | 'text' | 'signed_by' | 'signed_by_name' | 'signed_at'>[];
  predecessor: string | null;
  contentAt: string;
}

export interface ReportExports extends Pick<ReportsService, 'exportPdf' | 'dicomObjects'> {
  pdfFor(report: Report, context: SignedContext | null): Promise<Buffer>;
  encapsulated(report: Report, study: StudyRow, pdf: Buffer, o: { title: string; contentAt: string; sopInstanceUid: string; instanceNumber: number }): Buffer;
  /** The SEG of the report's AI mask; null when none is due. Throws a WorkstationError when one is due but cannot be made. */
  segFor(report: Report, study: StudyRow): ReportSeg | null;
  /** The SR of a signed report (a version), or of a draft (UNVERIFIED) when `version` is null. */
  srFor(report: Report, study: StudyRow, row: ReportRow, version: SrVersion | null, o: { segment: ReportSeg | null; measurements: readonly ReportMeasurement[] }): Buffer;
}

export function createReportExports(ctx: ReportContext, verify: ReportsService['verify']): ReportExports {
  const { db, ai, images, logger, reportRow, studyRow, toReport, dicomStudy, evidenceImage, auditRow, addendumRows } = ctx;

  const keyImagesWithPng = (reportId: string): { caption: string; png: Buffer }[] =>
    (db().prepare('SELECT caption, png FROM report_key_images WHERE report_id = ? ORDER BY seq').all(reportId) as { caption: string; png: Buffer }[]).map((k) => ({ caption: k.caption, png: k.png }));

  const pdfFor = async (report: Report, context: SignedContext | null): Promise<Buffer> =>
    renderReportPdf({ report, keyImages: keyImagesWithPng(report.id), institution: ctx.institution() ?? 'TumorPredict Workstation', context });

  const usernameOf = (userId: string): string => (db().prepare('SELECT username FROM users WHERE id = ?').get(userId) as { username: string } | undefined)?.username ?? userId;

  const encapsulated: ReportExports['encapsulated'] = (report, study, pdf, o) =>
    buildEncapsulatedPdf({ study: dicomStudy(study), pdf, title: o.title, contentAt: o.contentAt, sopInstanceUid: o.sopInstanceUid, seriesInstanceUid: uidFor(`report-pdf-series:${report.id}`), instanceNumber: o.instanceNumber, institutionName: ctx.institution() });

  const segFor: ReportExports['segFor'] = (report, study) => {
    if (!ai || !images || report.aiDecision === 'rejected' || !report.aiFinding) return null;
    const seriesInstanceUid = uidFor(`report-seg-series:${report.id}`);
    // One SEG per report, whenever it is made: the SR versions all reference the same instance.
    const seg = buildReportSeg({ ai, images, studyId: report.studyId, finding: report.aiFinding, study: dicomStudy(study), seriesInstanceUid, sopInstanceUid: uidFor(`report-seg:${report.id}`), institutionName: ctx.institution() ?? undefined });
    return seg ? { bytes: seg.bytes, sopInstanceUid: seg.sopInstanceUid, seriesInstanceUid, sourceSeriesInstanceUid: seg.sourceSeriesInstanceUid } : null;
  };

  const aiDecisionText = (report: Report): string | null => {
    const f = report.aiFinding;
    if (!f || report.aiDecision === 'none') return null;
    const what = `${labelText(f.label)} (calibrated probability ${f.probability.toFixed(3)}, model ${f.modelId} ${f.modelVersion})`;
    if (report.aiDecision === 'rejected') return `AI finding rejected by the radiologist: ${what}. Reason: ${report.rejectReason ?? 'none given'}.`;
    if (report.aiDecision === 'accepted') return `AI finding accepted by the radiologist: ${what}.`;
    return `AI finding not yet reviewed: ${what}.`;
  };

  const srFor: ReportExports['srFor'] = (report, study, row, version, o) => {
    const institution = ctx.institution();
    const organization = institution ?? 'Organization not configured (Administration > Settings > Hospital name)';
    const { measurements, missing } = srMeasurements(db(), o.measurements);
    if (missing) logger?.warn('reports.sr-measurements-missing', { reportId: report.id, missing });
    const segment: SrSegmentRef | null = o.segment ? { sopInstanceUid: o.segment.sopInstanceUid, seriesInstanceUid: o.segment.seriesInstanceUid, segmentNumber: 1, sourceSeriesInstanceUid: o.segment.sourceSeriesInstanceUid } : null;
    // The signer, then each addendum's signer: every person who verified this version's content.
    const verifiers = version
      ? [
          { name: row.signed_by_name!, id: usernameOf(row.signed_by!), at: row.signed_at!, organization },
          ...version.addenda.map((a) => ({ name: a.signed_by_name, id: usernameOf(a.signed_by), at: a.signed_at, organization })),
        ]
      : [];
    const seriesInstanceUid = uidFor(`report-sr-series:${report.id}`);
    return buildReportSr({
      study: dicomStudy(study),
      finding: report.aiDecision === 'rejected' ? null : report.aiFinding,
      keyImage: report.aiDecision === 'rejected' ? null : evidenceImage(report.aiFinding),
      segment,
      sections: {
        clinicalInformation: report.sections.clinicalInformation.text,
        technique: report.sections.technique.text,
        findings: report.sections.findings.text,
        impression: report.sections.impression.text,
        recommendation: report.sections.recommendation.text,
      },
      addenda: version?.addenda.map((a) => ({ seq: a.seq, text: a.text, signedByName: a.signed_by_name, signedAt: a.signed_at })) ?? [],
      measurements,
      aiDecisionText: aiDecisionText(report),
      verifiers,
      institutionName: institution,
      contentAt: version?.contentAt ?? ctx.now(),
      sopInstanceUid: version?.sopInstanceUid ?? newUid(),
      seriesInstanceUid,
      instanceNumber: version?.instanceNumber ?? 1,
      deviceUid: uidFor(`model:${report.aiFinding?.modelId ?? 'none'}:${report.aiFinding?.modelVersion ?? ''}`),
      predecessor: version?.predecessor ? { sopInstanceUid: version.predecessor, seriesInstanceUid } : null,
    });
  };

  /** The newest SR version of a signed report: the signature's, or its last addendum's. */
  const latestVersion = (row: ReportRow): SrVersion => {
    const addenda = addendumRows(row.id);
    const uids = [row.sr_sop_uid ?? newUid(), ...addenda.map((a) => a.sr_sop_uid ?? uidFor(`report-sr:${row.id}:${a.seq}`))];
    const last = addenda.at(-1);
    return { sopInstanceUid: uids.at(-1)!, instanceNumber: uids.length, addenda, predecessor: uids.length > 1 ? uids.at(-2)! : null, contentAt: last?.signed_at ?? row.signed_at! };
  };

  const measurementsOf = (row: ReportRow): ReportMeasurement[] =>
    isSigned(row.status) ? (row.signed_measurements ? (JSON.parse(row.signed_measurements) as ReportMeasurement[]) : []) : measurementSnapshot(ctx.measurements?.forStudy(row.study_id) ?? []);

  return {
    pdfFor,
    encapsulated,
    segFor,
    srFor,

    async exportPdf(reportId, actor) {
      const r = reportRow(reportId);
      if (!isSigned(r.status)) throw new WorkstationError('CONFLICT', 'Only a signed report can be exported as PDF. Sign it first.');
      const v = verify(reportId);
      if (!v.ok) throw new WorkstationError('CONFLICT', `The report was not exported: ${v.message}`);
      const report = toReport(r, actor.role);
      const pdf = await pdfFor(report, signedContextOf(r));
      auditRow(actor, 'report.exportPdf', r.id, 'success', { bytes: pdf.length });
      return { fileName: `report-${formatDicomDate(report.study.studyDate)}-${r.id.slice(0, 8)}.pdf`, pdf, sha256: sha256Hex(pdf) };
    },

    async dicomObjects(reportId, actor) {
      const r = reportRow(reportId);
      const study = studyRow(r.study_id);
      const report = toReport(r, actor.role);
      // The SEG is made again from the stored masks (the same SOP Instance UID as the one sent);
      // an export does not fail because the AI result has moved on: it then has no SEG.
      let seg: ReportSeg | null = null;
      try {
        seg = segFor(report, study);
      } catch (err) {
        logger?.warn('reports.export-seg-failed', { reportId: r.id, err });
      }
      const measurements = measurementsOf(r);
      if (isSigned(r.status)) {
        const version = latestVersion(r);
        const pdf = await pdfFor(report, signedContextOf(r));
        const lastAddendum = version.addenda.at(-1) as (AddendumRow | undefined);
        const encapsulatedPdf = encapsulated(report, study, pdf, {
          title: lastAddendum ? `${PDF_TITLE} - addendum ${lastAddendum.seq}` : PDF_TITLE,
          contentAt: version.contentAt,
          sopInstanceUid: lastAddendum?.pdf_sop_uid ?? r.pdf_sop_uid ?? newUid(),
          instanceNumber: version.instanceNumber,
        });
        const sr = srFor(report, study, r, version, { segment: seg, measurements });
        auditRow(actor, 'report.exportDicom', r.id, 'success', { version: version.instanceNumber, seg: !!seg });
        return { sr, encapsulatedPdf, seg: seg?.bytes ?? null };
      }
      const sr = srFor(report, study, r, null, { segment: seg, measurements });
      auditRow(actor, 'report.exportDicom', r.id, 'success', { verified: false, seg: !!seg });
      return { sr, encapsulatedPdf: null, seg: seg?.bytes ?? null };
    },
  };
}
