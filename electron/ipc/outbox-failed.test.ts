// "Outbox item failed (admin)" through the real composition root, handler table and a real
// Orthanc: a radiologist signs a report (its PDF and SR go to sync's outbox), the hospital
// server refuses them for good (HTTP 400, from a fault proxy in front of Orthanc), and every
// admin is notified live and in their list, with no patient data in the text; the radiologist
// and the patient whose report it is get no such notification. However many items a signing
// queued, each admin has one unread notice at a time. A retry that goes through adds
// none, and a refusal that will pass (HTTP 500, retried later) notifies nobody.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATIONS_EVENT, type EventEnvelope, type Notification, type NotificationsEvent, type PatientMatch, type Report, type StudySummary } from '../contract';
import { resolveConfig } from '../services/config';
import { defaultDemoFolder } from '../services/dicom';
import { startFaultProxy, type FaultProxy } from '../testing/sync/fault-proxy';
import { startOrthanc, type OrthancServer } from '../testing/sync/orthanc';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { TEST_ADMIN, TEST_RADIOLOGIST, channelCaller } from './test-calls';

let orthanc: OrthancServer;
let proxy: FaultProxy;
let dir: string;
let ws: Workstation;
let admin: Connection;
let adminLive: Connection;
let admin2: Connection;
let rad: Connection;
let patient: Connection;
let reportId: string;
const events = { admin: [] as EventEnvelope[], admin2: [] as EventEnvelope[], rad: [] as EventEnvelope[], patient: [] as EventEnvelope[] };

const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);
const list = async (conn: Connection): Promise<Notification[]> => (await ok<{ notifications: Notification[] }>(conn, 'notifications.list', {})).notifications;
const failedNotes = async (conn: Connection): Promise<Notification[]> => (await list(conn)).filter((n) => n.kind === 'outbox-failed');
const TITLE = 'Results could not be sent to the hospital server';
const live = (sink: EventEnvelope[]): NotificationsEvent[] => sink.filter((e) => e.event === NOTIFICATIONS_EVENT).map((e) => e.data as NotificationsEvent);
const outboxItems = async (): Promise<{ id: number; state: string; label: string }[]> => (await ok<{ items: { id: number; state: string; label: string }[] }>(admin, 'outbox.list', { limit: 50 })).items;

beforeAll(async () => {
  orthanc = await startOrthanc();
  proxy = await startFaultProxy(orthanc.dicomWebUrl);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-outbox-failed-'));
  // 'cli': no sync timer, so each push happens when the test asks for it.
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: dir, keySource: 'passphrase', passphrase: 'outbox failed test passphrase' }));
  ({ admin, rad } = await adminAndRadiologist((e) => events.rad.push(e)));
  adminLive = await signIn(TEST_ADMIN.username, TEST_ADMIN.password, (e) => events.admin.push(e));
  await ok(admin, 'users.create', { username: 'admin2', displayName: 'Second Admin', role: 'admin', password: 'second-admin-pw-0042' });
  admin2 = await signIn('admin2', 'second-admin-pw-0042', (e) => events.admin2.push(e));
  await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
  const { patients } = await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: 'DEMO-VOLUME' });
  await ok(admin, 'users.create', { username: 'pat-g', displayName: 'Volume Patient', role: 'patient', patientId: patients[0]!.id, password: 'patient-pass-word-0042' });
  patient = await signIn('pat-g', 'patient-pass-word-0042', (e) => events.patient.push(e));
  // Each connection makes one call, so the live-event registry knows whose window it is.
  for (const c of [adminLive, admin2, rad, patient]) await ok(c, 'notifications.counts', {});
  await ok(admin, 'sync.setSettings', { baseUrl: proxy.url, authType: 'basic', username: orthanc.username, secret: orthanc.password, allowInsecureHttp: true, enabled: true });
}, 180_000);

afterAll(async () => {
  await ws?.close();
  await proxy?.close();
  await orthanc?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('an outbox item the hospital server refuses for good', () => {
  it('a signed report puts its objects in the outbox', async () => {
    // The demo volume: one series of many slices, all of them queued with the accepted finding.
    const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search: 'DEMO-VOLUME' });
    await ok(rad, 'ai.runStudy', { studyId: rows[0]!.studyId });
    const draft = await ok<Report>(rad, 'reports.open', { studyId: rows[0]!.studyId });
    reportId = draft.id;
    const saved = await ok<Report>(rad, 'reports.saveDraft', { reportId, baseRevision: draft.revision, sections: { impression: 'Outbox test impression.' } });
    const ready = draft.aiDecision === 'none' ? saved : await ok<Report>(rad, 'reports.acceptAi', { reportId });
    await ok(rad, 'reports.sign', { reportId, baseRevision: ready.revision, password: TEST_RADIOLOGIST.password });
    const queued = (await outboxItems()).filter((i) => i.state === 'queued');
    expect(queued.map((i) => i.label)).toEqual(expect.arrayContaining(['Signed report (PDF)', 'Report SR (TID 1500)']));
  });

  it('a refusal that may pass (HTTP 500) is retried later and notifies nobody', async () => {
    proxy.setFault({ kind: 'status', status: 500 }, (r) => r.method === 'POST');
    try {
      const run = await ok<{ pushed: number; pushFailed: number }>(admin, 'sync.now', {});
      expect(run).toMatchObject({ pushed: 0 });
      expect(run.pushFailed).toBeGreaterThanOrEqual(1);
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect((await outboxItems()).every((i) => i.state === 'queued')).toBe(true);
    expect(await failedNotes(adminLive)).toEqual([]);
    expect(live(events.admin)).toEqual([]);
  });

  it('HTTP 400 fails each item for good and tells every admin, live, without patient data', async () => {
    // Make the queued items due now (the 500 above set a back-off), as the admin's Retry does.
    for (const item of await outboxItems()) await ok(admin, 'outbox.retry', { id: item.id });
    proxy.setFault({ kind: 'status', status: 400 }, (r) => r.method === 'POST');
    try {
      await ok(admin, 'sync.now', {});
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    const failed = (await outboxItems()).filter((i) => i.state === 'failed');
    // The PDF, the SR, the SEG and the source series: many items, but one notice per admin.
    expect(failed.length).toBeGreaterThanOrEqual(10);
    for (const conn of [adminLive, admin2]) {
      const notes = await failedNotes(conn);
      expect(notes).toHaveLength(1);
      expect(failed.map((i) => String(i.id))).toContain(notes[0]!.objectId);
      expect(notes[0]).toMatchObject({ title: TITLE, page: 'admin', readAt: null });
      expect(`${notes[0]!.title} ${notes[0]!.body}`).not.toMatch(/VOLUME|Volume|pat-g|Dr Rad|Outbox test/);
    }
    expect(await ok(admin2, 'notifications.counts', {})).toMatchObject({ unread: 1, unreadMessages: 0 });
    // Pushed to the admins' open windows as it happened.
    for (const sink of [events.admin, events.admin2]) {
      const got = live(sink);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({ unread: 1, latest: { kind: 'outbox-failed', title: TITLE } });
    }
    // Not the radiologist who signed, not the patient whose report it is.
    expect(await failedNotes(rad)).toEqual([]);
    expect(await failedNotes(patient)).toEqual([]);
    expect(live(events.rad).filter((e) => e.latest?.kind === 'outbox-failed')).toEqual([]);
    expect(live(events.patient).filter((e) => e.latest?.kind === 'outbox-failed')).toEqual([]);
    // The patient cannot even list the outbox.
    expect(await call(patient, 'outbox.list', { limit: 5 })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('a failed item is not tried again by itself; the admin\'s retry that goes through notifies nobody', async () => {
    const before = (await list(adminLive)).length;
    await ok(admin, 'sync.now', {});
    expect((await list(adminLive)).length).toBe(before);
    for (const item of (await outboxItems()).filter((i) => i.state === 'failed')) {
      const retried = await ok<{ state: string }>(admin, 'outbox.retry', { id: item.id });
      expect(['queued', 'sent']).toContain(retried.state);
    }
    await ok(admin, 'sync.now', {});
    expect((await outboxItems()).every((i) => i.state === 'sent')).toBe(true);
    expect((await list(adminLive)).length).toBe(before);
  });

  it('once an admin has read the notice, the next refusal tells them again (and only them)', async () => {
    await ok(adminLive, 'notifications.markRead', { all: true });
    await ok(rad, 'reports.addAddendum', { reportId, text: 'Addendum for the outbox test.', password: TEST_RADIOLOGIST.password });
    proxy.setFault({ kind: 'status', status: 400 }, (r) => r.method === 'POST');
    try {
      await ok(admin, 'sync.now', {});
    } finally {
      proxy.setFault({ kind: 'none' });
    }
    expect((await outboxItems()).filter((i) => i.state === 'failed').length).toBeGreaterThanOrEqual(2);
    expect((await failedNotes(adminLive)).filter((n) => n.readAt === null)).toHaveLength(1);
    expect(await failedNotes(adminLive)).toHaveLength(2);
    // admin2 had not read theirs: still the one notice.
    expect(await failedNotes(admin2)).toHaveLength(1);
  });
});
