// Real MR instances for the sync tests and the bench: Debian pydicom's MR_small.dcm (a real
// scan) copied with new Study/Series/SOP Instance UIDs, every other byte of its data kept.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { newUid } from '../../services/dicom-objects';

export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const MR_SMALL = path.join(PYDICOM_TEST_FILES, 'MR_small.dcm');

interface DictEntry { vr: string; Value: unknown[] }
const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: { DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, DictEntry>; meta: Record<string, DictEntry>; write(): ArrayBuffer } } };
};

export interface MadeStudy {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUids: string[];
  files: string[];
}

/** Writes `count` instances of one new study (one series) into `dir`. */
export function makeMrStudy(
  dir: string,
  count: number,
  opts: { studyInstanceUid?: string; seriesInstanceUid?: string; patientName?: string; patientId?: string; accessionNumber?: string; studyDescription?: string } = {},
): MadeStudy {
  if (!fs.existsSync(MR_SMALL)) throw new Error(`The sync tests need real MR files from Debian's python3-pydicom (${MR_SMALL}): apt-get install python3-pydicom`);
  fs.mkdirSync(dir, { recursive: true });
  const src = fs.readFileSync(MR_SMALL);
  const studyInstanceUid = opts.studyInstanceUid ?? newUid();
  const seriesInstanceUid = opts.seriesInstanceUid ?? newUid();
  const made: MadeStudy = { studyInstanceUid, seriesInstanceUid, sopInstanceUids: [], files: [] };
  for (let i = 0; i < count; i++) {
    const msg = dcmjs.data.DicomMessage.readFile(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
    const sop = newUid();
    msg.dict['0020000D']!.Value = [studyInstanceUid];
    msg.dict['0020000E']!.Value = [seriesInstanceUid];
    msg.dict['00080018']!.Value = [sop];
    msg.dict['00200013'] = { vr: 'IS', Value: [i + 1] };
    msg.meta['00020003']!.Value = [sop];
    if (opts.patientName) msg.dict['00100010'] = { vr: 'PN', Value: [{ Alphabetic: opts.patientName }] };
    if (opts.patientId) msg.dict['00100020'] = { vr: 'LO', Value: [opts.patientId] };
    if (opts.accessionNumber) msg.dict['00080050'] = { vr: 'SH', Value: [opts.accessionNumber] };
    if (opts.studyDescription) msg.dict['00081030'] = { vr: 'LO', Value: [opts.studyDescription] };
    const file = path.join(dir, `${sop}.dcm`);
    fs.writeFileSync(file, Buffer.from(msg.write()));
    made.sopInstanceUids.push(sop);
    made.files.push(file);
  }
  return made;
}
