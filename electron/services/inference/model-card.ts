// Reads a model folder's model-card.json, checks the sha256 of every file it lists, and turns the
// card into the settings inference needs (classes, preprocessing, calibration, reject rule, files).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract/errors';
import { DEFAULT_PREPROCESS, type PreprocessSpec } from './preprocess';

/** What inference needs from a card, whatever the card's exact layout. */
export interface ModelSpec {
  id: string;
  version: string;
  task: string;
  /** Output classes of the classifier, in output order (may include a reject class such as "other"). */
  classes: string[];
  /** The four reported tumor-study classes (output columns), in this order. */
  reportedClasses: readonly string[];
  /** Classes whose winning means "not recognised" (e.g. "other"). */
  rejectClasses: string[];
  /** Calibrated max probability below which the result is "not recognised". */
  rejectThreshold: number;
  temperature: number;
  /** Sigmoid probability at or above which a pixel is tumor. */
  maskThreshold: number;
  preprocess: PreprocessSpec;
  onnx: { file: string; input: string; logits: string; mask: string } | null;
  tfjs: { file: string; input: string | null; logits: string | null; mask: string | null } | null;
  /**
   * A statically quantized (int8) ONNX file beside the float one, with the card's verdict:
   * `chosen` when its validation accuracy and mask Dice met the card's condition. Same inputs,
   * outputs and head initializers as the float file.
   */
  onnxInt8?: { file: string; chosen: boolean } | null;
  /** Multiply-accumulates per image, when the card states them. */
  macsPerImage: number | null;
  /** The classification head and its input, when the card names them (federated head training). */
  head?: HeadSpec | null;
  /** Every file listed in the card with its expected sha256 (relative paths). */
  files: { path: string; sha256: string }[];
}

/**
 * The card's `head` entry: the named output that carries the head's input (the global average
 * pool of the bottleneck, [N, dim]) and the head's weights in each format, so a new version can
 * replace only them. Absent on models exported before the entry existed.
 */
export interface HeadSpec {
  /** F, the head's input size. */
  dim: number;
  /** Output classes of the head (the model's classes, in order). */
  classes: number;
  onnxOutput: string | null;
  tfjsOutputIndex: number | null;
  /** Initializer names in the ONNX graph; out_in = [classes, F] (Gemm transB), in_out = [F, classes]. */
  onnx: { weight: string; weightLayout: 'out_in' | 'in_out'; bias: string } | null;
  /** Weight names in the TF.js weights manifest. */
  tfjs: { kernel: string; kernelLayout: 'in_out' | 'out_in'; bias: string } | null;
}

export const REPORTED_CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'] as const;
export const TUMOR_CLASSES = ['glioma', 'meningioma', 'pituitary'] as const;

type Json = Record<string, unknown>;

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}
function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}
function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
/** First defined value among dotted paths of a JSON object. */
function pick(o: Json, ...paths: string[]): unknown {
  for (const p of paths) {
    let cur: unknown = o;
    for (const k of p.split('.')) cur = obj(cur)?.[k];
    if (cur !== undefined && cur !== null) return cur;
  }
  return undefined;
}

function cardProblem(dir: string, what: string): WorkstationError {
  return new WorkstationError('INVALID_INPUT', `The model in ${path.basename(dir)} has an unusable model card: ${what}.`, { details: { model: path.basename(dir) } });
}

/** Lists files as [{path, sha256}] from either {"files": {"a": "hex"}} or {"files": [{path, sha256}]}. */
function readFiles(card: Json, dir: string): { path: string; sha256: string }[] {
  const raw = pick(card, 'files', 'sha256', 'hashes');
  const out: { path: string; sha256: string }[] = [];
  if (Array.isArray(raw)) {
    for (const f of raw) {
      const o = obj(f);
      const p = str(o?.path ?? o?.file ?? o?.name);
      const h = str(o?.sha256 ?? o?.hash);
      if (!p || !h) throw cardProblem(dir, 'a file entry has no path or sha256');
      out.push({ path: p, sha256: h.toLowerCase() });
    }
  } else if (obj(raw)) {
    for (const [p, v] of Object.entries(obj(raw)!)) {
      const h = str(v) ?? str(obj(v)?.sha256);
      if (!h) throw cardProblem(dir, `the file ${p} has no sha256`);
      out.push({ path: p, sha256: h.toLowerCase() });
    }
  }
  if (out.length === 0) throw cardProblem(dir, 'it lists no files with their sha256');
  for (const f of out) {
    if (path.isAbsolute(f.path) || f.path.split(/[\\/]/).includes('..')) throw cardProblem(dir, `the file path ${f.path} leaves the model folder`);
    if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw cardProblem(dir, `the sha256 of ${f.path} is not 64 hex digits`);
  }
  return out;
}

function layout(v: unknown, dir: string, what: string): 'out_in' | 'in_out' {
  if (v === 'out_in' || v === 'in_out') return v;
  throw cardProblem(dir, `its head's ${what} layout is neither out_in nor in_out`);
}

function readHead(card: Json, classes: number, dir: string): HeadSpec | null {
  const h = obj(card.head);
  if (!h) return null;
  const feat = obj(h.features) ?? {};
  const dim = num(feat.dim);
  if (dim === null || !Number.isInteger(dim) || dim <= 0 || dim > 1_000_000) throw cardProblem(dir, "its head entry has no valid features.dim");
  const n = num(h.classes) ?? classes;
  if (n !== classes) throw cardProblem(dir, `its head has ${n} classes but the card lists ${classes}`);
  const o = obj(h.onnx);
  const t = obj(h.tfjs);
  const idx = num(feat.tfjs_output_index);
  return {
    dim,
    classes: n,
    onnxOutput: str(feat.onnx_output),
    tfjsOutputIndex: idx !== null && Number.isInteger(idx) && idx >= 0 ? idx : null,
    onnx: o && str(o.weight) && str(o.bias) ? { weight: str(o.weight)!, weightLayout: layout(o.weight_layout ?? 'out_in', dir, 'ONNX weight'), bias: str(o.bias)! } : null,
    tfjs: t && str(t.kernel) && str(t.bias) ? { kernel: str(t.kernel)!, kernelLayout: layout(t.kernel_layout ?? 'in_out', dir, 'TF.js kernel'), bias: str(t.bias)! } : null,
  };
}

/** Interprets a parsed model-card.json. Throws INVALID_INPUT naming what is missing. */
export function parseModelCard(card: Json, dir: string): ModelSpec {
  const id = str(card.id) ?? path.basename(dir);
  const version = str(card.version) ?? (num(card.version) !== null ? String(card.version) : null);
  if (!version) throw cardProblem(dir, 'it has no version');
  const classesRaw = pick(card, 'classes', 'class_names', 'classNames', 'labels', 'output.classes');
  if (!Array.isArray(classesRaw) || classesRaw.some((c) => typeof c !== 'string')) throw cardProblem(dir, 'it has no list of class names');
  const classes = classesRaw as string[];
  for (const c of REPORTED_CLASSES) if (!classes.includes(c)) throw cardProblem(dir, `its classes do not include "${c}"`);

  const input = obj(card.input) ?? {};
  // Sizes may sit on the input block and the intensity settings in input.preprocessing, or flat.
  const pre = { ...input, ...(obj(pick(card, 'preprocessing', 'preprocess', 'input.preprocessing')) ?? {}) };
  const size = pick(pre, 'size', 'input_size', 'shape');
  let height = num(pick(pre, 'height', 'h')) ?? (typeof size === 'number' ? size : Array.isArray(size) ? num(size[size.length - 2]) ?? num(size[0]) : null);
  let width = num(pick(pre, 'width', 'w')) ?? (typeof size === 'number' ? size : Array.isArray(size) ? num(size[size.length - 1]) ?? num(size[1]) : null);
  if (Array.isArray(size) && size.length === 2) {
    height = num(size[0]);
    width = num(size[1]);
  }
  const pLow = num(pick(pre, 'percentile_low', 'percentileLow', 'p_lo', 'intensity.percentile_low', 'normalisation.p_lo', 'normalization.p_lo', 'normalisation.percentile_low', 'normalization.percentile_low'));
  const pHigh = num(pick(pre, 'percentile_high', 'percentileHigh', 'p_hi', 'intensity.percentile_high', 'normalisation.p_hi', 'normalization.p_hi', 'normalisation.percentile_high', 'normalization.percentile_high'));
  const lumaRaw = pick(pre, 'luma', 'luma_weights', 'grey.weights', 'gray.weights', 'grey_weights', 'gray_weights');
  const luma = Array.isArray(lumaRaw) && lumaRaw.length === 3 && lumaRaw.every((x) => typeof x === 'number') ? (lumaRaw as [number, number, number]) : DEFAULT_PREPROCESS.lumaWeights;
  const preprocess: PreprocessSpec = {
    height: height ?? DEFAULT_PREPROCESS.height,
    width: width ?? DEFAULT_PREPROCESS.width,
    percentileLow: pLow ?? DEFAULT_PREPROCESS.percentileLow,
    percentileHigh: pHigh ?? DEFAULT_PREPROCESS.percentileHigh,
    lumaWeights: luma,
  };

  const temperature = num(pick(card, 'calibration.temperature', 'temperature', 'postprocessing.temperature')) ?? 1;
  if (temperature <= 0) throw cardProblem(dir, 'its calibration temperature is not positive');
  const rejectRaw = pick(card, 'reject.classes', 'reject.class', 'rejection.classes', 'postprocessing.reject_classes', 'reject_class');
  const rejectIndex = num(pick(card, 'not_recognised_index', 'reject.index', 'reject_index'));
  const defaultReject = rejectIndex !== null && classes[rejectIndex] ? [classes[rejectIndex]] : classes.filter((c) => c === 'other');
  const rejectClasses = (Array.isArray(rejectRaw) ? rejectRaw : typeof rejectRaw === 'string' ? [rejectRaw] : defaultReject).filter(
    (c): c is string => typeof c === 'string' && classes.includes(c),
  );
  const rejectThreshold = num(pick(card, 'reject.threshold', 'reject.min_confidence', 'reject.min_probability', 'rejection.threshold', 'postprocessing.reject_threshold', 'reject_threshold')) ?? 0;
  const maskThreshold = num(pick(card, 'mask.threshold', 'segmentation.threshold', 'postprocessing.mask_threshold', 'mask_threshold', 'outputs.mask.threshold')) ?? 0.5;

  const files = readFiles(card, dir);
  const fmt = obj(pick(card, 'formats', 'exports', 'runtimes')) ?? {};
  const onnxO = obj(fmt.onnx);
  const onnxFile = str(onnxO?.file ?? onnxO?.path) ?? files.find((f) => f.path.endsWith('.onnx'))?.path ?? null;
  const tfjsO = obj(fmt.tfjs ?? fmt['tensorflowjs'] ?? fmt['tfjs-layers'] ?? fmt['tfjs-graph']);
  const tfjsFile = str(tfjsO?.file ?? tfjsO?.path ?? tfjsO?.model) ?? files.find((f) => f.path.endsWith('model.json'))?.path ?? null;
  const outputs = (o: Json | null, key: 'logits' | 'mask'): string | null =>
    str(pick(o ?? {}, `outputs.${key}`, `output_names.${key}`, key === 'logits' ? 'logits_output' : 'mask_output')) ??
    (Array.isArray(o?.outputs) ? str((o.outputs as unknown[])[key === 'logits' ? 0 : 1]) : null);
  const onnx = onnxFile
    ? {
        file: onnxFile,
        input: str(pick(onnxO ?? {}, 'input', 'input_name')) ?? (Array.isArray(onnxO?.inputs) ? str((onnxO.inputs as unknown[])[0]) : null) ?? str(pick(card, 'input.onnx.name')) ?? 'input',
        logits: outputs(onnxO, 'logits') ?? str(pick(card, 'outputs.logits.onnx_name')) ?? 'logits',
        mask: outputs(onnxO, 'mask') ?? str(pick(card, 'outputs.mask.onnx_name')) ?? 'mask',
      }
    : null;
  const tfjs = tfjsFile
    ? {
        file: tfjsFile,
        input: str(pick(tfjsO ?? {}, 'input', 'input_name')) ?? (Array.isArray(tfjsO?.inputs) ? str((tfjsO.inputs as unknown[])[0]) : null) ?? str(pick(card, 'input.tfjs.name')),
        logits: outputs(tfjsO, 'logits'),
        mask: outputs(tfjsO, 'mask'),
      }
    : null;
  if (!onnx && !tfjs) throw cardProblem(dir, 'it names neither an ONNX nor a TensorFlow.js model file');
  // The int8 file counts only when the card lists it with its sha256 (so its bytes are verified).
  const int8O = obj(card.int8);
  const int8File = str(int8O?.file);
  const onnxInt8 = onnx && int8File && files.some((f) => f.path === int8File) ? { file: int8File, chosen: int8O?.chosen === true } : null;
  const macsPerImage = num(pick(card, 'compute.macs', 'compute.macs_per_image', 'macs', 'macs_per_image', 'architecture.macs', 'model.macs', 'model.macs_per_image'));
  return {
    id,
    version,
    task: str(card.task) ?? 'classification+segmentation',
    classes,
    reportedClasses: REPORTED_CLASSES,
    rejectClasses,
    rejectThreshold,
    temperature,
    maskThreshold,
    preprocess,
    onnx,
    tfjs,
    onnxInt8,
    macsPerImage,
    head: readHead(card, classes.length, dir),
    files,
  };
}

export function readCardJson(dir: string): Json {
  const file = path.join(dir, 'model-card.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `The model folder ${path.basename(dir)} has no model-card.json.`, { cause: err });
  }
  try {
    const card = obj(JSON.parse(text));
    if (!card) throw new Error('not an object');
    return card;
  } catch (err) {
    throw new WorkstationError('INVALID_INPUT', `The model card of ${path.basename(dir)} is not valid JSON.`, { cause: err });
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Reads every file the card lists, checks its sha256 and returns the verified bytes, so what
 * runs is exactly what was checked (no second read after the check). Refuses a mismatch.
 */
export async function readVerifiedFiles(dir: string, spec: ModelSpec): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const f of spec.files) {
    const full = path.join(dir, f.path);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(full);
    } catch (err) {
      throw new WorkstationError('UNAVAILABLE', `The model ${spec.id} ${spec.version} is incomplete: its file ${f.path} is missing. Reinstall the model.`, {
        cause: err,
        details: { model: spec.id, file: f.path },
      });
    }
    const actual = crypto.createHash('sha256').update(bytes).digest('hex');
    if (actual !== f.sha256) {
      throw new WorkstationError(
        'UNAVAILABLE',
        `The model ${spec.id} ${spec.version} was refused: its file ${f.path} does not match the sha256 in its model card (the file was changed or damaged). Reinstall the model.`,
        { cause: new Error(`sha256 mismatch for ${full}: expected ${f.sha256}, got ${actual}`), details: { model: spec.id, file: f.path } },
      );
    }
    out.set(f.path, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return out;
}
