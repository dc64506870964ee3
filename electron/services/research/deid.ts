// De-identification of DICOM for researchers: the PS3.15 Annex E Basic Application Level
// Confidentiality Profile as Table E.1-1 specifies it (deid-profile.ts), with an allow-list
// default for what the table does not name, and the Retain Longitudinal Temporal Information and
// Clean Descriptors options as explicit choices. Patient name and ID become per-data-set
// pseudonyms, UIDs a consistent hash-derived 2.25 UID, dates move by a secret per-data-set offset
// (Modified Dates), and the File Meta Information is replaced.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { WorkstationError } from '../../contract/errors';
import { DEFAULT_LIMITS, DicomRefusal, checkDicomStructure } from '../dicom';
import { DEFAULT_DEID_OPTIONS, KEEP, actionFor, cleanDescriptor, isPrivateTag, methodCodes, methodText, sequenceMayBeCleaned, tableRow, type DeidAction, type DeidOptions, type TableRow } from './deid-profile';

export { DEFAULT_DEID_OPTIONS, type DeidOptions } from './deid-profile';

interface DcmjsElement {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
}
type RawDict = Record<string, DcmjsElement>;
interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: unknown): { dict: RawDict; meta: RawDict; write(options?: unknown): ArrayBuffer } };
  DicomDict: new (meta: RawDict) => { dict: RawDict; meta: RawDict; write(options?: unknown): ArrayBuffer };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData; log?: { setLevel?: (l: string) => void } };
try {
  dcmjs.log?.setLevel?.('error');
} catch {
  /* older dcmjs without loglevel */
}

/** UIDs that identify the software or a standard, not a patient or study: kept. */
const STANDARD_UID_ROOT = '1.2.840.10008.';
const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
/** Our implementation's UID for the replaced File Meta Information (2.25 form of a fixed UUID). */
const IMPLEMENTATION_CLASS_UID = '2.25.277149521183405125426138211474346112553';

/** The De-identification Method (0012,0063) written with the default options. */
export const DEID_METHOD = methodText(DEFAULT_DEID_OPTIONS);

export interface DeidKey {
  /** Per-data-set secret (32 random bytes); never leaves the encrypted database. */
  secret: Buffer;
}

export function newDeidSecret(): Buffer {
  return crypto.randomBytes(32);
}

function hmac(key: DeidKey, purpose: string, value: string): Buffer {
  return crypto.createHmac('sha256', key.secret).update(purpose).update('\0').update(value).digest();
}

/** Days every date of this data set moves back: 365 to 3652, fixed by the secret. */
export function dateShiftDays(key: DeidKey): number {
  return 365 + (hmac(key, 'date-shift', '').readUInt32BE(0) % 3288);
}

/** A UID under 2.25 derived from the original: same input and secret, same output; irreversible without the secret. */
export function replaceUid(key: DeidKey, uid: string): string {
  const h = hmac(key, 'uid', uid.trim()).subarray(0, 16);
  // Shape it as a version-8 (custom) UUID so the 2.25 form is a valid UUID integer.
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return '2.25.' + BigInt('0x' + h.toString('hex')).toString();
}

export function pseudonym(key: DeidKey, kind: 'name' | 'id', value: string): string {
  const tag = hmac(key, 'patient', value.trim()).toString('hex').slice(0, 10).toUpperCase();
  return kind === 'name' ? `RESEARCH^${tag}` : `R-${tag}`;
}

function shiftDa(da: string, days: number): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  if (!m) return ''; // partial or malformed date: emptied rather than leaked
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - days * 86_400_000;
  const d = new Date(t);
  return `${d.getUTCFullYear().toString().padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

function shiftDt(dt: string, days: number): string {
  const s = dt.trim();
  if (s.length < 8) return '';
  const date = shiftDa(s.slice(0, 8), days);
  return date ? date + s.slice(8) : '';
}

function patientNameText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return '';
}

export interface DeidReport {
  removed: string[];
  emptied: string[];
  replaced: string[];
  uidsReplaced: number;
  datesShifted: number;
  privateRemoved: number;
}

interface WalkContext {
  key: DeidKey;
  days: number;
  options: DeidOptions;
  report: DeidReport;
  patientId: string;
}

const tagLabel = (t: string): string => `(${t.slice(0, 4)},${t.slice(4)})`;
const values = (el: DcmjsElement): string[] => (el.Value ?? []).map((v) => String(v ?? ''));

/** A non-empty value of the VR that means nothing (the D action). */
function dummy(vr: string): DcmjsElement {
  switch (vr) {
    case 'PN':
      return { vr, Value: [{ Alphabetic: 'ANONYMIZED' }] };
    case 'DA':
      return { vr, Value: ['19000101'] };
    case 'TM':
      return { vr, Value: ['000000'] };
    case 'DT':
      return { vr, Value: ['19000101000000'] };
    case 'IS':
    case 'DS':
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FL':
    case 'FD':
    case 'SV':
    case 'UV':
      return { vr, Value: [0] };
    case 'OB':
    case 'OW':
    case 'OD':
    case 'OF':
    case 'OL':
    case 'OV':
    case 'UN':
      return { vr, Value: [] };
    default:
      return { vr, Value: ['ANONYMIZED'] };
  }
}

function replaceUids(el: DcmjsElement, ctx: WalkContext): void {
  const vals = values(el);
  el.Value = vals.map((v) => (v === '' || v.startsWith(STANDARD_UID_ROOT) ? v : replaceUid(ctx.key, v)));
  ctx.report.uidsReplaced += vals.filter((v) => v !== '' && !v.startsWith(STANDARD_UID_ROOT)).length;
}

/** The Clean action on a date or time under Modified Dates: dates move by the data set's offset; times of day stay. */
function shiftTemporal(el: DcmjsElement, ctx: WalkContext): void {
  if (el.vr === 'TM') return;
  const vals = values(el);
  el.Value = vals.map((v) => (v === '' ? v : el.vr === 'DA' ? shiftDa(v, ctx.days) : shiftDt(v, ctx.days)));
  ctx.report.datesShifted += vals.filter((v) => v !== '').length;
}

/** Bytes held by binary values, nested ones included (the parsed data set can never hold more than the file). */
function valueBytes(dict: RawDict): number {
  let n = 0;
  for (const el of Object.values(dict)) {
    for (const v of el.Value ?? []) {
      if (v instanceof ArrayBuffer) n += v.byteLength;
      else if (ArrayBuffer.isView(v)) n += v.byteLength;
      else if (el.vr === 'SQ' && v && typeof v === 'object') n += valueBytes(v as RawDict);
    }
  }
  return n;
}

function walkItems(el: DcmjsElement, ctx: WalkContext): void {
  for (const item of (el.Value ?? []) as RawDict[]) if (item && typeof item === 'object') deidDict(item, ctx);
}

/** One attribute the table names, under its action. Returns false when the attribute is to be deleted. */
function applyRow(dict: RawDict, tag: string, t: string, row: TableRow, action: DeidAction, ctx: WalkContext): void {
  const el = dict[tag]!;
  const { report } = ctx;
  switch (action) {
    case 'X':
      delete dict[tag];
      if (isPrivateTag(t)) report.privateRemoved++;
      else report.removed.push(row.name);
      return;
    case 'Z':
      if (t === '00100010' || t === '00100020') {
        // Z allows a dummy: the per-data-set pseudonym keeps one patient one research subject.
        dict[tag] = t === '00100010' ? { vr: 'PN', Value: [{ Alphabetic: pseudonym(ctx.key, 'name', ctx.patientId) }] } : { vr: el.vr, Value: [pseudonym(ctx.key, 'id', ctx.patientId)] };
        report.replaced.push(row.name);
      } else {
        dict[tag] = { vr: el.vr, Value: [] };
        report.emptied.push(row.name);
      }
      return;
    case 'D':
      if (el.vr === 'SQ') {
        // A sequence keeps its items (cleaned by the same rules) only where the table gives it a
        // clean option (structured content, graphics); otherwise one empty item stands in.
        if (sequenceMayBeCleaned(row)) walkItems(el, ctx);
        else dict[tag] = { vr: 'SQ', Value: [{}] };
      } else if (el.vr === 'UI') {
        replaceUids(el, ctx);
      } else {
        dict[tag] = dummy(el.vr);
      }
      report.replaced.push(row.name);
      return;
    case 'K':
      if (el.vr === 'SQ') walkItems(el, ctx);
      return;
    case 'U':
      if (el.vr === 'UI') replaceUids(el, ctx);
      else if (el.vr === 'SQ') walkItems(el, ctx);
      else dict[tag] = dummy(el.vr);
      return;
    case 'C': {
      if (el.vr === 'SQ') return walkItems(el, ctx);
      if (el.vr === 'DA' || el.vr === 'DT' || el.vr === 'TM') return shiftTemporal(el, ctx);
      // A descriptor keeps its known-safe words; when none survive, the Basic Profile's action applies.
      const cleaned = values(el).map((v) => cleanDescriptor(patientNameText(v) || v));
      if (cleaned.length && cleaned.every((c) => c !== null)) {
        el.Value = cleaned as string[];
        report.replaced.push(row.name);
        return;
      }
      const basic = row.basic.charAt(0) as DeidAction;
      return applyRow(dict, tag, t, row, basic === 'C' ? 'X' : basic, ctx);
    }
  }
}

function deidDict(dict: RawDict, ctx: WalkContext): void {
  const { options, report } = ctx;
  for (const tag of Object.keys(dict)) {
    const t = tag.toUpperCase();
    const el = dict[tag]!;
    // Group lengths are stale once anything changes; the writer does not need them.
    if (t.endsWith('0000')) {
      delete dict[tag];
      continue;
    }
    const row = tableRow(t);
    if (row) {
      applyRow(dict, tag, t, row, actionFor(row, options), ctx);
      continue;
    }
    // Not in Table E.1-1: UIDs, dates and times by their VR (E.1.1 note 4), the rest by the allow-list.
    if (el.vr === 'UI') {
      replaceUids(el, ctx);
    } else if (el.vr === 'DA' || el.vr === 'DT' || el.vr === 'TM') {
      if (options.temporal === 'remove') {
        delete dict[tag];
        report.removed.push(tagLabel(t));
      } else if (options.temporal === 'modified') shiftTemporal(el, ctx);
    } else if (KEEP.has(t)) {
      if (el.vr === 'SQ') walkItems(el, ctx);
    } else {
      delete dict[tag];
      report.removed.push(tagLabel(t));
    }
  }
}

export interface DeidResult {
  bytes: Buffer;
  report: DeidReport;
}

/**
 * De-identifies one Part 10 file under the options (default: Modified Dates, no Clean
 * Descriptors). The pixel data are kept as they are: a file that says BurnedInAnnotation YES is
 * refused rather than passed on (overlays, which may carry text, are removed by the table).
 */
export function deidentifyPart10(input: Uint8Array, key: DeidKey, options: DeidOptions = DEFAULT_DEID_OPTIONS): DeidResult {
  // The structure first, with the import's guards: dcmjs believes any element length, so a 4 KiB
  // file claiming a 1 GiB element would cost a 1 GiB buffer and minutes of copying.
  let inflatedLength = input.byteLength;
  try {
    inflatedLength = checkDicomStructure(input, DEFAULT_LIMITS).bytes.byteLength;
  } catch (err) {
    if (err instanceof DicomRefusal) throw new WorkstationError('INVALID_INPUT', `The file could not be read as DICOM (${err.message}), so it was not de-identified or shown.`, { cause: err });
    throw err;
  }
  let msg: ReturnType<DcmjsData['DicomMessage']['readFile']>;
  try {
    const ab = input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer;
    msg = dcmjs.data.DicomMessage.readFile(ab, { ignoreErrors: true });
  } catch (err) {
    throw new WorkstationError('INVALID_INPUT', 'The file could not be read as DICOM, so it was not de-identified or shown.', { cause: err });
  }
  if (valueBytes(msg.dict) > inflatedLength) {
    throw new WorkstationError('INVALID_INPUT', 'The file could not be read as DICOM (its elements claim more bytes than the file holds), so it was not de-identified or shown.');
  }
  const sopClass = String(msg.meta['00020002']?.Value?.[0] ?? msg.dict['00080016']?.Value?.[0] ?? '');
  if (sopClass === MEDIA_STORAGE_DIRECTORY) {
    throw new WorkstationError('INVALID_INPUT', 'This is a DICOMDIR (an index of a disc or folder), not an image; it names files and patients and is not exported.');
  }
  const burned = msg.dict['00280301']?.Value?.[0];
  if (typeof burned === 'string' && burned.trim().toUpperCase() === 'YES') {
    throw new WorkstationError('INVALID_INPUT', 'This image has text burned into its pixels (BurnedInAnnotation YES); it cannot be de-identified safely and was withheld.');
  }
  const report: DeidReport = { removed: [], emptied: [], replaced: [], uidsReplaced: 0, datesShifted: 0, privateRemoved: 0 };
  const pidValue = msg.dict['00100020']?.Value?.[0];
  const nameValue = msg.dict['00100010']?.Value?.[0];
  // The pseudonym is keyed on the patient ID (name as a fallback) so one patient stays one pseudonym.
  const patientId = typeof pidValue === 'string' && pidValue.trim() ? pidValue : patientNameText(nameValue) || 'unknown';
  deidDict(msg.dict, { key, days: dateShiftDays(key), options, report, patientId });
  // The File Meta Information is replaced (PS3.15 E.1.1 step 7): only what a reader needs, with
  // the instance UID in step with (0008,0018) and this application as the implementation.
  const old = msg.meta;
  const meta: RawDict = {};
  for (const t of ['00020001', '00020002', '00020010']) if (old[t]) meta[t] = old[t]!;
  // A deflated file is written inflated (dcmjs holds it inflated and does not deflate reliably).
  if (String(old['00020010']?.Value?.[0] ?? '') === DEFLATED_LE) meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_LE] };
  const sop = old['00020003']?.Value?.[0];
  if (sop) meta['00020003'] = { vr: 'UI', Value: [replaceUid(key, String(sop))] };
  meta['00020012'] = { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] };
  meta['00020013'] = { vr: 'SH', Value: ['TUMORPREDICT'] };
  // The mandatory markers of a de-identified object.
  if (!msg.dict['00100010']) msg.dict['00100010'] = { vr: 'PN', Value: [{ Alphabetic: pseudonym(key, 'name', patientId) }] };
  if (!msg.dict['00100020']) msg.dict['00100020'] = { vr: 'LO', Value: [pseudonym(key, 'id', patientId)] };
  msg.dict['00120062'] = { vr: 'CS', Value: ['YES'] };
  msg.dict['00120063'] = { vr: 'LO', Value: [methodText(options)] };
  msg.dict['00120064'] = {
    vr: 'SQ',
    Value: methodCodes(options).map((c) => ({ '00080100': { vr: 'SH', Value: [c.code] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: [c.meaning] } })),
  };
  // Longitudinal Temporal Information Modified (0028,0303).
  msg.dict['00280303'] = { vr: 'CS', Value: [options.temporal === 'modified' ? 'MODIFIED' : options.temporal === 'full' ? 'UNMODIFIED' : 'REMOVED'] };
  const out = new dcmjs.data.DicomDict(meta);
  out.dict = msg.dict;
  let bytes: ArrayBuffer;
  try {
    bytes = out.write({ allowInvalidVRLength: true });
  } catch (err) {
    throw new WorkstationError('INTERNAL', 'The de-identified copy of the file could not be written.', { cause: err });
  }
  return { bytes: Buffer.from(bytes), report };
}
