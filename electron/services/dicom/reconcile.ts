// Files a patient (or the care team for them) uploads for review: DICOM is relabelled to the
// patient record it is filed under (name, Patient ID, birth date, sex) with new UIDs of its own,
// and PNG/JPEG images are wrapped as derived Secondary Capture objects. Both then go through the
// same validation, limits and storage as any import (process.ts); this only prepares the bytes.
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { dicomDateTime, uidFor, writePart10, type Dataset } from '../dicom-objects';
import { DicomRefusal, refuse } from './refusal';
import type { DicomLimits } from './limits';

interface DcmjsElement {
  vr: string;
  Value?: unknown[];
}
type RawDict = Record<string, DcmjsElement>;
interface DcmjsData {
  DicomMessage: { readFile(buffer: ArrayBuffer, options?: unknown): { dict: RawDict; meta: RawDict } };
  DicomDict: new (meta: RawDict) => { dict: RawDict; meta: RawDict; write(options?: unknown): ArrayBuffer };
}
const dcmjs = createRequire(import.meta.url)('dcmjs') as { data: DcmjsData; log?: { setLevel?: (l: string) => void } };
try {
  dcmjs.log?.setLevel?.('error');
} catch {
  /* older dcmjs without loglevel */
}

/** Who the upload is filed under, and the seed that makes its UIDs (one per upload). */
export interface UploadTarget {
  /** The record's name as a DICOM PN (Family^Given), or '' when unknown. */
  patientName: string;
  /** The hospital Patient ID of the record, or '' when it has none. */
  patientId: string;
  /** YYYYMMDD or ''. */
  birthDate: string;
  /** M, F, O or ''. */
  sex: string;
  /** The upload's id: every UID of the upload is derived from it and the original UID. */
  uploadId: string;
  /** When the upload was received (ISO); the date of wrapped images. */
  receivedAt: string;
}

/** What the file itself said about whom it belongs to, for the radiologist (never used to file it). */
export interface UploadOrigin {
  kind: 'dicom' | 'image';
  /** PatientID as written in a DICOM file; null for images and files without one. */
  filePatientId: string | null;
}

const SC_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
/** The study description of every upload (DICOM files keep theirs after it). */
export const UPLOAD_DESCRIPTION = 'Uploaded for review';
/** Patient-module attributes that identify the original person or order; removed on relabelling. */
const IDENTITY_TAGS = [
  '00080051', // IssuerOfAccessionNumberSequence
  '00100021', // IssuerOfPatientID
  '00100024', // IssuerOfPatientIDQualifiersSequence
  '00100032', // PatientBirthTime
  '00101000', // OtherPatientIDs
  '00101001', // OtherPatientNames
  '00101002', // OtherPatientIDsSequence
  '00101005', // PatientBirthName
  '00101040', // PatientAddress
  '00101060', // PatientMotherBirthName
  '00102154', // PatientTelephoneNumbers
  '00104000', // PatientComments
  '00380010', // AdmissionID
  '00401001', // RequestedProcedureID
];
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
/** Transfer syntaxes dcmjs rewrites as they are; a deflated file is written back inflated (explicit LE). */
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';

/** "Family, Given Middle" (how the index shows names) back to the PN form Family^Given Middle. */
export function pnFromDisplayName(displayName: string): string {
  if (!displayName || displayName === '(no name)') return '';
  const [family, ...rest] = displayName.split(',');
  const given = rest.join(',').trim();
  return given ? `${family!.trim()}^${given}` : family!.trim();
}

/** The upload's UID for an original UID (or a fixed role such as "study"): stable within one upload. */
export function uploadUid(uploadId: string, original: string): string {
  return uidFor(`patient-upload:${uploadId}:${original.trim()}`);
}

export function isImageFile(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Relabels an already validated DICOM file: the patient module becomes the record's, the study,
 * series, instance and frame-of-reference UIDs become the upload's own (every original study of
 * the upload maps to one study), and the instance is marked as received from outside.
 */
export function relabelDicom(bytes: Uint8Array, target: UploadTarget): { bytes: Buffer; origin: UploadOrigin } {
  let msg: { dict: RawDict; meta: RawDict };
  try {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    msg = dcmjs.data.DicomMessage.readFile(ab, { ignoreErrors: true });
  } catch (err) {
    refuse('it could not be filed under your record (the file has no DICOM header this workstation can rewrite)', err);
  }
  const { dict, meta } = msg;
  const text = (tag: string): string => {
    const v = dict[tag]?.Value?.[0];
    if (typeof v === 'string') return v.trim();
    if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '').trim();
    return '';
  };
  const filePatientId = text('00100020') || null;
  const uid = (tag: string, role: string): void => {
    const original = text(tag);
    if (original || role === 'study') dict[tag] = { vr: 'UI', Value: [uploadUid(target.uploadId, role === 'study' ? 'study' : original)] };
  };
  uid('0020000D', 'study');
  uid('0020000E', 'series');
  uid('00080018', 'instance');
  uid('00200052', 'frame-of-reference');
  const sop = dict['00080018']?.Value?.[0];
  if (meta['00020003'] && typeof sop === 'string') meta['00020003'] = { vr: 'UI', Value: [sop] };
  if (meta['00020010']?.Value?.[0] === DEFLATED_LE) meta['00020010'] = { vr: 'UI', Value: [EXPLICIT_LE] };
  // Whatever else the file says about who it belongs to, or which order it was made for, is the
  // original's (possibly another person's): it does not go into this record.
  for (const tag of IDENTITY_TAGS) delete dict[tag];
  dict['00080050'] = { vr: 'SH', Value: [] }; // AccessionNumber: the other hospital's order, not ours
  dict['00100010'] = { vr: 'PN', Value: target.patientName ? [{ Alphabetic: target.patientName }] : [] };
  dict['00100020'] = { vr: 'LO', Value: target.patientId ? [target.patientId] : [] };
  dict['00100030'] = { vr: 'DA', Value: target.birthDate ? [target.birthDate] : [] };
  dict['00100040'] = { vr: 'CS', Value: target.sex ? [target.sex] : [] };
  // The worklist tells the upload from the hospital's own studies at a glance.
  const description = text('00081030');
  dict['00081030'] = { vr: 'LO', Value: [(description ? `${UPLOAD_DESCRIPTION}: ${description}` : UPLOAD_DESCRIPTION).slice(0, 64).trim()] };
  // Names are written as UTF-8 from here on, whatever the file declared.
  dict['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
  const out = new dcmjs.data.DicomDict(meta);
  out.dict = dict;
  let written: ArrayBuffer;
  try {
    written = out.write({ allowInvalidVRLength: true });
  } catch (err) {
    refuse('it could not be filed under your record (the file could not be rewritten)', err);
  }
  return { bytes: Buffer.from(written), origin: { kind: 'dicom', filePatientId } };
}

interface Pixels {
  width: number;
  height: number;
  channels: 1 | 3;
  bits: 8 | 16;
  data: Uint8Array | Uint16Array;
}

function decodePixels(bytes: Uint8Array, format: 'png' | 'jpeg', limits: DicomLimits): Pixels {
  const maxPixels = Math.min(limits.maxDimension * limits.maxDimension, 100_000_000);
  if (format === 'png') {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Width and height sit in the IHDR chunk: refuse absurd sizes before pngjs allocates them.
    const w = buf.length >= 24 ? buf.readUInt32BE(16) : 0;
    const h = buf.length >= 24 ? buf.readUInt32BE(20) : 0;
    if (w < 1 || h < 1 || w * h > maxPixels) refuse(`the PNG image has an unusable size (${w}x${h})`);
    const depth = buf[24] === 16 ? 16 : 8;
    let png: { width: number; height: number; colorType: number; data: Buffer | Uint16Array };
    try {
      png = PNG.sync.read(buf, depth === 16 ? { skipRescale: true } : {}) as unknown as typeof png;
    } catch (err) {
      refuse('the PNG image is damaged or truncated', err);
    }
    const n = png.width * png.height;
    const grey = png.colorType === 0 || png.colorType === 4;
    const out = depth === 16 ? new Uint16Array(grey ? n : n * 3) : new Uint8Array(grey ? n : n * 3);
    for (let i = 0; i < n; i++) {
      if (grey) out[i] = png.data[i * 4]!;
      else {
        out[i * 3] = png.data[i * 4]!;
        out[i * 3 + 1] = png.data[i * 4 + 1]!;
        out[i * 3 + 2] = png.data[i * 4 + 2]!;
      }
    }
    return { width: png.width, height: png.height, channels: grey ? 1 : 3, bits: depth, data: out };
  }
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.max(64, Math.floor(limits.maxDecodedBytes / 2 ** 20)) });
  } catch (err) {
    refuse('the JPEG image is damaged, truncated or too large', err);
  }
  const n = img.width * img.height;
  if (n < 1) refuse('the JPEG image is empty');
  // jpeg-js expands grey JPEGs to RGB; fold those back to one channel.
  let grey = true;
  for (let i = 0; i < n && grey; i++) if (img.data[i * 3] !== img.data[i * 3 + 1] || img.data[i * 3] !== img.data[i * 3 + 2]) grey = false;
  if (!grey) return { width: img.width, height: img.height, channels: 3, bits: 8, data: img.data };
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = img.data[i * 3]!;
  return { width: img.width, height: img.height, channels: 1, bits: 8, data: out };
}

/**
 * A PNG or JPEG image as a derived Secondary Capture image (PS3.3 A.8.1) filed under the
 * record: one series per upload for its images, numbered in upload order.
 */
export function wrapImage(bytes: Uint8Array, format: 'png' | 'jpeg', target: UploadTarget, index: number, limits: DicomLimits): { bytes: Buffer; origin: UploadOrigin } {
  const px = decodePixels(bytes, format, limits);
  if (px.width > limits.maxDimension || px.height > limits.maxDimension) refuse(`the image is larger than ${limits.maxDimension} pixels on a side`);
  if (px.width * px.height * px.channels * (px.bits / 8) > limits.maxDecodedBytes) refuse('the image is larger than the decoded-size limit');
  const received = dicomDateTime(target.receivedAt);
  const sopInstanceUid = uploadUid(target.uploadId, `image-${index}-${received.dateTime}`);
  const pixelBytes = Buffer.from(px.data.buffer, px.data.byteOffset, px.data.byteLength);
  // Pixel data of odd length is padded to even, as DICOM requires.
  const padded = pixelBytes.length % 2 ? Buffer.concat([pixelBytes, Buffer.alloc(1)]) : pixelBytes;
  const ds: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SC_IMAGE_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    ImageType: ['DERIVED', 'SECONDARY'],
    StudyDate: received.date,
    StudyTime: received.time,
    ContentDate: received.date,
    ContentTime: received.time,
    AccessionNumber: '',
    Modality: 'OT',
    ConversionType: 'WSD',
    ReferringPhysicianName: '',
    StudyDescription: UPLOAD_DESCRIPTION,
    SeriesDescription: `${format.toUpperCase()} images uploaded for review`,
    DerivationDescription: `Converted from a ${format.toUpperCase()} file uploaded for review; not acquired by this hospital`,
    PatientName: target.patientName,
    PatientID: target.patientId,
    PatientBirthDate: target.birthDate,
    PatientSex: target.sex,
    StudyInstanceUID: uploadUid(target.uploadId, 'study'),
    SeriesInstanceUID: uploadUid(target.uploadId, 'images'),
    StudyID: '',
    SeriesNumber: 900,
    // Type 2C in the General Series module; unknown for a picture of a scan.
    Laterality: '',
    InstanceNumber: index + 1,
    PatientOrientation: '',
    SamplesPerPixel: px.channels,
    PhotometricInterpretation: px.channels === 1 ? 'MONOCHROME2' : 'RGB',
    ...(px.channels === 3 ? { PlanarConfiguration: 0 } : {}),
    Rows: px.height,
    Columns: px.width,
    BitsAllocated: px.bits,
    BitsStored: px.bits,
    HighBit: px.bits - 1,
    PixelRepresentation: 0,
    // A JPEG was lossy-compressed before it reached us; say so, as PS3.3 C.7.6.1.1.5 asks.
    LossyImageCompression: format === 'jpeg' ? '01' : '00',
    ...(format === 'jpeg' ? { LossyImageCompressionMethod: 'ISO_10918_1' } : {}),
    PixelData: [padded.buffer.slice(padded.byteOffset, padded.byteOffset + padded.byteLength)],
    _vrMap: { PixelData: px.bits === 16 ? 'OW' : 'OB' },
  };
  try {
    return { bytes: writePart10(ds), origin: { kind: 'image', filePatientId: null } };
  } catch (err) {
    if (err instanceof DicomRefusal) throw err;
    refuse('the image could not be converted to DICOM', err);
  }
}
