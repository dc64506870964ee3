// A small pool of DICOM worker threads. A worker that dies on a file (out of memory, a codec
// crash) fails only that file and is replaced; the rest of the batch goes on.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { WorkstationError } from '../../contract';
import type { Logger } from '../log';
import type { DicomLimits } from './limits';
import type { FromWorker, ToWorker } from './worker-protocol';

const require = createRequire(import.meta.url);

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
type Task = { msg: ToWorker; resolve(m: FromWorker): void; reject(e: unknown): void; transfer: ArrayBuffer[] };
interface Slot { worker: Worker; ready: Promise<void>; task: Task | null; started: boolean }

export interface PoolOptions {
  size: number;
  limits: DicomLimits;
  blobFolder: string;
  kek: Buffer;
  logger?: Logger | undefined;
  /** V8 heap cap of each worker; typed-array pixel buffers are bounded by the decode limits. */
  maxHeapMb?: number;
}

function spawn(init: unknown, maxHeapMb: number): Worker {
  const tsFile = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const jsFile = tsFile.replace(/\.ts$/, '.js');
  const resourceLimits = { maxOldGenerationSizeMb: maxHeapMb };
  if (!fs.existsSync(tsFile) && fs.existsSync(jsFile)) return new Worker(jsFile, { workerData: init, resourceLimits });
  // Node 20 ignores `--import tsx` in a worker's execArgv: register tsx inside, then import.
  const api = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs');
  const code = `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(tsFile).href)}); });`;
  return new Worker(code, { eval: true, execArgv: [], workerData: init, resourceLimits });
}

export class DicomPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private startFailures = 0;

  constructor(private readonly opts: PoolOptions) {}

  private init(): unknown {
    return { limits: this.opts.limits, blobFolder: this.opts.blobFolder, kek: new Uint8Array(this.opts.kek) };
  }

  private addSlot(): Slot {
    const worker = spawn(this.init(), this.opts.maxHeapMb ?? 768);
    let readyResolve!: () => void;
    let readyReject!: (e: unknown) => void;
    const slot: Slot = { worker, ready: new Promise<void>((r, j) => { readyResolve = r; readyReject = j; }), task: null, started: false };
    slot.ready.catch(() => {});
    worker.on('message', (m: FromWorker) => {
      if (m.kind === 'ready') { slot.started = true; this.startFailures = 0; readyResolve(); this.pump(); return; }
      const t = slot.task;
      slot.task = null;
      if (t && t.msg.id === m.id) t.resolve(m);
      this.pump();
    });
    const die = (err: unknown): void => {
      readyReject(err);
      const idx = this.slots.indexOf(slot);
      if (idx >= 0) this.slots.splice(idx, 1);
      const t = slot.task;
      slot.task = null;
      this.opts.logger?.warn('dicom.worker-died', { err });
      if (!slot.started) {
        // A worker that cannot even start (missing loader or codec files) would fail every file:
        // say so instead of refusing the whole batch file by file.
        this.startFailures++;
        const e = new WorkstationError('UNAVAILABLE', 'The DICOM decoder could not start. Reinstall the workstation (npm install) and try again.', { cause: err });
        if (t) t.reject(e);
        if (this.startFailures >= 3) for (const q of this.queue.splice(0)) q.reject(e);
        if (!this.closed) this.pump();
        return;
      }
      if (t) {
        // The file that killed the worker is refused; the others get a fresh worker.
        if (t.msg.kind === 'frame') t.reject(new WorkstationError('INTERNAL', 'Decoding this image stopped the decoder (out of memory or a codec crash).', { cause: err }));
        else t.resolve({ id: t.msg.id, kind: 'outcome', outcome: { ok: false, reason: 'decoding it stopped the importer (out of memory or a codec crash)' } });
      }
      if (!this.closed) this.pump();
    };
    worker.on('error', die);
    worker.on('exit', (code) => { if (this.slots.includes(slot)) die(new Error(`worker exited with code ${code}`)); });
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    if (this.closed) return;
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.opts.size) slot = this.addSlot();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      const s = slot;
      void s.ready.then(
        () => s.worker.postMessage(task.msg, task.transfer),
        () => { /* die() handles the task */ },
      );
    }
  }

  run(msg: DistributiveOmit<ToWorker, 'id'>, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.closed) return Promise.reject(new WorkstationError('UNAVAILABLE', 'The DICOM service is shutting down.'));
    const full = { ...msg, id: this.nextId++ } as ToWorker;
    return new Promise<FromWorker>((resolve, reject) => {
      this.queue.push({ msg: full, resolve, reject, transfer });
      this.pump();
    });
  }

  get size(): number {
    return this.opts.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new WorkstationError('UNAVAILABLE', 'The DICOM service is shutting down.'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
