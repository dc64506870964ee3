// Loading a model verifies the sha256 of every file its card lists: a changed byte, a missing
// file or an unlisted weight file is refused with a WorkstationError naming the file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { silentLogger } from '../log';
import { parseModelCard, readCardJson } from './model-card';
import { createInferenceService } from './service';
import { requireModelDir } from '../../testing/inference';

const tmpRoots: string[] = [];
afterAll(() => {
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of the shipped model under a fresh models folder. */
function copyModel(): { root: string; dir: string } {
  const src = requireModelDir();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-model-'));
  tmpRoots.push(root);
  const dir = path.join(root, path.basename(src));
  fs.cpSync(src, dir, { recursive: true });
  return { root, dir };
}

function flipByte(file: string, at: number): void {
  const b = fs.readFileSync(file);
  const i = Math.min(at, b.length - 1);
  b[i] = b[i]! ^ 0x01;
  fs.writeFileSync(file, b);
}

async function refusal(root: string): Promise<WorkstationError> {
  const svc = createInferenceService({ config: { modelsFolder: root, runtime: 'auto' }, logger: silentLogger, poolSize: 1 });
  try {
    await svc.loadModel();
  } catch (err) {
    expect(err).toBeInstanceOf(WorkstationError);
    return err as WorkstationError;
  } finally {
    await svc.close();
  }
  throw new Error('the model was loaded although it should have been refused');
}

describe('model card and sha256 verification', () => {
  it('the shipped card lists every file of the model folder with a sha256, and they all match', async () => {
    const dir = requireModelDir();
    const spec = parseModelCard(readCardJson(dir), dir);
    const listed = new Set(spec.files.map((f) => f.path));
    const onDisk: string[] = [];
    const walk = (d: string, rel: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name), rel ? `${rel}/${e.name}` : e.name);
        else onDisk.push(rel ? `${rel}/${e.name}` : e.name);
      }
    };
    walk(dir, '');
    for (const f of onDisk.filter((f) => f !== 'model-card.json')) expect(listed, `${f} is not in the card`).toContain(f);
    expect(spec.onnx).not.toBeNull();
    expect(spec.tfjs).not.toBeNull();
    const svc = createInferenceService({ config: { modelsFolder: path.dirname(dir), runtime: 'auto' }, logger: silentLogger });
    const models = await svc.listModels();
    await svc.close();
    const m = models.find((x) => x.id === spec.id);
    expect(m).toMatchObject({ verified: true, formats: ['onnx', 'tfjs'] });
    expect(m!.classes).toEqual(expect.arrayContaining(['glioma', 'meningioma', 'notumor', 'pituitary']));
  });

  it('refuses a model whose ONNX file has one changed byte, naming the file, and accepts it again once restored', async () => {
    const { root, dir } = copyModel();
    const onnx = path.join(dir, 'model.onnx');
    const original = fs.readFileSync(onnx);
    flipByte(onnx, Math.floor(original.length / 2));
    const err = await refusal(root);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain('model.onnx');
    expect(err.message).toMatch(/does not match the sha256/);
    expect(err.details).toMatchObject({ file: 'model.onnx' });

    const svc = createInferenceService({ config: { modelsFolder: root, runtime: 'auto' }, logger: silentLogger, poolSize: 1 });
    const listed = await svc.listModels();
    expect(listed[0]).toMatchObject({ verified: false });
    expect(listed[0]!.problem).toContain('model.onnx');
    // Nothing is lost: restoring the file makes the same service accept the model (no stale refusal).
    fs.writeFileSync(onnx, original);
    await expect(svc.loadModel()).resolves.toMatchObject({ spec: { id: 'tumornet' } });
    await svc.close();
  });

  it('refuses a changed TensorFlow.js weight shard', async () => {
    const { root, dir } = copyModel();
    const shard = fs.readdirSync(path.join(dir, 'tfjs')).find((f) => f.endsWith('.bin'))!;
    flipByte(path.join(dir, 'tfjs', shard), 100);
    const err = await refusal(root);
    expect(err.message).toContain(`tfjs/${shard}`);
  });

  it('refuses a model with a file missing, and a card whose hash was edited', async () => {
    const a = copyModel();
    fs.rmSync(path.join(a.dir, 'model.onnx'));
    expect((await refusal(a.root)).message).toMatch(/model\.onnx is missing/);

    const b = copyModel();
    const cardFile = path.join(b.dir, 'model-card.json');
    const card = JSON.parse(fs.readFileSync(cardFile, 'utf8')) as { files: Record<string, { sha256: string }> };
    const first = Object.keys(card.files)[0]!;
    card.files[first]!.sha256 = '0'.repeat(64);
    fs.writeFileSync(cardFile, JSON.stringify(card));
    expect((await refusal(b.root)).message).toContain(first);
  });

  it('refuses a card that is not JSON or lists no hashes, with INVALID_INPUT', async () => {
    const a = copyModel();
    fs.writeFileSync(path.join(a.dir, 'model-card.json'), '{ not json');
    const e1 = await refusal(a.root);
    expect(e1.code).toBe('INVALID_INPUT');
    expect(e1.message).toMatch(/not valid JSON/);

    const b = copyModel();
    const cardFile = path.join(b.dir, 'model-card.json');
    const card = JSON.parse(fs.readFileSync(cardFile, 'utf8')) as Record<string, unknown>;
    delete card.files;
    fs.writeFileSync(cardFile, JSON.stringify(card));
    const e2 = await refusal(b.root);
    expect(e2.code).toBe('INVALID_INPUT');
    expect(e2.message).toMatch(/lists no files/);
  });

  it('says NOT_FOUND for a model id that is not installed and INVALID_INPUT for a path-like id', async () => {
    const svc = createInferenceService({ config: { modelsFolder: path.dirname(requireModelDir()), runtime: 'auto' }, logger: silentLogger });
    await expect(svc.loadModel('no-such-model')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(svc.loadModel('../training')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await svc.close();
  });
});
