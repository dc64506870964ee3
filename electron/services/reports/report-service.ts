// The reports service: one report per study through its life cycle (lifecycle.ts). Its three
// parts share one context (report-rows.ts): reading (report-reading.ts), the life cycle and
// signing (report-lifecycle.ts), and the PDF and DICOM exports (report-exports.ts).
import type {
  DashboardFilter,
  DashboardRow,
  HistoryPoint,
  PatientSummary,
  Report,
  ReportSections,
  StudyReportStatus,
  VerifyResult,
} from '../../contract';
import { createReportExports } from './report-exports';
import { createReportLifecycle } from './report-lifecycle';
import { createReportReading } from './report-reading';
import { createReportContext, type Actor, type ReportsServiceOptions, type SignatureCredentials } from './report-rows';

export type { Actor, ReportsServiceOptions, SignatureCredentials, SignerIdentity, SignerConfirmation } from './report-rows';
export type { ReportSeg, SrVersion } from './report-exports';
export type { ReportMeasurement, MeasurementSource } from './report-measurements';
export { signedContent, addendumContent } from './signed-content';

export interface ReportListFilter {
  /** A status, 'pending' (no report, draft or preliminary) or 'signed' (final or rejected); absent: all. */
  status?: StudyReportStatus | 'pending' | 'signed' | undefined;
  /** Part of the patient's name or their whole hospital Patient ID (any case). */
  patient?: string | undefined;
  /** Study date range, YYYYMMDD, inclusive. */
  dateFrom?: string | undefined;
  dateTo?: string | undefined;
  limit: number;
}

export interface ReportListRow {
  reportId: string | null;
  studyId: string;
  status: StudyReportStatus;
  patientName: string;
  patientDicomId: string | null;
  studyDate: string | null;
  description: string | null;
  signedByName: string | null;
  signedAt: string | null;
  addenda: number;
}

export interface ReportsService {
  dashboard(q: { filter: DashboardFilter; limit: number; offset: number }): { rows: DashboardRow[]; total: number; counts: { pending: number; all: number; approved: number; rejected: number } };
  statusForStudies(studyIds: readonly string[]): { studyId: string; reportId: string | null; status: StudyReportStatus }[];
  /** Reports (and studies without one, for status 'none'), filtered, newest study first: `tumorpredict report list`. */
  list(filter: ReportListFilter): ReportListRow[];
  open(studyId: string, actor: Actor): Report;
  get(reportId: string, actor: Actor): Report;
  saveDraft(req: { reportId: string; baseRevision: number; sections: Partial<Record<keyof ReportSections, string>>; notes?: string | undefined }, actor: Actor): { revision: number; updatedAt: string; sections: ReportSections };
  saveNotes(reportId: string, notes: string, actor: Actor): { updatedAt: string };
  acceptAi(reportId: string, actor: Actor): Report;
  rejectAi(reportId: string, reason: string, actor: Actor): Report;
  markPreliminary(reportId: string, actor: Actor): Report;
  /** Signs with the signer's password (and TOTP) confirmed again; the audit row records the signature's meaning. */
  sign(reportId: string, baseRevision: number, actor: Actor, credentials: SignatureCredentials): Promise<Report>;
  addAddendum(reportId: string, text: string, actor: Actor, credentials: SignatureCredentials): Promise<Report>;
  addKeyImage(req: { reportId: string; png: Buffer; caption: string; instanceId?: string | undefined }, actor: Actor): Report;
  removeKeyImage(reportId: string, keyImageId: string, actor: Actor): Report;
  keyImagePng(reportId: string, keyImageId: string): Buffer;
  history(studyId: string): { points: HistoryPoint[]; change: string | null };
  verify(reportId: string): VerifyResult;
  exportPdf(reportId: string, actor: Actor): Promise<{ fileName: string; pdf: Buffer; sha256: string }>;
  /**
   * The DICOM objects of a report: the SR (UNVERIFIED for an unsigned report; for a signed one its
   * newest version), once signed the Encapsulated PDF, and the SEG of the AI mask when one is due.
   */
  dicomObjects(reportId: string, actor: Actor): Promise<{ sr: Buffer; encapsulatedPdf: Buffer | null; seg: Buffer | null }>;
  patientSummaries(actor: Actor, reportId?: string): PatientSummary[];
}

export function createReportsService(options: ReportsServiceOptions): ReportsService {
  const ctx = createReportContext(options);
  const reading = createReportReading(ctx);
  const exports = createReportExports(ctx, reading.verify);
  const lifecycle = createReportLifecycle(ctx, reading, exports);
  return {
    ...reading,
    ...lifecycle,
    exportPdf: exports.exportPdf,
    dicomObjects: exports.dicomObjects,
  };
}
