// The inference service: finds installed models, verifies their hashes, keeps a worker pool per
// (model, runtime) and scores images with progress and cancellation. Built by the composition root.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkstationError, type ImageResult, type InferenceStatus, type ModelClaims, type ModelSummary, type RuntimeChoice, type RuntimeInfo, type RuntimeName, type RuntimePreference } from '../../contract';
import type { WorkstationConfig } from '../config';
import type { Logger } from '../log';
import type { EngineName } from './adapters';
import { parseModelCard, readCardJson, readVerifiedFiles, type ModelSpec } from './model-card';
import { WorkerPool, type RunPriority } from './pool';
import type { InferenceInput, WorkerOutcome } from './protocol';
import { detectGpu, detectRuntimes, pickRuntime } from './runtimes';

export const DEFAULT_MODEL_ID = 'tumornet';

/** What a card claims about where the model holds: its headline figure, validated sequences, licence. */
function cardClaims(card: Record<string, unknown>): Pick<ModelSummary, 'headline' | 'validatedSequences' | 'licenseNotice'> {
  const out: Pick<ModelSummary, 'headline' | 'validatedSequences' | 'licenseNotice'> = {};
  const metrics = card.metrics && typeof card.metrics === 'object' ? (card.metrics as Record<string, unknown>) : {};
  const h = metrics.headline as Record<string, unknown> | null | undefined;
  if (h && typeof h.accuracy === 'number' && typeof h.n === 'number' && typeof h.figure === 'string') {
    out.headline = { figure: h.figure, accuracy: h.accuracy, n: Math.round(h.n), ...(typeof h.description === 'string' ? { description: h.description } : {}) };
  }
  if (Array.isArray(card.validated_sequences) && card.validated_sequences.every((x) => typeof x === 'string')) out.validatedSequences = card.validated_sequences as string[];
  if (typeof card.license_notice === 'string') out.licenseNotice = card.license_notice;
  return out;
}

/** A scored image with its mask pixels (0/255, width x height), or why it could not be scored. */
export type ImageOutcome =
  | { id: string; ok: true; result: ImageResult; mask: Uint8Array | null; logits: number[]; probMap?: Float32Array | undefined; features?: Float32Array | undefined }
  | { id: string; ok: false; error: { code: string; message: string; reason: string } };

export interface ClassifyOptions {
  modelId?: string;
  /** Overrides the active runtime for this call (tests and the bench compare runtimes). */
  runtime?: EngineName;
  batchSize?: number;
  signal?: AbortSignal;
  /** Return the 0/255 mask pixels (otherwise only the area). */
  wantMask?: boolean;
  /** Return the raw [H*W] mask probabilities too (parity tests). */
  wantProbMaps?: boolean;
  /** Return the head's input [F] per image (the card's head entry names it; federated training). */
  wantFeatures?: boolean;
  onProgress?: (p: { done: number; total: number; failed: number }) => void;
  onOutcome?: (o: ImageOutcome) => void;
  /** 'background' for the scoring of arriving studies: any interactive call goes ahead (pool.ts). */
  priority?: RunPriority;
}

export interface LoadedModel {
  spec: ModelSpec;
  dir: string;
  files: Map<string, Uint8Array>;
}

export interface InferenceService {
  runtimes(): RuntimeInfo[];
  activeRuntime(): RuntimeName | null;
  /** Which runtime is asked for, by whom, and why it is not in use when it is not. */
  runtimeChoice(): RuntimeChoice;
  /** Throws UNAVAILABLE, with the detection's reason, when a runtime cannot be used here. */
  checkRuntime(name: RuntimePreference): void;
  /**
   * The admin's stored setting: re-picks the active runtime without a restart, from the next
   * classify on. Refuses an unavailable runtime (UNAVAILABLE) unless fallBack, which keeps the
   * setting but uses the fastest available runtime meanwhile (a stored setting read at start).
   */
  setPreferredRuntime(name: RuntimePreference, options?: { fallBack?: boolean }): void;
  gpu(): { found: boolean; detail: string };
  status(): InferenceStatus;
  listModels(): Promise<ModelSummary[]>;
  /** What an installed model's card claims (headline figure, validated sequences); null when not installed or unreadable. */
  modelClaims(modelId: string): ModelClaims | null;
  /** Reads, verifies (sha256) and caches a model; refuses a mismatch. */
  loadModel(modelId?: string): Promise<LoadedModel>;
  /** Starts the workers for a model and runtime ahead of the first request. */
  warmUp(options?: { modelId?: string; runtime?: EngineName }): Promise<void>;
  classify(inputs: InferenceInput[], options?: ClassifyOptions): Promise<ImageOutcome[]>;
  close(): Promise<void>;
}

export interface InferenceServiceOptions {
  config: Pick<WorkstationConfig, 'modelsFolder' | 'runtime' | 'runtimeFrom'>;
  logger: Logger;
  /** Workers in the pool; defaults to the number of cores. */
  poolSize?: number;
  /** Intra-op threads per worker; defaults to cores / poolSize (at least 1). */
  threadsPerWorker?: number;
  defaultBatchSize?: number;
  /**
   * ONNX precision: 'auto' (default) runs the card's int8 file when the card chose it (its
   * validation accuracy and mask Dice met the card's condition), 'float' always the float file,
   * 'int8' the int8 file whenever there is one (the bench compares the two).
   */
  precision?: 'auto' | 'float' | 'int8';
}

function cores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function createInferenceService(options: InferenceServiceOptions): InferenceService {
  const { config, logger } = options;
  const runtimes = detectRuntimes();
  const gpu = detectGpu();
  // Precedence: a runtime named in the start configuration (--runtime flag or
  // TUMORPREDICT_RUNTIME) wins over the admin's stored setting, which wins over 'auto'. The
  // setting arrives through setPreferredRuntime once the database is open.
  const forced = config.runtime !== 'auto';
  let setting: RuntimePreference = 'auto';
  let settingProblem: string | null = null;
  let active = pickRuntime(runtimes, config.runtime);
  if (forced && !active) {
    const info = runtimes.find((r) => r.name === config.runtime);
    logger.warn('inference.runtime.unavailable', { wanted: config.runtime, reason: info?.reason });
  }
  const poolSize = Math.max(1, options.poolSize ?? cores());
  const threadsPerWorker = Math.max(1, options.threadsPerWorker ?? Math.floor(cores() / poolSize));
  const defaultBatch = options.defaultBatchSize ?? 8;
  const precision = options.precision ?? 'auto';
  /** The ONNX file onnxruntime-node runs for `spec` under the precision option. */
  const onnxFileFor = (spec: ModelSpec): string | undefined => {
    const int8 = spec.onnxInt8;
    if (int8 && (precision === 'int8' || (precision === 'auto' && int8.chosen))) return int8.file;
    return spec.onnx?.file;
  };
  const models = new Map<string, Promise<LoadedModel>>();
  const pools = new Map<string, { pool: WorkerPool; modelId: string; engine: EngineName }>();
  let closed = false;

  function modelDirs(): string[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(config.modelsFolder, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(config.modelsFolder, e.name, 'model-card.json')))
      .map((e) => path.join(config.modelsFolder, e.name))
      .sort();
  }

  function defaultModelId(): string | null {
    const dirs = modelDirs().map((d) => path.basename(d));
    return dirs.includes(DEFAULT_MODEL_ID) ? DEFAULT_MODEL_ID : (dirs[0] ?? null);
  }

  function modelDir(id: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith('.')) throw new WorkstationError('INVALID_INPUT', `"${id.slice(0, 64)}" is not a valid model id.`);
    const dir = path.join(config.modelsFolder, id);
    if (!fs.existsSync(path.join(dir, 'model-card.json'))) {
      throw new WorkstationError('NOT_FOUND', `No model "${id}" is installed (looked in ${config.modelsFolder}).`, { details: { model: id } });
    }
    return dir;
  }

  function loadModel(modelId?: string): Promise<LoadedModel> {
    const id = modelId ?? defaultModelId();
    if (!id) return Promise.reject(new WorkstationError('NOT_FOUND', `No model is installed (looked in ${config.modelsFolder}).`));
    let p = models.get(id);
    if (!p) {
      p = (async () => {
        const dir = modelDir(id);
        const spec = parseModelCard(readCardJson(dir), dir);
        const files = await readVerifiedFiles(dir, spec);
        logger.info('inference.model.verified', { model: spec.id, version: spec.version, files: spec.files.length });
        return { spec, dir, files };
      })();
      models.set(id, p);
      // A refused model is not cached: fixing the files and retrying must work without a restart.
      p.catch((err: unknown) => {
        models.delete(id);
        logger.warn('inference.model.refused', { model: id, err });
      });
    }
    return p;
  }

  function unavailableReason(name: RuntimeName): string | null {
    const info = runtimes.find((r) => r.name === name);
    if (!info) return 'it is not a known runtime';
    return info.available ? null : (info.reason ?? 'it did not load on this machine');
  }

  function checkRuntime(name: RuntimePreference): void {
    if (name === 'auto') return;
    const reason = unavailableReason(name);
    if (reason) throw new WorkstationError('UNAVAILABLE', `The runtime ${name} is not available on this machine: ${reason}`, { details: { runtime: name } });
  }

  function engineFor(override?: EngineName): EngineName {
    if (override) {
      if (override !== 'tfjs-cpu') {
        const info = runtimes.find((r) => r.name === override);
        if (!info?.available) throw new WorkstationError('UNAVAILABLE', `The runtime ${override} is not available on this machine: ${info?.reason ?? 'unknown runtime'}`);
      }
      return override;
    }
    if (!active) {
      if (config.runtime !== 'auto') {
        const reason = runtimes.find((r) => r.name === config.runtime)?.reason ?? 'it is not a known runtime';
        throw new WorkstationError('UNAVAILABLE', `The runtime ${config.runtime} was asked for (setting or --runtime) but is not available here: ${reason}`);
      }
      throw new WorkstationError('UNAVAILABLE', `No inference runtime loads on this machine: ${runtimes.map((r) => `${r.name}: ${r.reason ?? '?'}`).join(' ')}`);
    }
    return active;
  }

  async function poolFor(modelId: string | undefined, override?: EngineName): Promise<{ pool: WorkerPool; model: LoadedModel }> {
    if (closed) throw new WorkstationError('UNAVAILABLE', 'The inference service has been shut down.');
    const engine = engineFor(override);
    const model = await loadModel(modelId);
    const key = `${model.spec.id}|${engine}`;
    let entry = pools.get(key);
    if (!entry) {
      const device = runtimes.find((r) => r.name === engine)?.device ?? 'cpu';
      // Each worker gets only the verified bytes its runtime reads (ONNX, or the TF.js files).
      const tfjsDir = path.posix.dirname(model.spec.tfjs?.file ?? '.');
      const onnxFile = onnxFileFor(model.spec);
      const wanted = (f: string): boolean =>
        engine === 'onnxruntime-node' ? f === onnxFile : !f.endsWith('.onnx') && (tfjsDir === '.' || f.startsWith(tfjsDir + '/'));
      const files = new Map([...model.files].filter(([f]) => wanted(f)));
      // The worker reads the file its spec names: the int8 one when it is the one to run.
      const spec = engine === 'onnxruntime-node' && model.spec.onnx && onnxFile ? { ...model.spec, onnx: { ...model.spec.onnx, file: onnxFile } } : model.spec;
      if (onnxFile !== model.spec.onnx?.file && engine === 'onnxruntime-node') logger.info('inference.int8', { model: model.spec.id, file: onnxFile, precision });
      const pool = new WorkerPool({ engine, device, size: poolSize, threadsPerWorker, spec, files, logger });
      entry = { pool, modelId: model.spec.id, engine };
      pools.set(key, entry);
    }
    try {
      await entry.pool.start();
    } catch (err) {
      pools.delete(key);
      await entry.pool.close();
      throw err;
    }
    return { pool: entry.pool, model };
  }

  function toOutcome(o: WorkerOutcome, model: LoadedModel, engine: EngineName, probMap?: Float32Array): ImageOutcome {
    if (!o.ok) return o;
    return {
      id: o.id,
      ok: true,
      result: {
        id: o.id,
        modelId: model.spec.id,
        modelVersion: model.spec.version,
        runtime: engine,
        width: o.width,
        height: o.height,
        probabilities: o.probabilities,
        label: o.label,
        confidence: o.confidence,
        mask: { areaPx: o.maskAreaPx, areaMm2: o.maskAreaMm2, threshold: model.spec.maskThreshold },
        ms: o.ms,
      },
      mask: o.mask,
      logits: o.logits,
      ...(probMap ? { probMap } : {}),
      ...(o.features ? { features: o.features } : {}),
    };
  }

  return {
    runtimes: () => runtimes,
    activeRuntime: () => active,
    runtimeChoice() {
      if (forced) {
        const reason = active ? null : unavailableReason(config.runtime as RuntimeName);
        return { wanted: config.runtime, source: config.runtimeFrom ?? 'flag', setting, ...(reason ? { problem: `${config.runtime} is not available here: ${reason}` } : {}) };
      }
      return { wanted: setting, source: setting === 'auto' ? 'default' : 'setting', setting, ...(settingProblem ? { problem: settingProblem } : {}) };
    },
    checkRuntime,
    setPreferredRuntime(name, opts = {}) {
      let problem: string | null = null;
      try {
        checkRuntime(name);
      } catch (err) {
        if (!opts.fallBack || !(err instanceof WorkstationError)) throw err;
        problem = `${err.message} The fastest available runtime is used instead.`;
      }
      setting = name;
      settingProblem = problem;
      if (forced) return;
      const before = active;
      active = pickRuntime(runtimes, problem ? 'auto' : name);
      // Pools of the previous runtime are left running (closed with the service): a study or
      // research run may still hold one, and switching back then costs no model load. New
      // classify calls take the new runtime's pool, made on first use.
      if (before !== active) logger.info('inference.runtime.changed', { from: before, to: active, setting: name });
      if (problem) logger.warn('inference.runtime.setting-unavailable', { wanted: name, reason: unavailableReason(name as RuntimeName) });
    },
    gpu: () => gpu,
    status() {
      return {
        runtimes,
        activeRuntime: active,
        poolSize,
        threadsPerWorker,
        defaultModel: defaultModelId(),
        loaded: [...pools.values()].map((e) => ({ modelId: e.modelId, runtime: e.engine, workers: e.pool.size })),
        busy: [...pools.values()].some((e) => e.pool.busy),
      };
    },
    modelClaims(modelId: string): ModelClaims | null {
      try {
        return cardClaims(readCardJson(modelDir(modelId)));
      } catch {
        return null;
      }
    },
    async listModels() {
      const out: ModelSummary[] = [];
      for (const dir of modelDirs()) {
        const id = path.basename(dir);
        let card: Record<string, unknown> = {};
        try {
          card = readCardJson(dir);
          const spec = parseModelCard(card, dir);
          const base = {
            id: spec.id,
            version: spec.version,
            task: spec.task,
            classes: spec.classes,
            inputSize: [spec.preprocess.height, spec.preprocess.width] as [number, number],
            temperature: spec.temperature,
            formats: [...(spec.onnx ? ['onnx' as const] : []), ...(spec.tfjs ? ['tfjs' as const] : [])],
            ...(card.metrics && typeof card.metrics === 'object' ? { metrics: card.metrics as Record<string, unknown> } : {}),
            ...cardClaims(card),
            ...(typeof card.intended_use === 'string' ? { intendedUse: card.intended_use } : typeof card.intendedUse === 'string' ? { intendedUse: card.intendedUse } : {}),
          };
          try {
            await loadModel(id);
            out.push({ ...base, verified: true });
          } catch (err) {
            out.push({ ...base, verified: false, problem: err instanceof WorkstationError ? err.message : 'The model could not be read.' });
          }
        } catch (err) {
          out.push({
            id,
            version: typeof card.version === 'string' ? card.version : '?',
            task: '?',
            classes: [],
            inputSize: [0, 0],
            temperature: 1,
            formats: [],
            verified: false,
            problem: err instanceof WorkstationError ? err.message : 'The model card could not be read.',
          });
        }
      }
      return out;
    },
    loadModel,
    async warmUp(opts) {
      await poolFor(opts?.modelId, opts?.runtime);
    },
    async classify(inputs, opts = {}) {
      const { pool, model } = await poolFor(opts.modelId, opts.runtime);
      const engine = pool.engine;
      const t0 = performance.now();
      const { outcomes, probMaps } = await pool.run(inputs, {
        batchSize: opts.batchSize ?? defaultBatch,
        signal: opts.signal,
        priority: opts.priority,
        wantMask: !!opts.wantMask,
        wantProbMaps: !!opts.wantProbMaps,
        wantFeatures: !!opts.wantFeatures,
        onProgress: opts.onProgress,
        onOutcome: opts.onOutcome ? (o, pm) => opts.onOutcome!(toOutcome(o, model, engine, pm)) : undefined,
      });
      const failed = outcomes.filter((o) => !o.ok).length;
      logger.info('inference.classified', { model: model.spec.id, runtime: engine, images: inputs.length, failed, ms: Math.round(performance.now() - t0) });
      return outcomes.map((o, i) => toOutcome(o, model, engine, probMaps?.[i]));
    },
    async close() {
      closed = true;
      await Promise.all([...pools.values()].map((e) => e.pool.close()));
      pools.clear();
    },
  };
}
