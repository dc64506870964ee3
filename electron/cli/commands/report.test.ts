// `tumorpredict report list` (filters) and `report export ID --sr/--dicom-pdf/--seg`: the real bin
// in a child process on a data folder where a radiologist signed the demo glioma case (with an
// addendum) through the handler table; the exported SEG and SR pass dciodvfy.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report, StudySummary } from '../../contract';
import { resolveConfig } from '../../services/config';
import { defaultDemoFolder } from '../../services/dicom';
import { readPart10 } from '../../services/dicom-objects';
import { createWorkstation, type Workstation } from '../../ipc/compose';
import { channelCaller, TEST_RADIOLOGIST } from '../../ipc/test-calls';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'bin', 'tumorpredict.js');
const PASS = 'cli report test passphrase';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-report-'));
const dataDir = path.join(dir, 'data');
let ws: Workstation;
let signed: Report;
let rejected: Report;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args, '--data', dataDir], { cwd: root, env: { ...process.env, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: PASS } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: dataDir, keySource: 'passphrase', passphrase: PASS }));
  const { ok, adminAndRadiologist } = channelCaller(() => ws);
  const { admin, rad } = await adminAndRadiologist();
  await ok(admin, 'settings.update', { institutionName: 'St. Example Hospital' });
  await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
  const study = async (patientId: string): Promise<string> => (await ok<{ rows: StudySummary[] }>(rad, 'studies.list', { search: patientId })).rows[0]!.studyId;
  const glioma = await study('DEMO-GLIOMA');
  await ok(rad, 'ai.runStudy', { studyId: glioma });
  const draft = await ok<Report>(rad, 'reports.open', { studyId: glioma });
  const accepted = await ok<Report>(rad, 'reports.acceptAi', { reportId: draft.id });
  await ok(rad, 'reports.sign', { reportId: draft.id, baseRevision: accepted.revision, password: TEST_RADIOLOGIST.password });
  signed = await ok<Report>(rad, 'reports.addAddendum', { reportId: draft.id, text: 'Stable compared with the outside study.', password: TEST_RADIOLOGIST.password });
  const men = await study('DEMO-MENINGIOMA');
  await ok(rad, 'ai.runStudy', { studyId: men });
  const d2 = await ok<Report>(rad, 'reports.open', { studyId: men });
  const rej = await ok<Report>(rad, 'reports.rejectAi', { reportId: d2.id, reason: 'Artefact, not a tumor.' });
  const saved = await ok<Report>(rad, 'reports.saveDraft', { reportId: d2.id, baseRevision: rej.revision, sections: { impression: 'No tumor; artefact.' } });
  rejected = await ok<Report>(rad, 'reports.sign', { reportId: d2.id, baseRevision: saved.revision, password: TEST_RADIOLOGIST.password });
  await ws.close();
}, 300_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tumorpredict report list', () => {
  it('lists signed reports with their signer and addenda; filters by status and patient', async () => {
    const final = await cli(['report', 'list', '--status', 'final', '--json']);
    expect(final.code, final.stderr).toBe(0);
    const rows = JSON.parse(final.stdout) as { reportId: string | null; status: string; patientDicomId: string; signedByName: string | null; addenda: number }[];
    expect(rows).toEqual([expect.objectContaining({ reportId: signed.id, status: 'final', patientDicomId: 'DEMO-GLIOMA', signedByName: 'Dr Rad', addenda: 1 })]);
    const table = await cli(['report', 'list', '--patient', 'demo-meningioma']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^REPORT\s+STATUS\s+STUDY DATE\s+PATIENT ID/);
    expect(table.stdout).toContain(rejected.id);
    expect(table.stdout).not.toContain(signed.id);
  }, 180_000);

  it('refuses a bad filter with a sentence and exit code 1', async () => {
    const bad = await cli(['report', 'list', '--status', 'approved-ish']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--status must be one of');
  }, 120_000);
});

describe('tumorpredict report export', () => {
  it('writes the SR (its newest version), the Encapsulated PDF and the SEG the SR references', async () => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const files = { sr: path.join(out, 'sr.dcm'), pdf: path.join(out, 'pdf.dcm'), seg: path.join(out, 'seg.dcm') };
    const r = await cli(['report', 'export', signed.id, '--sr', files.sr, '--dicom-pdf', files.pdf, '--seg', files.seg]);
    expect(r.code, r.stderr).toBe(0);
    const sr = readPart10(fs.readFileSync(files.sr));
    const seg = readPart10(fs.readFileSync(files.seg));
    expect(seg.Modality).toBe('SEG');
    expect(Number(sr.InstanceNumber)).toBe(2);
    expect(JSON.stringify(sr.ContentSequence)).toContain(String(seg.SOPInstanceUID));
    expect(JSON.stringify(sr.VerifyingObserverSequence)).toContain('St. Example Hospital');
    expect(fs.statSync(files.seg).mode & 0o777).toBe(0o600);
    for (const f of Object.values(files)) {
      const v = spawnSync('dciodvfy', ['-new', f], { encoding: 'utf8' });
      expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => l.startsWith('Error')), f).toEqual([]);
    }
    // Never over an existing file.
    const again = await cli(['report', 'export', signed.id, '--seg', files.seg]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  }, 180_000);

  it('says why there is no SEG for a report whose AI finding was rejected, and writes nothing', async () => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const r = await cli(['report', 'export', rejected.id, '--sr', path.join(out, 'sr.dcm'), '--seg', path.join(out, 'seg.dcm')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no AI tumor segmentation');
    expect(fs.readdirSync(out)).toEqual([]);
  }, 120_000);
});
