// Messages between a patient and the care team, through the real composition root and handler
// table on the bundled demo study: a department inbox any radiologist answers, a patient held to
// their own conversation (whatever they ask for), report references checked, bodies kept as text
// and out of the audit log.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message, MessageInboxRow, MessageThread, PatientMatch, Report, StudySummary } from '../contract';
import { resolveConfig } from '../services/config';
import { defaultDemoFolder } from '../services/dicom';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller, TEST_RADIOLOGIST } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
let rad2: Connection;
let researcher: Connection;
let patientA: Connection;
let patientB: Connection;
let patientC: Connection;
let recordA: string;
let recordB: string;
/** Signed reports of the demo glioma (A) and meningioma (B) patients; an unsigned draft of C (pituitary). */
let reportA: Report;
let reportB: Report;
let draftC: Report;

const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);
const MARKER = 'PLANTED-BODY-MARKER-5173';

async function studyOf(patientId: string): Promise<string> {
  const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search: patientId });
  expect(rows).toHaveLength(1);
  return rows[0]!.studyId;
}

/** As the radiologist, without an AI run (not what this test is about): a written impression, signed. */
async function signWritten(patientId: string): Promise<Report> {
  const draft = await ok<Report>(rad, 'reports.open', { studyId: await studyOf(patientId) });
  const saved = await ok<Report>(rad, 'reports.saveDraft', { reportId: draft.id, baseRevision: draft.revision, sections: { impression: 'No acute change.' } });
  return ok<Report>(rad, 'reports.sign', { reportId: draft.id, baseRevision: saved.revision, password: TEST_RADIOLOGIST.password });
}

async function linkPatient(username: string, dicomPatientId: string): Promise<{ conn: Connection; record: string }> {
  const { patients } = await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: dicomPatientId });
  const password = 'patient-pass-word-0042';
  await ok(admin, 'users.create', { username, displayName: `Patient ${username}`, role: 'patient', patientId: patients[0]!.id, password });
  return { conn: await signIn(username, password), record: patients[0]!.id };
}

const inbox = async (conn = rad): Promise<MessageInboxRow[]> => (await ok<{ rows: MessageInboxRow[] }>(conn, 'messages.inbox', {})).rows;
const unread = async (conn: Connection): Promise<number> => (await ok<{ unread: number }>(conn, 'messages.unreadCount', {})).unread;
const send = async (conn: Connection, payload: Record<string, unknown>): Promise<Message> => (await ok<{ message: Message }>(conn, 'messages.send', payload)).message;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-messages-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the messages test' }));
  ({ admin, rad } = await adminAndRadiologist());
  await ok(admin, 'users.create', { username: 'rad2', displayName: 'Dr Second', role: 'radiologist', password: 'second-reader-pw-0042' });
  await ok(admin, 'users.create', { username: 'res1', displayName: 'Researcher', role: 'researcher', password: 'research-pw-000042' });
  rad2 = await signIn('rad2', 'second-reader-pw-0042');
  researcher = await signIn('res1', 'research-pw-000042');
  const imported = await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
  expect(imported.studyIds.length).toBeGreaterThanOrEqual(5);
  reportA = await signWritten('DEMO-GLIOMA');
  reportB = await signWritten('DEMO-MENINGIOMA');
  draftC = await ok<Report>(rad, 'reports.open', { studyId: await studyOf('DEMO-PITUITARY') });
  expect(draftC.status).toBe('draft');
  ({ conn: patientA, record: recordA } = await linkPatient('pat-a', 'DEMO-GLIOMA'));
  ({ conn: patientB, record: recordB } = await linkPatient('pat-b', 'DEMO-MENINGIOMA'));
  ({ conn: patientC } = await linkPatient('pat-c', 'DEMO-PITUITARY'));
  expect(reportA.patientId).toBe(recordA);
}, 180_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a conversation between patient A and the care team', () => {
  it('starts empty on both sides', async () => {
    expect(await inbox()).toEqual([]);
    expect(await unread(rad)).toBe(0);
    expect(await unread(patientA)).toBe(0);
    const mine = await ok<MessageThread>(patientA, 'messages.thread', {});
    expect(mine).toEqual({ patient: { id: recordA, displayName: 'DEMO, GLIOMA', dicomPatientId: 'DEMO-GLIOMA' }, messages: [] });
  });

  it('A writes about their signed report; the inbox shows A with one unread message', async () => {
    const sent = await send(patientA, { body: `  Is this serious? ${MARKER}\n\nThank you.  `, reportId: reportA.id });
    expect(sent).toMatchObject({ patientId: recordA, senderRole: 'patient', senderName: 'Patient pat-a', mine: true, body: `Is this serious? ${MARKER}\n\nThank you.`, readAt: null, report: { reportId: reportA.id, studyDate: '20240101' } });
    const rows = await inbox();
    expect(rows).toEqual([
      { patientId: recordA, patientName: 'DEMO, GLIOMA', dicomPatientId: 'DEMO-GLIOMA', lastPreview: `Is this serious? ${MARKER} Thank you.`, lastAt: sent.createdAt, lastSenderRole: 'patient', unread: 1, total: 1, urgent: false },
    ]);
    expect(await unread(rad)).toBe(1);
    // The inbox is the department's: the second radiologist sees the same unread message.
    expect(await unread(rad2)).toBe(1);
    // A's own message is not unread for A.
    expect(await unread(patientA)).toBe(0);
  });

  it('reading the thread marks it read for every radiologist, and A sees it was read', async () => {
    const thread = await ok<MessageThread>(rad2, 'messages.thread', { patientId: recordA });
    expect(thread.patient).toEqual({ id: recordA, displayName: 'DEMO, GLIOMA', dicomPatientId: 'DEMO-GLIOMA' });
    expect(thread.messages).toHaveLength(1);
    expect(thread.messages[0]).toMatchObject({ senderRole: 'patient', mine: false, report: { reportId: reportA.id } });
    expect(thread.messages[0]!.readAt).not.toBeNull();
    expect(await unread(rad)).toBe(0);
    expect((await inbox())[0]).toMatchObject({ patientId: recordA, unread: 0, total: 1 });
    const seen = await ok<MessageThread>(patientA, 'messages.thread', {});
    expect(seen.messages[0]!.readAt).toBe(thread.messages[0]!.readAt);
  });

  it("the radiologist's reply is signed with their name and is unread for A until A reads it", async () => {
    const reply = await send(rad, { patientId: recordA, body: 'We will talk about it on Monday.' });
    expect(reply).toMatchObject({ senderRole: 'radiologist', senderName: 'Dr Rad', mine: true, report: null, readAt: null });
    expect(await unread(patientA)).toBe(1);
    // A care-team reply is not an unread patient message.
    expect(await unread(rad)).toBe(0);
    const rows = await inbox();
    expect(rows[0]).toMatchObject({ patientId: recordA, lastPreview: 'We will talk about it on Monday.', lastSenderRole: 'radiologist', unread: 0, total: 2 });

    const thread = await ok<MessageThread>(patientA, 'messages.thread', { patientId: recordA });
    expect(thread.messages.map((m) => [m.senderRole, m.senderName, m.mine])).toEqual([
      ['patient', 'Patient pat-a', true],
      ['radiologist', 'Dr Rad', false],
    ]);
    expect(thread.messages[1]!.readAt).not.toBeNull();
    expect(await unread(patientA)).toBe(0);
  });

  it('stores and returns markup verbatim, as text', async () => {
    const body = '<script>alert(1)</script> & <b>bold</b>';
    expect((await send(patientA, { body })).body).toBe(body);
    const thread = await ok<MessageThread>(rad, 'messages.thread', { patientId: recordA });
    expect(thread.messages.at(-1)!.body).toBe(body);
    expect((await inbox())[0]!.lastPreview).toBe(body);
  });

  it('orders the inbox newest first, pages it, and previews the first 120 characters', async () => {
    const long = 'x'.repeat(150);
    await send(patientB, { body: long });
    const rows = await inbox();
    expect(rows.map((r) => r.patientId)).toEqual([recordB, recordA]);
    expect(rows[0]!.lastPreview).toBe('x'.repeat(120));
    const page2 = await ok<{ rows: MessageInboxRow[]; total: number }>(rad, 'messages.inbox', { limit: 1, offset: 1 });
    expect(page2).toMatchObject({ total: 2, rows: [{ patientId: recordA }] });
    // A's last message was read in the test before; B's is new.
    expect(await unread(rad)).toBe(1);
  });
});

describe('who may see and write what', () => {
  it("patient B can neither read nor write A's conversation, and gets only their own", async () => {
    for (const patientId of [recordA, 'no-such-record']) {
      const read = await call(patientB, 'messages.thread', { patientId });
      expect(read).toMatchObject({ ok: false, code: 'NOT_FOUND', message: 'There is no such conversation for you.' });
      const write = await call(patientB, 'messages.send', { patientId, body: 'hello' });
      expect(write).toMatchObject({ ok: false, code: 'NOT_FOUND', message: 'There is no such conversation for you.' });
    }
    const own = await ok<MessageThread>(patientB, 'messages.thread', {});
    expect(own.patient.id).toBe(recordB);
    expect(own.messages.every((m) => m.patientId === recordB)).toBe(true);
    expect(JSON.stringify(own)).not.toContain(MARKER);
    // Nothing reached A's conversation.
    const a = await ok<MessageThread>(rad, 'messages.thread', { patientId: recordA });
    expect(a.messages.some((m) => m.body === 'hello')).toBe(false);
    expect(await call(patientB, 'messages.inbox', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it("a patient cannot reference another patient's report or an unsigned one", async () => {
    expect(await call(patientA, 'messages.send', { body: 'about B', reportId: reportB.id })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(patientC, 'messages.send', { body: 'about my draft', reportId: draftC.id })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(patientC, 'messages.send', { body: 'about nothing', reportId: 'no-such-report' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // A radiologist cannot file B's report in A's conversation either.
    expect(await call(rad, 'messages.send', { patientId: recordA, body: 'see report', reportId: reportB.id })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect((await send(rad, { patientId: recordB, body: 'see your report', reportId: reportB.id })).report).toEqual({ reportId: reportB.id, studyDate: expect.any(String) as unknown });
    const c = await ok<MessageThread>(patientC, 'messages.thread', {});
    expect(c.messages).toEqual([]);
  });

  it('refuses empty and too long bodies, and a radiologist without a patient record', async () => {
    for (const body of ['', '   \n ', 'y'.repeat(4001)]) {
      expect(await call(patientA, 'messages.send', { body })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    }
    // 4000 characters after trimming are fine.
    expect((await send(patientA, { body: ` ${'z'.repeat(4000)} ` })).body).toHaveLength(4000);
    expect(await call(rad, 'messages.send', { body: 'to whom?' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(rad, 'messages.thread', {})).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await call(rad, 'messages.send', { patientId: 'no-such-record', body: 'hello' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(rad, 'messages.thread', { patientId: 'no-such-record' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // A patient record with no messages yet opens as an empty conversation a radiologist can start.
    const c = (await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: 'DEMO-NOTUMOR' })).patients[0]!;
    expect(await ok<MessageThread>(rad, 'messages.thread', { patientId: c.id })).toMatchObject({ messages: [] });
  });

  it('admin, researcher and anyone signed out are refused', async () => {
    for (const [channel, payload] of [
      ['messages.inbox', {}],
      ['messages.thread', { patientId: recordA }],
      ['messages.send', { patientId: recordA, body: 'hi' }],
      ['messages.unreadCount', {}],
    ] as const) {
      expect(await call(admin, channel, payload)).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await call(researcher, channel, payload)).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await call(createConnection('host'), channel, payload)).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    }
  });

  it('audits sends and reads by patient id, never the text', async () => {
    const db = ws.services.store.db();
    const rows = db.prepare(`SELECT * FROM audit_log WHERE action LIKE 'message.%' ORDER BY id`).all() as { action: string; object_id: string; outcome: string; detail: string | null }[];
    expect(rows.filter((r) => r.action === 'message.send' && r.outcome === 'success').length).toBeGreaterThanOrEqual(5);
    expect(rows.filter((r) => r.action === 'message.read-thread' && r.outcome === 'success').length).toBeGreaterThanOrEqual(5);
    expect(rows.filter((r) => r.outcome === 'success').every((r) => [recordA, recordB].includes(r.object_id) || r.action === 'message.read-thread')).toBe(true);
    // B's tries on A's conversation are refusals on record.
    expect(rows.filter((r) => r.outcome === 'refused' && r.object_id === recordA).map((r) => r.action).sort()).toEqual(['message.read-thread', 'message.send']);
    const everything = JSON.stringify(db.prepare('SELECT * FROM audit_log').all());
    expect(everything).not.toContain(MARKER);
    expect(everything).not.toContain('We will talk about it');
    // The body is in the (encrypted) messages table, and nowhere in the log file.
    expect(db.prepare('SELECT count(*) AS n FROM messages WHERE body LIKE ?').get(`%${MARKER}%`)).toEqual({ n: 1 });
    const logFile = path.join(dir, 'data', 'logs', 'workstation.log');
    const log = fs.readFileSync(logFile, 'utf8');
    expect(log).toContain('workstation.started');
    expect(log).not.toContain(MARKER);
  });
});
