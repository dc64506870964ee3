// Part 10 bytes from naturalized datasets with dcmjs (explicit VR little endian), readback for
// checks, and new UIDs: where the objects we produce (SR, Encapsulated PDF, SEG) become files.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import dicomParser from 'dicom-parser';

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

/** Part 10 bytes of `dataset`, explicit VR little endian unless `transferSyntax` names another uncompressed one dcmjs writes (implicit VR little endian). */
export function writePart10(dataset: Dataset, transferSyntax: string = EXPLICIT_VR_LITTLE_ENDIAN): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: String(dataset.SOPClassUID),
    MediaStorageSOPInstanceUID: String(dataset.SOPInstanceUID),
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'TUMORPREDICT',
    _vrMap: {},
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/**
 * dcmjs 0.51 reads the items of a sequence with a new stream that forgets the data set's
 * Specific Character Set, so their text comes back decoded as Latin-1 even in a UTF-8 object.
 * Undoing that (Latin-1 bytes back to UTF-8) on nested values only gives the text as written;
 * the top level is decoded right and is left alone.
 */
type RawElement = { vr: string; Value?: unknown[] };
const BINARY_VRS = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN', 'AT', 'US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);
const latin1ToUtf8 = (v: unknown): unknown => {
  if (typeof v === 'string') return /[\u0080-\u00ff]/.test(v) ? Buffer.from(v, 'latin1').toString('utf8') : v;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, latin1ToUtf8(x)]));
  return v;
};
/** Re-decodes the text of every element inside the sequences of a raw (denaturalized) dict. */
function fixSequenceText(dict: Record<string, RawElement>, nested: boolean): void {
  for (const el of Object.values(dict)) {
    if (el.vr === 'SQ') for (const item of el.Value ?? []) fixSequenceText(item as Record<string, RawElement>, true);
    else if (nested && !BINARY_VRS.has(el.vr) && el.Value) el.Value = el.Value.map(latin1ToUtf8);
  }
}

function declaredCharset(bytes: Uint8Array): string {
  try {
    const ds = dicomParser.parseDicom(bytes, { untilTag: 'x00080006' });
    return ds.string('x00080005') ?? '';
  } catch {
    return '';
  }
}

export function readPart10(bytes: Uint8Array): Dataset {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const msg = dcmjs.data.DicomMessage.readFile(ab);
  const dict = msg.dict as Record<string, RawElement>;
  // dcmjs reports every character set as ISO_IR 192 after reading: ask the file itself.
  if (dict['00080005'] && declaredCharset(bytes).includes('ISO_IR 192')) fixSequenceText(dict, false);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict) as Dataset;
}

/** DICOM DA, TM and DT of an instant (UTC, with its offset so the DT is unambiguous); now by default. */
export function dicomDateTime(at: string | Date = new Date()): { date: string; time: string; dateTime: string } {
  const d = new Date(at);
  const s = d.toISOString();
  const date = s.slice(0, 10).replace(/-/g, '');
  const time = s.slice(11, 19).replace(/:/g, '');
  return { date, time, dateTime: `${date}${time}+0000` };
}
