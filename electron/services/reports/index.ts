// Reports: life cycle, autosaved drafts, signing with a content hash, addenda, PDF, SR and
// Encapsulated PDF, history and the patient summary (the public surface of services/reports).
export { createReportsService, signedContent, addendumContent } from './report-service';
export type { ReportsService, ReportsServiceOptions, Actor, SignatureCredentials, SignerIdentity, SignerConfirmation, ReportMeasurement, MeasurementSource, ReportListFilter, ReportListRow } from './report-service';
export { measurementSnapshot } from './report-measurements';
export { personName } from './dicom/study-info';
export { TRANSITIONS, REPORT_ACTIONS, LIFECYCLE_STATES, allowedActions, transitionFor, requireTransition } from './lifecycle';
export type { ReportAction, LifecycleState, Transition } from './lifecycle';
export { canonicalJson, contentHash, sha256Hex } from './canonical';
export { aiFindingFor, describeLocation, labelText } from './ai-finding';
export type { AiSource } from './ai-finding';
export { renderReportPdf } from './pdf';
export { prefillSections, applyEdits, changeSentence } from './template';
export { patientSummary } from './patient-summary';
export { buildReportSr, CODES as SR_CODES, FINDING_CODES, COMPREHENSIVE_SR_SOP_CLASS_UID } from './dicom/sr';
export { buildEncapsulatedPdf, ENCAPSULATED_PDF_SOP_CLASS_UID } from './dicom/encapsulated-pdf';
export { readPart10 } from '../dicom-objects';
