// Shared helpers for the inference tests: where the shipped model, its golden vectors, the MRI
// data set and Fashion-MNIST live, with failures that say what to install or run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { appRoot } from '../services/config';

const TRAIN_HINT = 'Build it with: /usr/bin/python3 native-models/training/train.py (see native-models/training/).';

export function modelsRoot(): string {
  return process.env.TUMORPREDICT_MODELS ? path.resolve(process.env.TUMORPREDICT_MODELS) : path.join(appRoot(), 'native-models');
}

export function requireModelDir(id = 'tumornet'): string {
  const dir = path.join(modelsRoot(), id);
  if (!fs.existsSync(path.join(dir, 'model-card.json'))) throw new Error(`The shipped model ${dir} is missing (no model-card.json). ${TRAIN_HINT}`);
  return dir;
}

export function goldenDir(): string {
  return process.env.TUMORPREDICT_GOLDEN ? path.resolve(process.env.TUMORPREDICT_GOLDEN) : path.join(appRoot(), 'native-models', 'training', 'golden');
}

/** The models the repository ships, with the file of golden PyTorch outputs each was exported with. */
export const SHIPPED_MODELS = [
  { id: 'tumornet', version: '1.0.0', golden: 'tumornet-1.0.0-outputs.json' },
  { id: 'tumornet-v2', version: '2.1.0', golden: 'outputs.json' },
] as const;

export function readGolden<T>(name: 'preprocess.json' | 'outputs.json' | 'tumornet-1.0.0-outputs.json'): T {
  const file = path.join(goldenDir(), name);
  if (!fs.existsSync(file)) throw new Error(`Golden vectors ${file} are missing; the training pipeline writes them. ${TRAIN_HINT}`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function b64ToF32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** The real MRI data set beside the clone (CI: ../shared/datasets). */
export function datasetsRoot(): string {
  const dir = path.resolve(appRoot(), '../shared/datasets');
  if (!fs.existsSync(path.join(dir, 'brain-tumor-mri'))) {
    throw new Error(`The MRI data set is missing: expected ${dir}/brain-tumor-mri (the shared datasets folder beside the clone; see its README).`);
  }
  return dir;
}

/** The first `n` images of a class folder of brain-tumor-mri, as absolute paths. */
export function mriImages(cls: string, n: number): string[] {
  const dir = path.join(datasetsRoot(), 'brain-tumor-mri', cls);
  return fs
    .readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .slice(0, n)
    .map((f) => path.join(dir, f));
}

/** Fashion-MNIST test images from Debian's dataset-fashion-mnist (idx3-ubyte, gzip). */
export function fashionMnist(n: number): { width: number; height: number; pixels: Uint8Array[] } {
  let files: string[];
  try {
    files = execFileSync('dpkg', ['-L', 'dataset-fashion-mnist'], { encoding: 'utf8' }).split('\n');
  } catch (err) {
    throw new Error(`Fashion-MNIST is missing: apt-get install dataset-fashion-mnist (${(err as Error).message.split('\n')[0]})`);
  }
  const file = files.find((f) => f.endsWith('t10k-images-idx3-ubyte.gz'));
  if (!file || !fs.existsSync(file)) throw new Error('Fashion-MNIST test images not found: apt-get install dataset-fashion-mnist');
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  // idx3: magic 0x00000803, count, rows, cols (big-endian u32), then count*rows*cols bytes.
  if (raw.readUInt32BE(0) !== 0x803) throw new Error(`${file} is not an idx3-ubyte file`);
  const count = raw.readUInt32BE(4);
  const height = raw.readUInt32BE(8);
  const width = raw.readUInt32BE(12);
  const pixels: Uint8Array[] = [];
  for (let i = 0; i < Math.min(n, count); i++) pixels.push(new Uint8Array(raw.subarray(16 + i * width * height, 16 + (i + 1) * width * height)));
  return { width, height, pixels };
}
