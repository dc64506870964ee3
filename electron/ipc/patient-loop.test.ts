// The patient's and the doctor's loop through the real composition root and handler table: a
// patient uploads a DICOM folder (another person's Patient ID in its files, and a broken file) and
// a JPEG into their own record only; the model runs on them; a radiologist sees them in the
// review queue, rejects one with a reason and approves the other (a report draft, then signed);
// notifications reach the right people live and stay theirs; urgent messages go to the radiologists
// on duty; health tips and the care-team page. Every new channel is called by a patient who must
// not reach another patient's uploads, notifications or messages.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_EMERGENCY_TEXT,
  NOTIFICATIONS_EVENT,
  PRELIMINARY_NOTICE,
  type CareInfo,
  type EventEnvelope,
  type HealthTip,
  type MessageInboxRow,
  type MyUpload,
  type Notification,
  type NotificationCounts,
  type NotificationsEvent,
  type PatientMatch,
  type PatientSummary,
  type Report,
  type ReviewItem,
  type StudyDetail,
  type StudySummary,
} from '../contract';
import { resolveConfig } from '../services/config';
import { defaultDemoFolder } from '../services/dicom';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { TEST_RADIOLOGIST, channelCaller } from './test-calls';

let dir: string;
let ws: Workstation;
let admin: Connection;
let rad: Connection;
let rad2: Connection;
let radUserId: string;
let rad2UserId: string;
let patientA: Connection;
let patientB: Connection;
let recordA: string;
let recordB: string;
const events = { rad: [] as EventEnvelope[], rad2: [] as EventEnvelope[], a: [] as EventEnvelope[], b: [] as EventEnvelope[] };

const { call, ok, signIn, adminAndRadiologist } = channelCaller(() => ws);
const DEMO = defaultDemoFolder();

async function linkPatient(username: string, dicomPatientId: string, sink: EventEnvelope[]): Promise<{ conn: Connection; record: string }> {
  const { patients } = await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: dicomPatientId });
  const password = 'patient-pass-word-0042';
  await ok(admin, 'users.create', { username, displayName: `Patient ${username}`, role: 'patient', patientId: patients[0]!.id, password });
  return { conn: await signIn(username, password, (e) => sink.push(e)), record: patients[0]!.id };
}

/** Sends files through uploads.begin/chunk (small chunks, in order) and returns their file ids. */
async function send(conn: Connection, files: { name: string; bytes: Buffer }[]): Promise<string[]> {
  const ids: string[] = [];
  for (const f of files) {
    const { fileId } = await ok<{ fileId: string; chunkBytes: number }>(conn, 'uploads.begin', { name: f.name, size: f.bytes.length });
    const step = 64 * 1024;
    for (let off = 0; off < f.bytes.length; off += step) await ok(conn, 'uploads.chunk', { fileId, offset: off, data: f.bytes.subarray(off, off + step).toString('base64') });
    ids.push(fileId);
  }
  return ids;
}

const volumeFolder = (): { name: string; bytes: Buffer }[] =>
  ['t1-volume-01.dcm', 't1-volume-02.dcm', 't1-volume-03.dcm'].map((f) => ({ name: `scan/${f}`, bytes: fs.readFileSync(path.join(DEMO, f)) }));

/** A grey JPEG "photo of a scan": the glioma demo slice's 8-bit pixels, JPEG-encoded. */
function jpegOfGlioma(): Buffer {
  const w = 224;
  const h = 224;
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = Math.round(127 + 100 * Math.sin(x / 9) * Math.cos(y / 13));
    data.set([v, v, v, 255], (y * w + x) * 4);
  }
  return Buffer.from(jpeg.encode({ width: w, height: h, data }, 90).data);
}

const counts = (conn: Connection): Promise<NotificationCounts> => ok<NotificationCounts>(conn, 'notifications.counts', {});
const list = async (conn: Connection): Promise<Notification[]> => (await ok<{ notifications: Notification[] }>(conn, 'notifications.list', {})).notifications;
const mine = (conn: Connection): Promise<{ uploads: MyUpload[]; mayUpload: boolean; notAllowedReason: string | null }> => ok(conn, 'uploads.mine', {});
const notificationEvents = (sink: EventEnvelope[]): NotificationsEvent[] => sink.filter((e) => e.event === NOTIFICATIONS_EVENT).map((e) => e.data as NotificationsEvent);
const studiesOf = async (dicomPatientId: string): Promise<StudySummary[]> => (await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search: dicomPatientId, limit: 50 })).rows;

let folderUpload: string;
let jpegUpload: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-patient-loop-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the patient loop test' }));
  ({ admin, rad } = await adminAndRadiologist((e) => events.rad.push(e)));
  await ok(admin, 'users.create', { username: 'rad2', displayName: 'Dr Second', role: 'radiologist', password: 'second-reader-pw-0042' });
  rad2 = await signIn('rad2', 'second-reader-pw-0042', (e) => events.rad2.push(e));
  const users = (await ok<{ users: { id: string; username: string }[] }>(admin, 'users.list', {})).users;
  radUserId = users.find((u) => u.username === 'rad1')!.id;
  rad2UserId = users.find((u) => u.username === 'rad2')!.id;
  const imported = await ws.services.dicom.importPaths([DEMO], { actor: 'test' });
  expect(imported.studyIds.length).toBeGreaterThanOrEqual(5);
  ({ conn: patientA, record: recordA } = await linkPatient('pat-a', 'DEMO-GLIOMA', events.a));
  ({ conn: patientB, record: recordB } = await linkPatient('pat-b', 'DEMO-MENINGIOMA', events.b));
  // Every connection makes one call, so the live-event registry knows whose window it is.
  for (const c of [rad, rad2, patientA, patientB]) await counts(c);
}, 180_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('patient uploads', () => {
  it('are off for patient accounts until an admin allows them, and say so', async () => {
    const m = await mine(patientA);
    expect(m).toMatchObject({ uploads: [], mayUpload: false });
    expect(m.notAllowedReason).toMatch(/switched off at this hospital.*care team can add them/);
    const r = await call(patientA, 'uploads.begin', { name: 'x.dcm', size: 10 });
    expect(r).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(r.message).toMatch(/switched off/);
    await ok(admin, 'settings.update', { patientUploadsFromAccount: true });
    expect((await mine(patientA)).mayUpload).toBe(true);
  });

  it('files a DICOM folder under the patient\'s own record, whatever its Patient ID says, refusing the broken file', async () => {
    const before = await studiesOf('DEMO-VOLUME');
    const files = [...volumeFolder(), { name: 'scan/broken.dcm', bytes: Buffer.from('this is not DICOM at all, just text') }];
    const ids = await send(patientA, files);
    const before2 = events.rad.length;
    const res = await ok<{ uploadId: string; files: number; imported: number; refused: number; refusals: { name: string; reason: string }[] }>(patientA, 'uploads.submit', { fileIds: ids });
    folderUpload = res.uploadId;
    expect(res).toMatchObject({ files: 4, imported: 3, refused: 1 });
    expect(res.refusals).toEqual([{ name: 'broken.dcm', reason: expect.stringMatching(/not a DICOM file/) }]);

    // The volume's own patient record did not gain a study; A's record did.
    expect(await studiesOf('DEMO-VOLUME')).toHaveLength(before.length);
    const aStudies = await studiesOf('DEMO-GLIOMA');
    expect(aStudies).toHaveLength(2);
    const uploaded = aStudies.find((s) => s.description?.startsWith('Uploaded for review: '))!;
    expect(uploaded.description).toBe('Uploaded for review: Demo: T1 brain volume (ch2better template, derived)'.slice(0, 64).trim());
    // The other hospital's order number does not come along.
    expect(uploaded.accessionNumber).toBeNull();
    expect(uploaded).toMatchObject({ patientId: recordA, patientDicomId: 'DEMO-GLIOMA', patientName: 'DEMO, GLIOMA', instanceCount: 3 });
    // Its UIDs are its own, not the volume's.
    const volume = before[0]!;
    expect(uploaded.studyInstanceUid).not.toBe(volume.studyInstanceUid);
    const detail = await ok<StudyDetail>(rad, 'studies.get', { studyId: uploaded.studyId });
    expect(detail.series).toHaveLength(1);

    // The radiologists heard of it live, without patient data in the text.
    expect(events.rad.length).toBeGreaterThan(before2);
    const live = notificationEvents(events.rad).at(-1)!;
    expect(live).toMatchObject({ unread: 1, latest: { kind: 'upload-received', title: 'New images to review' } });
    expect(JSON.stringify(live)).not.toMatch(/GLIOMA|pat-a|Patient pat/);
    expect(notificationEvents(events.rad2).at(-1)).toMatchObject({ unread: 1 });
    // Patient B heard nothing.
    expect(notificationEvents(events.b)).toEqual([]);
  });

  it('wraps a JPEG as Secondary Capture in a second upload, and the model runs on both', async () => {
    const ids = await send(patientA, [{ name: 'phone-photo.jpg', bytes: jpegOfGlioma() }]);
    const res = await ok<{ uploadId: string; imported: number }>(patientA, 'uploads.submit', { fileIds: ids });
    jpegUpload = res.uploadId;
    expect(res.imported).toBe(1);
    await ws.services.uploads.idle();
    const { rows, counts: c } = await ok<{ rows: ReviewItem[]; counts: Record<string, number> }>(rad, 'reviews.list', { filter: 'pending' });
    expect(c).toEqual({ pending: 2, all: 2, approved: 0, rejected: 0 });
    // Oldest first.
    expect(rows.map((r) => r.id)).toEqual([folderUpload, jpegUpload]);
    const [folder, photo] = rows as [ReviewItem, ReviewItem];
    expect(folder).toMatchObject({ kind: 'dicom', files: 4, imported: 3, refused: 1, filePatientIds: ['DEMO-VOLUME'], patientIdMismatch: true, patientName: 'DEMO, GLIOMA', uploadedByName: 'Patient pat-a', uploadedByRole: 'patient', review: 'pending' });
    expect(photo).toMatchObject({ kind: 'images', files: 1, filePatientIds: [], patientIdMismatch: false });
    for (const r of rows) expect(r.ai.status).toBe('done');
    const sc = await ok<StudyDetail>(rad, 'studies.get', { studyId: photo.studyId! });
    expect(sc.study).toMatchObject({ derived: true, modalities: ['OT'], patientDicomId: 'DEMO-GLIOMA' });
    expect(sc.series[0]!.instances[0]).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.7', rows: 224, columns: 224, photometric: 'MONOCHROME2' });
  });

  it('shows the patient "received, awaiting review" only, until the admin allows the preliminary result', async () => {
    const m = await mine(patientA);
    expect(m.uploads.map((u) => u.id)).toEqual([jpegUpload, folderUpload]);
    for (const u of m.uploads) expect(u).toMatchObject({ state: 'received', headline: 'Received, awaiting review', preliminary: null, reviewedByName: null });
    expect(m.uploads[1]!.refusals).toEqual([{ name: 'broken.dcm', reason: expect.any(String) }]);
    await ok(admin, 'settings.update', { patientSeesBeforeReview: 'preliminary-ai' });
    const shown = await mine(patientA);
    for (const u of shown.uploads) {
      expect(u.preliminary).toMatchObject({ notice: PRELIMINARY_NOTICE });
      expect(u.preliminary!.text).toMatch(/computer|could not analyse these images/);
    }
    await ok(admin, 'settings.update', { patientSeesBeforeReview: 'received-only' });
  });

  it('keeps every patient to their own record, uploads and files in transit', async () => {
    // B names A's record: refused, as if it did not exist.
    const ids = await send(patientB, [{ name: 'x.jpg', bytes: jpegOfGlioma() }]);
    expect(await call(patientB, 'uploads.submit', { fileIds: ids, patientId: recordA })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // B cannot finish (or add to) A's file in transit: it belongs to A's connection.
    const [aFile] = await send(patientA, [{ name: 'y.jpg', bytes: jpegOfGlioma() }]);
    expect(await call(patientB, 'uploads.submit', { fileIds: [aFile] })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(await call(patientB, 'uploads.chunk', { fileId: aFile, offset: 0, data: 'AAAA' })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    // B sees none of A's uploads, and no review channel at all.
    expect((await mine(patientB)).uploads).toEqual([]);
    for (const [channel, payload] of [
      ['reviews.list', {}],
      ['reviews.get', { uploadId: folderUpload }],
      ['reviews.approve', { uploadId: folderUpload }],
      ['reviews.reject', { uploadId: folderUpload, reason: 'not yours' }],
      ['reviews.saveNotes', { uploadId: folderUpload, notes: 'x' }],
      ['tips.save', { title: 't', bodyMarkdown: 'b', sources: [], reviewedBy: '', reviewedOn: null }],
      ['tips.delete', { id: 'starter-mri-scan' }],
    ] as const) {
      expect(await call(patientB, channel, payload), channel).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    // A radiologist has no "mine"; an admin has no uploads at all.
    expect(await call(rad, 'uploads.mine', {})).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await call(admin, 'uploads.begin', { name: 'x', size: 1 })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    // The refusal is in the audit log.
    const refused = ws.services.audit.list({ action: 'upload.submit', outcome: 'refused' }, { limit: 10, offset: 0 });
    expect(refused.rows.length).toBeGreaterThanOrEqual(1);
  });

  it('lets a radiologist add images for a patient in the consultation room', async () => {
    const ids = await send(rad, [{ name: 'cd/image.dcm', bytes: fs.readFileSync(path.join(DEMO, 'meningioma-1.dcm')) }]);
    expect(await call(rad, 'uploads.submit', { fileIds: ids })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    const res = await ok<{ uploadId: string; imported: number }>(rad, 'uploads.submit', { fileIds: await send(rad, [{ name: 'cd/image.dcm', bytes: fs.readFileSync(path.join(DEMO, 'meningioma-1.dcm')) }]), patientId: recordB });
    const item = await ok<ReviewItem>(rad, 'reviews.get', { uploadId: res.uploadId });
    // Same file as B's own study, but a copy of its own: no mismatch (it is B's), no shared study.
    expect(item).toMatchObject({ patientId: recordB, uploadedByRole: 'radiologist', uploadedByName: 'Dr Rad', filePatientIds: ['DEMO-MENINGIOMA'], patientIdMismatch: false });
    expect(await studiesOf('DEMO-MENINGIOMA')).toHaveLength(2);
    await ws.services.uploads.idle();
  });
});

describe('the review queue', () => {
  let reportId: string;

  it('a view of an item is audited', async () => {
    await ok<ReviewItem>(rad, 'reviews.get', { uploadId: folderUpload });
    const views = ws.services.audit.list({ action: 'upload.view', objectId: folderUpload }, { limit: 5, offset: 0 });
    expect(views.rows[0]).toMatchObject({ actor: 'rad1', outcome: 'success' });
  });

  it('rejects the folder with a reason for the patient, and notes stay internal', async () => {
    await ok(rad, 'reviews.saveNotes', { uploadId: folderUpload, notes: 'Patient ID in files is DEMO-VOLUME; asked at the desk.' });
    expect(await call(rad, 'reviews.reject', { uploadId: folderUpload, reason: ' x ' })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    const item = await ok<ReviewItem>(rad, 'reviews.reject', { uploadId: folderUpload, reason: 'These images are of another person. Please bring the CD to the clinic.' });
    expect(item).toMatchObject({ review: 'rejected', reviewedByName: 'Dr Rad', rejectReason: 'These images are of another person. Please bring the CD to the clinic.' });
    // A second decision is refused, whoever makes it.
    expect(await call(rad2, 'reviews.approve', { uploadId: folderUpload })).toMatchObject({ ok: false, code: 'CONFLICT', message: expect.stringMatching(/already rejected by Dr Rad/) });
    const row = ws.services.audit.list({ action: 'upload.reject', objectId: folderUpload }, { limit: 5, offset: 0 }).rows[0]!;
    expect(row.detail).not.toMatch(/another person/);
  });

  it('approves the JPEG: a report draft of its study, which is signed as today', async () => {
    const before = (await counts(patientA)).unread;
    const res = await ok<{ item: ReviewItem; reportId: string; studyId: string }>(rad, 'reviews.approve', { uploadId: jpegUpload });
    reportId = res.reportId;
    expect(res.item).toMatchObject({ review: 'approved', reportId, reportStatus: 'draft' });
    const draft = await ok<Report>(rad, 'reports.get', { reportId });
    expect(draft).toMatchObject({ studyId: res.studyId, patientId: recordA, status: 'draft' });
    expect(await call(rad, 'reviews.reject', { uploadId: jpegUpload, reason: 'changed my mind' })).toMatchObject({ ok: false, code: 'CONFLICT' });
    // The radiologists' "new images" notifications for it are read now, for everyone.
    const radList = await list(rad2);
    expect(radList.filter((n) => n.objectId === jpegUpload && n.kind === 'upload-received').every((n) => n.readAt !== null)).toBe(true);
    expect((await counts(patientA)).unread).toBe(before + 1);
    const reviewed = draft.aiFinding ? await ok<Report>(rad, 'reports.rejectAi', { reportId, reason: 'A photo of a screen: not scored reliably.' }) : draft;
    const saved = await ok<{ revision: number }>(rad, 'reports.saveDraft', { reportId, baseRevision: reviewed.revision, sections: { impression: 'Image quality limited; no mass seen on this photo.' } });
    await ok(rad, 'reports.sign', { reportId, baseRevision: saved.revision, password: TEST_RADIOLOGIST.password });
    const { counts: c } = await ok<{ counts: Record<string, number> }>(rad, 'reviews.list', { filter: 'all' });
    expect(c).toMatchObject({ pending: 1, approved: 1, rejected: 1, all: 3 });
  });

  it('the patient was notified of both outcomes and the signed report, live, and sees them', async () => {
    const notes = await list(patientA);
    expect(notes.map((n) => n.kind).sort()).toEqual(['report-signed', 'upload-reviewed', 'upload-reviewed']);
    for (const n of notes) expect(`${n.title} ${n.body}`).not.toMatch(/GLIOMA|another person|Dr Rad/);
    const last = notificationEvents(events.a).at(-1)!;
    expect(last).toMatchObject({ unread: 3, latest: { kind: 'report-signed', title: 'A new result is ready' } });
    const m = await mine(patientA);
    const rejected = m.uploads.find((u) => u.id === folderUpload)!;
    expect(rejected).toMatchObject({ state: 'rejected', headline: 'Reviewed: these images could not be used', reviewedByName: 'Dr Rad' });
    expect(rejected.paragraphs.join(' ')).toMatch(/"These images are of another person\. Please bring the CD to the clinic\."/);
    expect(m.uploads.find((u) => u.id === jpegUpload)).toMatchObject({ state: 'report-signed', headline: 'Reviewed: your report is ready' });
    const { summaries, patient } = await ok<{ summaries: PatientSummary[]; patient: unknown }>(patientA, 'reports.patientSummary', {});
    expect(summaries.map((s) => s.reportId)).toContain(reportId);
    expect(patient).toEqual({ displayName: 'DEMO, GLIOMA', birthDate: '19700101', dicomPatientId: 'DEMO-GLIOMA' });
  });
});

describe('notifications belong to their user', () => {
  it('another patient neither sees nor marks them', async () => {
    const aIds = (await list(patientA)).map((n) => n.id);
    expect(await list(patientB)).toEqual([]);
    expect(await ok(patientB, 'notifications.markRead', { ids: aIds })).toEqual({ unread: 0, unreadMessages: 0, unreadUrgent: 0 });
    expect((await counts(patientA)).unread).toBe(3);
    expect(await call(patientB, 'notifications.markRead', {})).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await ok(patientA, 'notifications.markRead', { ids: aIds.slice(0, 1) })).toMatchObject({ unread: 2 });
    expect(await ok(patientA, 'notifications.markRead', { all: true })).toMatchObject({ unread: 0 });
    expect(notificationEvents(events.a).at(-1)).toMatchObject({ unread: 0, latest: null });
  });

  it('a signed-out connection gets no more live events', async () => {
    const conn = await signIn('pat-b', 'patient-pass-word-0042', (e) => events.b.push(e));
    await counts(conn);
    await ok(conn, 'auth.logout', {});
    const before = events.b.length;
    await ok(rad, 'messages.send', { patientId: recordB, body: 'Hello B' });
    // Only B's other (still signed-in) connection heard it.
    expect(events.b.length).toBe(before + 1);
  });
});

describe('urgent messages', () => {
  it('only a patient marks a message urgent', async () => {
    expect(await call(rad, 'messages.send', { patientId: recordA, body: 'x', urgent: true })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
  });

  it('go to the radiologists on duty, and the conversation goes to the top of the inbox', async () => {
    await ok(admin, 'settings.update', { onDutyUserIds: [rad2UserId] });
    await ok(patientB, 'messages.send', { body: 'Routine question about parking.' });
    const radBefore = await counts(rad);
    await ok(patientA, 'messages.send', { body: 'My headaches got much worse since yesterday.', urgent: true });
    expect(await counts(rad2)).toMatchObject({ unreadUrgent: 1 });
    expect((await counts(rad)).unreadUrgent).toBe(radBefore.unreadUrgent);
    expect(notificationEvents(events.rad2).at(-1)).toMatchObject({ latest: { kind: 'urgent-message', title: 'Urgent message from a patient' } });
    await ok(patientB, 'messages.send', { body: 'And one more routine question.' });
    const inbox = (await ok<{ rows: MessageInboxRow[] }>(rad, 'messages.inbox', {})).rows;
    expect(inbox.map((r) => [r.patientId, r.urgent])).toEqual([
      [recordA, true],
      [recordB, false],
    ]);
    // Opening the conversation reads this radiologist's message notifications for it.
    await ok(rad2, 'messages.thread', { patientId: recordA });
    expect(await counts(rad2)).toMatchObject({ unreadUrgent: 0 });
    // A reply ends the urgency.
    await ok(rad2, 'messages.send', { patientId: recordA, body: 'Please call the ward now.' });
    const after = (await ok<{ rows: MessageInboxRow[] }>(rad, 'messages.inbox', {})).rows;
    expect(after.map((r) => r.urgent)).toEqual([false, false]);
  });

  it('a duty list naming nobody active reaches every radiologist', async () => {
    await ok(admin, 'users.lock', { id: rad2UserId });
    const before = (await counts(rad)).unreadUrgent;
    await ok(patientA, 'messages.send', { body: 'Worse again.', urgent: true });
    expect((await counts(rad)).unreadUrgent).toBe(before + 1);
    await ok(admin, 'users.unlock', { id: rad2UserId });
    expect(radUserId).toBeTruthy();
  });
});

describe('health tips and the care team', () => {
  it('ships sourced starter pages that patients read', async () => {
    const { tips } = await ok<{ tips: HealthTip[] }>(patientA, 'tips.list', {});
    expect(tips.map((t) => t.title)).toEqual(['What happens during an MRI scan', 'Contrast dye (gadolinium) for MRI', 'Brain tumours: what the words mean', 'When to get help at once']);
    for (const t of tips) {
      expect(t.sources.length).toBeGreaterThanOrEqual(1);
      for (const s of t.sources) expect(s.url).toMatch(/^https:\/\//);
    }
  });

  it('an admin edits them; a source must be a web address', async () => {
    const bad = await call(admin, 'tips.save', { title: 'x', bodyMarkdown: 'y', sources: [{ title: 'evil', url: 'javascript:alert(1)' }], reviewedBy: '', reviewedOn: null });
    expect(bad).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    const { tip } = await ok<{ tip: HealthTip }>(admin, 'tips.save', { title: 'Parking', bodyMarkdown: 'Park **behind** the clinic.', sources: [{ title: 'Hospital site', url: 'https://hospital.example/parking' }], reviewedBy: 'Front desk', reviewedOn: '2026-02-01' });
    expect(tip).toMatchObject({ title: 'Parking', position: 5, reviewedOn: '2026-02-01' });
    await ok(admin, 'tips.delete', { id: tip.id });
    expect(await call(admin, 'tips.delete', { id: tip.id })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('care.info says to call the local emergency number until the hospital sets its own, and lists the care team', async () => {
    const first = await ok<CareInfo>(patientA, 'care.info', {});
    expect(first).toEqual({ team: [], department: '', emergency: { number: null, contacts: [], text: DEFAULT_EMERGENCY_TEXT } });
    const { patients } = await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: 'DEMO-GLIOMA' });
    const patientUser = patients[0]!.linkedUsername;
    expect(patientUser).toBe('pat-a');
    // A radiologist finds records too, but not which accounts they are linked to.
    const asRad = await ok<{ patients: PatientMatch[] }>(rad, 'patients.search', { query: 'DEMO-GLIOMA' });
    expect(asRad.patients[0]!.linkedUsername).toBeNull();
    const users = (await ok<{ users: { id: string; username: string }[] }>(admin, 'users.list', {})).users;
    const patientAccount = users.find((u) => u.username === 'pat-a')!.id;
    expect(await call(admin, 'settings.update', { careTeamUserIds: [patientAccount] })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    await ok(admin, 'settings.update', { careTeamUserIds: [rad2UserId, radUserId], emergencyNumber: '+41 44 255 11 11', emergencyContacts: 'Neurology ward: +41 44 255 22 22\n\n  Out of hours: +41 44 255 33 33 ', departmentContact: 'Radiology, building B, Mon-Fri 8-17' });
    expect(await ok<CareInfo>(patientA, 'care.info', {})).toEqual({
      team: [{ name: 'Dr Second', role: 'Radiologist' }, { name: 'Dr Rad', role: 'Radiologist' }],
      department: 'Radiology, building B, Mon-Fri 8-17',
      emergency: { number: '+41 44 255 11 11', contacts: ['Neurology ward: +41 44 255 22 22', 'Out of hours: +41 44 255 33 33'], text: 'In an emergency, call +41 44 255 11 11 now, or go to the nearest emergency department.' },
    });
  });
});

describe('the admin pages read like sentences', () => {
  it('the users table knows which record a patient account is linked to, by name and Patient ID', async () => {
    const r = await ok<{ users: { username: string; patientId: string | null }[]; patients: Record<string, unknown> }>(admin, 'users.list', {});
    const a = r.users.find((u) => u.username === 'pat-a')!;
    expect(r.patients[a.patientId!]).toEqual({ displayName: 'DEMO, GLIOMA', dicomPatientId: 'DEMO-GLIOMA', birthDate: '19700101' });
  });

  it('the audit log names actors and objects instead of ids', async () => {
    const r = await ok<{ rows: { actorId: string | null; objectType: string | null; objectId: string | null; action: string }[]; names: Record<string, string> }>(admin, 'audit.list', { action: 'upload', limit: 50 });
    const reject = r.rows.find((x) => x.action === 'upload.reject')!;
    expect(r.names[`user:${reject.actorId}`]).toBe('Dr Rad (rad1)');
    expect(r.names[`upload:${reject.objectId}`]).toMatch(/^Upload of DEMO, GLIOMA, received \d{4}-\d{2}-\d{2}$/);
  });
});

describe('key images of signed reports', () => {
  let bReportId: string;
  let bEventsBefore: number;
  beforeAll(() => {
    bEventsBefore = notificationEvents(events.b).length;
  });
  it('a patient reads their own, never another patient\'s or an unsigned one', async () => {
    const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search: 'DEMO-MENINGIOMA' });
    const original = rows.find((r) => !r.description?.startsWith('Uploaded for review'))!;
    const draft = await ok<Report>(rad, 'reports.open', { studyId: original.studyId });
    bReportId = draft.id;
    const png = tinyPng();
    const withImage = await ok<Report>(rad, 'reports.addKeyImage', { reportId: draft.id, pngBase64: png, caption: 'Key slice' });
    const keyImageId = withImage.keyImages[0]!.id;
    expect(await call(patientB, 'reports.keyImage', { reportId: draft.id, keyImageId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(withImage.aiFinding).toBeNull();
    const saved = await ok<{ revision: number }>(rad, 'reports.saveDraft', { reportId: draft.id, baseRevision: withImage.revision, sections: { impression: 'Stable.' } });
    await ok(rad, 'reports.sign', { reportId: draft.id, baseRevision: saved.revision, password: TEST_RADIOLOGIST.password });
    await ok(rad, 'reports.addAddendum', { reportId: draft.id, text: 'Compared with the outside images: unchanged.', password: TEST_RADIOLOGIST.password });
    const b = await ok<{ summaries: PatientSummary[] }>(patientB, 'reports.patientSummary', {});
    const s = b.summaries.find((x) => x.reportId === draft.id)!;
    expect(s.keyImages).toEqual([{ id: keyImageId, caption: 'Key slice', width: 2, height: 2 }]);
    expect(s.addenda).toEqual([expect.objectContaining({ seq: 1, text: 'Compared with the outside images: unchanged.', intro: expect.stringMatching(/^On \d{1,2} \w+ \d{4}, Dr Rad added this note to the report:$/) })]);
    expect((await ok<{ pngBase64: string }>(patientB, 'reports.keyImage', { reportId: draft.id, keyImageId })).pngBase64).toBe(png);
    expect(await call(patientA, 'reports.keyImage', { reportId: draft.id, keyImageId })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
  });

  it('the patient was told of the signature and then of the addendum, live, without its words; the other patient was not', async () => {
    const about = (await list(patientB)).filter((n) => n.objectId === bReportId);
    expect(about.map((n) => [n.kind, n.title]).sort()).toEqual([
      ['report-signed', 'A new result is ready'],
      ['report-signed', 'A note was added to your result'],
    ]);
    for (const n of about) expect(`${n.title} ${n.body}`).not.toMatch(/unchanged|outside images|MENINGIOMA|Dr Rad/);
    expect(notificationEvents(events.b).slice(bEventsBefore).map((e) => e.latest?.title)).toEqual(['A new result is ready', 'A note was added to your result']);
    expect((await list(patientA)).filter((n) => n.objectId === bReportId)).toEqual([]);
  });
});

describe('after a restart', () => {
  it('notifications are still there, read and unread as they were', async () => {
    const before = await counts(patientA);
    const listed = (await list(patientA)).map((n) => [n.id, n.readAt]);
    // Something to lose: unread ones and read ones.
    expect(before.unread).toBeGreaterThan(0);
    expect(listed.some(([, readAt]) => readAt !== null)).toBe(true);
    const folder = ws.config.dataFolder;
    await ws.close();
    ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: folder, keySource: 'passphrase', passphrase: 'db passphrase for the patient loop test' }));
    const again = await signIn('pat-a', 'patient-pass-word-0042');
    expect(await counts(again)).toEqual(before);
    expect((await list(again)).map((n) => [n.id, n.readAt])).toEqual(listed);
  });
});

/** A 2x2 RGBA PNG. */
function tinyPng(): string {
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(200);
  return PNG.sync.write(png).toString('base64');
}
