// reports.list (behind `tumorpredict report list`): status, patient and study-date filters on a
// real store with imported studies, one report signed and one draft.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportsFixture, SIGN, type ReportsFixture } from '../../testing/reports';

let fx: ReportsFixture;
let signedId = '';
let draftId = '';

beforeAll(async () => {
  fx = await createReportsFixture({ extraStudies: 2 });
  const rad = fx.actors.radiologist;
  const r = fx.reports.open(fx.studyId, rad);
  const a = fx.reports.acceptAi(r.id, rad);
  signedId = (await fx.reports.sign(r.id, a.revision, rad, SIGN)).id;
  draftId = fx.reports.open(fx.priorStudyId, rad).id;
});
afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
});

describe('reports.list', () => {
  it('filters by status, newest study first', () => {
    expect(fx.reports.list({ status: 'final', limit: 10 }).map((r) => r.reportId)).toEqual([signedId]);
    expect(fx.reports.list({ status: 'signed', limit: 10 }).map((r) => r.reportId)).toEqual([signedId]);
    expect(fx.reports.list({ status: 'draft', limit: 10 }).map((r) => r.reportId)).toEqual([draftId]);
    const pending = fx.reports.list({ status: 'pending', limit: 10 });
    expect(pending.map((r) => r.reportId)).toContain(draftId);
    expect(pending.filter((r) => r.reportId === null)).toHaveLength(2);
    expect(fx.reports.list({ status: 'none', limit: 10 }).every((r) => r.reportId === null)).toBe(true);
    const all = fx.reports.list({ limit: 10 });
    expect(all).toHaveLength(4);
    expect(all.map((r) => r.studyDate)).toEqual([...all.map((r) => r.studyDate)].sort().reverse());
    expect(all.find((r) => r.reportId === signedId)).toMatchObject({ status: 'final', signedByName: 'Dr. Ada Reader', addenda: 0 });
  });

  it('filters by patient name part or whole Patient ID, with LIKE wildcards taken literally', () => {
    const pid = (fx.db().prepare('SELECT dicom_patient_id AS id, display_name AS n FROM patients LIMIT 1').get() as { id: string; n: string });
    expect(fx.reports.list({ patient: pid.id.toLowerCase(), limit: 10 })).toHaveLength(4);
    expect(fx.reports.list({ patient: pid.n.slice(1, 4).toUpperCase(), limit: 10 })).toHaveLength(4);
    expect(fx.reports.list({ patient: '%', limit: 10 })).toEqual([]);
    expect(fx.reports.list({ patient: pid.id.slice(0, 2), limit: 10 }).length).toBeLessThanOrEqual(4);
  });

  it('filters by study date range and limits the rows', () => {
    expect(fx.reports.list({ dateFrom: '20240101', limit: 10 }).map((r) => r.studyDate)).toEqual(['20240315']);
    expect(fx.reports.list({ dateFrom: '20230101', dateTo: '20231231', limit: 10 }).map((r) => r.reportId)).toEqual([draftId]);
    expect(fx.reports.list({ limit: 1 })).toHaveLength(1);
  });
});
