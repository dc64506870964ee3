// A pool of inference workers (worker_threads), one runtime session each, sized to the cores.
// Batches queue here; the main event loop only posts messages. A run can be cancelled.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WorkstationError } from '../../contract';
import type * as Esbuild from 'esbuild';
import type { Logger } from '../log';
import type { EngineName } from './adapters';
import type { ModelSpec } from './model-card';
import type { FromWorker, InferenceInput, ToWorker, WorkerOutcome } from './protocol';

const require = createRequire(import.meta.url);

export interface PoolOptions {
  engine: EngineName;
  device: string;
  size: number;
  threadsPerWorker: number;
  spec: ModelSpec;
  files: Map<string, Uint8Array>;
  logger: Logger;
}

/**
 * 'interactive' (default): a person waits (the viewer, a report, a research run started by hand).
 * 'background': the scoring of arriving studies; its batches go only to an idle worker, after
 * every queued interactive batch, and never fill the whole pool, so a viewer request overtakes it.
 */
export type RunPriority = 'interactive' | 'background';

export interface RunOptions {
  batchSize: number;
  priority?: RunPriority | undefined;
  signal?: AbortSignal | undefined;
  wantMask?: boolean;
  /** Also return the model's raw mask probability maps ([H*W] per image; parity tests). */
  wantProbMaps?: boolean;
  /** Also return the head's input [F] per image (federated head training). */
  wantFeatures?: boolean;
  onProgress?: ((p: { done: number; total: number; failed: number }) => void) | undefined;
  /** Each image's outcome as soon as its batch finishes (lets a CLI stream rows). */
  onOutcome?: ((o: WorkerOutcome, probMap?: Float32Array) => void) | undefined;
}

interface Job {
  id: number;
  items: InferenceInput[];
  wantMask: boolean;
  wantProbMap: boolean;
  wantFeatures: boolean;
  background: boolean;
  resolve(r: { outcomes: WorkerOutcome[]; probMaps?: Float32Array[] | undefined }): void;
  cancelled: boolean;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** True once the model is loaded: only ready workers are given batches. */
  isReady: boolean;
  /** Batches sent to this worker and not yet answered (at most IN_FLIGHT). */
  jobs: Job[];
  alive: boolean;
}

/**
 * Batches queued per worker: with two, the next batch is already waiting in the worker when one
 * finishes, so small batches do not leave the worker idle for a message round trip.
 */
export const IN_FLIGHT = 2;

/** A worker that dies after loading is replaced, but not endlessly (a crash loop fails the batches). */
const MAX_RESPAWNS = 4;

const bundles = new Map<string, Promise<string | null>>();

/**
 * Bundles a worker's TypeScript entry and its imports into one plain ESM file with esbuild (which
 * tsx ships), so a worker thread or child process starts without installing tsx's loader hooks
 * (a hooks thread per worker, and a transform per imported file: seconds for a large module
 * graph on a loaded machine). Packages stay external, so the file lives under
 * node_modules/.cache to resolve them. Null when esbuild or the cache folder is unavailable (the
 * caller falls back to tsx). Set TUMORPREDICT_WORKER_LOADER=tsx to skip bundling.
 */
export function bundledEntry(tsFile: string, name = 'inference-worker'): Promise<string | null> {
  if (process.env.TUMORPREDICT_WORKER_LOADER === 'tsx') return Promise.resolve(null);
  let b = bundles.get(tsFile);
  if (!b) {
    b = bundle(tsFile, name).catch(() => null);
    bundles.set(tsFile, b);
  }
  return b;
}

function bundledWorker(tsFile: string): Promise<string | null> {
  return bundledEntry(tsFile, 'inference-worker');
}

async function bundle(tsFile: string, name: string): Promise<string> {
  const tsxRequire = createRequire(require.resolve('tsx/package.json'));
  const esbuild = tsxRequire('esbuild') as typeof Esbuild;
  // Async: the build (~50-80 ms) runs in esbuild's own process, not on this event loop.
  const res = await esbuild.build({
    entryPoints: [tsFile],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const code = res.outputFiles[0]!.contents;
  const hash = crypto.createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = path.join(path.dirname(require.resolve('tsx/package.json')), '..', '.cache', 'tumorpredict');
  const file = path.join(dir, `${name}-${hash}.mjs`);
  if (!fs.existsSync(file)) {
    await fs.promises.mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, code);
    await fs.promises.rename(tmp, file);
  }
  return file;
}

/** What a worker runs: worker.js of a build, a bundle of worker.ts, or worker.ts through tsx. */
type WorkerEntry = { kind: 'file'; file: string } | { kind: 'tsx'; tsFile: string; api: string };

async function workerEntry(): Promise<WorkerEntry> {
  const tsFile = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const jsFile = tsFile.replace(/\.ts$/, '.js');
  if (!fs.existsSync(tsFile) && fs.existsSync(jsFile)) return { kind: 'file', file: jsFile };
  if (process.env.TUMORPREDICT_WORKER_LOADER !== 'tsx') {
    const file = await bundledWorker(tsFile);
    if (file) return { kind: 'file', file };
  }
  const tsxDir = path.dirname(require.resolve('tsx/package.json'));
  const api = path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs');
  if (!fs.existsSync(api)) {
    throw new WorkstationError('UNAVAILABLE', 'Inference workers cannot start: the tsx loader is missing (run npm install).', { cause: new Error(`${api} not found`) });
  }
  return { kind: 'tsx', tsFile, api };
}

function spawnWorker(entry: WorkerEntry): Worker {
  if (entry.kind === 'file') return new Worker(entry.file, { execArgv: [] });
  // `--import tsx/esm` in a worker's execArgv does not take effect before the entry module loads
  // on Node 20, so the worker registers tsx itself, then imports the TypeScript entry.
  const code = `import(${JSON.stringify(pathToFileURL(entry.api).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(entry.tsFile).href)}); });`;
  return new Worker(code, { eval: true, execArgv: [] });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  /** Background batches: sent only when no interactive batch waits (see RunPriority). */
  private readonly backgroundQueue: Job[] = [];
  private nextJob = 1;
  private closed = false;
  private started: Promise<void> | null = null;
  private entry: WorkerEntry | null = null;
  private respawns = 0;
  private sent = 0;
  threads = 0;
  loadMs = 0;

  constructor(private readonly opts: PoolOptions) {}

  get size(): number {
    return this.opts.size;
  }

  get engine(): EngineName {
    return this.opts.engine;
  }

  /** Batches posted to a worker so far (a cancelled run's queued batches never are). */
  get batchesSent(): number {
    return this.sent;
  }

  get busy(): boolean {
    return this.queue.length > 0 || this.backgroundQueue.length > 0 || this.slots.some((s) => s.jobs.length > 0);
  }

  /** Starts every worker and loads the model in each; resolves when the first is ready. */
  start(): Promise<void> {
    if (!this.started) {
      const t0 = performance.now();
      // Ready as soon as one worker is: the first image need not wait for the whole pool (cold
      // start), the others join the queue as they finish loading. Fails only if none can start.
      this.started = workerEntry()
        .then((entry) => {
          this.entry = entry;
          for (let i = 0; i < this.opts.size; i++) this.slots.push(this.makeSlot());
          return Promise.any(this.slots.map((s) => s.ready));
        })
        .then(
          () => {
            this.loadMs = performance.now() - t0;
            this.opts.logger.info('inference.pool.ready', { engine: this.opts.engine, workers: this.opts.size, threads: this.threads, ms: Math.round(this.loadMs) });
          },
          (err: unknown) => {
            throw err instanceof AggregateError ? err.errors[0] : err;
          },
        );
      this.started.catch(() => {}); // observed by the caller; avoid an unhandled rejection here
    }
    return this.started;
  }

  private makeSlot(): Slot {
    const worker = spawnWorker(this.entry!);
    worker.unref(); // an idle pool never keeps the process alive
    const slot: Slot = { worker, ready: Promise.resolve(), isReady: false, jobs: [], alive: true };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (msg: FromWorker): void => {
        if (msg.type === 'ready') {
          this.threads = msg.threads;
          slot.isReady = true;
          resolve();
          this.pump();
        } else if (msg.type === 'init-failed') {
          slot.alive = false;
          reject(new WorkstationError(msg.error.code, msg.error.message, { cause: new Error(msg.error.detail) }));
          void worker.terminate();
        } else if (msg.type === 'done') {
          const k = slot.jobs.findIndex((j) => j.id === msg.jobId);
          const job = k >= 0 ? slot.jobs.splice(k, 1)[0] : undefined;
          job?.resolve({ outcomes: msg.outcomes, probMaps: msg.probMaps });
          this.pump();
        }
      };
      worker.on('message', onMessage);
      worker.on('error', (err) => {
        this.opts.logger.error('inference.worker.error', { engine: this.opts.engine, err });
        reject(new WorkstationError('UNAVAILABLE', `The inference worker for ${this.opts.engine} failed to start.`, { cause: err }));
      });
      worker.on('exit', (code) => {
        slot.alive = false;
        // A crashed worker fails only its own batches; the run goes on with a fresh worker.
        for (const job of slot.jobs.splice(0)) {
          job.resolve({
            outcomes: job.items.map((it) => ({ id: it.id, ok: false, error: { code: 'INTERNAL', message: 'The inference worker stopped while scoring this image.', reason: 'worker-crash' } })),
          });
        }
        if (this.closed) return;
        this.opts.logger.warn('inference.worker.exit', { engine: this.opts.engine, code });
        const i = this.slots.indexOf(slot);
        // Replace a worker that crashed after loading; one that never loaded would only fail again.
        if (i >= 0 && slot.isReady && this.respawns < MAX_RESPAWNS) {
          this.respawns++;
          const fresh = this.makeSlot();
          this.slots[i] = fresh;
          fresh.ready.catch(() => this.failQueueIfNoWorkers());
        } else {
          this.failQueueIfNoWorkers();
        }
      });
      const files = [...this.opts.files.entries()];
      const init: ToWorker = { type: 'init', engine: this.opts.engine, device: this.opts.device, threads: this.opts.threadsPerWorker, spec: this.opts.spec, files };
      worker.postMessage(init);
    });
    slot.ready.catch(() => {});
    return slot;
  }

  private pump(): void {
    // Fill the least-loaded ready worker first, one batch at a time, up to IN_FLIGHT each.
    for (;;) {
      let slot: Slot | null = null;
      for (const s of this.slots) if (s.alive && s.isReady && s.jobs.length < IN_FLIGHT && (!slot || s.jobs.length < slot.jobs.length)) slot = s;
      if (!slot) return;
      let job = this.queue.shift();
      while (job && job.cancelled) job = this.queue.shift();
      if (!job) break;
      this.send(slot, job);
    }
    // Background batches: one per idle worker, never on every worker of a pool of two or more
    // (one stays free for the viewer), and only when no interactive batch is waiting.
    const maxBackground = Math.max(1, this.slots.length - 1);
    for (;;) {
      if (this.queue.length > 0) return;
      const inFlight = this.slots.reduce((n, s) => n + s.jobs.filter((j) => j.background).length, 0);
      if (inFlight >= maxBackground) return;
      const slot = this.slots.find((s) => s.alive && s.isReady && s.jobs.length === 0);
      if (!slot) return;
      let job = this.backgroundQueue.shift();
      while (job && job.cancelled) job = this.backgroundQueue.shift();
      if (!job) return;
      this.send(slot, job);
    }
  }

  private send(slot: Slot, job: Job): void {
    slot.jobs.push(job);
    this.sent++;
    const msg: ToWorker = { type: 'job', jobId: job.id, items: job.items, wantMask: job.wantMask, wantProbMap: job.wantProbMap, wantFeatures: job.wantFeatures };
    slot.worker.postMessage(msg);
  }

  /** With no worker left alive or loading, queued batches fail instead of waiting forever. */
  private failQueueIfNoWorkers(): void {
    if (this.slots.some((s) => s.alive)) return;
    const jobs = [...this.queue.splice(0), ...this.backgroundQueue.splice(0)];
    for (const j of jobs) {
      j.resolve({ outcomes: j.items.map((it) => ({ id: it.id, ok: false, error: { code: 'UNAVAILABLE', message: 'The inference workers stopped and could not be restarted.', reason: 'worker-start' } })) });
    }
  }

  /** Scores the inputs in batches across the workers; outcomes come back in input order. */
  async run(inputs: InferenceInput[], opts: RunOptions): Promise<{ outcomes: WorkerOutcome[]; probMaps: Float32Array[] | null }> {
    if (this.closed) throw new WorkstationError('UNAVAILABLE', 'The inference service has been shut down.');
    const signal = opts.signal;
    if (signal?.aborted) throw cancelled(0, inputs.length);
    await this.start();
    // Aborted while the workers were loading: nothing was queued yet.
    if (signal?.aborted) throw cancelled(0, inputs.length);
    const bs = Math.max(1, Math.floor(opts.batchSize));
    const outcomes: WorkerOutcome[] = new Array(inputs.length);
    const probMaps: Float32Array[] | null = opts.wantProbMaps ? new Array(inputs.length) : null;
    const jobs: Job[] = [];
    let done = 0;
    let failed = 0;
    return new Promise((resolve, reject) => {
      let finished = false;
      const onAbort = (): void => {
        if (finished) return;
        finished = true;
        for (const j of jobs) j.cancelled = true;
        reject(cancelled(done, inputs.length));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let remaining = Math.ceil(inputs.length / bs);
      if (remaining === 0) {
        finished = true;
        resolve({ outcomes: [], probMaps: probMaps ?? null });
        return;
      }
      for (let start = 0; start < inputs.length; start += bs) {
        const items = inputs.slice(start, start + bs);
        const job: Job = {
          id: this.nextJob++,
          items,
          wantMask: !!opts.wantMask,
          wantProbMap: !!opts.wantProbMaps,
          wantFeatures: !!opts.wantFeatures,
          background: opts.priority === 'background',
          cancelled: false,
          resolve: (r) => {
            if (finished || job.cancelled) return;
            r.outcomes.forEach((o, k) => {
              outcomes[start + k] = o;
              if (!o.ok) failed++;
            });
            if (probMaps && r.probMaps) {
              // Probability maps come only for the images that reached the model, in order.
              let m = 0;
              r.outcomes.forEach((o, k) => {
                if (o.ok) probMaps[start + k] = r.probMaps![m++]!;
              });
            }
            done += items.length;
            try {
              r.outcomes.forEach((o, k) => opts.onOutcome?.(o, probMaps?.[start + k]));
              opts.onProgress?.({ done, total: inputs.length, failed });
            } catch (err) {
              this.opts.logger.error('inference.callback-failed', { err });
            }
            if (--remaining === 0) {
              finished = true;
              signal?.removeEventListener('abort', onAbort);
              resolve({ outcomes, probMaps });
            }
          },
        };
        jobs.push(job);
        (job.background ? this.backgroundQueue : this.queue).push(job);
      }
      this.pump();
    });
  }

  /**
   * Lets running batches finish, asks each worker to release its session and exit, and only
   * terminates a worker that does not exit in time: terminating one inside a native inference
   * call can abort the whole process.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of [...this.queue, ...this.backgroundQueue]) j.cancelled = true;
    this.queue.length = 0;
    this.backgroundQueue.length = 0;
    await this.started?.catch(() => {});
    await Promise.all(
      this.slots.map(async (s) => {
        if (!s.alive) return;
        // Workers are unref'd while idle; hold the process open until each has really exited.
        s.worker.ref();
        const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
        const timers: NodeJS.Timeout[] = [];
        const timeout = (ms: number): Promise<'timeout'> => new Promise((r) => timers.push(setTimeout(() => r('timeout'), ms)));
        const idle = async (): Promise<void> => {
          await s.ready.catch(() => {});
          while (s.jobs.length > 0 && s.alive) await new Promise((r) => setTimeout(r, 10));
        };
        try {
          await Promise.race([idle(), timeout(10_000)]);
          if (s.alive) s.worker.postMessage({ type: 'close' } satisfies ToWorker);
          if ((await Promise.race([exited.then(() => 'exited' as const), timeout(3_000)])) === 'timeout') await s.worker.terminate().catch(() => 0);
        } finally {
          for (const t of timers) clearTimeout(t);
        }
      }),
    );
  }
}

export function cancelled(done: number, total: number): WorkstationError {
  return new WorkstationError('CONFLICT', `Scoring was cancelled after ${done} of ${total} images.`, { details: { cancelled: true, done, total } });
}
