// A one-node ONNX model (C = A x B, float32), encoded here by hand, so the inference bench can
// measure the GEMM ceiling onnxruntime-node reaches on this CPU next to the nominal peak.
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const key = (field: number, wire: 0 | 2): number[] => varint((field << 3) | wire);
const vField = (field: number, v: number): number[] => [...key(field, 0), ...varint(v)];
const bField = (field: number, bytes: number[]): number[] => [...key(field, 2), ...varint(bytes.length), ...bytes];
const sField = (field: number, s: string): number[] => bField(field, [...Buffer.from(s, 'utf8')]);

function tensorInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => bField(1, vField(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = [...vField(1, 1), ...bField(2, shape)]; // elem_type FLOAT, shape
  return [...sField(1, name), ...bField(2, bField(1, tensorType))]; // ValueInfoProto { name, type { tensor_type } }
}

/** ONNX bytes of C[m,n] = MatMul(A[m,k], B[k,n]). */
export function gemmModel(m: number, k: number, n: number): Uint8Array {
  const node = [...sField(1, 'A'), ...sField(1, 'B'), ...sField(2, 'C'), ...sField(3, 'gemm'), ...sField(4, 'MatMul')];
  const graph = [...bField(1, node), ...sField(2, 'gemm'), ...bField(11, tensorInfo('A', [m, k])), ...bField(11, tensorInfo('B', [k, n])), ...bField(12, tensorInfo('C', [m, n]))];
  const opset = [...sField(1, ''), ...vField(2, 13)];
  return Uint8Array.from([...vField(1, 7), ...sField(2, 'tumorpredict-bench'), ...bField(7, graph), ...bField(8, opset)]);
}
