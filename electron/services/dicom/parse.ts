// Parsing one DICOM file with dicom-parser behind guards (size, preamble sniffing, deflate cap,
// sequence depth) and reading the attributes the index and the decoder need.
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import type * as DicomParserModule from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import type { DicomLimits } from './limits';
import type { MrAcquisition } from './mr-sequence';
import { DicomRefusal, refuse } from './refusal';

const require = createRequire(import.meta.url);
const dicomParser = require('dicom-parser') as typeof DicomParserModule;

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  rle: '1.2.840.10008.1.2.5',
} as const;

export const SUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, string>> = {
  [TS.implicitLE]: 'Implicit VR Little Endian',
  [TS.explicitLE]: 'Explicit VR Little Endian',
  [TS.deflatedLE]: 'Deflated Explicit VR Little Endian',
  [TS.explicitBE]: 'Explicit VR Big Endian',
  [TS.jpegBaseline]: 'JPEG Baseline (Process 1)',
  [TS.jpegExtended]: 'JPEG Extended (Process 2 & 4)',
  [TS.jpegLossless]: 'JPEG Lossless (Process 14)',
  [TS.jpegLosslessSV1]: 'JPEG Lossless SV1',
  [TS.jpegLsLossless]: 'JPEG-LS Lossless',
  [TS.jpegLsNearLossless]: 'JPEG-LS Near-Lossless',
  [TS.j2kLossless]: 'JPEG 2000 Lossless',
  [TS.j2k]: 'JPEG 2000',
  [TS.rle]: 'RLE Lossless',
};

export const NATIVE_TS = new Set<string>([TS.implicitLE, TS.explicitLE, TS.deflatedLE, TS.explicitBE]);

/** What the pixel decoder needs, read once from the header. */
export interface ImageInfo {
  transferSyntax: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometric: string;
}

export interface DicomMeta {
  patient: { name: string; id: string; issuer: string; birthDate: string; sex: string };
  study: { uid: string; date: string; time: string; accession: string; description: string; referringPhysician: string };
  series: { uid: string; modality: string; number: number | null; description: string; bodyPart: string; frameOfReferenceUid: string | null; acquisition: MrAcquisition };
  instance: {
    sopInstanceUid: string;
    sopClassUid: string;
    number: number | null;
    imageType: string[];
    derived: boolean;
    pixelSpacing: [number, number] | null;
    sliceThickness: number | null;
    imagePosition: [number, number, number] | null;
    imageOrientation: number[] | null;
    sliceLocation: number | null;
    windowCenter: number | null;
    windowWidth: number | null;
    rescaleSlope: number;
    rescaleIntercept: number;
  };
  image: ImageInfo;
}

export interface ParsedDicom {
  dataSet: DataSet;
  meta: DicomMeta;
  /** The byte array the data set indexes into (inflated for deflated files). */
  bytes: Uint8Array;
}

/** Does a file without the "DICM" preamble start like a raw data set? Returns the transfer syntax to assume. */
function sniffRawDataSet(bytes: Uint8Array): string | null {
  if (bytes.length < 12) return null;
  const group = bytes[0]! | (bytes[1]! << 8);
  const groupBE = (bytes[0]! << 8) | bytes[1]!;
  const isVr = (a: number, b: number): boolean => a >= 0x41 && a <= 0x5a && b >= 0x41 && b <= 0x5a;
  // Raw data sets start with group 0008 (or 0002 / 0000 command groups in old files).
  if (group === 0x0008 || group === 0x0002) return isVr(bytes[4]!, bytes[5]!) ? TS.explicitLE : TS.implicitLE;
  if (groupBE === 0x0008 && isVr(bytes[4]!, bytes[5]!)) return TS.explicitBE;
  return null;
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && 'exception' in err) return describe((err as { exception: unknown }).exception);
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Depth of nested sequences, walked without recursion so a deep file cannot overflow our stack. */
export function sequenceDepth(ds: DataSet, limit: number): number {
  let max = 0;
  const stack: { ds: DataSet; depth: number }[] = [{ ds, depth: 0 }];
  while (stack.length) {
    const { ds: cur, depth } = stack.pop()!;
    if (depth > max) max = depth;
    if (max > limit) return max;
    for (const key in cur.elements) {
      const items = cur.elements[key]?.items;
      if (!items) continue;
      for (const item of items) if (item.dataSet) stack.push({ ds: item.dataSet, depth: depth + 1 });
    }
  }
  return max;
}

/** Latin-1 text of bytes, read in place (Buffer.from(bytes) would copy them first). */
const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

/** Text of an element in the file's character set (UTF-8 when declared, Latin-1 otherwise). */
function textOf(ds: DataSet, tag: string, utf8: boolean): string {
  const el = ds.elements[tag];
  if (!el || el.length <= 0) return '';
  const end = Math.min(el.dataOffset + el.length, ds.byteArray.length);
  const raw = ds.byteArray.subarray(el.dataOffset, end);
  const s = utf8 ? new TextDecoder('utf-8').decode(raw) : latin1(raw);
  return s.replace(/\0/g, '').trim();
}

function numberList(ds: DataSet, tag: string): number[] | null {
  const el = ds.elements[tag];
  if (!el || el.length <= 0 || el.length > 1024) return null;
  const raw = latin1(ds.byteArray.subarray(el.dataOffset, Math.min(el.dataOffset + el.length, ds.byteArray.length)));
  const vals = raw.split('\\').map((v) => Number.parseFloat(v.trim()));
  return vals.every((v) => Number.isFinite(v)) ? vals : null;
}

function firstNumber(ds: DataSet, tag: string): number | null {
  const v = numberList(ds, tag);
  return v && v.length ? v[0]! : null;
}

function us(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length < 2) return undefined;
  // A value written 4 bytes wide (VR UL where the standard says US, as only a broken or hostile
  // writer does) is read whole: reading its low 16 bits would turn 100000 rows into 34464.
  if (el.length >= 4 && (el.vr === 'UL' || el.vr === 'SL' || el.vr === undefined)) return ds.uint32(tag);
  // Implicit VR files carry US values without a VR; dicom-parser reads them by the data set's byte order.
  return ds.uint16(tag);
}

/**
 * Parses `bytes` (a whole file). Throws DicomRefusal, with a reason for the import report, for
 * anything that is not a DICOM image this workstation can store and show.
 */
/**
 * The structure of a DICOM file checked with dicom-parser behind the guards (size, DICM marker or a
 * raw data set, deflate output cap, element lengths within the file, sequence depth), without
 * reading any attribute: what every reader of untrusted files runs first (import, de-identification).
 */
export function checkDicomStructure(input: Uint8Array, limits: DicomLimits): { dataSet: DataSet; assumedTs: string | null; bytes: Uint8Array } {
  if (input.length > limits.maxFileBytes) refuse(`the file is larger than the import limit (${Math.round(limits.maxFileBytes / 2 ** 20)} MiB)`);
  if (input.length < 12) refuse('the file is too short to be DICOM');
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
  const hasPreamble = bytes.length >= 132 && bytes.toString('latin1', 128, 132) === 'DICM';
  const assumed = hasPreamble ? null : sniffRawDataSet(bytes);
  if (!hasPreamble && !assumed) refuse('this is not a DICOM file (no "DICM" marker and no DICOM data set at its start)');

  let inflated: Uint8Array | null = null;
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes, {
      ...(assumed ? { TransferSyntaxUID: assumed } : {}),
      // Deflated data sets: inflate with a hard output cap, so a zip bomb stops at the cap.
      inflater: ((arr: Uint8Array, position: number) => {
        let out: Buffer;
        try {
          out = zlib.inflateRawSync(arr.subarray(position), { maxOutputLength: limits.maxInflatedBytes });
        } catch (err) {
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
            throw new DicomRefusal(`the deflated data set inflates past the limit (${Math.round(limits.maxInflatedBytes / 2 ** 20)} MiB): possibly a zip bomb`, { cause: err });
          }
          throw new DicomRefusal('the deflated data set is damaged and cannot be inflated', { cause: err });
        }
        const full = Buffer.allocUnsafe(position + out.length);
        full.set(arr.subarray(0, position), 0);
        full.set(out, position);
        inflated = full;
        return full;
      }) as unknown as (arr: Uint8Array, position: number) => void,
    });
  } catch (err) {
    const inner = err && typeof err === 'object' && 'exception' in err ? (err as { exception: unknown }).exception : err;
    if (inner instanceof DicomRefusal) throw inner;
    if (inner instanceof RangeError && /call stack/i.test(inner.message)) refuse('its sequences are nested too deeply to be a real image', inner);
    refuse(`the DICOM structure is broken (${describe(inner).replace(/^dicomParser\.\w+: /, '').slice(0, 160)})`, inner);
  }

  const depth = sequenceDepth(ds, limits.maxSequenceDepth);
  if (depth > limits.maxSequenceDepth) refuse(`its sequences are nested more than ${limits.maxSequenceDepth} deep`);

  return { dataSet: ds, assumedTs: assumed, bytes: inflated ?? bytes };
}

export function parseDicomFile(input: Uint8Array, limits: DicomLimits): ParsedDicom {
  const { dataSet, assumedTs, bytes } = checkDicomStructure(input, limits);
  return { dataSet, meta: readMeta(dataSet, assumedTs, limits), bytes };
}

function readMeta(ds: DataSet, assumedTs: string | null, limits: DicomLimits): DicomMeta {
  const charset = (ds.string('x00080005') ?? '').toUpperCase();
  const utf8 = charset.includes('ISO_IR 192');
  const t = (tag: string): string => textOf(ds, tag, utf8);
  const ts = (ds.string('x00020010') ?? assumedTs ?? '').replace(/\0/g, '').trim();
  if (!ts) refuse('the file does not say how its pixel data is encoded (no transfer syntax)');
  if (!SUPPORTED_TRANSFER_SYNTAXES[ts]) refuse(`its transfer syntax ${ts} is not supported`);

  const sopInstanceUid = t('x00080018') || t('x00020003');
  if (!sopInstanceUid) refuse('it has no SOP Instance UID');
  const studyUid = t('x0020000d');
  const seriesUid = t('x0020000e');
  if (!studyUid || !seriesUid) refuse('it has no Study or Series Instance UID');

  const pixel = ds.elements.x7fe00010;
  if (!pixel) refuse('it holds no image (no pixel data): reports and other non-image objects are not imported here');

  const rows = us(ds, 'x00280010') ?? 0;
  const columns = us(ds, 'x00280011') ?? 0;
  if (rows === 0 || columns === 0) refuse(`its image is ${columns}x${rows} pixels: there is nothing to show`);
  if (rows > limits.maxDimension || columns > limits.maxDimension) refuse(`its image is ${columns}x${rows} pixels, larger than the workstation shows`);
  const framesRaw = ds.intString('x00280008');
  const frames = framesRaw === undefined || Number.isNaN(framesRaw) ? 1 : framesRaw;
  if (!Number.isInteger(frames) || frames < 1 || frames > limits.maxFrames) refuse(`its number of frames (${String(framesRaw)}) is not valid`);
  const samplesPerPixel = us(ds, 'x00280002') ?? 1;
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) refuse(`it has ${samplesPerPixel} samples per pixel (1 or 3 are supported)`);
  const bitsAllocated = us(ds, 'x00280100') ?? 0;
  if (![8, 16, 32].includes(bitsAllocated)) refuse(`it has ${bitsAllocated} bits allocated per sample (8, 16 or 32 are supported)`);
  const bitsStored = us(ds, 'x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) refuse(`its bits stored (${bitsStored}) do not fit its bits allocated (${bitsAllocated})`);
  const highBit = us(ds, 'x00280102') ?? bitsStored - 1;
  const pixelRepresentation = us(ds, 'x00280103') ?? 0;
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) refuse(`its pixel representation (${pixelRepresentation}) is not valid`);
  const planarConfiguration = us(ds, 'x00280006') ?? 0;
  const photometric = (ds.string('x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).toUpperCase();
  const decoded = rows * columns * frames * samplesPerPixel * (bitsAllocated / 8);
  if (decoded > limits.maxDecodedBytes) {
    refuse(`its image would take ${Math.round(decoded / 2 ** 20)} MiB decoded (${columns}x${rows}, ${frames} frame(s)), above the limit of ${Math.round(limits.maxDecodedBytes / 2 ** 20)} MiB`);
  }

  const imageType = t('x00080008').split('\\').map((s) => s.trim()).filter(Boolean);
  const spacing = numberList(ds, 'x00280030') ?? numberList(ds, 'x00181164');
  const pos = numberList(ds, 'x00200032');
  const orient = numberList(ds, 'x00200037');
  const slope = firstNumber(ds, 'x00281053');
  const intercept = firstNumber(ds, 'x00281052');
  const seriesNumber = firstNumber(ds, 'x00200011');
  const instanceNumber = firstNumber(ds, 'x00200013');
  return {
    patient: { name: t('x00100010'), id: t('x00100020'), issuer: t('x00100021'), birthDate: t('x00100030'), sex: t('x00100040') },
    study: { uid: studyUid, date: t('x00080020'), time: t('x00080030'), accession: t('x00080050'), description: t('x00081030'), referringPhysician: t('x00080090') },
    series: {
      uid: seriesUid,
      modality: t('x00080060'),
      number: seriesNumber !== null && Number.isInteger(seriesNumber) ? seriesNumber : null,
      description: t('x0008103e'),
      bodyPart: t('x00180015'),
      frameOfReferenceUid: t('x00200052') || null,
      // What tells the MR sequence apart (the AI panel says when it is outside the model's validation).
      acquisition: {
        protocolName: t('x00181030') || null,
        scanningSequence: t('x00180020') || null,
        sequenceVariant: t('x00180021') || null,
        sequenceName: t('x00180024') || null,
        repetitionTime: firstNumber(ds, 'x00180080'),
        echoTime: firstNumber(ds, 'x00180081'),
        inversionTime: firstNumber(ds, 'x00180082'),
        contrastAgent: t('x00180010') || null,
      },
    },
    instance: {
      sopInstanceUid,
      sopClassUid: t('x00080016') || t('x00020002'),
      number: instanceNumber !== null && Number.isInteger(instanceNumber) ? instanceNumber : null,
      imageType,
      derived: imageType[0]?.toUpperCase() === 'DERIVED',
      pixelSpacing: spacing && spacing.length >= 2 && spacing[0]! > 0 && spacing[1]! > 0 ? [spacing[0]!, spacing[1]!] : null,
      sliceThickness: firstNumber(ds, 'x00180050'),
      imagePosition: pos && pos.length === 3 ? [pos[0]!, pos[1]!, pos[2]!] : null,
      imageOrientation: orient && orient.length === 6 ? orient : null,
      sliceLocation: firstNumber(ds, 'x00201041'),
      windowCenter: firstNumber(ds, 'x00281050'),
      windowWidth: firstNumber(ds, 'x00281051'),
      rescaleSlope: slope !== null && slope !== 0 ? slope : 1,
      rescaleIntercept: intercept ?? 0,
    },
    image: { transferSyntax: ts, rows, columns, frames, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation, planarConfiguration, photometric },
  };
}

export type { DataSet, Element };
export { dicomParser };
