// Exports of a report: the PDF, and the DICOM objects (Comprehensive SR, Encapsulated PDF) the
// signature queues for the hospital server and `report export` writes.
import { WorkstationError, type Report } from '../../contract';
import { newUid, uidFor } from '../dicom-objects';
import { sha256Hex } from './canonical';
import { buildEncapsulatedPdf } from './dicom/encapsulated-pdf';
import { buildReportSr } from './dicom/sr';
import { renderReportPdf } from './pdf';
import { isSigned, type ReportContext, type ReportRow, type SignedContext, type StudyRow } from './report-rows';
import type { ReportsService } from './report-service';
import { formatDicomDate } from './template';

export interface SignedObjects {
  pdf: Buffer;
  encapsulatedPdf: Buffer;
  sr: Buffer;
}

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

export interface ReportExports extends Pick<ReportsService, 'exportPdf' | 'dicomObjects'> {
  pdfFor(report: Report, context: SignedContext | null): Promise<Buffer>;
  buildSignedObjects(report: Report, study: StudyRow, row: ReportRow, pdfUid: string, srUid: string, instanceNumber: number): Promise<SignedObjects>;
}

export function createReportExports(ctx: ReportContext, verify: ReportsService['verify']): ReportExports {
  const { db, reportRow, studyRow, toReport, dicomStudy, evidenceImage, auditRow, institution } = ctx;

  const keyImagesWithPng = (reportId: string): { caption: string; png: Buffer }[] =>
    (db().prepare('SELECT caption, png FROM report_key_images WHERE report_id = ? ORDER BY seq').all(reportId) as { caption: string; png: Buffer }[]).map((k) => ({ caption: k.caption, png: k.png }));

  const pdfFor = async (report: Report, context: SignedContext | null): Promise<Buffer> => renderReportPdf({ report, keyImages: keyImagesWithPng(report.id), institution, context });

  async function buildSignedObjects(report: Report, study: StudyRow, row: ReportRow, pdfUid: string, srUid: string, instanceNumber: number): Promise<SignedObjects> {
    const pdf = await pdfFor(report, signedContextOf(row));
    const encapsulatedPdf = buildEncapsulatedPdf({
      study: dicomStudy(study),
      pdf,
      title: PDF_TITLE,
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

  return {
    pdfFor,
    buildSignedObjects,

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
        contentAt: ctx.now(),
        sopInstanceUid: newUid(),
        seriesInstanceUid: uidFor(`report-sr-series:${r.id}`),
        deviceUid: uidFor(`model:${report.aiFinding?.modelId ?? 'none'}:${report.aiFinding?.modelVersion ?? ''}`),
      });
      auditRow(actor, 'report.exportDicom', r.id, 'success', { verified: false });
      return { sr, encapsulatedPdf: null };
    },
  };
}
