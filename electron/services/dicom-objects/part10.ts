// Part 10 bytes from naturalized datasets with dcmjs (explicit VR little endian), readback for
// checks, and new UIDs: where the objects we produce (SR, Encapsulated PDF, SEG) become files.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

interface DcmjsData {
  DicomDict: new (meta: unknown) => { dict: unknown; write(options?: unknown): ArrayBuffer };
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: unknown): { dict: unknown; meta: unknown } };
  DicomMetaDictionary: { denaturalizeDataset(ds: unknown): unknown; naturalizeDataset(ds: unknown): Record<string, unknown> };
}
// dcmjs ships CommonJS without types we can use under strict ESM; require it.
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

export type Dataset = Record<string, unknown> & { _vrMap?: Record<string, string> };
/** The same type under the name sync's builders use. */
export type NaturalDataset = Dataset;
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_CLASS_UID = '2.25.160142097383838712346713291838418297843';

/** A new UID in the 2.25 (UUID-derived) form: no registered root needed. */
export function newUid(): string {
  return '2.25.' + BigInt('0x' + crypto.randomUUID().replace(/-/g, '')).toString();
}

/** A UID derived from a name (2.25 + the first 128 bits of its SHA-256): the same object always gets the same UID. */
export function uidFor(name: string): string {
  return '2.25.' + BigInt('0x' + crypto.createHash('sha256').update(name).digest('hex').slice(0, 32)).toString();
}

export function writePart10(dataset: Dataset): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: String(dataset.SOPClassUID),
    MediaStorageSOPInstanceUID: String(dataset.SOPInstanceUID),
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'TUMORPREDICT',
    _vrMap: {},
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

export function readPart10(bytes: Uint8Array): Dataset {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const msg = dcmjs.data.DicomMessage.readFile(ab);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.dict) as Dataset;
}

/** DICOM DA, TM and DT of an instant (UTC, with its offset so the DT is unambiguous); now by default. */
export function dicomDateTime(at: string | Date = new Date()): { date: string; time: string; dateTime: string } {
  const d = new Date(at);
  const s = d.toISOString();
  const date = s.slice(0, 10).replace(/-/g, '');
  const time = s.slice(11, 19).replace(/:/g, '');
  return { date, time, dateTime: `${date}${time}+0000` };
}
