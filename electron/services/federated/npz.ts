// .npz files as numpy's np.savez writes them and np.load reads them: a ZIP (stored, no
// compression) of one NPY v1.0 file per array, "<name>.npy", float32 little-endian, C order.
// The reader accepts only that (float32, C order, a plain header); anything else is refused.
import { unzipSync, zipSync } from 'fflate';
import { WorkstationError } from '../../contract';

export interface NpArray {
  shape: number[];
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const NAME = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;
/** A package's arrays are a head: small. A bigger file is refused before it is unzipped. */
export const MAX_NPZ_BYTES = 16 * 1024 * 1024;

/** One NPY v1.0 file: magic, version, header length, a Python dict literal padded to 64 bytes. */
export function encodeNpy(a: NpArray): Uint8Array {
  const n = a.shape.reduce((x, y) => x * y, 1);
  if (n !== a.data.length) throw new RangeError(`shape [${a.shape.join(', ')}] does not hold ${a.data.length} values`);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads with spaces so that magic + 4 + header (ending in \n) is a multiple of 64.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + n * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const dv = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < n; i++) dv.setFloat32(i * 4, a.data[i]!, true);
  return out;
}

function bad(what: string): WorkstationError {
  return new WorkstationError('INVALID_INPUT', `The weights file is not a float32 .npz as np.savez writes it: ${what}.`);
}

export function decodeNpy(bytes: Uint8Array, name: string): NpArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad(`${name} has no NPY header`);
  const major = bytes[6]!;
  const hlen = major === 1 ? bytes[8]! | (bytes[9]! << 8) : major === 2 || major === 3 ? new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0, true) : -1;
  if (hlen < 0) throw bad(`${name} has NPY version ${major}`);
  const start = (major === 1 ? 10 : 12) + hlen;
  if (start > bytes.length) throw bad(`${name}'s header is longer than the file`);
  const header = Buffer.from(bytes.subarray(major === 1 ? 10 : 12, start)).toString('latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4') throw bad(`${name} holds ${descr ?? 'an unknown type'}, not float32 (<f4)`);
  if (fortran !== 'False') throw bad(`${name} is not in C order`);
  if (shapeText === undefined) throw bad(`${name} has no shape`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d{1,9}$/.test(s)) throw bad(`${name} has a malformed shape`);
      return Number(s);
    });
  const n = shape.reduce((x, y) => x * y, 1);
  if (bytes.length - start !== n * 4) throw bad(`${name} holds ${bytes.length - start} bytes of data for shape [${shape.join(', ')}]`);
  const data = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + start, n * 4);
  for (let i = 0; i < n; i++) data[i] = dv.getFloat32(i * 4, true);
  return { shape, data };
}

/** np.savez(file, **arrays): entries in the given order, stored uncompressed. */
export function encodeNpz(arrays: Record<string, NpArray>): Uint8Array {
  const entries: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [name, a] of Object.entries(arrays)) {
    if (!NAME.test(name)) throw new RangeError(`"${name}" is not an array name np.load can give back`);
    entries[`${name}.npy`] = [encodeNpy(a), { level: 0 }];
  }
  // A fixed timestamp: the same weights give the same bytes (and the same sha256).
  return zipSync(entries, { mtime: new Date('1980-01-01T00:00:00Z') });
}

export function decodeNpz(bytes: Uint8Array): Record<string, NpArray> {
  if (bytes.length > MAX_NPZ_BYTES) throw bad(`it is ${bytes.length} bytes, more than a head's ${MAX_NPZ_BYTES}`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => f.originalSize <= MAX_NPZ_BYTES });
  } catch (err) {
    throw new WorkstationError('INVALID_INPUT', 'The weights file is not a readable ZIP (.npz).', { cause: err });
  }
  const out: Record<string, NpArray> = {};
  for (const [file, data] of Object.entries(files)) {
    const name = file.replace(/\.npy$/, '');
    if (!file.endsWith('.npy') || !NAME.test(name)) throw bad(`it holds ${JSON.stringify(file.slice(0, 80))}, which is not an array`);
    out[name] = decodeNpy(data, file);
  }
  return out;
}
