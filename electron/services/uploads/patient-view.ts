// What a patient reads about one of their uploads, in plain language: its state, the review's
// outcome with the radiologist's reason, and (only where the admin setting shows it) the
// preliminary AI result, always marked as not reviewed and not a diagnosis.
import { NOT_ANALYSED_SENTENCE, NOT_RECOGNISED_LABEL, PRELIMINARY_NOTICE, type AiStatus, type MyUpload, type PatientPreliminaryView, type ReviewState, type StudyReportStatus } from '../../contract';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** An ISO time as "15 March 2024" (no locale guessing, like the rest of the patient pages). */
export function plainDate(iso: string | null): string {
  const d = iso ? new Date(iso) : null;
  return d && !Number.isNaN(d.getTime()) ? `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}` : 'an unknown date';
}

const LABEL_PLAIN: Record<string, string> = {
  glioma: 'a glioma, a kind of growth that starts in the supporting cells of the brain',
  meningioma: 'a meningioma, a kind of growth of the thin layers that cover the brain',
  pituitary: 'a pituitary tumor, a growth in the small gland at the base of the brain',
};

/** The preliminary AI result as a patient reads it, or null while there is nothing to say yet. */
export function preliminaryText(ai: { status: AiStatus; label: string | null }): string | null {
  if (ai.status === 'running' || ai.status === 'not-run' || ai.status === 'cancelled') return null;
  if (ai.status === 'failed' || !ai.label || ai.label === NOT_RECOGNISED_LABEL) {
    return `${NOT_ANALYSED_SENTENCE} This can happen when the files are not brain MRI images, or are photos of a screen. A radiologist will still look at them.`;
  }
  if (ai.label === 'notumor') return 'The computer program did not point out a tumor on these images. Only a doctor can say what your images show.';
  const plain = LABEL_PLAIN[ai.label] ?? ai.label;
  return `The computer program's closest match for these images is ${plain}. This is a computer's guess, not a result: only a doctor can say what your images show.`;
}

export interface PatientViewInput {
  review: ReviewState;
  reviewedByName: string | null;
  reviewedAt: string | null;
  rejectReason: string | null;
  reportStatus: StudyReportStatus;
  ai: { status: AiStatus; label: string | null };
  setting: PatientPreliminaryView;
}

export function patientView(u: PatientViewInput): Pick<MyUpload, 'state' | 'headline' | 'paragraphs' | 'preliminary'> {
  const who = u.reviewedByName || 'a radiologist';
  if (u.review === 'rejected') {
    return {
      state: 'rejected',
      headline: 'Reviewed: these images could not be used',
      paragraphs: [
        `${who} looked at these images on ${plainDate(u.reviewedAt)} and could not use them, for this reason:`,
        `"${u.rejectReason ?? ''}"`,
        'If you have questions, send a message to your care team.',
      ],
      preliminary: null,
    };
  }
  if (u.review === 'approved') {
    const signed = u.reportStatus === 'final' || u.reportStatus === 'rejected';
    return signed
      ? {
          state: 'report-signed',
          headline: 'Reviewed: your report is ready',
          paragraphs: [`${who} reviewed these images on ${plainDate(u.reviewedAt)} and the report is signed. You can read it under My results.`],
          preliminary: null,
        }
      : {
          state: 'approved',
          headline: 'Reviewed: a report is being written',
          paragraphs: [`${who} reviewed these images on ${plainDate(u.reviewedAt)} and is writing a report. When it is signed you will get a notification, and it will appear under My results.`],
          preliminary: null,
        };
  }
  const text = u.setting === 'preliminary-ai' ? preliminaryText(u.ai) : null;
  return {
    state: 'received',
    headline: 'Received, awaiting review',
    paragraphs: ['A radiologist of your care team will look at these images. You will get a notification when they have.'],
    preliminary: text ? { text, notice: PRELIMINARY_NOTICE } : null,
  };
}
