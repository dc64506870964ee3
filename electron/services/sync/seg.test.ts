// The SEG, SR and Encapsulated PDF objects: built from real MR instances, read back by dcmjs and
// by independent readers (dcmtk's dcmdump, pydicom's pixel unpacking) with the same content.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { buildSegmentation, packBits, unpackBits, SEG_SOP_CLASS_UID } from './seg';
import { buildEncapsulatedPdf, buildMinimalSr, sourceOf, tinyPdf, ENCAPSULATED_PDF_SOP_CLASS_UID } from '../../testing/sync/fixtures';
import { readPart10 } from '../dicom-objects';
import { dicomUids } from './dicom-uids';
import { makeMrStudy } from '../../testing/sync/study-factory';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-seg-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const made = makeMrStudy(path.join(dir, 'src'), 2);
const sources = made.files.map((f) => sourceOf(fs.readFileSync(f)));
const { rows, columns } = sources[0]!.image;
const masks = sources.map((_, k) => {
  const m = new Uint8Array(rows * columns);
  // A different disc per frame, so frame order and bit order both matter.
  for (let y = 0; y < rows; y++) for (let x = 0; x < columns; x++) if ((x - 20 - k * 10) ** 2 + (y - 30) ** 2 < 100) m[y * columns + x] = 1;
  return m;
});

describe('DICOM SEG from the model mask', () => {
  const seg = buildSegmentation({ study: sources[0]!.study, images: sources.map((s) => s.image), masks, model: { id: 'tumor-cnn', version: '1.2.0' } });
  const file = path.join(dir, 'seg.dcm');
  fs.writeFileSync(file, seg.bytes);

  it('packs bits first pixel in the lowest bit and round-trips', () => {
    expect(Array.from(packBits([Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])]))).toEqual([1, 2]);
    const all = new Uint8Array(masks.length * rows * columns);
    masks.forEach((m, i) => all.set(m, i * rows * columns));
    expect(Array.from(unpackBits(packBits(masks), all.length))).toEqual(Array.from(all));
  });

  it('is a SEG in the source study that references each source image', () => {
    const ds = readPart10(seg.bytes);
    expect(ds.SOPClassUID).toBe(SEG_SOP_CLASS_UID);
    expect(ds.Modality).toBe('SEG');
    expect(ds.StudyInstanceUID).toBe(made.studyInstanceUid);
    expect(ds.SeriesInstanceUID).not.toBe(made.seriesInstanceUid);
    expect(ds.NumberOfFrames).toBe(2);
    expect(ds.PatientID).toBe(sources[0]!.study.patientId);
    const perFrame = ds.PerFrameFunctionalGroupsSequence as { DerivationImageSequence: { SourceImageSequence: { ReferencedSOPInstanceUID: string }[] }[] }[];
    expect(perFrame.map((f) => f.DerivationImageSequence[0]!.SourceImageSequence[0]!.ReferencedSOPInstanceUID)).toEqual(made.sopInstanceUids);
    const refSeries = ds.ReferencedSeriesSequence as { SeriesInstanceUID: string; ReferencedInstanceSequence: unknown[] }[];
    expect(refSeries[0]!.SeriesInstanceUID).toBe(made.seriesInstanceUid);
    expect(refSeries[0]!.ReferencedInstanceSequence).toHaveLength(2);
    expect(dicomUids(seg.bytes).sopInstanceUid).toBe(seg.sopInstanceUid);
  });

  it('reads back in dcmtk and pydicom with the same mask pixels', () => {
    const dump = execFileSync('dcmdump', ['+P', '0008,0016', '+P', '0028,0008', '+P', '0062,0008', file], { encoding: 'utf8' });
    expect(dump).toContain('=SegmentationStorage');
    expect(dump).toMatch(/\(0028,0008\) IS \[2\]/);
    expect(dump).toContain('AUTOMATIC');
    const py = `import pydicom,sys\nds=pydicom.dcmread(sys.argv[1])\na=ds.pixel_array\nprint(a.shape, int(a.sum()), int(a[0].sum()), int(a[1].sum()))`;
    const out = execFileSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8' }).trim();
    const s0 = masks[0]!.reduce((a, b) => a + b, 0);
    const s1 = masks[1]!.reduce((a, b) => a + b, 0);
    expect(out).toBe(`(2, ${rows}, ${columns}) ${s0 + s1} ${s0} ${s1}`);
  });

  it('refuses a mask of the wrong size with a clear error', () => {
    const bad = () => buildSegmentation({ study: sources[0]!.study, images: [sources[0]!.image], masks: [new Uint8Array(5)], model: { id: 'm', version: '1' } });
    expect(bad).toThrow(WorkstationError);
    expect(bad).toThrow(/Mask 1 has 5 pixels/);
  });
});

describe('Comprehensive SR and Encapsulated PDF (test fixtures)', () => {
  it('builds an UNVERIFIED SR, VERIFIED with its observer once signed', () => {
    const un = readPart10(buildMinimalSr(sources[0]!.study, { className: 'glioma', probability: 0.91 }).bytes);
    expect(un.VerificationFlag).toBe('UNVERIFIED');
    const ve = readPart10(buildMinimalSr(sources[0]!.study, { className: 'glioma', probability: 0.91, verifiedBy: 'Doe^Jane' }).bytes);
    expect(ve.VerificationFlag).toBe('VERIFIED');
    expect(JSON.stringify(ve.ContentSequence)).toContain('glioma');
  });

  it('wraps a PDF whose bytes come back unchanged, and refuses what is not a PDF', () => {
    const pdf = tinyPdf('Signed report');
    const obj = buildEncapsulatedPdf(sources[0]!.study, pdf, 'Report');
    const ds = readPart10(obj.bytes);
    expect(ds.SOPClassUID).toBe(ENCAPSULATED_PDF_SOP_CLASS_UID);
    const doc = Buffer.from((ds.EncapsulatedDocument as ArrayBuffer[])[0]!);
    expect(doc.subarray(0, pdf.length).equals(pdf)).toBe(true);
    const f = path.join(dir, 'r.pdf');
    fs.writeFileSync(f, doc.subarray(0, pdf.length));
    expect(execFileSync('pdftotext', [f, '-'], { encoding: 'utf8' })).toContain('Signed report');
    expect(() => buildEncapsulatedPdf(sources[0]!.study, Buffer.from('hello'), 'x')).toThrow(/not a PDF/);
  });
});
