// The compressed-pixel codecs, loaded once per thread on first use: libjpeg-turbo (8-bit JPEG),
// dcmjs-codecs (12-bit extended JPEG), jpeg-lossless-decoder-js, CharLS (JPEG-LS), OpenJPEG (J2K).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The Emscripten decoders share one shape: fill the encoded buffer, decode, read the frame. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  readHeader?(): void;
  delete?(): void;
}
type WasmFactory = (opts?: Record<string, unknown>) => Promise<Record<string, new () => WasmDecoder>>;

export interface CodecOutput {
  width: number;
  height: number;
  bitsPerSample: number;
  components: number;
  /** Interleaved samples, little-endian, 1 byte per sample up to 8 bits, 2 above. A private copy. */
  data: Uint8Array;
}

const loaded = new Map<string, Promise<WasmDecoder>>();

function wasmDecoder(moduleId: string, className: string): Promise<WasmDecoder> {
  let p = loaded.get(moduleId);
  if (!p) {
    p = (async () => {
      const factory = require(moduleId) as WasmFactory;
      // Quiet: the codecs print progress lines to stdout, which would corrupt CLI output.
      const lib = await factory({ print: () => {}, printErr: () => {} });
      const Ctor = lib[className];
      if (!Ctor) throw new Error(`${moduleId} has no ${className}`);
      return new Ctor();
    })();
    loaded.set(moduleId, p);
    // A failed load is retried next time instead of caching the failure forever.
    p.catch(() => loaded.delete(moduleId));
  }
  return p;
}

async function runWasm(moduleId: string, className: string, encoded: Uint8Array): Promise<CodecOutput> {
  const dec = await wasmDecoder(moduleId, className);
  dec.getEncodedBuffer(encoded.length).set(encoded);
  dec.decode();
  const info = dec.getFrameInfo();
  // The decoded buffer is a view into the WebAssembly heap: copy it before the next decode.
  const data = new Uint8Array(dec.getDecodedBuffer());
  return { width: info.width, height: info.height, bitsPerSample: info.bitsPerSample, components: info.componentCount, data };
}

export const decodeJpeg8 = (encoded: Uint8Array): Promise<CodecOutput> =>
  runWasm('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder', encoded);
export const decodeJpegLs = (encoded: Uint8Array): Promise<CodecOutput> => runWasm('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder', encoded);
export const decodeJ2k = (encoded: Uint8Array): Promise<CodecOutput> => runWasm('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder', encoded);

interface LosslessDecoder {
  decode(buffer: ArrayBufferLike, offset: number, length: number, numBytes: number): ArrayBufferView;
  frame?: { dimX: number; dimY: number; precision: number; numComp: number };
  xDim?: number;
  yDim?: number;
  numComp?: number;
}

export function decodeJpegLossless(encoded: Uint8Array, bytesPerSample: number): CodecOutput {
  const lib = require('jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
  const dec = new lib.Decoder();
  const copy = new Uint8Array(encoded); // the decoder reads through a DataView of the whole buffer
  const out = dec.decode(copy.buffer, 0, copy.length, bytesPerSample);
  const data = new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  return {
    width: dec.xDim ?? dec.frame?.dimX ?? 0,
    height: dec.yDim ?? dec.frame?.dimY ?? 0,
    bitsPerSample: dec.frame?.precision ?? bytesPerSample * 8,
    components: dec.numComp ?? dec.frame?.numComp ?? 1,
    data,
  };
}

interface DcmjsCodecs {
  NativeCodecs: {
    initializeAsync(o: { webAssemblyModulePathOrUrl: string }): Promise<void>;
    isInitialized(): boolean;
    decodeJpeg(ctx: unknown, p?: { convertColorspaceToRgb?: boolean }): { getDecodedBuffer(): Uint8Array };
  };
  Context: new (a: Record<string, unknown>) => unknown;
}
let dcmjsCodecs: Promise<DcmjsCodecs> | null = null;

/**
 * JPEG through dcmjs-codecs: 12-bit (extended, process 4), which the 8-bit libjpeg-turbo build
 * cannot decode, and colour JPEG whose DICOM header says RGB: PS3.5 8.2.1 means no colour transform
 * then, while libjpeg-turbo would assume YCbCr (as cornerstone does, tinting such images).
 */
export async function decodeJpegDcmjs(
  encoded: Uint8Array,
  info: { width: number; height: number; bitsAllocated: number; bitsStored: number; samplesPerPixel: number; pixelRepresentation: number; photometric: string },
): Promise<CodecOutput> {
  if (!dcmjsCodecs) {
    dcmjsCodecs = (async () => {
      const lib = require('dcmjs-codecs') as DcmjsCodecs;
      const wasm = path.join(path.dirname(require.resolve('dcmjs-codecs')), 'dcmjs-native-codecs.wasm');
      if (!lib.NativeCodecs.isInitialized()) await lib.NativeCodecs.initializeAsync({ webAssemblyModulePathOrUrl: wasm });
      return lib;
    })();
    dcmjsCodecs.catch(() => { dcmjsCodecs = null; });
  }
  const lib = await dcmjsCodecs;
  const ctx = new lib.Context({
    width: info.width,
    height: info.height,
    bitsAllocated: info.bitsAllocated,
    bitsStored: info.bitsStored,
    samplesPerPixel: info.samplesPerPixel,
    pixelRepresentation: info.pixelRepresentation,
    planarConfiguration: 0,
    photometricInterpretation: info.photometric,
    encodedBuffer: encoded,
  });
  const out = lib.NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: info.photometric !== 'RGB' });
  const data = new Uint8Array(out.getDecodedBuffer());
  return { width: info.width, height: info.height, bitsPerSample: info.bitsStored, components: info.samplesPerPixel, data };
}

/** The sample precision written in a JPEG's SOF marker (8, 12 or 16), or null when none is found. */
export function jpegPrecision(encoded: Uint8Array): number | null {
  let i = 2;
  while (i + 9 < encoded.length) {
    if (encoded[i] !== 0xff) { i++; continue; }
    const marker = encoded[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return encoded[i + 4]!;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0xff) { i += marker === 0xff ? 1 : 2; continue; }
    const len = (encoded[i + 2]! << 8) | encoded[i + 3]!;
    i += 2 + len;
  }
  return null;
}
