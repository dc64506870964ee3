// Linking a patient account by the hospital Patient ID or name, and what that account then sees:
// through the real composition root and handler table, on the bundled demo study, with the
// shipped model's findings accepted and signed by a radiologist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRowView, PatientMatch, PatientSummary, Report, StudySummary } from '../contract';
import { resolveConfig } from '../services/config';
import { defaultDemoFolder } from '../services/dicom';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller, TEST_RADIOLOGIST } from './test-calls';


let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
/** The signed report of the demo glioma patient (A) and of the demo meningioma patient (B). */
let reportA: Report;
let reportB: Report;

const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);


const search = async (query: string): Promise<PatientMatch[]> => (await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query })).patients;


/** As the radiologist: AI run, report from the AI finding, accept, sign. */
async function signDemoCase(patientId: string): Promise<Report> {
  const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search: patientId });
  expect(rows).toHaveLength(1);
  await ok(rad, 'ai.runStudy', { studyId: rows[0]!.studyId });
  const draft = await ok<Report>(rad, 'reports.open', { studyId: rows[0]!.studyId });
  const accepted = await ok<Report>(rad, 'reports.acceptAi', { reportId: draft.id });
  return ok<Report>(rad, 'reports.sign', { reportId: draft.id, baseRevision: accepted.revision, password: TEST_RADIOLOGIST.password });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-patients-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the patients test' }));
  ({ admin, rad } = await adminAndRadiologist());
  const imported = await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
  expect(imported.studyIds.length).toBeGreaterThanOrEqual(5);
  reportA = await signDemoCase('DEMO-GLIOMA');
  reportB = await signDemoCase('DEMO-MENINGIOMA');
}, 180_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('patients.search', () => {
  it('finds a record by its whole hospital Patient ID, in any case, but not by a part of it', async () => {
    const [hit, ...rest] = await search('DEMO-GLIOMA');
    expect(rest).toEqual([]);
    expect(hit).toEqual({ id: reportA.patientId, displayName: 'DEMO, GLIOMA', dicomPatientId: 'DEMO-GLIOMA', birthDate: '19700101', studyCount: 1, linkedUsername: null });
    expect((await search('demo-glioma')).map((p) => p.id)).toEqual([reportA.patientId]);
    expect(await search('DEMO-GLIO')).toEqual([]);
  });

  it('finds records by a part of the name, any case, words in any order', async () => {
    expect((await search('glio')).map((p) => p.dicomPatientId)).toEqual(['DEMO-GLIOMA']);
    expect((await search('Glioma demo')).map((p) => p.dicomPatientId)).toEqual(['DEMO-GLIOMA']);
    const demo = await search('demo');
    expect(demo.map((p) => p.dicomPatientId).sort()).toEqual(['DEMO-GLIOMA', 'DEMO-MENINGIOMA', 'DEMO-NOTUMOR', 'DEMO-PITUITARY', 'DEMO-VOLUME']);
    // LIKE's wildcards are taken literally, so they match nothing here.
    expect(await search('%')).toEqual([]);
    expect(await search('D_MO')).toEqual([]);
  });

  it('refuses an empty query and anyone but an admin or a radiologist, who does not see the linked accounts', async () => {
    expect(await call(admin, 'patients.search', { query: '   ' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(admin, 'patients.search', { query: 'x'.repeat(65) })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    // A radiologist finds the record to add a patient's images to (consultation-room upload).
    const asRad = await ok<{ patients: PatientMatch[] }>(rad, 'patients.search', { query: 'DEMO-GLIOMA' });
    expect(asRad.patients.map((p) => [p.dicomPatientId, p.linkedUsername])).toEqual([['DEMO-GLIOMA', null]]);
    await ok(admin, 'users.create', { username: 'res1', displayName: 'Researcher', role: 'researcher', password: 'research-pw-000042' });
    const researcher = await signIn('res1', 'research-pw-000042');
    expect(await call(researcher, 'patients.search', { query: 'DEMO-GLIOMA' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(createConnection('host'), 'patients.search', { query: 'DEMO-GLIOMA' })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
  });

  it('audits each search with the number of results only, never the query', async () => {
    await search('MENINGIOMA');
    const { rows } = await ok<{ rows: AuditRowView[] }>(admin, 'audit.list', { action: 'patients.search', limit: 100 });
    // One row per search the admin made, newest first; the radiologist's refused call has its own row.
    const done = rows.filter((r) => r.outcome === 'success' && r.actor === 'admin1');
    expect(rows.filter((r) => r.outcome === 'success').every((r) => r.objectId === null)).toBe(true);
    expect(JSON.parse(done[0]!.detail!)).toEqual({ results: 1 });
    expect(done.map((r) => (JSON.parse(r.detail!) as { results: number }).results)).toEqual([1, 0, 0, 5, 1, 1, 0, 1, 1]);
    expect(rows.filter((r) => r.outcome === 'refused').map((r) => r.actor)).toContain('res1');
    const all = JSON.stringify(rows).toLowerCase();
    for (const q of ['meningioma', 'glio', 'demo']) expect(all).not.toContain(q);
  });
});

describe('a linked patient account', () => {
  let patientA: Connection;
  let patientC: Connection;

  it('is linked to the record the search found, and the search then names the account', async () => {
    const [a] = await search('DEMO-GLIOMA');
    const [c] = await search('DEMO-NOTUMOR');
    await ok(admin, 'users.create', { username: 'pat-a', displayName: 'Patient A', role: 'patient', patientId: a!.id, password: 'patient-a-pass-0042' });
    await ok(admin, 'users.create', { username: 'pat-c', displayName: 'Patient C', role: 'patient', patientId: c!.id, password: 'patient-c-pass-0042' });
    expect((await search('DEMO-GLIOMA'))[0]).toMatchObject({ linkedUsername: 'pat-a' });
    expect((await search('DEMO-MENINGIOMA'))[0]).toMatchObject({ linkedUsername: null });
    // The auth service still refuses a record that does not exist.
    expect(await call(admin, 'users.create', { username: 'pat-x', displayName: 'X', role: 'patient', patientId: 'no-such-record', password: 'patient-x-pass-0042' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    patientA = await signIn('pat-a', 'patient-a-pass-0042');
    patientC = await signIn('pat-c', 'patient-c-pass-0042');
    expect(await call(patientA, 'patients.search', { query: 'DEMO-GLIOMA' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it("gets only their own signed summaries, marked as AI-assisted", async () => {
    const { summaries } = await ok<{ summaries: PatientSummary[] }>(patientA, 'reports.patientSummary', {});
    expect(summaries.map((s) => s.reportId)).toEqual([reportA.id]);
    expect(summaries.map((s) => s.reportId)).not.toContain(reportB.id);
    expect(summaries[0]).toMatchObject({ signedByName: 'Dr Rad', aiAssisted: true, headline: 'Your brain scan showed a finding your doctor will discuss with you' });
    expect(summaries[0]!.paragraphs.join(' ')).toContain('not a medical device');
    expect(await call(patientA, 'reports.patientSummary', { reportId: reportB.id })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it("another patient's account gets none of them", async () => {
    // The service-level case (electron/services/reports/lifecycle.test.ts, "gives a patient only
    // their own signed reports") uses a made-up patient id; here the link comes from the session.
    expect(await ok(patientC, 'reports.patientSummary', {})).toEqual({ summaries: [], patient: expect.objectContaining({ dicomPatientId: expect.any(String) }) });
    expect(await call(patientC, 'reports.patientSummary', { reportId: reportA.id })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // Nothing else of the clinical side is open to a patient.
    expect(await call(patientC, 'reports.get', { reportId: reportA.id })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(patientC, 'studies.list', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });
});
