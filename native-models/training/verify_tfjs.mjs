// Verify the hand-written TF.js Layers export (and, if onnxruntime-node is installed, model.onnx)
// against the PyTorch golden outputs.
//
//   node native-models/training/verify_tfjs.mjs [modelDir] [outputs.json]
//
// Loads tfjs/model.json + weight shards with tf.loadLayersModel(tf.io.fromMemory(...)) on the
// 'cpu' backend, runs every golden input, and compares logits and mask with max abs diff.
// Tolerance: 1e-3 (float32 CPU kernels vs PyTorch). Exit code 1 on mismatch. Last stdout line is JSON.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'tumornet'));
const goldenPath = path.resolve(process.argv[3] ?? path.join(here, 'golden', 'outputs.json'));
const TOL = 1e-3;

function f32(b64) {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function loadTfjs(dir) {
  const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const specs = [];
  const bufs = [];
  for (const group of mj.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData }));
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const golden = JSON.parse(fs.readFileSync(goldenPath, 'utf8'));
  const model = await loadTfjs(path.join(modelDir, 'tfjs'));
  const result = { backend: tf.getBackend(), tolerance: TOL, tfjs_version: tf.version.tfjs, outputs: model.outputNames, cases: [] };
  let worstL = 0;
  let worstM = 0;
  for (const c of golden.cases) {
    const [, , H, W] = c.input_shape;
    const x = tf.tensor4d(f32(c.input_f32_b64), [1, H, W, 1]); // C=1: NCHW bytes == NHWC bytes
    const [lt, mt] = model.predict(x);
    const logits = await lt.data();
    const mask = await mt.data();
    const dl = maxAbsDiff(logits, Float32Array.from(c.logits));
    const dm = maxAbsDiff(mask, f32(c.mask_f32_b64));
    worstL = Math.max(worstL, dl);
    worstM = Math.max(worstM, dm);
    result.cases.push({ name: c.name.split(':')[0], logits_max_abs_diff: dl, mask_max_abs_diff: dm });
    tf.dispose([x, lt, mt]);
  }
  result.tfjs_logits_max_abs_diff = worstL;
  result.tfjs_mask_max_abs_diff = worstM;
  result.tfjs_ok = worstL <= TOL && worstM <= TOL;

  // Optional: ONNX through onnxruntime-node, if installed.
  try {
    const ort = await import('onnxruntime-node');
    const sess = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'));
    let ol = 0;
    let om = 0;
    for (const c of golden.cases) {
      const [, , H, W] = c.input_shape;
      const out = await sess.run({ image: new ort.Tensor('float32', f32(c.input_f32_b64), [1, 1, H, W]) });
      ol = Math.max(ol, maxAbsDiff(out.logits.data, Float32Array.from(c.logits)));
      om = Math.max(om, maxAbsDiff(out.mask.data, f32(c.mask_f32_b64)));
    }
    result.onnxruntime_node = { input_names: sess.inputNames, output_names: sess.outputNames, logits_max_abs_diff: ol, mask_max_abs_diff: om, ok: ol <= TOL && om <= TOL };
  } catch (e) {
    result.onnxruntime_node = { skipped: true, reason: String(e && e.message ? e.message : e).slice(0, 200) };
  }
  for (const c of result.cases) console.error(`${c.name}: logits ${c.logits_max_abs_diff.toExponential(2)} mask ${c.mask_max_abs_diff.toExponential(2)}`);
  console.log(JSON.stringify(result));
  const ok = result.tfjs_ok && (result.onnxruntime_node.skipped || result.onnxruntime_node.ok);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.stack ? e.stack : e) }));
  process.exit(1);
});
