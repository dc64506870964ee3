// Runtime adapters: one interface over onnxruntime-node and the TensorFlow.js backends (wasm,
// cpu, tfjs-node, tfjs-node-gpu). They run inside pool workers, on bytes already hash-checked.
import { createRequire } from 'node:module';
import path from 'node:path';
import { WorkstationError } from '../../contract/errors';
import type { RuntimeName } from '../../contract';
import type { ModelSpec } from './model-card';
import type * as TfModule from '@tensorflow/tfjs';
import type { Tensor as TfTensor } from '@tensorflow/tfjs';

const require = createRequire(import.meta.url);

/** A runtime the adapters can drive: the contract's four, plus tfjs's pure-JS 'cpu' for tests. */
export type EngineName = RuntimeName | 'tfjs-cpu';

export interface AdapterOptions {
  /** Intra-op threads for this session (the pool divides the cores among its workers). */
  threads: number;
  /** 'cuda' when the runtime was detected with a GPU. */
  device: string;
}

export interface RawOutput {
  /** [n, classes] logits (pre-softmax). */
  logits: Float32Array;
  /** [n, H, W] sigmoid probabilities. */
  mask: Float32Array;
  /** [n, F] the head's input, when the card names that output (null otherwise). */
  features: Float32Array | null;
}

export interface Adapter {
  readonly engine: EngineName;
  /** Threads actually in use (wasm in Node is single-threaded whatever is asked). */
  readonly threads: number;
  run(input: Float32Array, n: number): Promise<RawOutput>;
  dispose(): Promise<void>;
}


/** Splits two outputs into logits (rank 2) and mask (rank 4 or 3), by shape rather than by name. */
function sortOutputs(outs: { shape: readonly number[]; data: Float32Array }[], spec: ModelSpec, n: number, features: Float32Array | null = null): RawOutput {
  const hw = spec.preprocess.height * spec.preprocess.width;
  const logits = outs.find((o) => o.shape.length === 2 && o.shape[1] === spec.classes.length);
  const mask = outs.find((o) => o.shape.length >= 3 && o.data.length === n * hw);
  if (!logits || !mask) {
    throw new WorkstationError('INTERNAL', `The model ${spec.id} produced outputs of an unexpected shape.`, {
      cause: new Error(`outputs: ${outs.map((o) => JSON.stringify(o.shape)).join(', ')}`),
    });
  }
  if (features && features.length !== n * (spec.head?.dim ?? -1)) {
    throw new WorkstationError('INTERNAL', `The model ${spec.id} produced a features output of ${features.length / n} values per image; its card says ${spec.head?.dim}.`);
  }
  return { logits: logits.data, mask: mask.data, features };
}

/** TF.js outputs come in output_layers order: the head's input is the one at the card's index. */
function splitTfjs(res: { shape: readonly number[]; data: Float32Array }[], spec: ModelSpec, n: number): RawOutput {
  const idx = spec.head?.tfjsOutputIndex ?? null;
  if (idx === null || idx >= res.length) return sortOutputs(res, spec, n);
  return sortOutputs(res.filter((_, i) => i !== idx), spec, n, res[idx]!.data);
}

async function onnxAdapter(spec: ModelSpec, files: Map<string, Uint8Array>, opts: AdapterOptions): Promise<Adapter> {
  if (!spec.onnx) throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} ships no ONNX file, so onnxruntime-node cannot run it.`);
  const bytes = files.get(spec.onnx.file);
  if (!bytes) throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} lists ${spec.onnx.file} but its bytes were not loaded.`);
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: opts.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
  });
  const inputName = session.inputNames.includes(spec.onnx.input) ? spec.onnx.input : session.inputNames[0]!;
  const { height: H, width: W } = spec.preprocess;
  return {
    engine: 'onnxruntime-node',
    threads: opts.threads,
    async run(input, n) {
      const x = new ort.Tensor('float32', input, [n, 1, H, W]);
      const res = await session.run({ [inputName]: x });
      // The head's input is taken by the name the card gives it; logits and mask by shape.
      const featName = spec.head?.onnxOutput ?? null;
      const features = featName && res[featName] ? (res[featName].data as Float32Array) : null;
      const outs = Object.entries(res)
        .filter(([name]) => name !== featName)
        .map(([, t]) => ({ shape: t.dims as number[], data: t.data as Float32Array }));
      return sortOutputs(outs, spec, n, features);
    },
    async dispose() {
      await session.release();
    },
  };
}

type Tf = typeof TfModule;

/** Imports TensorFlow.js with the backend an engine needs and returns its API. */
async function loadTf(engine: Exclude<EngineName, 'onnxruntime-node'>, threads: number): Promise<{ tf: Tf; threads: number }> {
  if (engine === 'tfjs-node' || engine === 'tfjs-node-gpu') {
    const pkg = engine === 'tfjs-node' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
    try {
      return { tf: (await import(/* @vite-ignore */ pkg)) as Tf, threads };
    } catch (err) {
      throw new WorkstationError('UNAVAILABLE', `The runtime ${engine} did not load on this machine.`, { cause: err });
    }
  }
  const tf = await import('@tensorflow/tfjs');
  // Production mode: no per-op debug checks, and no console banner suggesting tfjs-node.
  tf.env().set('PROD', true);
  if (engine === 'tfjs-wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // In Node the backend reads its .wasm files from disk: point it at the package's dist folder.
    const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    wasm.setWasmPaths(dist);
    // Threads need SharedArrayBuffer workers, which tfjs enables only in browsers (not in Node):
    // there the pool's workers are the parallelism. Ask for threads only where supported.
    const multi = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    if (multi && threads > 1) wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new WorkstationError('UNAVAILABLE', 'The TensorFlow.js WebAssembly backend did not start.');
    await tf.ready();
    return { tf, threads: multi ? wasm.getThreadsCount() : 1 };
  }
  if (!(await tf.setBackend('cpu'))) throw new WorkstationError('UNAVAILABLE', 'The TensorFlow.js CPU backend did not start.');
  await tf.ready();
  return { tf, threads: 1 };
}

interface TfjsModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: unknown[] }[];
  signature?: unknown;
  userDefinedMetadata?: unknown;
  generatedBy?: string;
  convertedBy?: string | null;
}

async function tfjsAdapter(engine: Exclude<EngineName, 'onnxruntime-node'>, spec: ModelSpec, files: Map<string, Uint8Array>, opts: AdapterOptions): Promise<Adapter> {
  if (!spec.tfjs) throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} ships no TensorFlow.js files, so ${engine} cannot run it.`);
  const jsonBytes = files.get(spec.tfjs.file);
  if (!jsonBytes) throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} lists ${spec.tfjs.file} but its bytes were not loaded.`);
  const { tf, threads } = await loadTf(engine, opts.threads);
  const modelJson = JSON.parse(Buffer.from(jsonBytes).toString('utf8')) as TfjsModelJson;
  const base = path.posix.dirname(spec.tfjs.file.split(path.sep).join('/'));
  const weightSpecs: unknown[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const rel = base === '.' ? p : `${base}/${p}`;
      const b = files.get(rel);
      if (!b) throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} needs ${rel}, which its card does not list with a sha256.`);
      chunks.push(b);
    }
  }
  const total = chunks.reduce((a, c) => a + c.byteLength, 0);
  const weightData = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    weightData.set(c, off);
    off += c.byteLength;
  }
  const artifacts = {
    modelTopology: modelJson.modelTopology as object,
    weightSpecs: weightSpecs as never,
    weightData: weightData.buffer,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy ?? undefined,
    signature: modelJson.signature as object | undefined,
    userDefinedMetadata: modelJson.userDefinedMetadata as Record<string, object> | undefined,
  };
  const handler = { load: async () => artifacts };
  const isGraph = modelJson.format === 'graph-model';
  const { height: H, width: W } = spec.preprocess;
  if (isGraph) {
    const model = await tf.loadGraphModel(handler);
    return {
      engine,
      threads,
      async run(input, n) {
        const x = tf.tensor4d(input, [n, H, W, 1]);
        const out = (await model.executeAsync(x)) as TfTensor | TfTensor[];
        const list = Array.isArray(out) ? out : [out];
        const res = await Promise.all(list.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array })));
        tf.dispose([x, ...list]);
        return splitTfjs(res, spec, n);
      },
      async dispose() {
        model.dispose();
      },
    };
  }
  const model = await tf.loadLayersModel(handler);
  return {
    engine,
    threads,
    async run(input, n) {
      const x = tf.tensor4d(input, [n, H, W, 1]);
      const out = model.predict(x);
      const list = Array.isArray(out) ? out : [out];
      const res = await Promise.all(list.map(async (t) => ({ shape: t.shape, data: (await t.data()) as Float32Array })));
      tf.dispose([x, ...list]);
      return splitTfjs(res, spec, n);
    },
    async dispose() {
      model.dispose();
    },
  };
}

export async function createAdapter(engine: EngineName, spec: ModelSpec, files: Map<string, Uint8Array>, opts: AdapterOptions): Promise<Adapter> {
  if (engine === 'onnxruntime-node') return onnxAdapter(spec, files, opts);
  return tfjsAdapter(engine, spec, files, opts);
}

