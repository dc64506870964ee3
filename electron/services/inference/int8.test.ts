// The int8 file beside the float ONNX file: the service runs it when the card chose it (or when
// asked for it), the float file otherwise, and never an int8 file the card does not list with
// its sha256. The stand-in int8 file here is a broken ONNX file whose hash the card lists, so a
// session over it fails: a run that succeeds proves the float file ran, one that fails with the
// ONNX runtime's error proves the int8 file was loaded. (The real quantized file of a model is
// made by native-models/training/quantize.py and checked against the float one on val there.)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log';
import { createAdapter } from './adapters';
import { parseModelCard, readCardJson, readVerifiedFiles } from './model-card';
import { classify } from './postprocess';
import { createInferenceService } from './service';
import { b64ToF32, mriImages, readGolden, requireModelDir, SHIPPED_MODELS } from '../../testing/inference';

const roots: string[] = [];
afterAll(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true });
});

function modelWithInt8(opts: { chosen: boolean; listed: boolean }): { root: string; dir: string } {
  const src = requireModelDir();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-int8-'));
  roots.push(root);
  const dir = path.join(root, path.basename(src));
  fs.cpSync(src, dir, { recursive: true });
  const bytes = fs.readFileSync(path.join(dir, 'model.onnx')).subarray(0, 4096); // not a loadable model
  fs.writeFileSync(path.join(dir, 'model.int8.onnx'), bytes);
  const cardPath = path.join(dir, 'model-card.json');
  const card = JSON.parse(fs.readFileSync(cardPath, 'utf8')) as { files: Record<string, unknown>; int8?: unknown };
  if (opts.listed) card.files['model.int8.onnx'] = { sha256: crypto.createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
  card.int8 = { file: 'model.int8.onnx', chosen: opts.chosen };
  fs.writeFileSync(cardPath, JSON.stringify(card));
  return { root, dir };
}

async function scoreOne(root: string, precision: 'auto' | 'float' | 'int8'): Promise<'ran' | string> {
  const svc = createInferenceService({ config: { modelsFolder: root, runtime: 'onnxruntime-node' }, logger: silentLogger, poolSize: 1, threadsPerWorker: 1, precision });
  try {
    const [out] = await svc.classify([{ id: 'a', source: { kind: 'file', path: mriImages('glioma', 1)[0]! } }], { runtime: 'onnxruntime-node' });
    return out?.ok ? 'ran' : `refused: ${out?.ok === false ? out.error.message : '?'}`;
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  } finally {
    await svc.close();
  }
}

describe('int8 model file', () => {
  it('runs the int8 file when the card chose it, the float file when asked for float', async () => {
    const { root, dir } = modelWithInt8({ chosen: true, listed: true });
    expect(parseModelCard(readCardJson(dir), dir).onnxInt8).toEqual({ file: 'model.int8.onnx', chosen: true });
    expect(await scoreOne(root, 'auto')).not.toBe('ran'); // the (broken) int8 file was loaded
    expect(await scoreOne(root, 'float')).toBe('ran');
  });

  it('runs the float file when the card did not choose int8, unless int8 is asked for', async () => {
    const { root } = modelWithInt8({ chosen: false, listed: true });
    expect(await scoreOne(root, 'auto')).toBe('ran');
    expect(await scoreOne(root, 'int8')).not.toBe('ran');
  });

  it('ignores an int8 file the card does not list with its sha256', async () => {
    const { root, dir } = modelWithInt8({ chosen: true, listed: false });
    expect(parseModelCard(readCardJson(dir), dir).onnxInt8).toBeNull();
    expect(await scoreOne(root, 'auto')).toBe('ran');
    expect(await scoreOne(root, 'int8')).toBe('ran');
  });

  // A shipped int8 file (made by quantize.py, chosen by its card on val) gives the golden cases'
  // decisions: the same label and the same reject decision as the PyTorch float model. Only the
  // models whose card lists an int8 file are checked (tumornet 1.0.0 predates quantize.py).
  const withInt8 = SHIPPED_MODELS.map((model) => {
    const dir = requireModelDir(model.id);
    return { model, dir, spec: parseModelCard(readCardJson(dir), dir) };
  }).filter((m) => m.spec.onnxInt8);

  it('at least one shipped model has an int8 file, so the golden check below runs', () => {
    expect(withInt8.map((m) => m.model.id)).toContain('tumornet-v2');
  });

  for (const { model, dir, spec } of withInt8) {
    it(`${model.id}: the int8 file gives the golden cases' labels and reject decisions`, async () => {
      const golden = readGolden<{ cases: { name: string; input_f32_b64: string; predicted: string; rejected: boolean }[] }>(model.golden);
      const files = await readVerifiedFiles(dir, spec);
      const int8Spec = { ...spec, onnx: { ...spec.onnx!, file: spec.onnxInt8!.file } };
      const adapter = await createAdapter('onnxruntime-node', int8Spec, files, { threads: 1, device: 'cpu' });
      try {
        const hw = spec.preprocess.height * spec.preprocess.width;
        const batch = new Float32Array(golden.cases.length * hw);
        golden.cases.forEach((c, i) => batch.set(b64ToF32(c.input_f32_b64), i * hw));
        const out = await adapter.run(batch, golden.cases.length);
        const C = spec.classes.length;
        golden.cases.forEach((c, i) => {
          const cls = classify(Array.from(out.logits.subarray(i * C, (i + 1) * C)), spec);
          expect(cls.label === 'not recognised', `${c.name} reject`).toBe(c.rejected);
          if (!c.rejected) expect(cls.label, c.name).toBe(c.predicted);
        });
      } finally {
        await adapter.dispose();
      }
    }, 300_000);
  }
});
