// The head inside the real model files: the card's head entry, the `features` output of both
// runtimes (logits = features x W^T + b), reading the head from ONNX and TF.js, and a new version
// that replaces only the head's bytes and still agrees across runtimes (the parity rule).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log';
import { createInferenceService, detectRuntimes, type InferenceService, type LoadedModel } from '../inference';
import { makeFeatureModel } from '../../testing/federated-model';
import { mriImages } from '../../testing/inference';
import { backboneHash, onnxInitializers, readOnnxHead, readTfjsHead, writeOnnxHead, type HeadWeights, type TfjsModelJson } from './model-head';
import { parentHead, writeHeadVersion } from './model-version';
import { headLogits } from './train-head';
import { headSha256 } from './package';

let tmp: string;
let models: string;
let svc: InferenceService;
let model: LoadedModel;
const images = ['glioma', 'meningioma', 'notumor', 'pituitary'].flatMap((c) => mriImages(c, 2));
const inputs = images.map((p) => ({ id: path.basename(p), source: { kind: 'file' as const, path: p } }));
const tfjsEngine = detectRuntimes().some((r) => r.name === 'tfjs-wasm' && r.available) ? ('tfjs-wasm' as const) : ('tfjs-cpu' as const);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-fed-head-'));
  models = path.join(tmp, 'models');
  makeFeatureModel(models);
  svc = createInferenceService({ config: { modelsFolder: models, runtime: 'auto' }, logger: silentLogger, poolSize: 1 });
  model = await svc.loadModel('tumornet');
}, 120_000);

afterAll(async () => {
  await svc?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

async function featuresAndLogits(modelId: string, runtime: 'onnxruntime-node' | 'tfjs-wasm' | 'tfjs-cpu'): Promise<{ f: Float32Array; logits: Float32Array }> {
  const out = await svc.classify(inputs, { modelId, runtime, wantFeatures: true, batchSize: 4 });
  const F = model.spec.head!.dim;
  const f = new Float32Array(out.length * F);
  const logits = new Float32Array(out.length * 5);
  out.forEach((o, i) => {
    if (!o.ok) throw new Error(`${o.id}: ${o.error.message}`);
    expect(o.features, `${runtime} features of ${o.id}`).toBeInstanceOf(Float32Array);
    f.set(o.features!, i * F);
    logits.set(o.logits, i * 5);
  });
  return { f, logits };
}

describe('the head entry and the features output', () => {
  it('the card names the head; F is read from it (128 for tumornet 1.0.0 + features)', () => {
    const h = model.spec.head!;
    expect(h).toMatchObject({ onnxOutput: 'features', tfjsOutputIndex: 2, classes: 5, onnx: { weight: 'fc.weight', weightLayout: 'out_in', bias: 'fc.bias' }, tfjs: { kernel: 'logits/kernel', kernelLayout: 'in_out', bias: 'logits/bias' } });
    expect(Number.isInteger(h.dim) && h.dim > 0).toBe(true);
    expect(readOnnxHead(model.files.get('model.onnx')!, h).weight.length).toBe(5 * h.dim);
  });

  it('the ONNX head read here equals what the onnx package reads (numpy_helper)', () => {
    const ours = readOnnxHead(model.files.get('model.onnx')!, model.spec.head!);
    const py = execFileSync('/usr/bin/python3', ['-c', "import sys, onnx, json; from onnx import numpy_helper as h; m = onnx.load(sys.argv[1]); i = {t.name: h.to_array(t) for t in m.graph.initializer}; print(json.dumps({'w': i['fc.weight'].astype(float).ravel().tolist(), 'b': i['fc.bias'].astype(float).tolist(), 'shape': list(i['fc.weight'].shape)}))", path.join(model.dir, 'model.onnx')], { encoding: 'utf8' });
    const ref = JSON.parse(py) as { w: number[]; b: number[]; shape: number[] };
    expect(ref.shape).toEqual([5, model.spec.head!.dim]);
    expect(maxDiff(ours.weight, ref.w)).toBe(0);
    expect(maxDiff(ours.bias, ref.b)).toBe(0);
  });

  it('the TF.js kernel (in x out) is the transpose of the ONNX weight (out x in)', () => {
    const json = JSON.parse(Buffer.from(model.files.get('tfjs/model.json')!).toString('utf8')) as TfjsModelJson;
    const shards = new Map(json.weightsManifest.flatMap((g) => g.paths).map((p) => [p, model.files.get(`tfjs/${p}`)!]));
    const tf = readTfjsHead(json, shards, model.spec.head!);
    const onnx = readOnnxHead(model.files.get('model.onnx')!, model.spec.head!);
    expect(maxDiff(tf.weight, onnx.weight)).toBeLessThan(1e-6);
    expect(maxDiff(tf.bias, onnx.bias)).toBeLessThan(1e-6);
  });

  it(`onnxruntime and ${tfjsEngine} give the same features, and logits = features W^T + b in both`, async () => {
    const head = parentHead(model);
    const onnx = await featuresAndLogits('tumornet', 'onnxruntime-node');
    const tf = await featuresAndLogits('tumornet', tfjsEngine);
    expect(maxDiff(onnx.f, tf.f)).toBeLessThan(1e-4);
    expect(maxDiff(headLogits(head, onnx.f, inputs.length), onnx.logits)).toBeLessThan(1e-4);
    expect(maxDiff(headLogits(head, tf.f, inputs.length), tf.logits)).toBeLessThan(1e-4);
  });

  it('a model whose card has no head entry refuses features with a reason (and gives none unasked)', async () => {
    const plain = path.join(models, 'tumornet-nohead');
    fs.cpSync(model.dir, plain, { recursive: true });
    const card = JSON.parse(fs.readFileSync(path.join(plain, 'model-card.json'), 'utf8')) as Record<string, unknown>;
    delete card.head;
    card.id = 'tumornet-nohead';
    fs.writeFileSync(path.join(plain, 'model-card.json'), JSON.stringify(card));
    const out = await svc.classify(inputs.slice(0, 1), { modelId: 'tumornet-nohead', runtime: 'onnxruntime-node', wantFeatures: true });
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(!out[0]!.ok && out[0]!.error.message).toMatch(/no head entry/);
    const unasked = await svc.classify(inputs.slice(0, 1), { modelId: 'tumornet', runtime: 'onnxruntime-node' });
    expect(unasked[0]!.ok && unasked[0]!.features).toBeFalsy();
  });
});

describe('a new version replaces only the head', () => {
  let next: HeadWeights;
  let dir: string;

  it('writes a folder whose files verify, where only the head bytes differ, with the same backbone hash', async () => {
    const head = parentHead(model);
    next = { ...head, weight: head.weight.map((v, k) => v + 0.01 * Math.sin(k)), bias: head.bias.map((v, k) => v - 0.05 * k) };
    dir = path.join(models, 'tumornet-fed1');
    const w = writeHeadVersion(model, next, dir, { id: 'tumornet-fed1', version: '1.0.0-fed.1', federated: { round: 1 }, metrics: { validation_classification: { n: 10, accuracy: 0.9 } }, summary: 'Test version.' });
    const loaded = await svc.loadModel('tumornet-fed1');
    expect(loaded.spec.version).toBe('1.0.0-fed.1');
    const a = model.files.get('model.onnx')!;
    const b = loaded.files.get('model.onnx')!;
    expect(b.length).toBe(a.length);
    let changed = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThanOrEqual((5 * model.spec.head!.dim + 5) * 4);
    expect(backboneHash(b, loaded.spec.head!)).toBe(backboneHash(a, model.spec.head!));
    expect(headSha256(parentHead(loaded))).toBe(headSha256(next));
    const card = JSON.parse(fs.readFileSync(path.join(dir, 'model-card.json'), 'utf8')) as { federated: { parent: { id: string; card_sha256: string } }; metrics: { validation_classification: unknown; parent: unknown } };
    expect(card.federated.parent.id).toBe('tumornet');
    expect(card.metrics.parent).toBeTruthy();
    expect(w.cardSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it(`both runtimes run the new version and agree with each other and with the new head (parity)`, async () => {
    const onnx = await featuresAndLogits('tumornet-fed1', 'onnxruntime-node');
    const tf = await featuresAndLogits('tumornet-fed1', tfjsEngine);
    expect(maxDiff(headLogits(next, onnx.f, inputs.length), onnx.logits)).toBeLessThan(1e-4);
    expect(maxDiff(onnx.logits, tf.logits)).toBeLessThan(1e-4);
    const parent = await featuresAndLogits('tumornet', 'onnxruntime-node');
    expect(maxDiff(parent.f, onnx.f)).toBe(0); // the backbone did not change
    expect(maxDiff(parent.logits, onnx.logits)).toBeGreaterThan(1e-3);
  });

  it('refuses a head of the wrong shape or with a NaN, and an initializer that is not float32 raw_data', () => {
    const bytes = model.files.get('model.onnx')!;
    const h = model.spec.head!;
    const head = parentHead(model);
    expect(() => writeOnnxHead(bytes, h, { ...head, dim: head.dim - 1, weight: head.weight.subarray(5) })).toThrow(/\[5, \d+\]/);
    const nan = { ...head, weight: Float32Array.from(head.weight) };
    nan.weight[3] = NaN;
    expect(() => writeOnnxHead(bytes, h, nan)).toThrow(/NaN/);
    expect(() => readOnnxHead(bytes, { ...h, onnx: { ...h.onnx!, weight: 'convs.dec1.weight' } })).toThrow(/shape/);
    expect(onnxInitializers(bytes).find((i) => i.name === 'fc.bias')).toMatchObject({ dims: [5], dataType: 1 });
    expect(() => writeHeadVersion(model, head, dir, { id: 'tumornet-fed1', version: 'x', federated: {}, metrics: {}, summary: '' })).toThrow(/already exists/);
  });
});
