// What a signature's content hash covers: the signed report (everything the PDF and SR say,
// nothing internal) and each addendum, chained to the report's hash.
import type { ReportAiFinding, ReportSections, ReportStatus } from '../../contract';

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
  /** The radiologist measurements signed with the report (absent or empty: none, as before they existed). */
  measurements?: unknown[] | null;
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
    // Only when there are any: a report signed without measurements keeps the hash it always had.
    ...(r.measurements?.length ? { measurements: r.measurements } : {}),
  };
}

export function addendumContent(a: { reportId: string; reportHash: string; seq: number; text: string; signedBy: string; signedByName: string; signedAt: string }): unknown {
  return { v: 1, ...a };
}
