// What a patient reads about an upload: "Received, awaiting review" by default; the preliminary
// AI result only where the admin allows it, always marked, with "not recognised" told as "we could
// not analyse these images"; the review outcome with the radiologist's own reason.
import { describe, expect, it } from 'vitest';
import { NOT_ANALYSED_SENTENCE, NOT_RECOGNISED_LABEL, PRELIMINARY_NOTICE } from '../../contract';
import { patientView, preliminaryText } from './patient-view';

const base = { review: 'pending' as const, reviewedByName: null, reviewedAt: null, rejectReason: null, reportStatus: 'none' as const, ai: { status: 'done' as const, label: 'glioma' }, setting: 'received-only' as const };

describe('preliminaryText', () => {
  it('says "we could not analyse these images" for not recognised and for a failed run', () => {
    for (const ai of [{ status: 'done' as const, label: NOT_RECOGNISED_LABEL }, { status: 'failed' as const, label: null }]) {
      const text = preliminaryText(ai)!;
      expect(text.startsWith(NOT_ANALYSED_SENTENCE)).toBe(true);
      expect(text).not.toMatch(/not recognised/i);
    }
  });

  it('names a tumor class as a computer\'s guess, and says nothing while the run is not done', () => {
    expect(preliminaryText({ status: 'done', label: 'glioma' })).toMatch(/closest match .* glioma.*not a result: only a doctor/);
    expect(preliminaryText({ status: 'done', label: 'notumor' })).toMatch(/did not point out a tumor/);
    expect(preliminaryText({ status: 'running', label: null })).toBeNull();
    expect(preliminaryText({ status: 'not-run', label: null })).toBeNull();
  });
});

describe('patientView', () => {
  it('shows only "Received, awaiting review" by default, whatever the model said', () => {
    expect(patientView(base)).toEqual({ state: 'received', headline: 'Received, awaiting review', paragraphs: [expect.stringMatching(/radiologist of your care team will look/)], preliminary: null });
  });

  it('adds the marked preliminary result when the admin allows it', () => {
    expect(patientView({ ...base, setting: 'preliminary-ai' }).preliminary).toEqual({ text: expect.stringMatching(/glioma/), notice: PRELIMINARY_NOTICE });
  });

  it('quotes the reason of a rejection and names the reviewer; an approval points to My results', () => {
    const rejected = patientView({ ...base, review: 'rejected', reviewedByName: 'Dr Reader', reviewedAt: '2026-03-04T10:00:00Z', rejectReason: 'Unreadable, bring the CD.' });
    expect(rejected.state).toBe('rejected');
    expect(rejected.paragraphs.join(' ')).toMatch(/^Dr Reader looked at these images on \d+ March 2026 .* "Unreadable, bring the CD\."/);
    expect(rejected.preliminary).toBeNull();
    expect(patientView({ ...base, review: 'approved', reviewedByName: 'Dr Reader', reviewedAt: '2026-03-04T10:00:00Z', reportStatus: 'draft' }).headline).toBe('Reviewed: a report is being written');
    expect(patientView({ ...base, review: 'approved', reviewedByName: 'Dr Reader', reviewedAt: '2026-03-04T10:00:00Z', reportStatus: 'final', setting: 'preliminary-ai' })).toMatchObject({ state: 'report-signed', preliminary: null });
  });
});
