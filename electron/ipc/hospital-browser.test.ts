// The Hospital server page's channels through the real composition root and the handler table,
// against a real Orthanc: pacs.source says which transport (none, DICOMweb, DIMSE); pacs.find by
// patient name prefix, ID, accession; pacs.retrieve with pacs.progress events to the caller's
// connection, into the worklist with the AI run; pacs.cancel stops a retrieve (DICOMweb: the
// transfer closed; DIMSE: C-CANCEL) and what arrived stays consistent, a second retrieve completes
// the study. Roles, schema and ownership (only the user who started a retrieve cancels it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACS_PROGRESS_EVENT, type EventEnvelope, type PacsProgress, type PacsRetrieveResult, type PacsSource, type PacsStudy } from '../contract';
import { resolveConfig } from '../services/config';
import { freePort, startOrthanc, type OrthancServer } from '../testing/sync/orthanc';
import { makeMrStudy } from '../testing/sync/study-factory';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let orthanc: OrthancServer;
let admin: Connection;
let rad: Connection;
let rad2: Connection;
let scpPort: number;
const AE = 'TPBROWSER';
const events: PacsProgress[] = [];
const { ok, call, adminAndRadiologist, signIn } = channelCaller(() => ws);

const instancesOf = (studyUid: string): number =>
  (ws.services.store.db().prepare('SELECT count(*) AS n FROM instances i JOIN series se ON se.id = i.series_id JOIN studies st ON st.id = se.study_id WHERE st.study_instance_uid = ?').get(studyUid) as { n: number }).n;
const progressOf = (retrieveId: string): PacsProgress[] => events.filter((e) => e.retrieveId === retrieveId);

/** Starts a retrieve and cancels it once `after` instances have been reported complete. */
async function retrieveAndCancel(studyUid: string, retrieveId: string, after: number): Promise<PacsRetrieveResult> {
  const pending = ok<PacsRetrieveResult>(rad, 'pacs.retrieve', { studyInstanceUid: studyUid, retrieveId });
  await expect.poll(() => progressOf(retrieveId).some((p) => p.phase === 'retrieving' && p.completed >= after), { timeout: 120_000, interval: 5 }).toBe(true);
  // Someone else cannot cancel it (the id says nothing to them); its owner can.
  expect(await ok(rad2, 'pacs.cancel', { retrieveId })).toEqual({ cancelled: false });
  expect(await ok(rad, 'pacs.cancel', { retrieveId })).toEqual({ cancelled: true });
  return pending;
}

beforeAll(async () => {
  scpPort = await freePort();
  orthanc = await startOrthanc({ modalities: { workstation: { aeTitle: AE, host: '127.0.0.1', port: scpPort } } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-browser-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'browser test passphrase' }));
  ({ admin, rad } = await adminAndRadiologist((e: EventEnvelope) => {
    if (e.event === PACS_PROGRESS_EVENT) events.push(e.data as PacsProgress);
  }));
  await ok(admin, 'users.create', { username: 'rad2', displayName: 'Dr Other', role: 'radiologist', password: 'second-reader-pw-0042' });
  rad2 = await signIn('rad2', 'second-reader-pw-0042');
  await ws.services.dimse.start();
}, 180_000);

afterAll(async () => {
  await ws?.close();
  await orthanc?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('the new channels: session, role, schema', () => {
  it('refuses without a session, for an admin, and for ids or fields that are not allowed', async () => {
    const anon = createConnection('host');
    for (const [channel, payload] of [['pacs.source', {}], ['pacs.cancel', { retrieveId: 'abcdefgh-1' }], ['pacs.find', {}]] as const) {
      expect((await call(anon, channel, payload)).code, channel).toBe('UNAUTHENTICATED');
      expect((await call(admin, channel, payload)).code, channel).toBe('FORBIDDEN');
    }
    expect((await call(rad, 'pacs.cancel', { retrieveId: '../../x' })).code).toBe('INVALID_INPUT');
    expect((await call(rad, 'pacs.cancel', { retrieveId: 'short' })).code).toBe('INVALID_INPUT');
    expect((await call(rad, 'pacs.cancel', { retrieveId: 'abcdefgh-1', all: true })).code).toBe('INVALID_INPUT');
    expect((await call(rad, 'pacs.retrieve', { studyInstanceUid: '1.2.3', retrieveId: 'x'.repeat(65) })).code).toBe('INVALID_INPUT');
    expect((await call(rad, 'pacs.source', { transport: 'dimse' })).code).toBe('INVALID_INPUT');
    // A cancel of nothing running is a plain "no".
    expect(await ok(rad, 'pacs.cancel', { retrieveId: 'abcdefgh-1' })).toEqual({ cancelled: false });
  });

  it('with nothing configured, the page is told so and a search says what to do', async () => {
    const src = await ok<PacsSource>(rad, 'pacs.source', {});
    expect(src).toMatchObject({ transport: 'none', server: null, canRetrieve: false });
    expect(src.message).toMatch(/No hospital archive is configured/);
    const r = await call(rad, 'pacs.find', { patientName: 'Doe' });
    expect(r.code).toBe('UNAVAILABLE');
    expect(r.message).toMatch(/Administration > DIMSE/);
  });
});

describe('over DICOMweb (the sync settings\' hospital server, no PACS)', () => {
  let small: ReturnType<typeof makeMrStudy>;
  let big: ReturnType<typeof makeMrStudy>;
  beforeAll(async () => {
    small = makeMrStudy(path.join(dir, 'web-small'), 3, { patientName: 'Webber^Anna', patientId: 'WEB-0001', accessionNumber: 'ACC-WEB-1', studyDescription: 'MRI brain' });
    big = makeMrStudy(path.join(dir, 'web-big'), 150, { patientName: 'Webber^Bruno', patientId: 'WEB-0002', accessionNumber: 'ACC-WEB-2' });
    await orthanc.dcmsend([...small.files, ...big.files]);
    await ok(admin, 'sync.setSettings', { baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, allowInsecureHttp: true });
  }, 180_000);

  it('searches by name prefix, patient ID and accession, and retrieves with progress into the worklist with the AI run', async () => {
    expect(await ok<PacsSource>(rad, 'pacs.source', {})).toMatchObject({ transport: 'dicomweb', server: orthanc.dicomWebUrl, canRetrieve: true, message: null });
    const byName = await ok<{ studies: PacsStudy[]; transport: string }>(rad, 'pacs.find', { patientName: 'Webber' });
    expect(byName.transport).toBe('dicomweb');
    expect(byName.studies.map((s) => s.patientId).sort()).toEqual(['WEB-0001', 'WEB-0002']);
    const found = (await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { accessionNumber: 'ACC-WEB-1' })).studies;
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ studyInstanceUid: small.studyInstanceUid, patientName: 'Webber Anna', patientId: 'WEB-0001', studyDescription: 'MRI brain', modalities: ['MR'], instances: 3, local: false });
    expect((await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { patientId: 'WEB-0002' })).studies.map((s) => s.studyInstanceUid)).toEqual([big.studyInstanceUid]);

    const got = await ok<PacsRetrieveResult>(rad, 'pacs.retrieve', { studyInstanceUid: small.studyInstanceUid, retrieveId: 'web-small-1' });
    expect(got).toMatchObject({ transport: 'dicomweb', cancelled: false, completed: 3, failed: 0 });
    expect(got.ai.state, got.ai.message ?? '').toBe('done');
    expect(instancesOf(small.studyInstanceUid)).toBe(3);
    const seen = progressOf('web-small-1');
    expect(seen.some((p) => p.phase === 'retrieving' && p.completed === 3 && p.remaining === 0)).toBe(true);
    expect(seen.some((p) => p.phase === 'analysing')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ phase: 'done', completed: 3, studyInstanceUid: small.studyInstanceUid, transport: 'dicomweb' });
    expect((await ok<{ studies: PacsStudy[] }>(rad, 'pacs.find', { accessionNumber: 'ACC-WEB-1' })).studies[0]!.local).toBe(true);

    // The retrieved study's patient, given an account, reaches none of it.
    const { patients } = await ok<{ patients: { id: string }[] }>(admin, 'patients.search', { query: 'WEB-0001' });
    await ok(admin, 'users.create', { username: 'anna-w', displayName: 'Anna Webber', role: 'patient', patientId: patients[0]!.id, password: 'patient-pass-word-0042' });
    const patient = await signIn('anna-w', 'patient-pass-word-0042');
    for (const [channel, payload] of [['pacs.source', {}], ['pacs.find', { patientId: 'WEB-0001' }], ['pacs.retrieve', { studyInstanceUid: small.studyInstanceUid }], ['pacs.cancel', { retrieveId: 'web-small-1' }]] as const) {
      expect((await call(patient, channel, payload)).code, channel).toBe('FORBIDDEN');
    }
  }, 240_000);

  it('a cancelled retrieve stops the transfer; what arrived stays (whole instances, not marked complete) and a second retrieve brings the rest', async () => {
    const r = await retrieveAndCancel(big.studyInstanceUid, 'web-big-cancel', 1);
    expect(r.cancelled).toBe(true);
    expect(r.ai.state).toBe('skipped');
    expect(r.completed).toBeGreaterThanOrEqual(1);
    expect(r.completed).toBeLessThan(150);
    // Exactly what the retrieve reports is in the worklist, each instance recorded as pulled.
    expect(instancesOf(big.studyInstanceUid)).toBe(r.completed);
    const db = ws.services.store.db();
    expect((db.prepare('SELECT count(*) AS n FROM sync_pulled_instances WHERE study_instance_uid = ?').get(big.studyInstanceUid) as { n: number }).n).toBe(r.completed);
    expect(db.prepare('SELECT 1 FROM sync_pulled_studies WHERE study_instance_uid = ?').get(big.studyInstanceUid)).toBeUndefined();
    expect(progressOf('web-big-cancel').at(-1)).toMatchObject({ phase: 'done' });
    const audit = db.prepare(`SELECT detail FROM audit_log WHERE action = 'pacs.retrieve' ORDER BY id DESC LIMIT 1`).get() as { detail: string };
    expect(JSON.parse(audit.detail)).toMatchObject({ cancelled: true });

    const rest = await ok<PacsRetrieveResult>(rad, 'pacs.retrieve', { studyInstanceUid: big.studyInstanceUid, runAi: false });
    expect(rest).toMatchObject({ cancelled: false, completed: 150, failed: 0 });
    expect(instancesOf(big.studyInstanceUid)).toBe(150);
  }, 300_000);
});

describe('over DIMSE (a PACS configured: C-FIND, C-MOVE to this workstation)', () => {
  let small: ReturnType<typeof makeMrStudy>;
  let big: ReturnType<typeof makeMrStudy>;
  beforeAll(async () => {
    small = makeMrStudy(path.join(dir, 'dimse-small'), 3, { patientName: 'Dimsey^Clara', patientId: 'DIM-0001', accessionNumber: 'ACC-DIM-1' });
    big = makeMrStudy(path.join(dir, 'dimse-big'), 150, { patientName: 'Dimsey^Dora', patientId: 'DIM-0002', accessionNumber: 'ACC-DIM-2' });
    await orthanc.dcmsend([...small.files, ...big.files]);
    await ok(admin, 'dimse.setSettings', { pacs: { aeTitle: orthanc.aet, host: '127.0.0.1', port: orthanc.dicomPort }, aeTitle: AE, port: scpPort, bindAddress: '127.0.0.1' });
  }, 180_000);

  it('with the receiver off, the page is told that retrieving needs it; searching works', async () => {
    const src = await ok<PacsSource>(rad, 'pacs.source', {});
    expect(src).toMatchObject({ transport: 'dimse', server: `${orthanc.aet} at 127.0.0.1:${orthanc.dicomPort}`, canRetrieve: false });
    expect(src.message).toMatch(/not listening/);
    const found = await ok<{ studies: PacsStudy[]; transport: string }>(rad, 'pacs.find', { patientName: 'Dimsey' });
    expect(found.transport).toBe('dimse');
    expect(found.studies.map((s) => s.patientId).sort()).toEqual(['DIM-0001', 'DIM-0002']);
    await ok(admin, 'dimse.setSettings', { scpEnabled: true });
    expect(await ok<PacsSource>(rad, 'pacs.source', {})).toMatchObject({ transport: 'dimse', canRetrieve: true, message: null });
  }, 60_000);

  it('retrieves with the C-MOVE\'s sub-operation counts as progress events, then the AI', async () => {
    const got = await ok<PacsRetrieveResult>(rad, 'pacs.retrieve', { studyInstanceUid: small.studyInstanceUid, retrieveId: 'dimse-small-1' });
    expect(got).toMatchObject({ transport: 'dimse', cancelled: false, completed: 3, failed: 0 });
    expect(got.ai.state, got.ai.message ?? '').toBe('done');
    const seen = progressOf('dimse-small-1');
    expect(seen.filter((p) => p.phase === 'retrieving').map((p) => [p.completed, p.remaining])).toContainEqual([1, 2]);
    expect(seen.at(-1)).toMatchObject({ phase: 'done', completed: 3, transport: 'dimse' });
  }, 120_000);

  it('a cancel sends C-CANCEL: the move stops, what arrived stays, and a second retrieve completes the study', async () => {
    const r = await retrieveAndCancel(big.studyInstanceUid, 'dimse-big-cancel', 1);
    expect(r.cancelled).toBe(true);
    expect(r.ai.state).toBe('skipped');
    expect(r.completed).toBeLessThan(150);
    const arrived = instancesOf(big.studyInstanceUid);
    expect(arrived).toBeGreaterThanOrEqual(r.completed);
    expect(arrived).toBeLessThan(150);
    const rest = await ok<PacsRetrieveResult>(rad, 'pacs.retrieve', { studyInstanceUid: big.studyInstanceUid, runAi: false });
    expect(rest).toMatchObject({ cancelled: false, completed: 150, failed: 0 });
    expect(instancesOf(big.studyInstanceUid)).toBe(150);
  }, 300_000);
});
