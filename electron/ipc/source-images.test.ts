// The outbox sends a signed report's source series too, where the setting says so (on for
// studies imported here, off for studies pulled from the server): through the real composition
// root, a real Orthanc, and the handler table. After the push every instance the SEG references
// resolves on the server; a pulled study's images are not sent back; the setting turns it off.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxItem, Report, StudySummary } from '../contract';
import { resolveConfig } from '../services/config';
import { defaultDemoFolder } from '../services/dicom';
import { readPart10 } from '../services/dicom-objects';
import { createDicomWebClient, type DicomWebClient } from '../services/sync';
import { damageStoredBlob } from '../testing/dicom';
import { startOrthanc, type OrthancServer } from '../testing/sync/orthanc';
import { makeMrStudy } from '../testing/sync/study-factory';
import { createWorkstation, type Workstation } from './compose';
import type { Connection } from './handler-table';
import { channelCaller, TEST_RADIOLOGIST } from './test-calls';

let dir: string;
let ws: Workstation;
let orthanc: OrthancServer;
let direct: DicomWebClient;
let admin: Connection;
let rad: Connection;
const { ok, adminAndRadiologist } = channelCaller(() => ws);

const outboxOf = (studyUid: string): { kind: string; sop_instance_uid: string; blob_hash: string | null; content: Buffer | null }[] =>
  ws.services.store.db().prepare('SELECT kind, sop_instance_uid, blob_hash, content FROM sync_outbox WHERE study_instance_uid = ? ORDER BY id').all(studyUid) as never;

async function signStudy(search: string): Promise<Report> {
  const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search });
  await ok(rad, 'ai.runStudy', { studyId: rows[0]!.studyId });
  const draft = await ok<Report>(rad, 'reports.open', { studyId: rows[0]!.studyId });
  const ready = draft.aiDecision === 'none' ? await ok<Report>(rad, 'reports.saveDraft', { reportId: draft.id, baseRevision: draft.revision, sections: { impression: 'See findings.' } }) : await ok<Report>(rad, 'reports.acceptAi', { reportId: draft.id });
  return ok<Report>(rad, 'reports.sign', { reportId: draft.id, baseRevision: ready.revision, password: TEST_RADIOLOGIST.password });
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  direct = createDicomWebClient({ baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, tlsVerify: true, caCertificatePem: null, allowCredentialsOverHttp: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-source-images-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'source images test passphrase' }));
  ({ admin, rad } = await adminAndRadiologist());
  await ok(admin, 'sync.setSettings', { baseUrl: orthanc.dicomWebUrl, authType: 'basic', username: orthanc.username, secret: orthanc.password, allowInsecureHttp: true, filters: { modality: '', dateFrom: null, dateTo: null, stationName: null } });
  await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
}, 180_000);

afterAll(async () => {
  await ws?.close();
  await orthanc?.dispose();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('source images in the outbox', () => {
  it('defaults: on for studies imported here, off for studies pulled from the server', async () => {
    expect((await ok<{ sendSourceImages: unknown }>(admin, 'sync.getSettings', {})).sendSourceImages).toEqual({ localStudies: true, pulledStudies: false });
  });

  it('a locally imported study: its series goes with the report (blob references, no copies), and every SEG reference resolves on the server after the push', async () => {
    const signed = await signStudy('DEMO-GLIOMA');
    const rows = outboxOf(signed.study.studyInstanceUid);
    const images = rows.filter((r) => r.kind === 'image');
    const seriesInstances = (ws.services.store.db().prepare('SELECT count(*) AS n FROM instances WHERE series_id = ?').get(signed.aiFinding!.seriesId) as { n: number }).n;
    expect(images).toHaveLength(seriesInstances);
    expect(images.every((r) => r.content === null && /^[0-9a-f]{64}$/.test(r.blob_hash ?? ''))).toBe(true);
    const list = await ok<{ items: OutboxItem[] }>(admin, 'outbox.list', { limit: 500 });
    expect(list.items.filter((i) => i.kind === 'image' && i.studyInstanceUid === signed.study.studyInstanceUid).every((i) => i.sizeBytes > 0 && /^Source image/.test(i.label))).toBe(true);

    const run = await ws.services.sync.syncNow({ id: null, name: 'test' });
    expect(run.pushFailed).toBe(0);
    const seg = readPart10(rows.find((r) => r.kind === 'seg')!.content!);
    const refs = (seg.ReferencedSeriesSequence as { ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string }[] }[])[0]!.ReferencedInstanceSequence.map((r) => r.ReferencedSOPInstanceUID);
    expect(refs.length).toBeGreaterThan(0);
    for (const uid of refs) {
      const found = await direct.qido(`/studies/${signed.study.studyInstanceUid}/instances`, { SOPInstanceUID: uid });
      expect(found, uid).toHaveLength(1);
    }
    // The SEG, SR and PDF themselves are on the server too.
    for (const r of rows.filter((x) => x.kind !== 'image')) expect(await direct.qido(`/studies/${signed.study.studyInstanceUid}/instances`, { SOPInstanceUID: r.sop_instance_uid })).toHaveLength(1);
    expect(ws.services.store.db().prepare(`SELECT count(*) AS n FROM sync_outbox WHERE study_instance_uid = ? AND state != 'sent'`).get(signed.study.studyInstanceUid)).toEqual({ n: 0 });
  }, 240_000);

  it('a study pulled from the server: its images are not sent back', async () => {
    const study = makeMrStudy(path.join(dir, 'modality'), 2);
    await orthanc.dcmsend(study.files);
    const pulled = await ws.services.sync.syncNow({ id: null, name: 'test' });
    expect(pulled.studiesPulled).toBeGreaterThanOrEqual(1);
    const { rows } = await ok<{ rows: StudySummary[] }>(rad, 'studies.list', {});
    const local = rows.find((r) => r.studyInstanceUid === study.studyInstanceUid)!;
    expect(ws.services.sync.sendsSourceImages(study.studyInstanceUid)).toBe(false);
    await ok(rad, 'ai.runStudy', { studyId: local.studyId });
    const draft = await ok<Report>(rad, 'reports.open', { studyId: local.studyId });
    const saved = await ok<Report>(rad, 'reports.saveDraft', { reportId: draft.id, baseRevision: draft.revision, sections: { impression: 'Pulled study read.' } });
    const ready = draft.aiDecision === 'none' ? saved : await ok<Report>(rad, 'reports.acceptAi', { reportId: draft.id });
    await ok(rad, 'reports.sign', { reportId: draft.id, baseRevision: ready.revision, password: TEST_RADIOLOGIST.password });
    const kinds = outboxOf(study.studyInstanceUid).map((r) => r.kind);
    expect(kinds).toContain('sr');
    expect(kinds).not.toContain('image');
  }, 240_000);

  it('a source image whose stored file is damaged fails for good with a clear message; the report objects (and any other image) still go', async () => {
    const signed = await signStudy('DEMO-MENINGIOMA');
    const images = outboxOf(signed.study.studyInstanceUid).filter((r) => r.kind === 'image');
    expect(images.length).toBeGreaterThanOrEqual(1);
    const victim = images[0]!;
    damageStoredBlob(ws.services.store.db(), path.join(dir, 'data', 'blobs'), victim.blob_hash!, (bytes) => bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1));
    const run = await ws.services.sync.syncNow({ id: null, name: 'test' });
    expect(run.pushFailed).toBe(1);
    const states = ws.services.store.db().prepare('SELECT sop_instance_uid, state, last_error FROM sync_outbox WHERE study_instance_uid = ?').all(signed.study.studyInstanceUid) as { sop_instance_uid: string; state: string; last_error: string | null }[];
    const bad = states.find((r) => r.sop_instance_uid === victim.sop_instance_uid)!;
    expect(bad.state).toBe('failed');
    expect(bad.last_error).toMatch(/no longer in the workstation/);
    expect(states.filter((r) => r.sop_instance_uid !== victim.sop_instance_uid).every((r) => r.state === 'sent')).toBe(true);
  }, 240_000);

  it('turned off by the admin, a local study sends no images (audited as a settings change)', async () => {
    const changed = await ok<{ baseUrl: string; authType: string; sendSourceImages: unknown }>(admin, 'sync.setSettings', { sendSourceImages: { localStudies: false, pulledStudies: false } });
    // A change of one field keeps the others (the server address, its auth type).
    expect(changed).toMatchObject({ baseUrl: orthanc.dicomWebUrl, authType: 'basic', sendSourceImages: { localStudies: false, pulledStudies: false } });
    const signed = await signStudy('DEMO-PITUITARY');
    expect(outboxOf(signed.study.studyInstanceUid).map((r) => r.kind)).not.toContain('image');
    const row = ws.services.store.db().prepare(`SELECT detail FROM audit_log WHERE action = 'sync.setSettings' ORDER BY id DESC LIMIT 1`).get() as { detail: string };
    expect(JSON.parse(row.detail).keys).toContain('sendSourceImages');
  }, 240_000);
});
