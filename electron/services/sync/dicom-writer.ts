// Writes naturalized DICOM datasets to Part 10 bytes with dcmjs (explicit VR little endian), and
// makes new UIDs: the one place sync's objects (SEG, SR, PDF) become files.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

interface DcmjsData {
  DicomDict: new (meta: unknown) => { dict: unknown; write(options?: unknown): ArrayBuffer };
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: unknown): { dict: unknown; meta: unknown } };
  DicomMetaDictionary: {
    denaturalizeDataset(ds: unknown): unknown;
    naturalizeDataset(ds: unknown): Record<string, unknown>;
  };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData };

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation class UID root (2.25 + UUID form, no registered root needed). */
const IMPLEMENTATION_CLASS_UID = '2.25.160142097383838712346713291838418297843';

/** A new UID in the 2.25 (UUID-derived) form. */
export function newUid(): string {
  return '2.25.' + BigInt('0x' + crypto.randomUUID().replace(/-/g, '')).toString();
}

export type NaturalDataset = Record<string, unknown> & { _vrMap?: Record<string, string> };

export function writePart10(dataset: NaturalDataset): Buffer {
  const sopClass = String(dataset.SOPClassUID);
  const sopInstance = String(dataset.SOPInstanceUID);
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClass,
    MediaStorageSOPInstanceUID: sopInstance,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'TUMORPREDICT',
    _vrMap: {},
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/** Reads Part 10 bytes into a naturalized dataset (for tests and readback checks). */
export function readPart10(bytes: Uint8Array): NaturalDataset {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const msg = dcmjs.data.DicomMessage.readFile(ab);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(msg.dict) as NaturalDataset;
}

export function dicomDateTime(d = new Date()): { date: string; time: string } {
  const iso = d.toISOString();
  return { date: iso.slice(0, 10).replace(/-/g, ''), time: iso.slice(11, 19).replace(/:/g, '') };
}
