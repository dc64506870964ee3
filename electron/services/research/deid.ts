// De-identification of DICOM for researchers: the PS3.15 Annex E Basic Application Level
// Confidentiality Profile with the Retain Longitudinal Temporal Information (Modified Dates) option.
// Names and IDs are replaced by per-data-set pseudonyms, dates shifted by a secret per-data-set
// offset, UIDs replaced by a consistent hash-derived 2.25 UID, private tags and free text removed.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { WorkstationError } from '../../contract/errors';

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

/** What the profile does to an attribute (PS3.15 Table E.1-1 action codes). */
type Action = 'X' /* remove */ | 'Z' /* empty */ | 'D' /* dummy/pseudonym */ | 'U' /* new UID */;

/**
 * The Basic Profile's actions for the attributes that occur in MR/CT/SC images (PS3.15 Table
 * E.1-1). UIDs are handled by VR (every non-standard UI value is replaced), dates by VR (shifted).
 */
export const PROFILE: Readonly<Record<string, { name: string; action: Action }>> = {
  '00080050': { name: 'AccessionNumber', action: 'Z' },
  '00080080': { name: 'InstitutionName', action: 'X' },
  '00080081': { name: 'InstitutionAddress', action: 'X' },
  '00080090': { name: 'ReferringPhysicianName', action: 'Z' },
  '00080092': { name: 'ReferringPhysicianAddress', action: 'X' },
  '00080094': { name: 'ReferringPhysicianTelephoneNumbers', action: 'X' },
  '00080096': { name: 'ReferringPhysicianIdentificationSequence', action: 'X' },
  '00081010': { name: 'StationName', action: 'X' },
  '00081030': { name: 'StudyDescription', action: 'X' },
  '0008103E': { name: 'SeriesDescription', action: 'X' },
  '00081040': { name: 'InstitutionalDepartmentName', action: 'X' },
  '00081048': { name: 'PhysiciansOfRecord', action: 'X' },
  '00081050': { name: 'PerformingPhysicianName', action: 'X' },
  '00081060': { name: 'NameOfPhysiciansReadingStudy', action: 'X' },
  '00081070': { name: 'OperatorsName', action: 'X' },
  '00081080': { name: 'AdmittingDiagnosesDescription', action: 'X' },
  '00082111': { name: 'DerivationDescription', action: 'X' },
  '00100010': { name: 'PatientName', action: 'D' },
  '00100020': { name: 'PatientID', action: 'D' },
  '00100021': { name: 'IssuerOfPatientID', action: 'X' },
  '00100030': { name: 'PatientBirthDate', action: 'Z' },
  '00100032': { name: 'PatientBirthTime', action: 'X' },
  '00100040': { name: 'PatientSex', action: 'Z' },
  '00101000': { name: 'OtherPatientIDs', action: 'X' },
  '00101001': { name: 'OtherPatientNames', action: 'X' },
  '00101002': { name: 'OtherPatientIDsSequence', action: 'X' },
  '00101005': { name: 'PatientBirthName', action: 'X' },
  '00101010': { name: 'PatientAge', action: 'X' },
  '00101020': { name: 'PatientSize', action: 'X' },
  '00101030': { name: 'PatientWeight', action: 'X' },
  '00101040': { name: 'PatientAddress', action: 'X' },
  '00101060': { name: 'PatientMotherBirthName', action: 'X' },
  '00102154': { name: 'PatientTelephoneNumbers', action: 'X' },
  '00102160': { name: 'EthnicGroup', action: 'X' },
  '00102180': { name: 'Occupation', action: 'X' },
  '001021B0': { name: 'AdditionalPatientHistory', action: 'X' },
  '00104000': { name: 'PatientComments', action: 'X' },
  '00181000': { name: 'DeviceSerialNumber', action: 'X' },
  '00181030': { name: 'ProtocolName', action: 'X' },
  '00200010': { name: 'StudyID', action: 'Z' },
  '00204000': { name: 'ImageComments', action: 'X' },
  '00321032': { name: 'RequestingPhysician', action: 'X' },
  '00321060': { name: 'RequestedProcedureDescription', action: 'X' },
  '00400244': { name: 'PerformedProcedureStepStartDate', action: 'X' },
  '00400253': { name: 'PerformedProcedureStepID', action: 'X' },
  '00400254': { name: 'PerformedProcedureStepDescription', action: 'X' },
  '00400275': { name: 'RequestAttributesSequence', action: 'X' },
  '0040A124': { name: 'UID', action: 'U' },
  '00700084': { name: 'ContentCreatorName', action: 'Z' },
  '00880140': { name: 'StorageMediaFileSetUID', action: 'U' },
  '30060024': { name: 'ReferencedFrameOfReferenceUID', action: 'U' },
  '40084000': { name: 'ResultsComments', action: 'X' },
};

/** UIDs that identify the software or a standard, not a patient or study: kept. */
const KEEP_UID_TAGS = new Set(['00020010' /* TransferSyntaxUID */, '00020012' /* ImplementationClassUID */, '00020002', '00080016', '00081150' /* SOP class UIDs */]);
const STANDARD_UID_ROOT = '1.2.840.10008.';

export const DEID_METHOD = 'PS3.15 E.1 Basic Application Level Confidentiality Profile; Retain Longitudinal Temporal Information with Modified Dates; TumorPredict';

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

function isPrivate(tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1;
}

/** Overlay comments/labels (60xx,4000 / 60xx,1500) and curve data (50xx) may hold burned-in text. */
function isOverlayTextOrCurve(tag: string): boolean {
  const g = tag.slice(0, 2).toUpperCase();
  const e = tag.slice(4).toUpperCase();
  return g === '50' || (g === '60' && (e === '4000' || e === '1500'));
}

export interface DeidReport {
  removed: string[];
  emptied: string[];
  replaced: string[];
  uidsReplaced: number;
  datesShifted: number;
  privateRemoved: number;
}

function deidDict(dict: RawDict, key: DeidKey, days: number, report: DeidReport, patientId: string): void {
  for (const tag of Object.keys(dict)) {
    const t = tag.toUpperCase();
    const el = dict[tag]!;
    if (isPrivate(t)) {
      delete dict[tag];
      report.privateRemoved++;
      continue;
    }
    if (isOverlayTextOrCurve(t)) {
      delete dict[tag];
      report.removed.push(t);
      continue;
    }
    const rule = PROFILE[t];
    if (rule?.action === 'X') {
      delete dict[tag];
      report.removed.push(rule.name);
      continue;
    }
    if (rule?.action === 'Z') {
      dict[tag] = { vr: el.vr, Value: [] };
      report.emptied.push(rule.name);
      continue;
    }
    if (rule?.action === 'D') {
      if (t === '00100010') dict[tag] = { vr: 'PN', Value: [{ Alphabetic: pseudonym(key, 'name', patientId) }] };
      else dict[tag] = { vr: el.vr, Value: [pseudonym(key, 'id', patientId)] };
      report.replaced.push(rule.name);
      continue;
    }
    if (el.vr === 'UI') {
      if (KEEP_UID_TAGS.has(t)) continue;
      const vals = (el.Value ?? []).map((v) => String(v ?? ''));
      el.Value = vals.map((v) => (v === '' || v.startsWith(STANDARD_UID_ROOT) ? v : replaceUid(key, v)));
      report.uidsReplaced += vals.filter((v) => v !== '' && !v.startsWith(STANDARD_UID_ROOT)).length;
      continue;
    }
    if (el.vr === 'DA' || el.vr === 'DT') {
      const vals = (el.Value ?? []).map((v) => String(v ?? ''));
      el.Value = vals.map((v) => (v === '' ? v : el.vr === 'DA' ? shiftDa(v, days) : shiftDt(v, days)));
      report.datesShifted += vals.filter((v) => v !== '').length;
      continue;
    }
    if (el.vr === 'SQ') {
      for (const item of (el.Value ?? []) as RawDict[]) if (item && typeof item === 'object') deidDict(item, key, days, report, patientId);
    }
  }
}

export interface DeidResult {
  bytes: Buffer;
  report: DeidReport;
}

/**
 * De-identifies one Part 10 file. The pixel data are kept as they are (our data have no
 * burned-in text; a file that says BurnedInAnnotation YES is refused rather than passed on).
 */
export function deidentifyPart10(input: Uint8Array, key: DeidKey): DeidResult {
  let msg: ReturnType<DcmjsData['DicomMessage']['readFile']>;
  try {
    const ab = input.buffer.slice(input.byteOffset, input.byteOffset + input.byteLength) as ArrayBuffer;
    msg = dcmjs.data.DicomMessage.readFile(ab, { ignoreErrors: true });
  } catch (err) {
    throw new WorkstationError('INVALID_INPUT', 'The file could not be read as DICOM, so it was not de-identified or shown.', { cause: err });
  }
  const burned = msg.dict['00280301']?.Value?.[0];
  if (typeof burned === 'string' && burned.trim().toUpperCase() === 'YES') {
    throw new WorkstationError('INVALID_INPUT', 'This image has text burned into its pixels (BurnedInAnnotation YES); it cannot be de-identified safely and was withheld.');
  }
  const days = dateShiftDays(key);
  const report: DeidReport = { removed: [], emptied: [], replaced: [], uidsReplaced: 0, datesShifted: 0, privateRemoved: 0 };
  const pidValue = msg.dict['00100020']?.Value?.[0];
  const nameValue = msg.dict['00100010']?.Value?.[0];
  // The pseudonym is keyed on the patient ID (name as a fallback) so one patient stays one pseudonym.
  const patientId = typeof pidValue === 'string' && pidValue.trim() ? pidValue : patientNameText(nameValue) || 'unknown';
  deidDict(msg.dict, key, days, report, patientId);
  // The meta header carries the instance UID again; keep it in step with (0008,0018).
  const meta = msg.meta;
  const sop = meta['00020003'];
  if (sop?.Value?.[0]) sop.Value = [replaceUid(key, String(sop.Value[0]))];
  delete meta['00020016']; // SourceApplicationEntityTitle names the sending station
  // Make sure the mandatory markers of a de-identified object are present.
  if (!msg.dict['00100010']) msg.dict['00100010'] = { vr: 'PN', Value: [{ Alphabetic: pseudonym(key, 'name', patientId) }] };
  if (!msg.dict['00100020']) msg.dict['00100020'] = { vr: 'LO', Value: [pseudonym(key, 'id', patientId)] };
  msg.dict['00120062'] = { vr: 'CS', Value: ['YES'] };
  msg.dict['00120063'] = { vr: 'LO', Value: [DEID_METHOD.slice(0, 64)] };
  msg.dict['00120064'] = {
    vr: 'SQ',
    Value: [
      { '00080100': { vr: 'SH', Value: ['113100'] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: ['Basic Application Confidentiality Profile'] } },
      { '00080100': { vr: 'SH', Value: ['113107'] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: ['Retain Longitudinal Temporal Information Modified Dates Option'] } },
    ],
  };
  msg.dict['00280303'] = { vr: 'CS', Value: ['MODIFIED'] }; // LongitudinalTemporalInformationModified
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
