// Decoding one frame of a parsed file to its stored values, exactly: byte order, bits stored,
// signedness, planar configuration and colour model, for every supported transfer syntax.
import type { DataSet, Element } from 'dicom-parser';
import { decodeJ2k, decodeJpegDcmjs, decodeJpeg8, decodeJpegLossless, decodeJpegLs, jpegPrecision, type CodecOutput } from './codecs';
import { dicomParser, NATIVE_TS, TS, type ImageInfo, type ParsedDicom } from './parse';
import { refuse } from './refusal';

export type StoredArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface DecodedFrame {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsStored: number;
  signed: boolean;
  /** MONOCHROME1, MONOCHROME2, RGB or PALETTE COLOR (YBR is converted to RGB). */
  photometric: string;
  /** Stored values, one per sample, colour interleaved (RGBRGB...). */
  pixels: StoredArray;
}

function bytesPerSample(info: ImageInfo): number {
  return info.bitsAllocated / 8;
}

function frameBytes(info: ImageInfo): number {
  return info.rows * info.columns * info.samplesPerPixel * bytesPerSample(info);
}

/** The encoded bytes of one frame of encapsulated pixel data. */
export function encapsulatedFrame(ds: DataSet, el: Element, frame: number, frames: number): Uint8Array {
  const fragments = el.fragments ?? [];
  if (fragments.length === 0) refuse('its compressed pixel data has no fragments');
  if (el.basicOffsetTable && el.basicOffsetTable.length > 0) {
    if (el.basicOffsetTable.length !== frames) refuse('its offset table does not match its number of frames');
    return dicomParser.readEncapsulatedImageFrame(ds, el, frame);
  }
  if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
  if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, frame, 1);
  const bot = dicomParser.createJPEGBasicOffsetTable(ds, el);
  if (bot.length !== frames) refuse('its frames cannot be told apart in the compressed pixel data');
  return dicomParser.readEncapsulatedImageFrame(ds, el, frame, bot);
}

/** PackBits-style RLE segment (DICOM PS3.5 G.3.1) into exactly `out.length` bytes at a stride. */
function unpackRleSegment(src: Uint8Array, start: number, end: number, out: Uint8Array, outOffset: number, stride: number, count: number): void {
  let i = start;
  let n = 0;
  while (i < end && n < count) {
    const h = src[i++]!;
    if (h < 128) {
      const len = h + 1;
      for (let k = 0; k < len && n < count && i < end; k++, n++) out[outOffset + n * stride] = src[i++]!;
    } else if (h > 128) {
      const len = 257 - h;
      const v = src[i++] ?? 0;
      for (let k = 0; k < len && n < count; k++, n++) out[outOffset + n * stride] = v;
    }
  }
  if (n < count) refuse('its RLE-compressed pixel data ends early');
}

/** RLE frame to interleaved little-endian samples. */
function decodeRle(encoded: Uint8Array, info: ImageInfo): Uint8Array {
  const bps = bytesPerSample(info);
  const spp = info.samplesPerPixel;
  const pixels = info.rows * info.columns;
  if (encoded.length < 64) refuse('its RLE frame header is cut short');
  const dv = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = dv.getUint32(0, true);
  if (segments !== bps * spp) refuse(`its RLE frame has ${segments} segments where ${bps * spp} are needed`);
  const out = new Uint8Array(pixels * spp * bps);
  for (let s = 0; s < segments; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? dv.getUint32(4 + 4 * (s + 1), true) : encoded.length;
    if (start < 64 || start > encoded.length || end > encoded.length || end < start) refuse('its RLE segment offsets point outside the frame');
    const sample = Math.floor(s / bps);
    const byteInSample = bps - 1 - (s % bps); // segments run most significant byte first
    unpackRleSegment(encoded, start, end, out, sample * bps + byteInSample, spp * bps, pixels);
  }
  return out;
}

function checkCodecOutput(out: CodecOutput, info: ImageInfo, what: string): Uint8Array {
  if (out.width !== info.columns || out.height !== info.rows) {
    refuse(`its ${what} image is ${out.width}x${out.height} but the header says ${info.columns}x${info.rows}`);
  }
  if (out.components !== info.samplesPerPixel) refuse(`its ${what} image has ${out.components} components but the header says ${info.samplesPerPixel}`);
  const outBps = out.bitsPerSample <= 8 ? 1 : 2;
  const want = info.rows * info.columns * info.samplesPerPixel;
  if (out.data.length < want * outBps) refuse(`its ${what} image decoded to fewer bytes than the header needs`);
  if (outBps === bytesPerSample(info)) return out.data.subarray(0, want * outBps);
  // e.g. an 8-bit JPEG inside BitsAllocated 16: widen to the allocated size.
  const widened = new Uint8Array(want * bytesPerSample(info));
  const bpsOut = bytesPerSample(info);
  for (let i = 0; i < want; i++) {
    const v = outBps === 1 ? out.data[i]! : out.data[2 * i]! | (out.data[2 * i + 1]! << 8);
    widened[i * bpsOut] = v & 0xff;
    if (bpsOut > 1) widened[i * bpsOut + 1] = (v >> 8) & 0xff;
  }
  return widened;
}

/** Little-endian bytes to stored values: bits stored masked, sign extended, high bit honoured. */
export function toStoredValues(bytes: Uint8Array, info: ImageInfo, bigEndian: boolean): StoredArray {
  const bps = bytesPerSample(info);
  const n = bytes.length / bps;
  const signed = info.pixelRepresentation === 1;
  const aligned = new Uint8Array(bytes); // private, aligned copy
  if (bigEndian && bps > 1) {
    for (let i = 0; i < aligned.length; i += bps) aligned.subarray(i, i + bps).reverse();
  }
  let arr: StoredArray;
  if (bps === 1) arr = signed ? new Int8Array(aligned.buffer, 0, n) : aligned;
  else if (bps === 2) arr = signed ? new Int16Array(aligned.buffer, 0, n) : new Uint16Array(aligned.buffer, 0, n);
  else arr = signed ? new Int32Array(aligned.buffer, 0, n) : new Uint32Array(aligned.buffer, 0, n);
  const bits = info.bitsStored;
  const shift = Math.max(0, info.highBit + 1 - bits);
  if (bits < info.bitsAllocated || shift > 0) {
    const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
    const signBit = bits >= 32 ? 0 : 1 << (bits - 1);
    for (let i = 0; i < n; i++) {
      let v = ((arr[i]! >>> shift) & mask) >>> 0;
      if (signed && v & signBit) v -= mask + 1;
      arr[i] = v;
    }
  }
  return arr;
}

function planarToInterleaved(bytes: Uint8Array, info: ImageInfo): Uint8Array {
  const bps = bytesPerSample(info);
  const pixels = info.rows * info.columns;
  const out = new Uint8Array(bytes.length);
  for (let s = 0; s < 3; s++) {
    for (let p = 0; p < pixels; p++) {
      for (let b = 0; b < bps; b++) out[(p * 3 + s) * bps + b] = bytes[(s * pixels + p) * bps + b]!;
    }
  }
  return out;
}

/** YBR_FULL_422 as stored natively: Y1 Y2 Cb Cr per pixel pair, to full YBR (8-bit only). */
function expandYbr422(bytes: Uint8Array, info: ImageInfo): Uint8Array {
  const pixels = info.rows * info.columns;
  const out = new Uint8Array(pixels * 3);
  if (bytes.length < pixels * 2) refuse('its YBR_FULL_422 pixel data is cut short');
  for (let p = 0, i = 0; p + 1 < pixels + 1 && i + 3 < bytes.length; p += 2, i += 4) {
    const cb = bytes[i + 2]!;
    const cr = bytes[i + 3]!;
    out[p * 3] = bytes[i]!; out[p * 3 + 1] = cb; out[p * 3 + 2] = cr;
    if (p + 1 < pixels) { out[p * 3 + 3] = bytes[i + 1]!; out[p * 3 + 4] = cb; out[p * 3 + 5] = cr; }
  }
  return out;
}

/** YBR_FULL to RGB (PS3.3 C.7.6.3.1.2), 8-bit, rounded and clamped as the standard's equations. */
function ybrFullToRgb(px: Uint8Array): void {
  for (let i = 0; i + 2 < px.length; i += 3) {
    const y = px[i]!;
    const cb = px[i + 1]! - 128;
    const cr = px[i + 2]! - 128;
    const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
    px[i] = clamp(y + 1.402 * cr);
    px[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    px[i + 2] = clamp(y + 1.772 * cb);
  }
}

/** Bytes one stored native frame takes (YBR_FULL_422 keeps two samples per pixel). */
function nativeStoredFrameBytes(info: ImageInfo): number {
  const ybr422 = info.photometric === 'YBR_FULL_422' && info.bitsAllocated === 8 && info.samplesPerPixel === 3;
  return ybr422 ? info.rows * info.columns * 2 : frameBytes(info);
}

/**
 * What the import must know about the pixel data, with no more work than that: every refusal
 * that decodeFrame gives for a native (uncompressed) file comes from its lengths, so those are
 * checked for all frames at once and nothing is decoded or copied. Compressed pixel data is
 * decoded frame by frame, as before: only a full decode proves that the codec accepts each frame
 * and that its size matches the header, and a broken frame must be refused at import, not found
 * by the viewer or the model later.
 */
export async function checkPixelData(parsed: ParsedDicom): Promise<void> {
  const { dataSet: ds, meta } = parsed;
  const info = meta.image;
  const el = ds.elements.x7fe00010;
  if (!el) refuse('it holds no pixel data');
  if (NATIVE_TS.has(info.transferSyntax)) {
    if (el.encapsulatedPixelData) refuse('its pixel data is encapsulated but its transfer syntax is uncompressed');
    const stored = nativeStoredFrameBytes(info);
    const available = Math.min(el.length, ds.byteArray.length - el.dataOffset);
    if (el.dataOffset + el.length > ds.byteArray.length || info.frames * stored > available) {
      refuse(`its pixel data is cut short (the file ends ${Math.max(0, info.frames * stored - available)} bytes early)`);
    }
    return;
  }
  for (let f = 0; f < info.frames; f++) await decodeFrame(parsed, f);
}

/**
 * Decodes frame `frame` (0-based) of a parsed file. Throws DicomRefusal for pixel data that does not
 * match its header (truncated, wrong size, undecodable).
 */
export async function decodeFrame(parsed: ParsedDicom, frame: number): Promise<DecodedFrame> {
  const { dataSet: ds, meta } = parsed;
  const info = meta.image;
  if (!Number.isInteger(frame) || frame < 0 || frame >= info.frames) refuse(`it has no frame ${frame + 1} (it has ${info.frames})`);
  const el = ds.elements.x7fe00010;
  if (!el) refuse('it holds no pixel data');
  const ts = info.transferSyntax;
  let bytes: Uint8Array;
  let photometric = info.photometric;
  let bigEndian = false;

  if (NATIVE_TS.has(ts)) {
    if (el.encapsulatedPixelData) refuse('its pixel data is encapsulated but its transfer syntax is uncompressed');
    bigEndian = ts === TS.explicitBE;
    const ybr422 = photometric === 'YBR_FULL_422' && info.bitsAllocated === 8 && info.samplesPerPixel === 3;
    const stored = nativeStoredFrameBytes(info);
    const start = el.dataOffset + frame * stored;
    const available = Math.min(el.length, ds.byteArray.length - el.dataOffset);
    if (el.dataOffset + el.length > ds.byteArray.length || (frame + 1) * stored > available) {
      refuse(`its pixel data is cut short (the file ends ${Math.max(0, info.frames * stored - available)} bytes early)`);
    }
    bytes = ds.byteArray.subarray(start, start + stored);
    if (ybr422) {
      bytes = expandYbr422(bytes, info);
      photometric = 'YBR_FULL';
    } else if (info.samplesPerPixel === 3 && info.planarConfiguration === 1) {
      bytes = planarToInterleaved(bytes, info);
    }
  } else {
    if (!el.encapsulatedPixelData) refuse('its transfer syntax is compressed but its pixel data is not encapsulated');
    let encoded: Uint8Array;
    try {
      encoded = encapsulatedFrame(ds, el, frame, info.frames);
    } catch (err) {
      if (err instanceof Error && err.name === 'DicomRefusal') throw err;
      refuse('its compressed pixel data is broken (fragments run past the end of the file)', err);
    }
    const codecInfo = {
      width: info.columns, height: info.rows, bitsAllocated: info.bitsAllocated, bitsStored: info.bitsStored,
      samplesPerPixel: info.samplesPerPixel, pixelRepresentation: info.pixelRepresentation, photometric: info.photometric,
    };
    try {
      if (ts === TS.rle) {
        bytes = decodeRle(encoded, info);
      } else if (ts === TS.jpegBaseline || ts === TS.jpegExtended) {
        const precision = jpegPrecision(encoded);
        const useIjg = (precision !== null && precision > 8) || (info.samplesPerPixel === 3 && info.photometric === 'RGB');
        const out = useIjg ? await decodeJpegDcmjs(encoded, codecInfo) : await decodeJpeg8(encoded);
        bytes = checkCodecOutput(out, info, 'JPEG');
        if (info.samplesPerPixel === 3) photometric = 'RGB'; // the codec converts YCbCr
      } else if (ts === TS.jpegLossless || ts === TS.jpegLosslessSV1) {
        bytes = checkCodecOutput(decodeJpegLossless(encoded, info.bitsAllocated <= 8 ? 1 : 2), info, 'JPEG Lossless');
      } else if (ts === TS.jpegLsLossless || ts === TS.jpegLsNearLossless) {
        bytes = checkCodecOutput(await decodeJpegLs(encoded), info, 'JPEG-LS');
      } else if (ts === TS.j2kLossless || ts === TS.j2k) {
        bytes = checkCodecOutput(await decodeJ2k(encoded), info, 'JPEG 2000');
        if (info.samplesPerPixel === 3) photometric = 'RGB'; // OpenJPEG applies the inverse component transform
      } else {
        refuse(`its transfer syntax ${ts} is not supported`);
      }
    } catch (err) {
      if (err instanceof Error && err.name === 'DicomRefusal') throw err;
      refuse(`its compressed pixel data could not be decoded (${(err instanceof Error ? err.message : String(err)).slice(0, 120)})`, err);
    }
  }

  const pixels = toStoredValues(bytes, info, bigEndian);
  if (info.samplesPerPixel === 3 && (photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') && pixels instanceof Uint8Array) {
    ybrFullToRgb(pixels);
    photometric = 'RGB';
  }
  return {
    rows: info.rows,
    columns: info.columns,
    samplesPerPixel: info.samplesPerPixel,
    bitsStored: info.bitsStored,
    signed: info.pixelRepresentation === 1,
    photometric,
    pixels,
  };
}
