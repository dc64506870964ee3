// The inference worker: holds one runtime session and scores batches sent by the pool, doing the
// decode, preprocessing, inference and postprocessing off the main event loop.
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { WorkstationError, type ErrorCode } from '../../contract/errors';
import { createAdapter, type Adapter } from './adapters';
import { decodeImage } from './decode';
import type { ModelSpec } from './model-card';
import { classify, isTumorLabel, maskToInputSize } from './postprocess';
import { preprocess, type RawImage } from './preprocess';
import type { FromWorker, InferenceInput, ToWorker, WorkerOutcome } from './protocol';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

let adapter: Adapter | null = null;
let spec: ModelSpec | null = null;
let chain: Promise<void> = Promise.resolve();

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function failure(id: string, err: unknown): WorkerOutcome {
  if (err instanceof WorkstationError) {
    const reason = typeof err.details?.reason === 'string' ? err.details.reason : err.code.toLowerCase();
    return { id, ok: false, error: { code: err.code, message: err.message, reason } };
  }
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return { id, ok: false, error: { code: 'NOT_FOUND', message: 'The file does not exist.', reason: 'missing' } };
  if (code === 'EACCES' || code === 'EPERM') return { id, ok: false, error: { code: 'FORBIDDEN', message: 'The file may not be read (permission denied).', reason: 'permission' } };
  if (code === 'EISDIR') return { id, ok: false, error: { code: 'INVALID_INPUT', message: 'This is a folder, not an image file.', reason: 'folder' } };
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return { id, ok: false, error: { code: 'INTERNAL', message: `The image could not be scored (${msg}).`, reason: 'internal' } };
}

async function runJob(jobId: number, items: InferenceInput[], wantMask: boolean, wantProbMap: boolean, wantFeatures: boolean): Promise<void> {
  const s = spec!;
  const { height: H, width: W } = s.preprocess;
  const hw = H * W;
  const outcomes: (WorkerOutcome | null)[] = items.map(() => null);
  const ready: { index: number; width: number; height: number; ms: number }[] = [];
  const batch = new Float32Array(items.length * hw);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const t0 = performance.now();
    try {
      if (item.source.kind === 'tensor') {
        if (item.source.data.length !== hw) throw new WorkstationError('INVALID_INPUT', `A preprocessed input must hold ${hw} values.`);
        batch.set(item.source.data, ready.length * hw);
        ready.push({ index: i, width: item.source.width, height: item.source.height, ms: performance.now() - t0 });
        continue;
      }
      let img: RawImage;
      if (item.source.kind === 'file') {
        const bytes = fs.readFileSync(item.source.path);
        img = decodeImage(bytes, 'The file');
      } else {
        img = item.source.image;
      }
      const x = preprocess(img, s.preprocess);
      batch.set(x, ready.length * hw);
      ready.push({ index: i, width: img.width, height: img.height, ms: performance.now() - t0 });
    } catch (err) {
      outcomes[i] = failure(item.id, err);
    }
  }
  const transfer: ArrayBuffer[] = [];
  const probMaps: Float32Array[] = [];
  if (ready.length > 0) {
    const t0 = performance.now();
    let out;
    try {
      out = await adapter!.run(ready.length === items.length ? batch : batch.subarray(0, ready.length * hw), ready.length);
    } catch (err) {
      for (const r of ready) outcomes[r.index] = failure(items[r.index]!.id, err);
      out = null;
    }
    const inferEach = (performance.now() - t0) / ready.length;
    if (out && wantFeatures && !out.features) {
      const err = new WorkstationError('UNAVAILABLE', `The model ${s.id} does not name its classification head's input (its card has no head entry), so no features can be taken from it.`);
      for (const r of ready) outcomes[r.index] = failure(items[r.index]!.id, err);
      out = null;
    }
    if (out) {
      const F = s.head?.dim ?? 0;
      const C = s.classes.length;
      ready.forEach((r, k) => {
        const t1 = performance.now();
        const item = items[r.index]!;
        const logits = Array.from(out.logits.subarray(k * C, (k + 1) * C));
        const cls = classify(logits, s);
        const prob = out.mask.subarray(k * hw, (k + 1) * hw);
        if (wantProbMap) probMaps.push(Float32Array.from(prob));
        // A mask only accompanies a tumor finding: on "no tumor" or "not recognised" it is empty.
        let mask: Uint8Array | null = null;
        let area = 0;
        if (isTumorLabel(cls.label)) {
          const m = maskToInputSize(prob, H, W, r.height, r.width, s.maskThreshold);
          area = m.areaPx;
          mask = wantMask ? m.mask : null;
        } else if (wantMask) {
          mask = new Uint8Array(r.width * r.height);
        }
        if (mask) transfer.push(mask.buffer as ArrayBuffer);
        const features = wantFeatures && out.features ? out.features.slice(k * F, (k + 1) * F) : undefined;
        if (features) transfer.push(features.buffer as ArrayBuffer);
        const sp = item.pixelSpacingMm;
        outcomes[r.index] = {
          id: item.id,
          ok: true,
          width: r.width,
          height: r.height,
          probabilities: cls.probabilities,
          label: cls.label,
          confidence: cls.confidence,
          mask,
          maskAreaPx: area,
          maskAreaMm2: sp && sp[0] > 0 && sp[1] > 0 ? area * sp[0] * sp[1] : null,
          logits,
          ...(features ? { features } : {}),
          ms: r.ms + inferEach + (performance.now() - t1),
        };
      });
    }
  }
  post({ type: 'done', jobId, outcomes: outcomes as WorkerOutcome[], ...(wantProbMap ? { probMaps } : {}) }, transfer);
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'init') {
    const t0 = performance.now();
    spec = msg.spec;
    createAdapter(msg.engine, msg.spec, new Map(msg.files), { threads: msg.threads, device: msg.device })
      .then((a) => {
        adapter = a;
        post({ type: 'ready', threads: a.threads, loadMs: performance.now() - t0 });
      })
      .catch((err: unknown) => {
        const code: ErrorCode = err instanceof WorkstationError ? err.code : 'UNAVAILABLE';
        const message = err instanceof WorkstationError ? err.message : `The runtime ${msg.engine} could not load the model.`;
        const cause = err instanceof WorkstationError ? err.cause : err;
        const detail = cause instanceof Error ? cause.message.split('\n')[0]! : String(cause ?? '');
        post({ type: 'init-failed', error: { code, message, detail } });
      });
    return;
  }
  if (msg.type === 'close') {
    void chain
      .then(async () => {
        const a = adapter;
        adapter = null;
        if (a) await a.dispose();
      })
      .catch(() => {})
      .finally(() => port.close());
    return;
  }
  if (msg.type === 'job') {
    // One batch at a time: the pool sends the next one early so it waits here, not in transit.
    chain = chain.then(() =>
      runJob(msg.jobId, msg.items, msg.wantMask, !!msg.wantProbMap, !!msg.wantFeatures).catch((err: unknown) => {
        post({ type: 'done', jobId: msg.jobId, outcomes: msg.items.map((it) => failure(it.id, err)) });
      }),
    );
  }
});
