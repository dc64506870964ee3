// The report life cycle on a real encrypted store with real imported DICOM studies: every
// action x state x role against the transition table (allowed ones succeed, forbidden ones are
// refused and audited), signed content that cannot change (through the API, by a direct UPDATE,
// and by a tamper that bypasses the triggers), addenda, the outbox rows, history and summaries.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, WorkstationError, type Role } from '../../contract';
import { REPORT_ACTIONS, TRANSITIONS, requireTransition, transitionFor, type LifecycleState, type ReportAction } from './lifecycle';
import { createReportsFixture, solidPng, type ReportsFixture, SIGN } from '../../testing/reports';
import type { Actor } from './report-service';

let fx: ReportsFixture;
let spare: string[] = [];
const takeStudy = (): string => {
  const id = spare.shift();
  if (!id) throw new Error('the fixture ran out of studies');
  return id;
};

beforeAll(async () => {
  fx = await createReportsFixture({ extraStudies: 24 });
  spare = [...fx.extraStudyIds];
});
afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
});

const rad = (): Actor => fx.actors.radiologist;

/** A report brought into `state` on a fresh study. */
async function bring(state: Exclude<LifecycleState, 'none'>): Promise<string> {
  const r = fx.reports.open(takeStudy(), rad());
  if (state === 'draft') return r.id;
  if (state === 'preliminary') return fx.reports.markPreliminary(r.id, rad()).id;
  if (state === 'final') {
    const a = fx.reports.acceptAi(r.id, rad());
    return (await fx.reports.sign(r.id, a.revision, rad(), SIGN)).id;
  }
  const rej = fx.reports.rejectAi(r.id, 'The lesion is a vascular malformation, not a tumor.', rad());
  const saved = fx.reports.saveDraft({ reportId: r.id, baseRevision: rej.revision, sections: { impression: 'Vascular malformation; no tumor.' } }, rad());
  return (await fx.reports.sign(r.id, saved.revision, rad(), SIGN)).id;
}

async function attempt(action: ReportAction, reportId: string, actor: Actor): Promise<void> {
  const rev = () => fx.reports.get(reportId, rad()).revision;
  switch (action) {
    case 'create':
      throw new Error('create is tested on studies without a report');
    case 'edit':
      fx.reports.saveDraft({ reportId, baseRevision: rev(), sections: { clinicalInformation: `Headache (${actor.role}).` } }, actor);
      return;
    case 'acceptAi':
      fx.reports.acceptAi(reportId, actor);
      return;
    case 'rejectAi':
      fx.reports.rejectAi(reportId, 'Not convincing on the T2 images.', actor);
      return;
    case 'addKeyImage':
      fx.reports.addKeyImage({ reportId, png: solidPng(8, 8), caption: 'key' }, actor);
      return;
    case 'markPreliminary':
      fx.reports.markPreliminary(reportId, actor);
      return;
    case 'sign': {
      // Signing needs reviewed text; a radiologist accepts first (an allowed step in open states).
      const r = fx.reports.get(reportId, rad());
      const ready = r.aiDecision === 'pending' && actor.role === 'radiologist' && (r.status === 'draft' || r.status === 'preliminary') ? fx.reports.acceptAi(reportId, actor) : r;
      await fx.reports.sign(reportId, ready.revision, actor, SIGN);
      return;
    }
    case 'addAddendum':
      await fx.reports.addAddendum(reportId, `Addendum by ${actor.role}.`, actor, SIGN);
      return;
    case 'editNotes':
      fx.reports.saveNotes(reportId, `note by ${actor.role}`, actor);
      return;
  }
}

const auditCount = (objectId: string, outcome: string): number =>
  (fx.db().prepare('SELECT count(*) AS n FROM audit_log WHERE object_id = ? AND outcome = ?').get(objectId, outcome) as { n: number }).n;

describe('the transition table', () => {
  it('lets only radiologists act, and nothing but an addendum or notes touch a signed report', () => {
    for (const t of TRANSITIONS) expect(t.roles).toEqual(['radiologist']);
    for (const state of ['final', 'rejected'] as const) {
      const actions = TRANSITIONS.filter((t) => t.from.includes(state)).map((t) => t.action).sort();
      expect(actions).toEqual(['addAddendum', 'editNotes']);
    }
  });

  it('refuses researchers and patients with FORBIDDEN and wrong states with CONFLICT', () => {
    for (const role of ROLES) {
      for (const action of REPORT_ACTIONS) {
        for (const state of ['none', 'draft', 'preliminary', 'final', 'rejected'] as const) {
          const allowed = transitionFor(action, state, role);
          let code: string | null = null;
          try {
            requireTransition(action, state, role);
          } catch (err) {
            code = (err as WorkstationError).code;
          }
          if (allowed) expect(code, `${role} ${action} ${state}`).toBeNull();
          else expect(code, `${role} ${action} ${state}`).toBe(role === 'radiologist' ? 'CONFLICT' : 'FORBIDDEN');
        }
      }
    }
  });
});

describe('every action x state x role through the service', () => {
  const states = ['draft', 'preliminary', 'final', 'rejected'] as const;
  for (const state of states) {
    it(`from ${state}`, async () => {
      const shared = await bring(state);
      const before = fx.reports.get(shared, rad());
      // Forbidden ones first, on one report: each refused, audited, and nothing changes.
      for (const role of ROLES) {
        for (const action of REPORT_ACTIONS.filter((a) => a !== 'create')) {
          if (transitionFor(action, state, role)) continue;
          const refusedBefore = auditCount(shared, 'refused');
          const err = await attempt(action, shared, fx.actors[role]).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err, `${role} may not ${action} a ${state} report`).toBeInstanceOf(WorkstationError);
          expect((err as WorkstationError).code, `${role} ${action} ${state}`).toBe(role === 'radiologist' ? 'CONFLICT' : 'FORBIDDEN');
          expect(auditCount(shared, 'refused'), `refusal of ${role} ${action} audited`).toBe(refusedBefore + 1);
        }
      }
      const after = fx.reports.get(shared, rad());
      expect({ ...after, allowedActions: [] }).toEqual({ ...before, allowedActions: [] });

      // Allowed ones: each on its own report in this state, each audited with the actor.
      for (const role of ROLES) {
        for (const action of REPORT_ACTIONS.filter((a) => a !== 'create')) {
          const t = transitionFor(action, state, role);
          if (!t) continue;
          const id = await bring(state);
          const ok = auditCount(id, 'success');
          await attempt(action, id, fx.actors[role]);
          const r = fx.reports.get(id, rad());
          const expected = t.to === 'same' ? state : t.to === 'signed' ? 'final' : t.to;
          expect(r.status, `${role} ${action} from ${state}`).toBe(expected);
          expect(auditCount(id, 'success')).toBeGreaterThan(ok);
          const row = fx.db().prepare(`SELECT actor, actor_id FROM audit_log WHERE object_id = ? ORDER BY id DESC LIMIT 1`).get(id) as { actor: string; actor_id: string };
          expect(row).toEqual({ actor: fx.actors[role].username, actor_id: fx.actors[role].userId });
        }
      }
    });
  }

  it('from none: only a radiologist starts a report', () => {
    const study = takeStudy();
    for (const role of ROLES.filter((r) => r !== 'radiologist')) {
      expect(() => fx.reports.open(study, fx.actors[role as Role])).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    }
    expect(fx.reports.statusForStudies([study])).toEqual([{ studyId: study, reportId: null, status: 'none' }]);
    const r = fx.reports.open(study, rad());
    expect(r.status).toBe('draft');
    expect(fx.reports.statusForStudies([study])[0]).toMatchObject({ reportId: r.id, status: 'draft' });
    // Opening again returns the same report, not a second one.
    expect(fx.reports.open(study, rad()).id).toBe(r.id);
  });
});

describe('a draft from the AI finding', () => {
  it('is pre-filled from the AI result and the history, and marked as AI text', () => {
    const r = fx.reports.open(fx.studyId, rad());
    expect(r.aiFinding).toMatchObject({ label: 'glioma', labelText: 'Glioma', modelId: 'tumor-cnn', modelVersion: '1.2.0', runtime: 'wasm' });
    expect(r.aiFinding!.probability).toBeCloseTo(0.91, 5);
    expect(r.aiFinding!.location).toBe('right hemisphere, central');
    expect(r.aiFinding!.areaMm2).toBeCloseTo(197 * 0.3125 * 0.3125, 3);
    expect(r.sections.findings.origin).toBe('ai');
    expect(r.sections.impression.origin).toBe('ai');
    expect(r.sections.findings.text).toContain('Glioma (calibrated probability 91.0%)');
    expect(r.sections.findings.text).toContain('tumor-cnn 1.2.0');
    expect(r.sections.findings.text).toMatch(/Increased since the previous study \(2023-03-10\): tumor area/);
    expect(r.sections.technique.origin).toBe('human');
    expect(r.aiDecision).toBe('pending');
  });

  it('refuses to sign unreviewed AI text, then signs after an edit and an accept', async () => {
    let r = fx.reports.open(fx.studyId, rad());
    await expect(fx.reports.sign(r.id, r.revision, rad(), SIGN)).rejects.toMatchObject({ code: 'CONFLICT' });
    const saved = fx.reports.saveDraft({ reportId: r.id, baseRevision: r.revision, sections: { impression: 'Right frontal glioma, larger than in 2023.' }, notes: 'Discuss at tumor board.' }, rad());
    expect(saved.sections.impression.origin).toBe('ai-edited');
    expect(saved.sections.findings.origin).toBe('ai');
    // A save from a stale revision is refused and loses nothing.
    expect(() => fx.reports.saveDraft({ reportId: r.id, baseRevision: r.revision, sections: { impression: 'stale' } }, rad())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    r = fx.reports.acceptAi(r.id, rad());
    expect(r.sections.findings.origin).toBe('ai-accepted');
    expect(r.sections.impression).toEqual({ text: 'Right frontal glioma, larger than in 2023.', origin: 'ai-edited' });
    r = fx.reports.addKeyImage({ reportId: r.id, png: solidPng(), caption: 'Axial, overlay on' }, rad());
    // Bad input: not a PNG. Refused, and the report is as it was.
    expect(() => fx.reports.addKeyImage({ reportId: r.id, png: Buffer.from('not a png at all'), caption: '' }, rad())).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(fx.reports.get(r.id, rad()).revision).toBe(r.revision);
    const signed = await fx.reports.sign(r.id, r.revision, rad(), SIGN);
    expect(signed).toMatchObject({ status: 'final', signedByName: 'Dr. Ada Reader', aiDecision: 'accepted', notes: 'Discuss at tumor board.' });
    expect(signed.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(signed.allowedActions.sort()).toEqual(['addAddendum', 'editNotes']);
    // The PDF and SR were queued for the hospital server in the signing transaction.
    const outbox = fx.db().prepare('SELECT kind, sop_instance_uid, study_instance_uid FROM sync_outbox ORDER BY id').all() as { kind: string; sop_instance_uid: string; study_instance_uid: string }[];
    expect(outbox).toEqual(expect.arrayContaining([
      { kind: 'pdf', sop_instance_uid: signed.pdfSopInstanceUid, study_instance_uid: signed.study.studyInstanceUid },
      { kind: 'sr', sop_instance_uid: signed.srSopInstanceUid, study_instance_uid: signed.study.studyInstanceUid },
    ]));
    expect(fx.reports.verify(r.id)).toMatchObject({ ok: true, signed: true, storedHash: signed.contentHash, computedHash: signed.contentHash });
  });
});

describe('signed content cannot change', () => {
  let id: string;
  beforeAll(async () => {
    id = fx.reports.open(fx.studyId, rad()).id;
    if (fx.reports.get(id, rad()).status !== 'final') throw new Error('the previous test signs this report');
  });

  it('through the API: every edit is refused and the hash still verifies', async () => {
    const r = fx.reports.get(id, rad());
    expect(() => fx.reports.saveDraft({ reportId: id, baseRevision: r.revision, sections: { impression: 'changed' } }, rad())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => fx.reports.acceptAi(id, rad())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => fx.reports.addKeyImage({ reportId: id, png: solidPng(), caption: '' }, rad())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => fx.reports.removeKeyImage(id, r.keyImages[0]!.id, rad())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    await expect(fx.reports.sign(id, r.revision, rad(), SIGN)).rejects.toMatchObject({ code: 'CONFLICT' });
    // Internal notes may change after signing: they are not part of the signed content.
    fx.reports.saveNotes(id, 'Told the referring doctor by phone.', rad());
    expect(fx.reports.verify(id).ok).toBe(true);
    expect(fx.reports.get(id, rad()).sections.impression.text).toBe('Right frontal glioma, larger than in 2023.');
  });

  it('by a direct UPDATE or DELETE: the database triggers refuse it', () => {
    expect(() => fx.db().prepare(`UPDATE reports SET sections = '{}' WHERE id = ?`).run(id)).toThrow(/signed report cannot be changed/);
    expect(() => fx.db().prepare(`UPDATE reports SET status = 'draft' WHERE id = ?`).run(id)).toThrow(/signed report cannot be changed/);
    expect(() => fx.db().prepare(`DELETE FROM reports WHERE id = ?`).run(id)).toThrow(/cannot be deleted/);
    expect(() => fx.db().prepare(`UPDATE report_key_images SET png = x'00' WHERE report_id = ?`).run(id)).toThrow(/signed report cannot be changed/);
  });

  it('addenda: appended, signed and dated, never edited', async () => {
    const before = fx.reports.get(id, rad());
    let r = await fx.reports.addAddendum(id, 'Comparison with the outside MRI of 2022: stable since then.', rad(), SIGN);
    r = await fx.reports.addAddendum(id, 'Corrected laterality in the recommendation: right.', rad(), SIGN);
    expect(r.addenda.map((a) => [a.seq, a.signedByName])).toEqual([[1, 'Dr. Ada Reader'], [2, 'Dr. Ada Reader']]);
    expect(r.addenda[0]!.signedAt <= r.addenda[1]!.signedAt).toBe(true);
    expect(r.contentHash).toBe(before.contentHash);
    expect(r.sections).toEqual(before.sections);
    expect(fx.reports.verify(id)).toMatchObject({ ok: true, addenda: [{ seq: 1, ok: true }, { seq: 2, ok: true }] });
    expect(() => fx.db().prepare(`UPDATE report_addenda SET text = 'x' WHERE report_id = ?`).run(id)).toThrow(/addendum cannot be changed/);
    const queued = fx.db().prepare(`SELECT count(*) AS n FROM sync_outbox WHERE kind = 'pdf' AND label LIKE 'Report addendum%'`).get() as { n: number };
    expect(queued.n).toBeGreaterThanOrEqual(2);
  });

  it('a tamper that bypasses the triggers is found by verify, and export refuses the report', async () => {
    const db = fx.db();
    db.exec('DROP TRIGGER reports_signed_frozen; DROP TRIGGER report_addenda_no_update;');
    try {
      const row = db.prepare('SELECT sections FROM reports WHERE id = ?').get(id) as { sections: string };
      const sections = JSON.parse(row.sections) as { impression: { text: string } };
      sections.impression.text = 'No tumor.';
      db.prepare('UPDATE reports SET sections = ? WHERE id = ?').run(JSON.stringify(sections), id);
      db.prepare(`UPDATE report_addenda SET text = 'edited' WHERE report_id = ? AND seq = 2`).run(id);
      const v = fx.reports.verify(id);
      expect(v.ok).toBe(false);
      expect(v.computedHash).not.toBe(v.storedHash);
      expect(v.addenda).toEqual([{ seq: 1, ok: true }, { seq: 2, ok: false }]);
      expect(v.message).toMatch(/changed after signing/);
      await expect(fx.reports.exportPdf(id, rad())).rejects.toMatchObject({ code: 'CONFLICT' });
    } finally {
      // Put the signed text back so later tests see an intact report (the triggers stay dropped in this throwaway folder).
      const row = db.prepare('SELECT sections FROM reports WHERE id = ?').get(id) as { sections: string };
      const sections = JSON.parse(row.sections) as { impression: { text: string } };
      sections.impression.text = 'Right frontal glioma, larger than in 2023.';
      db.prepare('UPDATE reports SET sections = ? WHERE id = ?').run(JSON.stringify(sections), id);
      db.prepare(`UPDATE report_addenda SET text = 'Corrected laterality in the recommendation: right.' WHERE report_id = ? AND seq = 2`).run(id);
    }
    expect(fx.reports.verify(id).ok).toBe(true);
  });
});

describe('rejecting the AI finding', () => {
  it("keeps the radiologist's own finding, requires a reason, and signs as rejected", async () => {
    const r0 = fx.reports.open(fx.priorStudyId, rad());
    const edited = fx.reports.saveDraft({ reportId: r0.id, baseRevision: r0.revision, sections: { findings: 'Small cavernoma, right frontal.' } }, rad());
    const r = fx.reports.rejectAi(r0.id, 'Typical cavernoma on SWI.', rad());
    expect(edited.sections.findings.origin).toBe('ai-edited');
    expect(r.sections.findings).toEqual({ text: 'Small cavernoma, right frontal.', origin: 'human' });
    expect(r.sections.impression).toEqual({ text: '', origin: 'human' });
    await expect(fx.reports.sign(r.id, r.revision, rad(), SIGN)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const s = fx.reports.saveDraft({ reportId: r.id, baseRevision: r.revision, sections: { impression: 'Cavernoma; no tumor.' } }, rad());
    const signed = await fx.reports.sign(r.id, s.revision, rad(), SIGN);
    expect(signed).toMatchObject({ status: 'rejected', aiDecision: 'rejected', rejectReason: 'Typical cavernoma on SWI.' });
    expect(fx.reports.verify(r.id).ok).toBe(true);
  });
});

describe('dashboard, history and the patient summary', () => {
  it('counts pending, approved and rejected studies', () => {
    const d = fx.reports.dashboard({ filter: 'all', limit: 500, offset: 0 });
    expect(d.counts.all).toBe(2 + fx.extraStudyIds.length);
    expect(d.counts.pending + d.counts.approved + d.counts.rejected).toBe(d.counts.all);
    const approved = fx.reports.dashboard({ filter: 'approved', limit: 500, offset: 0 });
    expect(approved.rows.every((r) => r.status === 'final')).toBe(true);
    expect(approved.rows.map((r) => r.studyId)).toContain(fx.studyId);
    const rejected = fx.reports.dashboard({ filter: 'rejected', limit: 500, offset: 0 });
    expect(rejected.rows.map((r) => r.studyId)).toContain(fx.priorStudyId);
    const pending = fx.reports.dashboard({ filter: 'pending', limit: 500, offset: 0 });
    expect(pending.rows.every((r) => ['none', 'draft', 'preliminary'].includes(r.status))).toBe(true);
    expect(pending.rows[0]).toHaveProperty('aiLabel', 'meningioma');
  });

  it("draws the patient's studies over time with the change since the last one", () => {
    const h = fx.reports.history(fx.studyId);
    const dated = h.points.filter((p) => p.studyDate?.startsWith('202'));
    expect(dated.map((p) => p.studyDate)).toEqual(['20230310', '20240315']);
    expect(dated[1]!.current).toBe(true);
    expect(dated[0]!.areaMm2! < dated[1]!.areaMm2!).toBe(true);
    expect(h.change).toMatch(/^Increased since the previous study \(2023-03-10\)/);
  });

  it('gives a patient only their own signed reports, in plain language', () => {
    const mine = fx.reports.patientSummaries(fx.actors.patient);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const glioma = mine.find((s) => s.paragraphs.some((p) => p.includes('glioma')))!;
    expect(glioma.headline).toBe('Your brain scan showed a finding your doctor will discuss with you');
    expect(glioma.paragraphs.join(' ')).toContain('not a medical device');
    const stranger: Actor = { ...fx.actors.patient, patientId: 'someone-else' };
    expect(fx.reports.patientSummaries(stranger)).toEqual([]);
    expect(() => fx.reports.patientSummaries(stranger, glioma.reportId)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => fx.reports.patientSummaries(fx.actors.researcher)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('leaves an audit chain that verifies', () => {
    expect(fx.audit.verify()).toMatchObject({ ok: true });
  });
});
