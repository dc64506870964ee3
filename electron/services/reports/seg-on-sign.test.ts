// Signing queues the AI's tumor mask as a DICOM SEG beside the PDF and the SR, in the signing
// transaction: on a real encrypted store with real imported MR instances (a three-slice series made
// with dcmtk) and stored AI masks. Rejected or tumor-free findings queue no SEG; a SEG that cannot be
// made refuses the signature and leaves nothing behind.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMaskRuns } from '../../contract';
import { readPart10, unpackBits, SEG_SOP_CLASS_UID } from '../sync';
import { writeGliomaMultiframe } from '../../../e2e/fixtures/glioma-series';
import { createReportsFixture, discMask, FIXTURE_DICOM, seedAi, type ReportsFixture, SIGN } from '../../testing/reports';
import type { Actor } from './report-service';

let fx: ReportsFixture;
let tmp: string;
/** The three-slice study: its instances in slice order, with the mask stored for each (null: no tumor). */
let slices: { id: string; sopInstanceUid: string; seriesInstanceUid: string; mask: Uint8Array | null }[] = [];
let sliceStudyId = '';
const SERIES_UID = '1.2.826.0.1.3680043.10.998.1.2';

const rad = (): Actor => fx.actors.radiologist;

interface OutboxRow {
  id: number;
  kind: string;
  sop_instance_uid: string;
  sop_class_uid: string;
  study_instance_uid: string;
  content: Buffer;
}
const outboxOf = (studyInstanceUid: string): OutboxRow[] =>
  fx.db().prepare('SELECT id, kind, sop_instance_uid, sop_class_uid, study_instance_uid, content FROM sync_outbox WHERE study_instance_uid = ? ORDER BY id').all(studyInstanceUid) as OutboxRow[];
const outboxCount = (): number => (fx.db().prepare('SELECT count(*) AS n FROM sync_outbox').get() as { n: number }).n;
const studyUid = (studyId: string): string => (fx.db().prepare('SELECT study_instance_uid AS u FROM studies WHERE id = ?').get(studyId) as { u: string }).u;
const instanceOf = (studyId: string): { id: string; series_id: string } =>
  fx.db().prepare('SELECT i.id, i.series_id FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ?').get(studyId) as { id: string; series_id: string };

/** Three slices of one series (dcmodify on the fixture file), 5 mm apart, in shuffled file order. */
function makeSliceFiles(dir: string): string[] {
  return [3, 1, 2].map((n) => {
    const file = path.join(dir, `slice-${n}.dcm`);
    fs.copyFileSync(FIXTURE_DICOM, file);
    try {
      execFileSync('dcmodify', ['-nb',
        '-m', 'StudyInstanceUID=1.2.826.0.1.3680043.10.998.1.1', '-m', `SeriesInstanceUID=${SERIES_UID}`, '-m', `SOPInstanceUID=1.2.826.0.1.3680043.10.998.1.3.${n}`,
        '-m', `InstanceNumber=${n}`, '-m', `ImagePositionPatient=-83.9063\\-91.2\\${6.6406 + 5 * (n - 1)}`, '-m', 'StudyDate=20240601', file], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`dcmodify (dcmtk) failed or is missing: apt-get install dcmtk. ${(err as Error).message}`);
    }
    return file;
  });
}

/** Stores a finished AI run over the three slices the way the AI results service does. */
function seedSlices(studyId: string, rows: { id: string; seriesId: string; w: number; h: number; mask: Uint8Array | null }[]): void {
  const db = fx.db();
  const now = new Date().toISOString();
  db.transaction(() => {
    db.prepare(`INSERT OR REPLACE INTO ai_runs (study_id, status, model_id, model_version, runtime, total, done, started_at, finished_at, started_by) VALUES (?, 'done', 'tumor-cnn', '1.2.0', 'wasm', 3, 3, ?, ?, 'test')`).run(studyId, now, now);
    // Stored last slice first: the SEG orders frames by slice, not by how results were stored.
    for (const r of [...rows].reverse()) {
      const area = r.mask ? r.mask.reduce((s, v) => s + v, 0) : 0;
      const label = area ? 'glioma' : 'notumor';
      db.prepare(
        `INSERT OR REPLACE INTO ai_instance_results (instance_id, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, created_at)
         VALUES (?, ?, ?, 'tumor-cnn', '1.2.0', 'wasm', ?, 0.9, ?, ?, ?, ?, ?, ?, 5, ?)`,
      ).run(r.id, studyId, r.seriesId, label, JSON.stringify({ glioma: area ? 0.9 : 0.05, meningioma: 0.02, notumor: area ? 0.06 : 0.9, pituitary: 0.02 }), area, area * 0.3125 * 0.3125, r.w, r.h, area ? zlib.deflateRawSync(r.mask!) : null, now);
    }
    const key = rows[rows.length - 1]!;
    db.prepare(`INSERT OR REPLACE INTO ai_series_results (series_id, study_id, model_id, model_version, runtime, label, confidence, key_instance_id, slices, counts, created_at) VALUES (?, ?, 'tumor-cnn', '1.2.0', 'wasm', 'glioma', 0.9, ?, 3, ?, ?)`)
      .run(key.seriesId, studyId, key.id, JSON.stringify({ glioma: 2, notumor: 1 }), now);
  })();
}

async function signAccepted(studyId: string): Promise<ReturnType<ReportsFixture['reports']['get']>> {
  const r = fx.reports.open(studyId, rad());
  const a = fx.reports.acceptAi(r.id, rad());
  return fx.reports.sign(r.id, a.revision, rad(), SIGN);
}

beforeAll(async () => {
  fx = await createReportsFixture({ extraStudies: 5 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-seg-sign-'));
  const imported = await fx.dicom.importPaths(makeSliceFiles(tmp), { actor: 'test' });
  if (imported.studyIds.length !== 1) throw new Error(`expected one study from the slice import, got ${JSON.stringify(imported.entries)}`);
  sliceStudyId = imported.studyIds[0]!;
  const inst = fx.db()
    .prepare('SELECT i.id, i.series_id, i.sop_instance_uid, i.rows, i.columns, i.instance_number FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ? ORDER BY i.instance_number')
    .all(sliceStudyId) as { id: string; series_id: string; sop_instance_uid: string; rows: number; columns: number; instance_number: number }[];
  if (inst.length !== 3) throw new Error(`expected 3 slices, got ${inst.length}`);
  // Tumor on slices 1 and 3 (different discs, so frame order matters); slice 2 is clear.
  const masks = [discMask(inst[0]!.columns, inst[0]!.rows, 20, 30, 8), null, discMask(inst[0]!.columns, inst[0]!.rows, 40, 22, 5)];
  slices = inst.map((i, k) => ({ id: i.id, sopInstanceUid: i.sop_instance_uid, seriesInstanceUid: SERIES_UID, mask: masks[k]! }));
  seedSlices(sliceStudyId, inst.map((i, k) => ({ id: i.id, seriesId: i.series_id, w: i.columns, h: i.rows, mask: masks[k]! })));
});
afterAll(async () => {
  await fx?.close();
  if (fx) fs.rmSync(fx.dir, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('signing queues the SEG of the AI mask', () => {
  it('one SEG beside the PDF and SR: Segmentation Storage, in the source study, one frame per slice with tumor, the stored mask pixels', async () => {
    const signed = await signAccepted(sliceStudyId);
    expect(signed.status).toBe('final');
    const rows = outboxOf(signed.study.studyInstanceUid);
    expect(rows.map((r) => r.kind).sort()).toEqual(['pdf', 'seg', 'sr']);
    const seg = rows.find((r) => r.kind === 'seg')!;
    expect(seg.sop_class_uid).toBe(SEG_SOP_CLASS_UID);

    const ds = readPart10(seg.content);
    expect(ds.SOPClassUID).toBe(SEG_SOP_CLASS_UID);
    expect(ds.SOPInstanceUID).toBe(seg.sop_instance_uid);
    expect(ds.Modality).toBe('SEG');
    expect(ds.StudyInstanceUID).toBe(signed.study.studyInstanceUid);
    expect(ds.SeriesInstanceUID).not.toBe(SERIES_UID);
    expect(ds.PatientID).toBe(signed.study.patientDicomId);
    // The source's Frame of Reference and slice thickness (MR_small.dcm: 0.8 mm), so a PACS
    // viewer registers the mask on the images.
    expect(ds.FrameOfReferenceUID).toBe('1.3.6.1.4.1.5962.1.4.4.1.20040826185059.5457');
    const shared = (ds.SharedFunctionalGroupsSequence as { PixelMeasuresSequence: { SliceThickness: number }[] }[] | { PixelMeasuresSequence: { SliceThickness: number }[] });
    const sharedItem = Array.isArray(shared) ? shared[0]! : shared;
    expect(Number(sharedItem.PixelMeasuresSequence[0]!.SliceThickness)).toBeCloseTo(0.8, 6);
    const withTumor = slices.filter((s) => s.mask);
    expect(ds.NumberOfFrames).toBe(withTumor.length);
    const perFrame = ds.PerFrameFunctionalGroupsSequence as { DerivationImageSequence: { SourceImageSequence: { ReferencedSOPInstanceUID: string; ReferencedSOPClassUID: string }[] }[] }[];
    expect(perFrame.map((f) => f.DerivationImageSequence[0]!.SourceImageSequence[0]!.ReferencedSOPInstanceUID)).toEqual(withTumor.map((s) => s.sopInstanceUid));
    expect(perFrame[0]!.DerivationImageSequence[0]!.SourceImageSequence[0]!.ReferencedSOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.4');
    const refSeries = ds.ReferencedSeriesSequence as { SeriesInstanceUID: string; ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string }[] }[];
    expect(refSeries[0]!.SeriesInstanceUID).toBe(SERIES_UID);
    expect(refSeries[0]!.ReferencedInstanceSequence.map((r) => r.ReferencedSOPInstanceUID)).toEqual(withTumor.map((s) => s.sopInstanceUid));
    expect((ds.SegmentSequence as { SegmentLabel: string }[])[0]!.SegmentLabel).toBe('Glioma');

    // The pixels are the stored masks: as seeded and as the AI results service serves them.
    const n = Number(ds.Rows) * Number(ds.Columns);
    const pixels = unpackBits(new Uint8Array((ds.PixelData as ArrayBuffer[])[0]!), withTumor.length * n);
    withTumor.forEach((s, k) => {
      const frame = pixels.subarray(k * n, (k + 1) * n);
      expect(Buffer.from(frame).equals(Buffer.from(s.mask!))).toBe(true);
      const served = fx.aiResults.mask(s.id);
      expect(Buffer.from(frame).equals(Buffer.from(decodeMaskRuns(served.runs, served.width, served.height)))).toBe(true);
    });
    // An independent reader (pydicom) unpacks the same frames.
    const file = path.join(tmp, 'queued-seg.dcm');
    fs.writeFileSync(file, seg.content);
    const py = 'import pydicom,sys,hashlib\nds=pydicom.dcmread(sys.argv[1])\na=ds.pixel_array.astype("uint8")\nprint(a.shape, hashlib.sha256(a.tobytes()).hexdigest())';
    const out = execFileSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8' }).trim();
    const expected = crypto.createHash('sha256').update(Buffer.concat(withTumor.map((s) => Buffer.from(s.mask!)))).digest('hex');
    expect(out).toBe(`(${withTumor.length}, ${ds.Rows}, ${ds.Columns}) ${expected}`);

    // The signature's audit row names the SEG.
    const audit = fx.db().prepare(`SELECT detail FROM audit_log WHERE action = 'report.sign' AND object_id = ? AND outcome = 'success'`).get(signed.id) as { detail: string };
    expect(JSON.parse(audit.detail)).toMatchObject({ segSopInstanceUid: seg.sop_instance_uid });
  });

  it('a multi-frame source: each SEG frame references the source instance and its frame (1-based); the SR key image names its frame', async () => {
    const imported = await fx.dicom.importPaths([writeGliomaMultiframe(path.join(tmp, 'mf'))], { actor: 'test' });
    const studyId = imported.studyIds[0]!;
    const src = fx.db().prepare('SELECT i.id, i.series_id, i.sop_instance_uid, i.rows, i.columns, i.frames FROM instances i JOIN series s ON s.id = i.series_id WHERE s.study_id = ?').get(studyId) as {
      id: string; series_id: string; sop_instance_uid: string; rows: number; columns: number; frames: number;
    };
    expect(src.frames).toBe(8);
    // Tumor on frames 2 and 5 (0-based), stored in reverse; the key slice is frame 5.
    const masks = new Map([[2, discMask(src.columns, src.rows, 100, 120, 12)], [5, discMask(src.columns, src.rows, 140, 90, 9)]]);
    const db = fx.db();
    const now = new Date().toISOString();
    db.transaction(() => {
      db.prepare(`INSERT OR REPLACE INTO ai_runs (study_id, status, model_id, model_version, runtime, total, done, started_at, finished_at, started_by) VALUES (?, 'done', 'tumor-cnn', '1.2.0', 'wasm', 8, 8, ?, ?, 'test')`).run(studyId, now, now);
      for (let frame = 7; frame >= 0; frame--) {
        const m = masks.get(frame) ?? null;
        const area = m ? m.reduce((a, v) => a + v, 0) : 0;
        db.prepare(
          `INSERT INTO ai_instance_results (instance_id, frame, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, created_at)
           VALUES (?, ?, ?, ?, 'tumor-cnn', '1.2.0', 'wasm', ?, 0.9, ?, ?, ?, ?, ?, ?, 5, ?)`,
        ).run(src.id, frame, studyId, src.series_id, area ? 'glioma' : 'notumor', JSON.stringify({ glioma: area ? 0.9 : 0.05, meningioma: 0.02, notumor: area ? 0.06 : 0.9, pituitary: 0.02 }), area, area * 0.98 * 0.98, src.columns, src.rows, m ? zlib.deflateRawSync(m) : null, now);
      }
      db.prepare(`INSERT INTO ai_series_results (series_id, study_id, model_id, model_version, runtime, label, confidence, key_instance_id, key_frame, slices, counts, created_at) VALUES (?, ?, 'tumor-cnn', '1.2.0', 'wasm', 'glioma', 0.9, ?, 5, 8, ?, ?)`)
        .run(src.series_id, studyId, src.id, JSON.stringify({ glioma: 2, notumor: 6 }), now);
    })();

    const signed = await signAccepted(studyId);
    expect(signed.aiFinding).toMatchObject({ keyInstanceId: src.id, keyFrame: 5, slicesWithTumor: 2, slices: 8 });
    const rows = outboxOf(signed.study.studyInstanceUid);
    const ds = readPart10(rows.find((r) => r.kind === 'seg')!.content);
    expect(ds.NumberOfFrames).toBe(2);
    const perFrame = ds.PerFrameFunctionalGroupsSequence as { DerivationImageSequence: { SourceImageSequence: { ReferencedSOPInstanceUID: string; ReferencedFrameNumber: unknown }[] }[] }[];
    const refs = perFrame.map((f) => f.DerivationImageSequence[0]!.SourceImageSequence[0]!);
    expect(refs.map((r) => [r.ReferencedSOPInstanceUID, Number(r.ReferencedFrameNumber)])).toEqual([[src.sop_instance_uid, 3], [src.sop_instance_uid, 6]]);
    const refSeries = ds.ReferencedSeriesSequence as { ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string }[] }[];
    expect(refSeries[0]!.ReferencedInstanceSequence.map((r) => r.ReferencedSOPInstanceUID)).toEqual([src.sop_instance_uid]);
    // Frame k of the SEG is the stored mask of source frame 2, then 5.
    const n = src.rows * src.columns;
    const pixels = unpackBits(new Uint8Array((ds.PixelData as ArrayBuffer[])[0]!), 2 * n);
    expect(Buffer.from(pixels.subarray(0, n)).equals(Buffer.from(masks.get(2)!))).toBe(true);
    expect(Buffer.from(pixels.subarray(n, 2 * n)).equals(Buffer.from(masks.get(5)!))).toBe(true);

    // The SR cites the key image with its frame.
    const sr = readPart10(rows.find((r) => r.kind === 'sr')!.content);
    const found: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (o.ReferencedSOPInstanceUID === src.sop_instance_uid && 'ReferencedFrameNumber' in o) found.push(o.ReferencedFrameNumber);
        Object.values(o).forEach(walk);
      }
    };
    walk(sr);
    // Cited in the image library and as the area's source: each time with its frame.
    expect(found.length).toBeGreaterThan(0);
    expect(new Set(found.map(Number))).toEqual(new Set([6]));
  });

  it('a single-slice study: the SEG references its one source instance', async () => {
    const studyId = fx.extraStudyIds[0]!;
    const signed = await signAccepted(studyId);
    const seg = outboxOf(signed.study.studyInstanceUid).filter((r) => r.kind === 'seg');
    expect(seg).toHaveLength(1);
    const ds = readPart10(seg[0]!.content);
    const src = fx.db().prepare('SELECT sop_instance_uid AS u FROM instances WHERE id = ?').get(instanceOf(studyId).id) as { u: string };
    const refs = (ds.ReferencedSeriesSequence as { ReferencedInstanceSequence: { ReferencedSOPInstanceUID: string }[] }[])[0]!.ReferencedInstanceSequence;
    expect(refs.map((r) => r.ReferencedSOPInstanceUID)).toEqual([src.u]);
    expect(ds.NumberOfFrames).toBe(1);
  });

  it('a rejected AI finding queues no SEG (the PDF and SR still go)', async () => {
    const studyId = fx.extraStudyIds[1]!;
    const r = fx.reports.open(studyId, rad());
    const rej = fx.reports.rejectAi(r.id, 'Post-operative change, not a tumor.', rad());
    const saved = fx.reports.saveDraft({ reportId: r.id, baseRevision: rej.revision, sections: { impression: 'Post-operative change; no tumor.' } }, rad());
    const signed = await fx.reports.sign(r.id, saved.revision, rad(), SIGN);
    expect(signed.status).toBe('rejected');
    expect(outboxOf(studyUid(studyId)).map((x) => x.kind).sort()).toEqual(['pdf', 'sr']);
  });

  it('a finding without a tumor class queues no SEG', async () => {
    const studyId = fx.extraStudyIds[2]!;
    seedAi(fx.db(), studyId, { label: 'notumor', probability: 0.95, mask: new Uint8Array(64 * 64) });
    const signed = await signAccepted(studyId);
    expect(signed.aiFinding?.label).toBe('notumor');
    expect(outboxOf(studyUid(studyId)).map((x) => x.kind).sort()).toEqual(['pdf', 'sr']);
  });
});

describe('a SEG that cannot be made refuses the signature and leaves nothing behind', () => {
  /** Tries to sign; expects a refusal and checks nothing was written; returns the error. */
  async function refused(studyId: string, prepare: () => void): Promise<{ err: { code: string; message: string }; reportId: string; revision: number }> {
    const r = fx.reports.open(studyId, rad());
    const a = fx.reports.acceptAi(r.id, rad());
    prepare();
    const before = outboxCount();
    const err = (await fx.reports.sign(r.id, a.revision, rad(), SIGN).then(
      () => null,
      (e: unknown) => e,
    )) as { code: string; message: string } | null;
    expect(err).not.toBeNull();
    const after = fx.reports.get(r.id, rad());
    expect(after).toMatchObject({ status: 'draft', signedAt: null, contentHash: null, srSopInstanceUid: null, pdfSopInstanceUid: null, revision: a.revision });
    expect(outboxCount()).toBe(before);
    expect(outboxOf(studyUid(studyId))).toEqual([]);
    const audit = fx.db().prepare(`SELECT outcome, detail FROM audit_log WHERE action = 'report.sign' AND object_id = ?`).all(r.id) as { outcome: string; detail: string }[];
    expect(audit.map((x) => x.outcome)).toEqual(['failure']);
    return { err: err!, reportId: r.id, revision: a.revision };
  }

  it('a source instance missing from the DICOM index', async () => {
    const studyId = fx.extraStudyIds[3]!;
    const { err } = await refused(studyId, () => {
      // An index that lost the instance but kept its AI result (foreign keys off for the damage only).
      const db = fx.db();
      db.pragma('foreign_keys = OFF');
      try {
        db.prepare('DELETE FROM instances WHERE id = ?').run(instanceOf(studyId).id);
      } finally {
        db.pragma('foreign_keys = ON');
      }
    });
    expect(err).toMatchObject({ code: 'CONFLICT' });
    expect(err.message).toMatch(/segmentation \(DICOM SEG\).*no longer in the workstation.*not signed/);
  });

  it('a stored mask whose size is not its image size; once the mask is right the same revision signs', async () => {
    const studyId = fx.extraStudyIds[4]!;
    const inst = instanceOf(studyId);
    const good = fx.db().prepare('SELECT mask, mask_width, mask_height FROM ai_instance_results WHERE instance_id = ?').get(inst.id) as { mask: Buffer; mask_width: number; mask_height: number };
    const { err, reportId, revision } = await refused(studyId, () => {
      fx.db().prepare('UPDATE ai_instance_results SET mask = ?, mask_width = 32, mask_height = 32 WHERE instance_id = ?').run(zlib.deflateRawSync(discMask(32, 32, 10, 10, 4)), inst.id);
    });
    expect(err).toMatchObject({ code: 'CONFLICT' });
    expect(err.message).toMatch(/32 x 32 pixels but its image is 64 x 64/);
    fx.db().prepare('UPDATE ai_instance_results SET mask = ?, mask_width = ?, mask_height = ? WHERE instance_id = ?').run(good.mask, good.mask_width, good.mask_height, inst.id);
    const signed = await fx.reports.sign(reportId, revision, rad(), SIGN);
    expect(signed.status).toBe('final');
    expect(outboxOf(studyUid(studyId)).map((x) => x.kind).sort()).toEqual(['pdf', 'seg', 'sr']);
  });

  it('an AI result re-run by another model since the report was drafted', async () => {
    const studyId = fx.priorStudyId;
    const { err } = await refused(studyId, () => {
      fx.db().prepare(`UPDATE ai_runs SET model_version = '2.0.0' WHERE study_id = ?`).run(studyId);
    });
    expect(err).toMatchObject({ code: 'CONFLICT' });
    expect(err.message).toMatch(/another model \(tumor-cnn 2\.0\.0\).*tumor-cnn 1\.2\.0/);
  });
});
