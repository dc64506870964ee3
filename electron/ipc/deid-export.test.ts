// The researcher's de-identified export of a DICOM data set through the real composition root and
// handler table: files made with pydicom, the copies read back by pydicom, progress events to the
// calling connection, cancel mid-way, destination refusals, the role rules and the audit row.
// (The browser test in e2e/research.e2e.test.ts registers no DICOM data set; this covers the channel.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEID_EXPORT_PROGRESS_EVENT, type DeidExportProgress, type DeidExportResult, type EventEnvelope } from '../contract';
import { resolveConfig } from '../services/config';
import { copyMriSubset } from '../testing/research';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller } from './test-calls';

const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const MR_COPIES = 24;
const PATIENT = { name: 'Doe^Jane^Research', id: 'PID-778899', birth: '19610203' };
/** What the originals carry and no copy may: names, IDs, the original dates and UIDs. */
const ORIGINAL = {
  mrStudyUid: '1.3.6.1.4.1.5962.1.2.4.20040826185059.5457',
  mrSeriesUid: '1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457',
  ctStudyUid: '1.3.6.1.4.1.5962.1.2.1.20040119072730.12322',
  mrStudyDate: '20040826',
  ctStudyDate: '20040119',
};

let dir: string;
let ws: Workstation;
const events: EventEnvelope[] = [];
let admin: Connection;
let researcher: Connection;
let dicomId: string;
let imagesId: string;

const { call, signIn: signedIn } = channelCaller(() => ws);


/** A DICOM data set made with pydicom: CT_small, MR_small copied as one series of one patient, and one file with burned-in text. */
function writeDicomFolder(root: string): void {
  if (!fs.existsSync(path.join(PYDICOM_FILES, 'MR_small.dcm'))) throw new Error(`${PYDICOM_FILES} is missing: apt-get install python3-pydicom.`);
  const script = `
import os, sys, pydicom
src, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for d in ('ct', 'mr', 'zz-burned'): os.makedirs(os.path.join(root, d))
pydicom.dcmread(os.path.join(src, 'CT_small.dcm')).save_as(os.path.join(root, 'ct', 'CompressedSamples_CT1.dcm'))
def mr(i):
    ds = pydicom.dcmread(os.path.join(src, 'MR_small.dcm'))
    ds.PatientName = sys.argv[4]; ds.PatientID = sys.argv[5]; ds.PatientBirthDate = sys.argv[6]
    ds.InstanceNumber = i + 1
    uid = '1.2.826.0.1.3680043.8.498.7%04d' % i
    ds.SOPInstanceUID = uid; ds.file_meta.MediaStorageSOPInstanceUID = uid
    return ds
for i in range(n): mr(i).save_as(os.path.join(root, 'mr', 'Doe_Jane_%03d.dcm' % i))
b = mr(n); b.BurnedInAnnotation = 'YES'; b.save_as(os.path.join(root, 'zz-burned', 'Doe_Jane_burned.dcm'))
`;
  execFileSync('/usr/bin/python3', ['-c', script, PYDICOM_FILES, root, String(MR_COPIES), PATIENT.name, PATIENT.id, PATIENT.birth]);
}

/** Every file under a folder, relative, including hidden ones (a left-over temporary file would show). */
function listAll(root: string): string[] {
  return (fs.readdirSync(root, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

type Dump = Record<string, string>;
/** Reads every file with pydicom (strictly: a Part 10 file with its preamble) and returns the fields checked here. */
function pydicomDumpAll(root: string, files: string[]): Record<string, Dump> {
  const script = `
import json, os, sys, pydicom
root, out = sys.argv[1], {}
keys = ['PatientName', 'PatientID', 'PatientBirthDate', 'StudyDate', 'Modality', 'StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'FrameOfReferenceUID', 'InstitutionName', 'PatientIdentityRemoved']
for f in sys.argv[2:]:
    ds = pydicom.dcmread(os.path.join(root, f))
    d = {k: str(ds[k].value) if k in ds else None for k in keys}
    d['meta.MediaStorageSOPInstanceUID'] = str(ds.file_meta.MediaStorageSOPInstanceUID)
    d['pixelBytes'] = str(len(ds.PixelData))
    out[f] = d
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, root, ...files], { encoding: 'utf8' })) as Record<string, Dump>;
}

function auditRows(): { actor: string; outcome: string; object_id: string; detail: string }[] {
  return ws.services.store.db().prepare("SELECT actor, outcome, object_id, detail FROM audit_log WHERE action = 'dataset.export-deid' ORDER BY id").all() as { actor: string; outcome: string; object_id: string; detail: string }[];
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-deid-export-'));
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(dir, 'data'), keySource: 'passphrase', passphrase: 'db passphrase for the deid export test' }));
  admin = createConnection('host');
  expect(await call(admin, 'auth.createFirstAdmin', { username: 'admin1', displayName: 'Admin', password: 'admin-password-0042' })).toMatchObject({ ok: true });
  ws.services.store.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('pat-1', 'A patient', 'now')`).run();
  for (const role of ['researcher', 'radiologist', 'patient'] as const) {
    const created = await call(admin, 'users.create', { username: `${role}1`, displayName: role, role, password: `pw-${role}-000042`, ...(role === 'patient' ? { patientId: 'pat-1' } : {}) });
    expect(created, created.message).toMatchObject({ ok: true });
  }
  researcher = await signedIn('researcher1', 'pw-researcher-000042', (e) => events.push(e));
  writeDicomFolder(path.join(dir, 'dicom'));
  const ds = await call(researcher, 'datasets.register', { path: path.join(dir, 'dicom'), name: 'dicom-set' });
  expect(ds, ds.message).toMatchObject({ ok: true, result: { kind: 'dicom', items: MR_COPIES + 2 } });
  dicomId = (ds.result as { id: string }).id;
  const images = await call(researcher, 'datasets.register', { path: copyMriSubset(path.join(dir, 'mri'), 1), name: 'pngs' });
  expect(images).toMatchObject({ ok: true, result: { kind: 'folders' } });
  imagesId = (images.result as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await ws?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('datasets.exportDeidentified', () => {
  it('writes de-identified copies that pydicom reads, with no original name, ID, date or UID, and UIDs replaced consistently', async () => {
    const dest = path.join(dir, 'out-full');
    events.length = 0;
    const r = await call(researcher, 'datasets.exportDeidentified', { datasetId: dicomId, destination: dest });
    expect(r.ok, r.message).toBe(true);
    const res = r.result as DeidExportResult;
    // The burned-in file is withheld and named only by its content-derived id.
    expect(res).toMatchObject({ datasetId: dicomId, destination: dest, total: MR_COPIES + 2, written: MR_COPIES + 1, cancelled: false });
    expect(res.refused).toHaveLength(1);
    expect(res.refused[0]!.itemId).toMatch(/^zz-burned\/dcm-[0-9a-f]{16}$/);
    expect(res.refused[0]!.reason).toMatch(/burned into its pixels/);

    const files = listAll(dest);
    expect(files).toHaveLength(res.written);
    expect(files.every((f) => /^(ct|mr)\/\d{6}\.dcm$/.test(f))).toBe(true);
    const dumps = pydicomDumpAll(dest, files);
    const all = Object.values(dumps);
    const mr = all.filter((d) => d.Modality === 'MR');
    const ct = all.filter((d) => d.Modality === 'CT');
    expect([mr.length, ct.length]).toEqual([MR_COPIES, 1]);
    for (const d of all) {
      expect(d.PatientIdentityRemoved).toBe('YES');
      expect(d.PatientName).toMatch(/^RESEARCH\^[0-9A-F]{10}$/);
      expect(d.PatientID).toMatch(/^R-[0-9A-F]{10}$/);
      expect(d.PatientBirthDate).toBe('');
      expect(d.InstitutionName).toBeNull();
      expect(d.StudyDate).toMatch(/^\d{8}$/);
      expect([ORIGINAL.mrStudyDate, ORIGINAL.ctStudyDate]).not.toContain(d.StudyDate);
      expect(d.SOPInstanceUID).toMatch(/^2\.25\.\d+$/);
      expect(d['meta.MediaStorageSOPInstanceUID']).toBe(d.SOPInstanceUID);
      expect(Number(d.pixelBytes)).toBeGreaterThan(0);
    }
    // One patient and one study in: one pseudonym, one study UID and one series UID out, all new;
    // every instance keeps a distinct UID; the CT's study stays a different study.
    expect(new Set(mr.map((d) => d.PatientID)).size).toBe(1);
    expect(new Set(mr.map((d) => d.StudyInstanceUID)).size).toBe(1);
    expect(new Set(mr.map((d) => d.SeriesInstanceUID)).size).toBe(1);
    expect(new Set(mr.map((d) => d.FrameOfReferenceUID)).size).toBe(1);
    expect(new Set(mr.map((d) => d.SOPInstanceUID)).size).toBe(MR_COPIES);
    expect(mr[0]!.StudyInstanceUID).not.toBe(ORIGINAL.mrStudyUid);
    expect(mr[0]!.SeriesInstanceUID).not.toBe(ORIGINAL.mrSeriesUid);
    expect(ct[0]!.StudyInstanceUID).not.toBe(mr[0]!.StudyInstanceUID);
    expect(ct[0]!.PatientID).not.toBe(mr[0]!.PatientID);
    // Nothing identifying survives anywhere in the bytes.
    for (const f of files) {
      const text = fs.readFileSync(path.join(dest, f)).toString('latin1');
      for (const s of [PATIENT.name, 'Doe^Jane', PATIENT.id, PATIENT.birth, 'CompressedSamples', '1CT1', 'JFK IMAGING', ORIGINAL.mrStudyUid, ORIGINAL.ctStudyUid, '1.2.826.0.1.3680043.8.498.7', ORIGINAL.mrStudyDate]) {
        expect(text.includes(s), `${f} contains ${s}`).toBe(false);
      }
    }

    // A second export of the same data set gives the same UIDs (the secret is per data set).
    const again = await call(researcher, 'datasets.exportDeidentified', { datasetId: dicomId, destination: path.join(dir, 'out-again') });
    expect(again.ok, again.message).toBe(true);
    const againDumps = pydicomDumpAll(path.join(dir, 'out-again'), files);
    expect(Object.fromEntries(Object.entries(againDumps).map(([f, d]) => [f, d.SOPInstanceUID]))).toEqual(Object.fromEntries(Object.entries(dumps).map(([f, d]) => [f, d.SOPInstanceUID])));

    // Progress went to the calling connection, under the export's id, ending with the counts.
    const progress = events.filter((e) => e.event === DEID_EXPORT_PROGRESS_EVENT).map((e) => e.data as DeidExportProgress);
    const first = progress.filter((p) => p.exportId === res.exportId);
    expect(first[0]).toMatchObject({ phase: 'writing', done: 0, total: MR_COPIES + 2 });
    expect(first.at(-1)).toMatchObject({ phase: 'done', done: MR_COPIES + 2, written: MR_COPIES + 1, refused: 1 });

    // One audit row per export, with counts and no patient data or paths.
    const rows = auditRows();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ actor: 'researcher1', outcome: 'success', object_id: dicomId });
    expect(JSON.parse(rows[0]!.detail)).toEqual({ total: MR_COPIES + 2, written: MR_COPIES + 1, refused: 1, cancelled: false, dates: 'modified', cleanDescriptors: false });
    for (const s of [PATIENT.name, PATIENT.id, 'CompressedSamples', dest]) expect(rows[0]!.detail).not.toContain(s);
  }, 120_000);

  it('the profile options chosen by the caller reach every file and the audit row: dates removed, descriptions cleaned', async () => {
    const dest = path.join(dir, 'out-options');
    const r = await call(researcher, 'datasets.exportDeidentified', { datasetId: dicomId, destination: dest, options: { temporal: 'remove', cleanDescriptors: true } });
    expect(r.ok, r.message).toBe(true);
    const files = listAll(dest);
    const dumps = Object.values(pydicomDumpAll(dest, files));
    expect(dumps.length).toBe(MR_COPIES + 1);
    for (const d of dumps) expect(d.StudyDate).toBe(''); // Z in the Basic Profile: present, empty
    const methods = execFileSync('dcmdump', ['+P', '0012,0063', '+P', '0028,0303', path.join(dest, files[0]!)], { encoding: 'utf8' });
    expect(methods).toMatch(/\(0012,0063\) LO \[PS3\.15 E\.1 Basic Profile \+ Clean Descriptors\]/);
    expect(methods).toMatch(/\(0028,0303\) CS \[REMOVED\]/);
    expect(JSON.parse(auditRows().at(-1)!.detail)).toMatchObject({ dates: 'remove', cleanDescriptors: true });
    expect(await call(researcher, 'datasets.exportDeidentified', { datasetId: dicomId, destination: path.join(dir, 'out-bad'), options: { temporal: 'sometimes' } })).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
  }, 120_000);

  it('refuses a non-empty folder, a file, a relative path, the data folder, the data set folder and a non-DICOM data set, writing nothing', async () => {
    const busy = path.join(dir, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'keep me');
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const before = auditRows().length;
    const cases: [unknown, string, RegExp][] = [
      [{ datasetId: dicomId, destination: busy }, 'CONFLICT', /is not empty; choose a new or empty folder/],
      [{ datasetId: dicomId, destination: file }, 'CONFLICT', /is a file, not a folder/],
      [{ datasetId: dicomId, destination: 'relative/out' }, 'INVALID_INPUT', /full folder path/],
      [{ datasetId: dicomId, destination: path.join(dir, 'data', 'export') }, 'INVALID_INPUT', /inside the workstation's data folder/],
      [{ datasetId: dicomId, destination: path.join(dir, 'dicom', 'export') }, 'INVALID_INPUT', /inside the data set's own folder/],
      [{ datasetId: imagesId, destination: path.join(dir, 'out-png') }, 'INVALID_INPUT', /not a DICOM data set/],
      [{ datasetId: 'no-such-set', destination: path.join(dir, 'out-none') }, 'NOT_FOUND', /no data set/],
    ];
    for (const [payload, code, message] of cases) {
      const r = await call(researcher, 'datasets.exportDeidentified', payload);
      expect(r, JSON.stringify(payload)).toMatchObject({ ok: false, code });
      expect(r.message).toMatch(message);
    }
    expect(listAll(busy)).toEqual(['notes.txt']);
    expect(fs.readFileSync(path.join(busy, 'notes.txt'), 'utf8')).toBe('keep me');
    for (const p of [path.join(dir, 'data', 'export'), path.join(dir, 'dicom', 'export'), path.join(dir, 'out-png'), path.join(dir, 'out-none')]) expect(fs.existsSync(p), p).toBe(false);
    expect(auditRows()).toHaveLength(before);
  });

  it('is for researchers and admins only: a radiologist and a patient are refused, and nothing is written', async () => {
    for (const role of ['radiologist', 'patient'] as const) {
      const conn = await signedIn(`${role}1`, `pw-${role}-000042`);
      const dest = path.join(dir, `out-${role}`);
      expect(await call(conn, 'datasets.exportDeidentified', { datasetId: dicomId, destination: dest })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await call(conn, 'datasets.cancelExport', { exportId: 'x' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(fs.existsSync(dest)).toBe(false);
    }
    expect(await call(createConnection('host'), 'datasets.exportDeidentified', { datasetId: dicomId, destination: path.join(dir, 'out-anon') })).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    const byAdmin = await call(admin, 'datasets.exportDeidentified', { datasetId: dicomId, destination: path.join(dir, 'out-admin') });
    expect(byAdmin, byAdmin.message).toMatchObject({ ok: true, result: { written: MR_COPIES + 1 } });
    expect(auditRows().at(-1)).toMatchObject({ actor: 'admin1', outcome: 'success' });
  }, 60_000);

  it('a cancel mid-way stops after the file being written: only complete, readable files are left', async () => {
    const dest = path.join(dir, 'out-cancel');
    const cancels: Promise<{ ok: boolean; result?: unknown }>[] = [];
    // Cancel from the first progress event that reports a written file, as the page's button does.
    const conn = await signedIn('researcher1', 'pw-researcher-000042', (e) => {
      const p = e.data as DeidExportProgress;
      if (e.event === DEID_EXPORT_PROGRESS_EVENT && p.phase === 'writing' && p.written > 0 && cancels.length === 0) {
        cancels.push(call(conn, 'datasets.cancelExport', { exportId: p.exportId }));
      }
    });
    const r = await call(conn, 'datasets.exportDeidentified', { datasetId: dicomId, destination: dest });
    expect(r.ok, r.message).toBe(true);
    const res = r.result as DeidExportResult;
    expect(cancels).toHaveLength(1);
    expect(await cancels[0]).toMatchObject({ ok: true, result: { cancelled: true } });
    expect(res.cancelled).toBe(true);
    expect(res.written).toBeGreaterThan(0);
    expect(res.written).toBeLessThan(MR_COPIES + 1);
    // Exactly the files reported, no temporary or half-written file, each one a whole DICOM file.
    const files = listAll(dest);
    expect(files).toHaveLength(res.written);
    expect(files.every((f) => /^(ct|mr)\/\d{6}\.dcm$/.test(f))).toBe(true);
    for (const d of Object.values(pydicomDumpAll(dest, files))) {
      expect(d.PatientIdentityRemoved).toBe('YES');
      expect(Number(d.pixelBytes)).toBeGreaterThan(0);
    }
    expect(JSON.parse(auditRows().at(-1)!.detail)).toMatchObject({ written: res.written, cancelled: true });
    // The export is over: its id no longer cancels anything.
    expect(await call(conn, 'datasets.cancelExport', { exportId: res.exportId })).toMatchObject({ ok: true, result: { cancelled: false } });
  }, 60_000);
});
