// The classification head inside the shipped model files: reads and rewrites, in place, the ONNX
// initializers and the TF.js weight bytes the card's head entry names, after checking their
// names, types, shapes and offsets. Everything else in the files stays byte for byte the same.
import crypto from 'node:crypto';
import { WorkstationError } from '../../contract';
import type { HeadSpec } from '../inference';

/** A head in one canonical layout: weight [classes, dim] row-major (out x in), bias [classes]. */
export interface HeadWeights {
  classes: number;
  dim: number;
  weight: Float32Array;
  bias: Float32Array;
}

function refuse(what: string): WorkstationError {
  return new WorkstationError('INVALID_INPUT', `The model's classification head cannot be replaced: ${what}.`);
}

// ---------------------------------------------------------------------------------------------
// ONNX: a protobuf walk of ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.

interface Reader {
  buf: Uint8Array;
  pos: number;
}

function varint(r: Reader): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (r.pos >= r.buf.length) throw refuse('the ONNX file ends inside a number');
    const b = r.buf[r.pos++]!;
    // Numbers here are sizes, offsets and small enums: 2^53 is far beyond any of them.
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
    shift += 7;
    if (shift > 63) throw refuse('the ONNX file has a malformed number');
  }
}

/** Visits the fields of a message spanning [start, end): field number, wire type, payload range. */
function fields(buf: Uint8Array, start: number, end: number, fn: (field: number, wire: number, from: number, to: number, value: number) => void): void {
  const r: Reader = { buf, pos: start };
  while (r.pos < end) {
    const key = varint(r);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      const from = r.pos;
      const v = varint(r);
      fn(field, wire, from, r.pos, v);
    } else if (wire === 2) {
      const len = varint(r);
      const from = r.pos;
      if (from + len > end) throw refuse('the ONNX file has a field longer than its message');
      r.pos += len;
      fn(field, wire, from, from + len, len);
    } else if (wire === 1) {
      r.pos += 8;
      fn(field, wire, r.pos - 8, r.pos, 0);
    } else if (wire === 5) {
      r.pos += 4;
      fn(field, wire, r.pos - 4, r.pos, 0);
    } else {
      throw refuse(`the ONNX file uses protobuf wire type ${wire}, which this reader does not know`);
    }
    if (r.pos > end) throw refuse('the ONNX file is truncated');
  }
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  /** TensorProto.DataType: 1 = FLOAT. */
  dataType: number;
  /** Absolute byte range of raw_data in the file, or null when the tensor stores no raw_data. */
  raw: { from: number; to: number } | null;
  /** True when the values live elsewhere (float_data or external data): not rewritable in place. */
  otherStorage: boolean;
}

const FLOAT = 1;

export function onnxInitializers(bytes: Uint8Array): OnnxInitializer[] {
  const out: OnnxInitializer[] = [];
  let graph: { from: number; to: number } | null = null;
  fields(bytes, 0, bytes.length, (f, w, from, to) => {
    if (f === 7 && w === 2) graph = { from, to };
  });
  if (!graph) throw refuse('the ONNX file has no graph');
  const g = graph as { from: number; to: number };
  fields(bytes, g.from, g.to, (f, w, from, to) => {
    if (f !== 5 || w !== 2) return;
    const t: OnnxInitializer = { name: '', dims: [], dataType: 0, raw: null, otherStorage: false };
    fields(bytes, from, to, (tf, tw, a, b, v) => {
      if (tf === 1 && tw === 0) t.dims.push(v);
      else if (tf === 1 && tw === 2) {
        const r: Reader = { buf: bytes, pos: a };
        while (r.pos < b) t.dims.push(varint(r));
      } else if (tf === 2 && tw === 0) t.dataType = v;
      else if (tf === 8 && tw === 2) t.name = Buffer.from(bytes.subarray(a, b)).toString('utf8');
      else if (tf === 9 && tw === 2) t.raw = { from: a, to: b };
      else if (tf === 4 || tf === 13 || (tf === 14 && v !== 0)) t.otherStorage = true;
    });
    out.push(t);
  });
  return out;
}

function onnxTensor(inits: OnnxInitializer[], name: string, shape: number[]): { from: number; to: number } {
  const t = inits.filter((i) => i.name === name);
  if (t.length !== 1) throw refuse(`the ONNX graph has ${t.length} initializers named ${name}`);
  const i = t[0]!;
  if (i.dataType !== FLOAT) throw refuse(`${name} is not float32 (data type ${i.dataType})`);
  if (i.dims.length !== shape.length || i.dims.some((d, k) => d !== shape[k])) throw refuse(`${name} has shape [${i.dims.join(', ')}], expected [${shape.join(', ')}]`);
  if (!i.raw || i.otherStorage) throw refuse(`${name} does not keep its values in raw_data`);
  if (i.raw.to - i.raw.from !== shape.reduce((a, b) => a * b, 1) * 4) throw refuse(`${name}'s raw_data holds ${i.raw.to - i.raw.from} bytes, not ${shape.reduce((a, b) => a * b, 1) * 4}`);
  return i.raw;
}

function readF32(bytes: Uint8Array, from: number, n: number): Float32Array {
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + from, n * 4);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

function writeF32(bytes: Uint8Array, from: number, values: Float32Array): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + from, values.length * 4);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

function onnxSpec(head: HeadSpec): NonNullable<HeadSpec['onnx']> {
  if (!head.onnx) throw refuse('the card names no ONNX head weights');
  return head.onnx;
}

function onnxShape(head: HeadSpec): number[] {
  return onnxSpec(head).weightLayout === 'out_in' ? [head.classes, head.dim] : [head.dim, head.classes];
}

export function readOnnxHead(bytes: Uint8Array, head: HeadSpec): HeadWeights {
  const spec = onnxSpec(head);
  const inits = onnxInitializers(bytes);
  const w = onnxTensor(inits, spec.weight, onnxShape(head));
  const b = onnxTensor(inits, spec.bias, [head.classes]);
  let weight = readF32(bytes, w.from, head.classes * head.dim);
  if (spec.weightLayout === 'in_out') weight = transpose(weight, head.dim, head.classes);
  return { classes: head.classes, dim: head.dim, weight, bias: readF32(bytes, b.from, head.classes) };
}

function checkWeights(head: HeadSpec, w: HeadWeights): void {
  if (w.classes !== head.classes || w.dim !== head.dim || w.weight.length !== head.classes * head.dim || w.bias.length !== head.classes) {
    throw refuse(`the new head is [${w.classes}, ${w.dim}] but the model's is [${head.classes}, ${head.dim}]`);
  }
  for (const v of w.weight) if (!Number.isFinite(v)) throw refuse('the new head holds a NaN or infinite weight');
  for (const v of w.bias) if (!Number.isFinite(v)) throw refuse('the new head holds a NaN or infinite bias');
}

/** A copy of the ONNX file with only the head's initializer bytes replaced. */
export function writeOnnxHead(bytes: Uint8Array, head: HeadSpec, w: HeadWeights): Uint8Array {
  checkWeights(head, w);
  const spec = onnxSpec(head);
  const inits = onnxInitializers(bytes);
  const wr = onnxTensor(inits, spec.weight, onnxShape(head));
  const br = onnxTensor(inits, spec.bias, [head.classes]);
  const out = new Uint8Array(bytes);
  writeF32(out, wr.from, spec.weightLayout === 'out_in' ? w.weight : transpose(w.weight, head.classes, head.dim));
  writeF32(out, br.from, w.bias);
  return out;
}

/**
 * sha256 of the ONNX file with the head's bytes zeroed: the same for every version that differs
 * only in its head, so features (which depend on the backbone alone) are cached under it.
 */
export function backboneHash(bytes: Uint8Array, head: HeadSpec): string {
  const spec = onnxSpec(head);
  const inits = onnxInitializers(bytes);
  const copy = new Uint8Array(bytes);
  for (const r of [onnxTensor(inits, spec.weight, onnxShape(head)), onnxTensor(inits, spec.bias, [head.classes])]) copy.fill(0, r.from, r.to);
  return crypto.createHash('sha256').update(copy).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// TF.js layers model: model.json's weightsManifest lists each group's weights in byte order over
// the group's shard files concatenated.

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: unknown;
}

export interface TfjsModelJson {
  weightsManifest: { paths: string[]; weights: ManifestWeight[] }[];
  [k: string]: unknown;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Where a named weight's bytes lie: pieces of shard files (a weight may straddle two shards). */
function tfjsLocate(json: TfjsModelJson, shardSize: (p: string) => number, name: string, shape: number[]): { path: string; from: number; length: number }[] {
  const hits: { path: string; from: number; length: number }[][] = [];
  for (const group of json.weightsManifest) {
    let offset = 0;
    for (const w of group.weights) {
      const dtype = w.dtype ?? 'float32';
      if (w.quantization) {
        if (w.name === name) throw refuse(`${name} is quantized in the TF.js weights`);
        throw refuse('the TF.js weights manifest holds quantized weights, whose byte offsets this writer does not compute');
      }
      const per = DTYPE_BYTES[dtype];
      if (per === undefined) throw refuse(`the TF.js weight ${w.name} has the type ${dtype}`);
      const size = w.shape.reduce((a, b) => a * b, 1) * per;
      if (w.name === name) {
        if (dtype !== 'float32') throw refuse(`${name} is ${dtype}, not float32`);
        if (w.shape.length !== shape.length || w.shape.some((d, k) => d !== shape[k])) throw refuse(`${name} has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
        // Map the group offset onto the shards.
        const pieces: { path: string; from: number; length: number }[] = [];
        let at = offset;
        let left = size;
        let base = 0;
        for (const p of group.paths) {
          const len = shardSize(p);
          if (left > 0 && at < base + len) {
            const from = at - base;
            const n = Math.min(left, len - from);
            pieces.push({ path: p, from, length: n });
            at += n;
            left -= n;
          }
          base += len;
        }
        if (left > 0) throw refuse(`${name} lies beyond the end of its shard files`);
        hits.push(pieces);
      }
      offset += size;
    }
  }
  if (hits.length !== 1) throw refuse(`the TF.js weights manifest has ${hits.length} weights named ${name}`);
  return hits[0]!;
}

function tfjsSpec(head: HeadSpec): NonNullable<HeadSpec['tfjs']> {
  if (!head.tfjs) throw refuse('the card names no TF.js head weights');
  return head.tfjs;
}

function tfjsKernelShape(head: HeadSpec): number[] {
  return tfjsSpec(head).kernelLayout === 'in_out' ? [head.dim, head.classes] : [head.classes, head.dim];
}

function gather(shards: Map<string, Uint8Array>, pieces: { path: string; from: number; length: number }[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of pieces) {
    out.set(shards.get(p.path)!.subarray(p.from, p.from + p.length), o);
    o += p.length;
  }
  return out;
}

function sizeOf(shards: Map<string, Uint8Array>): (p: string) => number {
  return (p) => {
    const b = shards.get(p);
    if (!b) throw refuse(`the TF.js shard ${p} is missing`);
    return b.length;
  };
}

/** Reads the head from model.json and its shard bytes (keyed by the manifest's relative paths). */
export function readTfjsHead(json: TfjsModelJson, shards: Map<string, Uint8Array>, head: HeadSpec): HeadWeights {
  const spec = tfjsSpec(head);
  const k = gather(shards, tfjsLocate(json, sizeOf(shards), spec.kernel, tfjsKernelShape(head)));
  const b = gather(shards, tfjsLocate(json, sizeOf(shards), spec.bias, [head.classes]));
  let weight = readF32(k, 0, head.classes * head.dim);
  weight = spec.kernelLayout === 'in_out' ? transpose(weight, head.dim, head.classes) : weight;
  return { classes: head.classes, dim: head.dim, weight, bias: readF32(b, 0, head.classes) };
}

/** Copies of the shards with only the head's bytes replaced (shards not touched are returned as they were). */
export function writeTfjsHead(json: TfjsModelJson, shards: Map<string, Uint8Array>, head: HeadSpec, w: HeadWeights): Map<string, Uint8Array> {
  checkWeights(head, w);
  const spec = tfjsSpec(head);
  const out = new Map(shards);
  const put = (pieces: { path: string; from: number; length: number }[], values: Float32Array): void => {
    const bytes = new Uint8Array(values.length * 4);
    writeF32(bytes, 0, values);
    let o = 0;
    for (const p of pieces) {
      let copy = out.get(p.path)!;
      if (copy === shards.get(p.path)) {
        copy = new Uint8Array(copy);
        out.set(p.path, copy);
      }
      copy.set(bytes.subarray(o, o + p.length), p.from);
      o += p.length;
    }
  };
  const kernel = spec.kernelLayout === 'in_out' ? transpose(w.weight, head.classes, head.dim) : w.weight;
  put(tfjsLocate(json, sizeOf(shards), spec.kernel, tfjsKernelShape(head)), kernel);
  put(tfjsLocate(json, sizeOf(shards), spec.bias, [head.classes]), w.bias);
  return out;
}
