// The tag browser's rows from a real Part 10 file written with dcmjs: names from the dictionary,
// values by VR, sequences flattened with item headers, private tags marked with their creator,
// long values cut with a flag, pixel data summarised.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from './limits';
import { parseDicomFile } from './parse';
import { MAX_TAG_VALUE_CHARS, listTags } from './tags';

const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs') as { data: { DicomDict: new (meta: unknown) => { dict: Record<string, unknown>; write(): ArrayBuffer }; DicomMetaDictionary: { denaturalizeDataset(d: unknown): Record<string, unknown> } } };

function file(): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
    MediaStorageSOPInstanceUID: '2.25.42',
    TransferSyntaxUID: '1.2.840.10008.1.2.1',
    ImplementationClassUID: '2.25.1234567890123456789',
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  const ds = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
    SOPInstanceUID: '2.25.42',
    StudyInstanceUID: '2.25.43',
    SeriesInstanceUID: '2.25.44',
    PatientName: 'TAGS^TEST',
    Modality: 'MR',
    ImageComments: 'x'.repeat(MAX_TAG_VALUE_CHARS + 100),
    Rows: 2,
    Columns: 2,
    PixelSpacing: [0.5, 0.5],
    ReferencedImageSequence: [{ ReferencedSOPClassUID: '1.2.3', ReferencedSOPInstanceUID: '1.2.3.4' }, { ReferencedSOPClassUID: '1.2.3', ReferencedSOPInstanceUID: '1.2.3.5' }],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [new Uint8Array([1, 2, 3, 4]).buffer],
    _vrMap: { PixelData: 'OB' },
  });
  // A vendor's private block: creator (0029,0010) and one of its elements (0029,1001).
  ds['00290010'] = { vr: 'LO', Value: ['ACME MR 1.0'] };
  ds['00291001'] = { vr: 'SH', Value: ['secret sauce'] };
  dict.dict = ds;
  return new Uint8Array(dict.write());
}

describe('DICOM tag browser rows', () => {
  const { tags, truncated } = listTags(parseDicomFile(file(), DEFAULT_LIMITS).dataSet);
  const row = (tag: string) => tags.find((t) => t.tag === tag);

  it('names elements from the dictionary and shows values by VR', () => {
    expect(truncated).toBe(false);
    expect(row('(0010,0010)')).toMatchObject({ name: 'PatientName', vr: 'PN', value: 'TAGS^TEST', private: false, depth: 0 });
    expect(row('(0028,0010)')).toMatchObject({ name: 'Rows', vr: 'US', value: '2' });
    expect(row('(0028,0030)')).toMatchObject({ name: 'PixelSpacing', vr: 'DS', value: '0.5\\0.5' });
    expect(row('(0002,0010)')).toMatchObject({ name: 'TransferSyntaxUID', value: '1.2.840.10008.1.2.1' });
    expect(row('(7FE0,0010)')).toMatchObject({ name: 'PixelData', value: '(pixel data, 4 bytes)' });
    // In tag order.
    const order = tags.filter((t) => t.depth === 0 && !t.name.startsWith('Item ')).map((t) => t.tag);
    expect(order).toEqual([...order].sort());
  });

  it('flattens sequences with a header row per item, one level deeper', () => {
    const i = tags.findIndex((t) => t.tag === '(0008,1140)');
    expect(tags[i]).toMatchObject({ name: 'ReferencedImageSequence', vr: 'SQ', value: '(sequence, 2 items)', depth: 0 });
    expect(tags.slice(i + 1, i + 7).map((t) => [t.name, t.depth, t.value])).toEqual([
      ['Item 1', 0, ''],
      ['ReferencedSOPClassUID', 1, '1.2.3'],
      ['ReferencedSOPInstanceUID', 1, '1.2.3.4'],
      ['Item 2', 0, ''],
      ['ReferencedSOPClassUID', 1, '1.2.3'],
      ['ReferencedSOPInstanceUID', 1, '1.2.3.5'],
    ]);
  });

  it('marks private tags with their creator and cuts long values with a flag', () => {
    expect(row('(0029,0010)')).toMatchObject({ name: 'Private creator', value: 'ACME MR 1.0', private: true });
    expect(row('(0029,1001)')).toMatchObject({ name: 'Private tag (ACME MR 1.0)', value: 'secret sauce', private: true });
    const comments = row('(0020,4000)')!;
    expect(comments).toMatchObject({ name: 'ImageComments', truncated: true });
    expect(comments.value).toHaveLength(MAX_TAG_VALUE_CHARS);
    expect(comments.length).toBeGreaterThan(MAX_TAG_VALUE_CHARS);
  });
});
