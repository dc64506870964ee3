// Every DICOM object the workstation writes, checked by an independent validator: David Clunie's
// dciodvfy (dicom3tools) must report 0 errors on the SEG, the SR (signed, amended by an
// addendum, and unsigned) and the Encapsulated PDF, made through the real signing path from
// single-frame and multi-frame MR sources, with and without pixel spacing, with radiologist
// measurements in the SR. dcmtk's dsrdump reads the SR tree with its template names. The
// validator's full output goes to $TP_DCIODVFY_OUT (or a temp folder) for the notes.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGliomaMultiframe } from '../../../../e2e/fixtures/glioma-series';
import { createReportsFixture, discMask, FIXTURE_DICOM, SIGN, type ReportsFixture } from '../../../testing/reports';
import { readPart10 } from '../../dicom-objects';
import type { ReportMeasurement } from '../report-measurements';

const OUT = process.env.TP_DCIODVFY_OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tp-dciodvfy-'));
let fx: ReportsFixture;
let tmp: string;
/** Measurements fed to the reports service as the measurements store would (per study). */
const measurementsByStudy = new Map<string, ReportMeasurement[]>();

interface Case {
  name: string;
  studyId: string;
}
const cases: Case[] = [];

function dcmodify(file: string, args: string[]): void {
  execFileSync('dcmodify', ['-nb', ...args, file], { stdio: 'pipe' });
}

/** Three single-frame MR slices (dcmodify on the fixture), optionally without pixel spacing. */
function singleFrameSeries(dir: string, key: number, withSpacing: boolean): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return [1, 2, 3].map((n) => {
    const file = path.join(dir, `slice-${n}.dcm`);
    fs.copyFileSync(FIXTURE_DICOM, file);
    dcmodify(file, [
      '-m', `StudyInstanceUID=1.2.826.0.1.3680043.10.997.${key}.1`, '-m', `SeriesInstanceUID=1.2.826.0.1.3680043.10.997.${key}.2`, '-m', `SOPInstanceUID=1.2.826.0.1.3680043.10.997.${key}.3.${n}`,
      '-m', `InstanceNumber=${n}`, '-m', `ImagePositionPatient=-83.9063\\-91.2\\${6.6406 + 5 * (n - 1)}`, '-m', 'StudyDate=20240601', '-m', `PatientID=CONFORMANCE-${key}`,
      ...(withSpacing ? [] : ['-ea', 'PixelSpacing']),
    ]);
    return file;
  });
}

/** The enhanced MR multi-frame fixture, optionally without pixel spacing anywhere. */
function multiFrame(dir: string, key: number, withSpacing: boolean): string {
  const file = writeGliomaMultiframe(dir);
  dcmodify(file, [
    '-m', `StudyInstanceUID=1.2.826.0.1.3680043.10.997.${key}.1`, '-m', `SeriesInstanceUID=1.2.826.0.1.3680043.10.997.${key}.2`, '-m', `SOPInstanceUID=1.2.826.0.1.3680043.10.997.${key}.3`, '-m', `PatientID=CONFORMANCE-${key}`,
    // -ea erases the tag at every level: the top-level and the functional groups' Pixel Spacing.
    ...(withSpacing ? [] : ['-ea', 'PixelSpacing']),
  ]);
  return file;
}

/** A finished AI run with a tumor mask on some frames, stored the way the AI results service stores it. */
function seedRun(studyId: string): void {
  const db = fx.db();
  const inst = db.prepare('SELECT i.id, i.series_id, i.rows, i.columns, i.frames FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ? ORDER BY i.instance_number').all(studyId) as { id: string; series_id: string; rows: number; columns: number; frames: number }[];
  const slices = inst.flatMap((i) => Array.from({ length: i.frames }, (_, f) => ({ ...i, frame: f })));
  const now = new Date().toISOString();
  db.transaction(() => {
    db.prepare(`INSERT OR REPLACE INTO ai_runs (study_id, status, model_id, model_version, runtime, total, done, started_at, finished_at, started_by) VALUES (?, 'done', 'tumor-cnn', '1.2.0', 'wasm', ?, ?, ?, ?, 'test')`).run(studyId, slices.length, slices.length, now, now);
    slices.forEach((s, k) => {
      const m = k % 2 === 0 ? discMask(s.columns, s.rows, Math.round(s.columns / 3), Math.round(s.rows / 2), Math.max(3, Math.round(s.columns / 12))) : null;
      const area = m ? m.reduce((a, v) => a + v, 0) : 0;
      db.prepare(
        `INSERT OR REPLACE INTO ai_instance_results (instance_id, frame, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, created_at)
         VALUES (?, ?, ?, ?, 'tumor-cnn', '1.2.0', 'wasm', ?, 0.9, ?, ?, ?, ?, ?, ?, 5, ?)`,
      ).run(s.id, s.frame, studyId, s.series_id, m ? 'glioma' : 'notumor', JSON.stringify({ glioma: m ? 0.9 : 0.05, meningioma: 0.02, notumor: m ? 0.06 : 0.9, pituitary: 0.02 }), area, null, s.columns, s.rows, m ? zlib.deflateRawSync(m) : null, now);
    });
    const key = slices[0]!;
    db.prepare(`INSERT OR REPLACE INTO ai_series_results (series_id, study_id, model_id, model_version, runtime, label, confidence, key_instance_id, key_frame, slices, counts, created_at) VALUES (?, ?, 'tumor-cnn', '1.2.0', 'wasm', 'glioma', 0.9, ?, ?, ?, ?, ?)`)
      .run(key.series_id, studyId, key.id, key.frame, slices.length, JSON.stringify({ glioma: Math.ceil(slices.length / 2), notumor: Math.floor(slices.length / 2) }), now);
    // One measurement of each kind on the key image, as the measurements store hands them over.
    const mm = (u: string): ReportMeasurement['unit'] => u as ReportMeasurement['unit'];
    measurementsByStudy.set(studyId, [
      { id: `m-len-${studyId}`, instanceId: key.id, frame: key.frame, kind: 'length', points: [[10, 10], [40, 30]], label: 'Tumor long axis', value: 23.4, unit: mm('mm'), stats: null, text: 'Length 23.4 mm' },
      { id: `m-ell-${studyId}`, instanceId: key.id, frame: key.frame, kind: 'ellipse', points: [[12, 14], [30, 26]], label: '', value: 180.2, unit: mm('mm²'), stats: { mean: 310, sd: 41, min: 200, max: 420, pixels: 160 }, text: 'Ellipse area 180 mm²' },
      { id: `m-fh-${studyId}`, instanceId: key.id, frame: key.frame, kind: 'freehand', points: [[5, 5], [20, 6], [18, 22], [6, 18]], label: 'Edema', value: 240, unit: mm('px²'), stats: { mean: 100, sd: 10, min: 80, max: 130, pixels: 240 }, text: 'Freehand area 240 px²' },
      { id: `m-ang-${studyId}`, instanceId: key.id, frame: key.frame, kind: 'angle', points: [[10, 40], [25, 25], [40, 40]], label: '', value: 90, unit: mm('°'), stats: null, text: 'Angle 90°' },
      { id: `m-prb-${studyId}`, instanceId: key.id, frame: key.frame, kind: 'probe', points: [[20, 20]], label: '', value: 512, unit: mm(''), stats: null, text: 'Probe 512' },
    ]);
  })();
}

interface Verdict {
  errors: string[];
  warnings: string[];
  output: string;
}
function dciodvfy(file: string): Verdict {
  // dciodvfy writes its findings to stderr and exits non-zero on errors; both are read, never thrown on.
  const r = spawnSync('dciodvfy', ['-new', file], { encoding: 'utf8' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  fs.writeFileSync(`${file}.dciodvfy.txt`, output);
  const lines = output.split('\n');
  return { errors: lines.filter((l) => /^Error/.test(l)), warnings: lines.filter((l) => /^Warning/.test(l)), output };
}

const objects: { label: string; file: string }[] = [];
function keep(label: string, bytes: Buffer): string {
  const file = path.join(OUT, `${label}.dcm`);
  fs.writeFileSync(file, bytes);
  objects.push({ label, file });
  return file;
}

beforeAll(async () => {
  for (const tool of ['dciodvfy', 'dcmodify', 'dsrdump']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is missing: apt-get install dicom3tools dcmtk (scripts/system-deps.txt)`);
  }
  fx = await createReportsFixture({ measurementSource: { forStudy: (studyId) => measurementsByStudy.get(studyId) ?? [] } });
  fx.db().prepare("UPDATE users SET display_name = 'Dr. Ada Reader' WHERE role = 'radiologist'").run();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-conformance-'));
  const sources: [string, () => string[]][] = [
    ['single-frame-with-spacing', () => singleFrameSeries(path.join(tmp, 'sf1'), 1, true)],
    ['single-frame-no-spacing', () => singleFrameSeries(path.join(tmp, 'sf2'), 2, false)],
    ['multi-frame-with-spacing', () => [multiFrame(path.join(tmp, 'mf1'), 3, true)]],
    ['multi-frame-no-spacing', () => [multiFrame(path.join(tmp, 'mf2'), 4, false)]],
  ];
  for (const [name, make] of sources) {
    const imported = await fx.dicom.importPaths(make(), { actor: 'test' });
    if (imported.studyIds.length !== 1) throw new Error(`${name}: expected one study, got ${JSON.stringify(imported.entries)}`);
    seedRun(imported.studyIds[0]!);
    cases.push({ name, studyId: imported.studyIds[0]! });
  }
  const rad = fx.actors.radiologist;
  for (const c of cases) {
    const r = fx.reports.open(c.studyId, rad);
    const a = fx.reports.acceptAi(r.id, rad);
    const s = fx.reports.saveDraft({ reportId: r.id, baseRevision: a.revision, sections: { clinicalInformation: 'Headaches for 3 weeks; known glioma follow-up. Ü-umlaut check: 5 mm².', recommendation: 'Neuro-oncology board; MRI in 3 months.' } }, rad);
    // Unsigned first: the UNVERIFIED SR.
    keep(`${c.name}.sr-unverified`, (await fx.reports.dicomObjects(r.id, rad)).sr);
    await fx.reports.sign(r.id, s.revision, rad, SIGN);
    const outbox = fx.db().prepare('SELECT kind, content FROM sync_outbox WHERE study_instance_uid = (SELECT study_instance_uid FROM studies WHERE id = ?) ORDER BY id').all(c.studyId) as { kind: string; content: Buffer }[];
    for (const o of outbox) keep(`${c.name}.signed.${o.kind}`, o.content);
    await fx.reports.addAddendum(r.id, 'Compared with the outside study of 2023: stable.', rad, SIGN);
    const after = fx.db().prepare('SELECT kind, content FROM sync_outbox WHERE study_instance_uid = (SELECT study_instance_uid FROM studies WHERE id = ?) ORDER BY id').all(c.studyId) as { kind: string; content: Buffer }[];
    for (const o of after.slice(outbox.length)) keep(`${c.name}.addendum.${o.kind}`, o.content);
  }
}, 300_000);

afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dciodvfy finds no errors in any object the workstation writes', () => {
  it('made every object type for every source kind', () => {
    for (const c of cases) {
      for (const kind of ['signed.seg', 'signed.sr', 'signed.pdf', 'addendum.sr', 'addendum.pdf', 'sr-unverified']) {
        expect(objects.map((o) => o.label), `${c.name}.${kind}`).toContain(`${c.name}.${kind}`);
      }
    }
  });

  it('0 errors on each SEG, SR and Encapsulated PDF', () => {
    const failed = objects.map((o) => ({ ...o, v: dciodvfy(o.file) })).filter((o) => o.v.errors.length);
    const report = failed.map((o) => `${o.label}:\n${o.v.errors.join('\n')}`).join('\n\n');
    expect(failed.length, `dciodvfy errors (full outputs in ${OUT}):\n${report}`).toBe(0);
  });
});

describe('what the objects say', () => {
  it('SEG: dimension index on segment number and position, geometry only where the source has it', () => {
    const withGeom = readPart10(fs.readFileSync(objects.find((o) => o.label === 'multi-frame-with-spacing.signed.seg')!.file));
    const pointers = (withGeom.DimensionIndexSequence as { DimensionIndexPointer: unknown }[]).map((d) => Number(d.DimensionIndexPointer));
    expect(pointers).toEqual([0x0062000b, 0x00200032]);
    expect(withGeom.FrameOfReferenceUID).toBeTruthy();
    const shared = (withGeom.SharedFunctionalGroupsSequence as Record<string, unknown>[])[0]!;
    expect(shared.PixelMeasuresSequence).toBeTruthy();
    expect(shared.PlaneOrientationSequence).toBeTruthy();
    const perFrame = withGeom.PerFrameFunctionalGroupsSequence as { PlanePositionSequence: { ImagePositionPatient: number[] }[]; FrameContentSequence: { DimensionIndexValues: number[] }[] }[];
    // Frames 1, 3, 5, 7 of the source (0-based 0, 2, 4, 6) at z = 0, 12, 24, 36 mm (6 mm slices).
    expect(perFrame.map((f) => Number(f.PlanePositionSequence[0]!.ImagePositionPatient[2]))).toEqual([0, 12, 24, 36]);
    expect(perFrame.map((f) => f.FrameContentSequence[0]!.DimensionIndexValues.map(Number))).toEqual([[1, 1], [1, 2], [1, 3], [1, 4]]);

    const noGeom = readPart10(fs.readFileSync(objects.find((o) => o.label === 'single-frame-no-spacing.signed.seg')!.file));
    expect(noGeom.FrameOfReferenceUID).toBeUndefined();
    expect((noGeom.DimensionIndexSequence as { DimensionIndexPointer: unknown }[]).map((d) => Number(d.DimensionIndexPointer))).toEqual([0x0062000b, 0x00209057]);
  });

  it('SR: the addendum version names its predecessor; the measurement groups reference the SEG and the source series', () => {
    const signed = readPart10(fs.readFileSync(objects.find((o) => o.label === 'single-frame-with-spacing.signed.sr')!.file));
    const amended = readPart10(fs.readFileSync(objects.find((o) => o.label === 'single-frame-with-spacing.addendum.sr')!.file));
    expect(amended.SOPInstanceUID).not.toBe(signed.SOPInstanceUID);
    expect(amended.SeriesInstanceUID).toBe(signed.SeriesInstanceUID);
    expect(Number(amended.InstanceNumber)).toBe(2);
    expect(JSON.stringify(amended.PredecessorDocumentsSequence)).toContain(String(signed.SOPInstanceUID));
    expect((amended.VerifyingObserverSequence as unknown[]).length).toBe(2);
    const text = JSON.stringify(signed.ContentSequence);
    const seg = readPart10(fs.readFileSync(objects.find((o) => o.label === 'single-frame-with-spacing.signed.seg')!.file));
    expect(text).toContain(String(seg.SOPInstanceUID));
    expect(text).toContain('1.2.826.0.1.3680043.10.997.1.2');
    expect(text).toContain('Tumor long axis');
    expect(text).toContain('"GraphicType":"ELLIPSE"');
    expect(text).not.toContain('POLYGON');
    expect(text).toContain('Ü-umlaut check: 5 mm²');
  });

  it("dcmtk's dsrdump reads the SR tree with its template (TID 1500) and no errors", () => {
    const file = objects.find((o) => o.label === 'multi-frame-with-spacing.addendum.sr')!.file;
    const r = spawnSync('dsrdump', ['+Pt', '-Ec', '-Ee', file], { encoding: 'utf8' });
    fs.writeFileSync(`${file}.dsrdump.txt`, `${r.stdout}${r.stderr}`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Imaging Measurement Report');
    expect(r.stdout).toMatch(/TID 1500/);
    expect(r.stdout).toContain('Measurement Group');
    expect(r.stdout).toContain('Referenced Segment');
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/^E: /m);
  });
});
