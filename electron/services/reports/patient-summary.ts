// The plain-language summary of a signed report for the patient view: what was looked at, what
// the radiologist concluded (their words), what the AI did, and what happens next.
import type { PatientSummary, Report } from '../../contract';
import { formatDicomDate } from './template';

const EXPLAIN: Record<string, string> = {
  glioma: 'A glioma is a growth that starts in the supporting cells of the brain.',
  meningioma: 'A meningioma is a growth that starts in the thin layers that cover the brain; most are slow-growing.',
  pituitary: 'A pituitary tumor is a growth in the small gland at the base of the brain that makes hormones.',
  notumor: 'No growth (tumor) was seen in the brain on this scan.',
};

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const plainDay = (iso: string): string => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? 'a later date' : `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
};

export function patientSummary(report: Pick<Report, 'id' | 'status' | 'sections' | 'aiFinding' | 'aiDecision' | 'signedByName' | 'signedAt' | 'addenda' | 'study' | 'keyImages'>): PatientSummary {
  const accepted = report.aiFinding && report.aiDecision !== 'rejected' ? report.aiFinding.label : null;
  const tumor = accepted && accepted !== 'notumor' && accepted in EXPLAIN;
  const headline = accepted === 'notumor' ? 'Your brain scan did not show a tumor' : tumor ? 'Your brain scan showed a finding your doctor will discuss with you' : 'Your brain scan has been reviewed';
  const paragraphs = [
    `On ${formatDicomDate(report.study.studyDate)} you had an MRI scan of the brain. A radiologist (a doctor who specialises in reading scans), ${report.signedByName ?? ''}, looked at the images and signed this report on ${(report.signedAt ?? '').slice(0, 10)}.`,
    `What the radiologist concluded, in their words: "${report.sections.impression.text.trim() || 'see the full report'}"`,
  ];
  if (accepted && EXPLAIN[accepted]) paragraphs.push(EXPLAIN[accepted]!);
  if (report.sections.recommendation.text.trim()) paragraphs.push(`What the radiologist recommends: "${report.sections.recommendation.text.trim()}"`);
  if (report.addenda.length) paragraphs.push(`The radiologist later added ${report.addenda.length === 1 ? 'a note' : `${report.addenda.length} notes`} to the report, shown below in their words.`);
  if (report.aiFinding) {
    paragraphs.push(
      report.aiDecision === 'rejected'
        ? 'A computer program (AI) also looked at the scan; the radiologist did not agree with it, and the radiologist\'s conclusion is what counts.'
        : 'A computer program (AI) helped by pointing out areas to look at; the radiologist checked its result. The program is not a medical device and does not make the diagnosis.',
    );
  }
  paragraphs.push('Please talk to your doctor about what this means for you and what happens next. If anything is unclear, ask them, or send them a message from the Messages page.');
  const addenda = report.addenda.map((a) => ({
    seq: a.seq,
    // An addendum corrects or completes the signed report: it is part of the result, so it is shown, not summarised.
    intro: `On ${plainDay(a.signedAt)}, ${a.signedByName || 'the radiologist'} added this note to the report${a.seq > 1 ? ` (note ${a.seq})` : ''}:`,
    text: a.text,
    signedByName: a.signedByName,
    signedAt: a.signedAt,
  }));
  const reportText = [report.sections.findings.text, report.sections.impression.text, report.sections.recommendation.text, ...report.addenda.map((a) => a.text)].join('\n');
  return {
    reportId: report.id,
    studyDate: report.study.studyDate,
    signedAt: report.signedAt ?? '',
    signedByName: report.signedByName ?? '',
    headline,
    paragraphs,
    aiAssisted: report.aiFinding !== null,
    keyImages: report.keyImages.map((k) => ({ id: k.id, caption: k.caption, width: k.width, height: k.height })),
    addenda,
    reportText,
  };
}
