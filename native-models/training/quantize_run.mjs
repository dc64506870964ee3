// Runs an ONNX model with onnxruntime-node over a raw float32 tensor file [N,1,H,W], for
// quantize.py (Debian's python has no onnxruntime):
//   node quantize_run.mjs minmax MODEL IN.f32 H W OUT.json   min and max of every graph output
//   node quantize_run.mjs run    MODEL IN.f32 H W OUTPREFIX  each output to OUTPREFIX.NAME.f32
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'package.json'));
const ort = require('onnxruntime-node');

const [mode, modelPath, input, hs, ws, out] = process.argv.slice(2);
const H = Number(hs);
const W = Number(ws);
const all = new Float32Array(fs.readFileSync(input).buffer.slice(0));
const per = H * W;
const n = all.length / per;
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const inputName = session.inputNames[0];
const BATCH = 32;
const stats = {};
const chunks = {};
for (let i = 0; i < n; i += BATCH) {
  const b = Math.min(BATCH, n - i);
  const feeds = { [inputName]: new ort.Tensor('float32', all.subarray(i * per, (i + b) * per), [b, 1, H, W]) };
  const res = await session.run(feeds);
  for (const [name, t] of Object.entries(res)) {
    const d = t.data;
    if (mode === 'minmax') {
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < d.length; k++) { const v = d[k]; if (v < lo) lo = v; if (v > hi) hi = v; }
      const s = (stats[name] ??= { min: Infinity, max: -Infinity });
      s.min = Math.min(s.min, lo);
      s.max = Math.max(s.max, hi);
    } else {
      (chunks[name] ??= []).push(Buffer.from(new Float32Array(d).buffer));
    }
  }
}
if (mode === 'minmax') fs.writeFileSync(out, JSON.stringify(stats));
else for (const [name, parts] of Object.entries(chunks)) fs.writeFileSync(`${out}.${name}.f32`, Buffer.concat(parts));
