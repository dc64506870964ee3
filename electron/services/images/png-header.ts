// The PNG header (IHDR) read from the first 33 bytes without decoding anything, so every caller
// can refuse an image by its declared size before pngjs allocates width x height x 4 bytes and
// inflates that much: a few kilobytes of PNG can declare gigabytes of pixels.
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

/** The IHDR fields, or null when the bytes do not start like a PNG (signature, then a 13-byte IHDR). */
export function readPngHeader(bytes: Uint8Array): PngHeader | null {
  if (bytes.length < 33) return null;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!buf.subarray(0, 8).equals(PNG_MAGIC)) return null;
  if (buf.readUInt32BE(8) !== 13 || buf.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  if (width === 0 || height === 0) return null;
  return { width, height, bitDepth: buf[24]!, colorType: buf[25]! };
}
