// weights.npz in numpy's own layout: numpy's np.load reads what we write, we read what np.savez
// writes, and anything that is not a float32 C-order array is refused with a reason.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, decodeNpz, encodeNpy, encodeNpz } from './npz';
import { headArrays, headFromNpz } from './package';

const PY = '/usr/bin/python3';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-npz-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const weight = Float32Array.from({ length: 5 * 128 }, (_, i) => Math.sin(i) * 0.37 - (i % 7) * 1e-3);
const bias = Float32Array.from([0.5, -1.25, 3e-8, -0, 1e30]);

describe('npz', () => {
  it('np.load reads our file: same names, shapes, dtype float32 and exactly the same values', () => {
    const file = path.join(tmp, 'ours.npz');
    fs.writeFileSync(file, headArrays({ classes: 5, dim: 128, weight, bias }));
    const out = execFileSync(PY, ['-c', `import sys, json, numpy as np
d = np.load(sys.argv[1], allow_pickle=False)
print(json.dumps({k: {'shape': list(d[k].shape), 'dtype': str(d[k].dtype), 'order': bool(d[k].flags['C_CONTIGUOUS']), 'values': d[k].astype(float).ravel().tolist()} for k in sorted(d.files)}))`, file], { encoding: 'utf8' });
    const r = JSON.parse(out) as Record<string, { shape: number[]; dtype: string; order: boolean; values: number[] }>;
    expect(Object.keys(r)).toEqual(['bias', 'weight']);
    expect(r.weight).toMatchObject({ shape: [5, 128], dtype: 'float32', order: true });
    expect(r.bias).toMatchObject({ shape: [5], dtype: 'float32' });
    expect(r.weight!.values).toEqual(Array.from(weight));
    expect(r.bias!.values).toEqual(Array.from(bias));
  });

  it('we read what np.savez writes (the format a Python aggregator or the mobile tooling produces)', () => {
    const file = path.join(tmp, 'numpy.npz');
    execFileSync(PY, ['-c', `import sys, numpy as np
w = (np.arange(5 * 128, dtype=np.float32).reshape(5, 128) / 100).astype(np.float32)
np.savez(sys.argv[1], weight=w, bias=np.array([1, 2, 3, 4, 5], dtype=np.float32))`, file]);
    const h = headFromNpz(fs.readFileSync(file), 5, 128);
    expect(h.weight[129]).toBeCloseTo(1.29, 6);
    expect(Array.from(h.bias)).toEqual([1, 2, 3, 4, 5]);
  });

  it('the NPY header is a 64-byte aligned v1.0 header that numpy parses', () => {
    const b = encodeNpy({ shape: [3], data: Float32Array.from([1, 2, 3]) });
    const hlen = b[8]! | (b[9]! << 8);
    expect((10 + hlen) % 64).toBe(0);
    expect(Buffer.from(b.subarray(10, 10 + hlen)).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
    expect(Array.from(decodeNpy(b, 'x.npy').data)).toEqual([1, 2, 3]);
  });

  it('the same weights give the same bytes (a stable sha256)', () => {
    expect(Buffer.from(headArrays({ classes: 5, dim: 128, weight, bias })).equals(Buffer.from(headArrays({ classes: 5, dim: 128, weight, bias })))).toBe(true);
  });

  it('refuses float64, Fortran order, pickles, extra arrays and wrong shapes, saying which', () => {
    const make = (code: string): Uint8Array => {
      const file = path.join(tmp, `x${Math.random().toString(36).slice(2)}.npz`);
      execFileSync(PY, ['-c', `import sys, numpy as np\n${code}`, file]);
      return fs.readFileSync(file);
    };
    expect(() => decodeNpz(make("np.savez(sys.argv[1], weight=np.zeros((5, 128)), bias=np.zeros(5, dtype=np.float32))"))).toThrow(/<f8, not float32/);
    expect(() => decodeNpz(make("np.savez(sys.argv[1], weight=np.asfortranarray(np.zeros((5, 128), dtype=np.float32)), bias=np.zeros(5, dtype=np.float32))"))).toThrow(/C order/);
    expect(() => decodeNpz(make("np.savez(sys.argv[1], weight=np.array([{'a': 1}], dtype=object))"))).toThrow(/\|O, not float32/);
    expect(() => headFromNpz(make("np.savez(sys.argv[1], weight=np.zeros((5, 128), dtype=np.float32), bias=np.zeros(5, dtype=np.float32), extra=np.zeros(1, dtype=np.float32))"), 5, 128)).toThrow(/exactly "weight" and "bias"/);
    expect(() => headFromNpz(make("np.savez(sys.argv[1], weight=np.zeros((5, 64), dtype=np.float32), bias=np.zeros(5, dtype=np.float32))"), 5, 128)).toThrow(/\[5, 64\]; the global model's is \[5, 128\]/);
    expect(() => decodeNpz(new Uint8Array([1, 2, 3]))).toThrow(/not a readable ZIP/);
    expect(() => encodeNpz({ '../x': { shape: [1], data: new Float32Array(1) } })).toThrow(/not an array name/);
  });
});
