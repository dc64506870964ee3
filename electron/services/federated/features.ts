// Features for head training: the head's input for each labelled image of a data set, taken from
// the model's `features` output with onnxruntime (in the inference pool's workers) and cached in
// the encrypted database per backbone (the model's ONNX bytes with the head zeroed), so every
// round and every head version of the same backbone reuses them.
import { WorkstationError } from '../../contract';
import type { InferenceService, LoadedModel } from '../inference';
import type { Db } from '../store';
import { backboneHash } from './model-head';
import type { FeatureSet } from './train-head';

export interface LabelledItem {
  /** Content sha256 (the cache key with the backbone). */
  sha256: string;
  file: string;
  label: string | null;
}

export interface ExtractedFeatures {
  data: FeatureSet;
  /** Images per class among those used. */
  classCounts: Record<string, number>;
  /** sha256 of each row of `data`, in order (for splits; never leaves the workstation). */
  keys: string[];
  skipped: { unlabelled: number; otherLabel: number; unreadable: number };
  cached: number;
  extracted: number;
  ms: number;
}

export interface FeatureProgress {
  done: number;
  total: number;
  cached: number;
}

const backbones = new WeakMap<LoadedModel, string>();

export function modelBackbone(model: LoadedModel): string {
  let b = backbones.get(model);
  if (!b) {
    if (!model.spec.head || !model.spec.onnx) {
      throw new WorkstationError('CONFLICT', `The model ${model.spec.id} ${model.spec.version} does not name its classification head's input in its card, so no features can be taken from it.`);
    }
    b = backboneHash(model.files.get(model.spec.onnx.file)!, model.spec.head);
    backbones.set(model, b);
  }
  return b;
}

function toBlob(v: Float32Array): Buffer {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i]!, i * 4);
  return b;
}

/**
 * Features and labels of the items whose label is one of the model's reported classes. Missing
 * features are extracted (onnxruntime, batches of 16) and stored as each batch completes, so a
 * cancelled extraction keeps what it did.
 */
export async function extractFeatures(
  deps: { db: () => Db; inference: InferenceService },
  model: LoadedModel,
  items: readonly LabelledItem[],
  opts: { signal?: AbortSignal | undefined; onProgress?: ((p: FeatureProgress) => void) | undefined; batchSize?: number } = {},
): Promise<ExtractedFeatures> {
  const t0 = performance.now();
  const { spec } = model;
  const F = spec.head?.dim ?? 0;
  const backbone = modelBackbone(model);
  const reported = new Set(spec.reportedClasses);
  const skipped = { unlabelled: 0, otherLabel: 0, unreadable: 0 };
  const wanted: LabelledItem[] = [];
  const seen = new Set<string>();
  for (const it of items) {
    if (it.label === null) skipped.unlabelled++;
    else if (!reported.has(it.label)) skipped.otherLabel++;
    else if (!seen.has(it.sha256)) {
      seen.add(it.sha256);
      wanted.push(it);
    }
  }
  const db = deps.db();
  const get = db.prepare('SELECT dim, features FROM federation_features WHERE backbone = ? AND item_sha256 = ?');
  const put = db.prepare('INSERT OR REPLACE INTO federation_features (backbone, item_sha256, dim, features) VALUES (?, ?, ?, ?)');
  const found = new Map<string, Float32Array>();
  for (const it of wanted) {
    const row = get.get(backbone, it.sha256) as { dim: number; features: Buffer } | undefined;
    if (row && row.dim === F && row.features.length === F * 4) {
      const v = new Float32Array(F);
      for (let i = 0; i < F; i++) v[i] = row.features.readFloatLE(i * 4);
      found.set(it.sha256, v);
    }
  }
  const cached = found.size;
  const missing = wanted.filter((it) => !found.has(it.sha256));
  opts.onProgress?.({ done: cached, total: wanted.length, cached });
  let pending: { sha: string; v: Float32Array }[] = [];
  const flush = db.transaction((rows: { sha: string; v: Float32Array }[]) => {
    for (const r of rows) put.run(backbone, r.sha, F, toBlob(r.v));
  });
  if (missing.length > 0) {
    const bySha = new Map(missing.map((m) => [m.sha256, m]));
    await deps.inference.classify(
      missing.map((m) => ({ id: m.sha256, source: { kind: 'file' as const, path: m.file } })),
      {
        modelId: spec.id,
        runtime: 'onnxruntime-node',
        wantFeatures: true,
        batchSize: opts.batchSize ?? 16,
        signal: opts.signal,
        onOutcome: (o) => {
          // Unreadable images are left out (counted); the head entry was checked above.
          if (o.ok && o.features && bySha.has(o.id)) {
            found.set(o.id, o.features);
            pending.push({ sha: o.id, v: o.features });
          }
        },
        onProgress: (p) => {
          if (pending.length > 0) {
            flush(pending);
            pending = [];
          }
          opts.onProgress?.({ done: cached + p.done, total: wanted.length, cached });
        },
      },
    );
    if (pending.length > 0) flush(pending);
  }
  const used = wanted.filter((it) => found.has(it.sha256));
  skipped.unreadable = wanted.length - used.length;
  const x = new Float32Array(used.length * F);
  const y = new Int32Array(used.length);
  const classCounts: Record<string, number> = {};
  used.forEach((it, i) => {
    x.set(found.get(it.sha256)!, i * F);
    y[i] = spec.classes.indexOf(it.label!);
    classCounts[it.label!] = (classCounts[it.label!] ?? 0) + 1;
  });
  return { data: { x, y, n: used.length, dim: F }, classCounts, keys: used.map((u) => u.sha256), skipped, cached, extracted: used.length - cached, ms: performance.now() - t0 };
}

/** Rows of a feature set whose key falls in the evaluation part (a fixed fraction, by content hash). */
export function splitByKey(f: ExtractedFeatures, evalFraction: number): { train: FeatureSet; evaluation: FeatureSet } {
  const F = f.data.dim;
  const isEval = f.keys.map((k) => parseInt(k.slice(0, 8), 16) / 0x100000000 < evalFraction);
  const pick = (want: boolean): FeatureSet => {
    const idx = isEval.flatMap((e, i) => (e === want ? [i] : []));
    const x = new Float32Array(idx.length * F);
    const y = new Int32Array(idx.length);
    idx.forEach((i, k) => {
      x.set(f.data.x.subarray(i * F, (i + 1) * F), k * F);
      y[k] = f.data.y[i]!;
    });
    return { x, y, n: idx.length, dim: F };
  };
  return { train: pick(false), evaluation: pick(true) };
}
