// De-identification checked field by field on real DICOM files (pydicom's test files), with the
// output read back by an independent reader (pydicom), so a file dcmjs writes wrongly fails too.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEID_METHOD, dateShiftDays, deidentifyPart10, pseudonym, replaceUid, type DeidKey } from './deid';

const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

function testFile(name: string): Buffer {
  const file = path.join(PYDICOM_FILES, name);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: apt-get install python3-pydicom (its test files are the de-identification fixtures).`);
  return fs.readFileSync(file);
}

/** Reads a file with pydicom and returns {keyword: value-as-string} for the whole data set (recursively flattened with paths). */
function pydicomDump(bytes: Buffer): Record<string, string> {
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'deid-')), 'x.dcm');
  fs.writeFileSync(tmp, bytes);
  const script = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
out = {}
def walk(d, prefix):
    for el in d:
        if el.tag == 0x7FE00010: continue
        key = prefix + (el.keyword or ('%08X' % int(el.tag)))
        if el.VR == 'SQ':
            out[key] = 'SQ:%d' % len(el.value)
            for i, item in enumerate(el.value): walk(item, key + '[%d].' % i)
        else:
            v = el.value
            out[key] = '\\\\'.join(str(x) for x in v) if isinstance(v, (list, pydicom.multival.MultiValue)) else ('' if v is None else str(v))
walk(ds.file_meta, 'meta.')
walk(ds, '')
print(json.dumps(out))
`;
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, tmp], { encoding: 'utf8' })) as Record<string, string>;
  } finally {
    fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
  }
}

const KEY: DeidKey = { secret: Buffer.alloc(32, 7) };
const OTHER: DeidKey = { secret: Buffer.alloc(32, 9) };

function shifted(da: string, key: DeidKey): string {
  const d = new Date(Date.UTC(+da.slice(0, 4), +da.slice(4, 6) - 1, +da.slice(6, 8)) - dateShiftDays(key) * 86_400_000);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

describe('DICOM de-identification (PS3.15 basic profile) on CT_small.dcm', () => {
  const input = testFile('CT_small.dcm');
  const before = pydicomDump(input);
  const { bytes, report } = deidentifyPart10(input, KEY);
  const after = pydicomDump(bytes);

  it('the fixture carries the identifying fields we expect to remove', () => {
    expect(before.PatientName).toBe('CompressedSamples^CT1');
    expect(before.PatientID).toBe('1CT1');
    expect(before.InstitutionName).toBe('JFK IMAGING CENTER');
    expect(before.OtherPatientIDsSequence).toBe('SQ:2');
    expect(Object.keys(before).some((k) => /^0009/.test(k) || k === 'PrivateCreator' || /^00(09|11|19|43)/.test(k))).toBe(true);
  });

  it('names and IDs become per-data-set pseudonyms', () => {
    expect(after.PatientName).toBe(pseudonym(KEY, 'id', '1CT1').replace('R-', 'RESEARCH^'));
    expect(after.PatientName).toMatch(/^RESEARCH\^[0-9A-F]{10}$/);
    expect(after.PatientID).toMatch(/^R-[0-9A-F]{10}$/);
    expect(after.PatientID).not.toContain('1CT1');
  });

  it('Z attributes are present and empty; X attributes are gone', () => {
    for (const k of ['PatientBirthDate', 'PatientSex', 'AccessionNumber', 'StudyID', 'ReferringPhysicianName']) expect(after[k], k).toBe('');
    for (const k of ['InstitutionName', 'StationName', 'StudyDescription', 'OtherPatientIDsSequence', 'PatientAge', 'PatientWeight', 'AdditionalPatientHistory']) {
      expect(before[k], `fixture has ${k}`).toBeDefined();
      expect(after[k], k).toBeUndefined();
    }
    expect(after['meta.SourceApplicationEntityTitle']).toBeUndefined();
    expect(report.removed).toContain('Institution Name');
  });

  it('private tags are all removed', () => {
    const priv = (k: string): boolean => /^[0-9A-F]{8}$/.test(k) && parseInt(k.slice(0, 4), 16) % 2 === 1;
    expect(Object.keys(before).filter((k) => priv(k) || k === 'PrivateCreator').length).toBeGreaterThan(10);
    expect(Object.keys(after).filter((k) => priv(k) || k === 'PrivateCreator')).toEqual([]);
    expect(report.privateRemoved).toBeGreaterThan(10);
  });

  it('dates are shifted by the data set offset; times are kept', () => {
    expect(dateShiftDays(KEY)).toBeGreaterThanOrEqual(365);
    expect(after.StudyDate).toBe(shifted('20040119', KEY));
    expect(after.SeriesDate).toBe(shifted('19970430', KEY));
    expect(after.AcquisitionDate).toBe(shifted('19970430', KEY));
    expect(after.ContentDate).toBe(shifted('19970430', KEY));
    expect(after.InstanceCreationDate).toBe(shifted('20040119', KEY));
    expect(after.StudyTime).toBe(before.StudyTime);
    // The interval between two dates survives the shift.
    const days = (d: string): number => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8)) / 86_400_000;
    expect(days(after.StudyDate!) - days(after.SeriesDate!)).toBe(days('20040119') - days('19970430'));
  });

  it('UIDs are replaced by 2.25 UIDs consistently; standard UIDs are kept', () => {
    for (const k of ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'FrameOfReferenceUID', 'InstanceCreatorUID']) {
      expect(after[k], k).toBe(replaceUid(KEY, before[k]!));
      expect(after[k]).toMatch(/^2\.25\.\d{1,39}$/);
      expect(after[k]!.length).toBeLessThanOrEqual(64);
    }
    expect(after['meta.MediaStorageSOPInstanceUID']).toBe(after.SOPInstanceUID);
    expect(after.SOPClassUID).toBe(before.SOPClassUID);
    expect(after['meta.TransferSyntaxUID']).toBe(before['meta.TransferSyntaxUID']);
  });

  it('marks the object as de-identified with the method codes', () => {
    expect(after.PatientIdentityRemoved).toBe('YES');
    expect(after.DeidentificationMethod).toBe(DEID_METHOD.slice(0, 64));
    expect(after.DeidentificationMethodCodeSequence).toBe('SQ:2');
    expect(after['DeidentificationMethodCodeSequence[0].CodeValue']).toBe('113100');
    expect(after['DeidentificationMethodCodeSequence[1].CodeValue']).toBe('113107');
    expect(after.LongitudinalTemporalInformationModified).toBe('MODIFIED');
  });

  it('keeps what research needs (modality, geometry, pixel data)', () => {
    for (const k of ['Modality', 'Rows', 'Columns', 'PixelSpacing', 'SliceThickness', 'BitsStored', 'RescaleSlope']) expect(after[k], k).toBe(before[k]);
    const px = (b: Buffer): string =>
      execFileSync('/usr/bin/python3', ['-c', 'import io,sys,pydicom,hashlib;print(hashlib.sha256(pydicom.dcmread(io.BytesIO(sys.stdin.buffer.read())).PixelData).hexdigest())'], { input: b, encoding: 'utf8' }).trim();
    expect(px(bytes)).toBe(px(input));
  });

  it('no original identifying string survives anywhere in the bytes', () => {
    const text = bytes.toString('latin1');
    for (const s of ['CompressedSamples', '1CT1', 'ABCD1234', 'JFK IMAGING', before.StudyInstanceUID!, before.SOPInstanceUID!, '20040119', 'CT01_OC0', 'GEMS_']) {
      expect(text.includes(s), s).toBe(false);
    }
  });
});

describe('de-identification consistency', () => {
  it('two files of one study get the same study UID and pseudonym; another data set secret gives different ones', () => {
    const a = pydicomDump(deidentifyPart10(testFile('MR_small.dcm'), KEY).bytes);
    const b = pydicomDump(deidentifyPart10(testFile('MR_small_implicit.dcm'), KEY).bytes);
    const c = pydicomDump(deidentifyPart10(testFile('MR_small.dcm'), OTHER).bytes);
    expect(a.StudyInstanceUID).toBe(b.StudyInstanceUID);
    expect(a.PatientID).toBe(b.PatientID);
    expect(a.StudyDate).toBe(b.StudyDate);
    expect(c.StudyInstanceUID).not.toBe(a.StudyInstanceUID);
    expect(c.PatientID).not.toBe(a.PatientID);
    expect(a.PatientName).not.toContain('CompressedSamples');
  });

  it('a file that is not DICOM is refused with a clear error', () => {
    expect(() => deidentifyPart10(Buffer.from('this is not dicom at all, just text'), KEY)).toThrow(/could not be read as DICOM/);
  });
});
