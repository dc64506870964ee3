// Decodes image files (PNG 8/16-bit grey or colour, JPEG) into RawImage pixels for preprocessing.
// Each failure is a WorkstationError that says what is wrong with the file, never a crash.
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { WorkstationError } from '../../contract/errors';
import type { RawImage } from './preprocess';
import { readPngHeader } from '../images';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Refuse absurd sizes before allocating (a 100 MP image is far beyond any MRI slice). */
const MAX_PIXELS = 100_000_000;

export type ImageFormat = 'png' | 'jpeg';

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && Buffer.from(bytes.buffer, bytes.byteOffset, 8).equals(PNG_MAGIC)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function decodePng(bytes: Uint8Array): RawImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // 16-bit images must keep their full range (skipRescale), others are 8-bit.
  const depth = readPngHeader(buf)?.bitDepth ?? 8;
  const png = PNG.sync.read(buf, depth === 16 ? { skipRescale: true } : {}) as unknown as {
    width: number;
    height: number;
    depth: number;
    colorType: number;
    data: Buffer | Uint16Array;
  };
  const { width, height } = png;
  const n = width * height;
  // pngjs always hands back RGBA; keep one channel for grey images (colour types 0 and 4) so the
  // values are the stored ones, exactly as the training pipeline reads them.
  const grey = png.colorType === 0 || png.colorType === 4;
  const src = png.data;
  const bits = png.depth === 16 ? 16 : 8;
  if (grey) {
    const out = bits === 16 ? new Uint16Array(n) : new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = src[i * 4]!;
    return { width, height, channels: 1, bitsPerSample: bits, data: out };
  }
  const out = bits === 16 ? new Uint16Array(n * 3) : new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = src[i * 4]!;
    out[i * 3 + 1] = src[i * 4 + 1]!;
    out[i * 3 + 2] = src[i * 4 + 2]!;
  }
  return { width, height, channels: 3, bitsPerSample: bits, data: out };
}

function decodeJpeg(bytes: Uint8Array): RawImage {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
  const n = img.width * img.height;
  const d = img.data;
  // jpeg-js expands one-component (grey) JPEGs to RGB; fold those back to one channel.
  let isGrey = true;
  for (let i = 0; i < n; i++) {
    const r = d[i * 3]!;
    if (r !== d[i * 3 + 1] || r !== d[i * 3 + 2]) {
      isGrey = false;
      break;
    }
  }
  if (isGrey) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = d[i * 3]!;
    return { width: img.width, height: img.height, channels: 1, bitsPerSample: 8, data: out };
  }
  return { width: img.width, height: img.height, channels: 3, bitsPerSample: 8, data: d };
}

/** Decodes PNG or JPEG bytes. `label` names the file in error messages. */
export function decodeImage(bytes: Uint8Array, label = 'The image'): RawImage {
  const format = sniffFormat(bytes);
  if (!format) {
    throw new WorkstationError('INVALID_INPUT', `${label} is not a PNG or JPEG image.`, { details: { reason: 'unsupported-format' } });
  }
  // A PNG's declared size before any decoding: pngjs allocates and inflates what the header claims.
  const declared = format === 'png' ? readPngHeader(bytes) : null;
  if (declared && declared.width * declared.height > MAX_PIXELS) {
    throw new WorkstationError('INVALID_INPUT', `${label} has an unusable size (${declared.width}x${declared.height}).`, { details: { reason: 'size' } });
  }
  let img: RawImage;
  try {
    img = format === 'png' ? decodePng(bytes) : decodeJpeg(bytes);
  } catch (err) {
    throw new WorkstationError('INVALID_INPUT', `${label} could not be decoded as ${format.toUpperCase()}: the file is damaged or truncated.`, {
      cause: err,
      details: { reason: 'corrupt', format },
    });
  }
  if (img.width < 1 || img.height < 1 || img.width * img.height > MAX_PIXELS) {
    throw new WorkstationError('INVALID_INPUT', `${label} has an unusable size (${img.width}x${img.height}).`, { details: { reason: 'size' } });
  }
  return img;
}

/** Encodes a 0/255 one-channel mask as an 8-bit greyscale PNG. */
export function encodeMaskPng(mask: Uint8Array, width: number, height: number): Buffer {
  return PNG.sync.write({ width, height, data: Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength) } as unknown as PNG, {
    colorType: 0,
    inputColorType: 0,
    bitDepth: 8,
    inputHasAlpha: false,
  });
}
