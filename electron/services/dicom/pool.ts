// A small pool of DICOM worker threads. A worker that dies on a file (out of memory, a codec
// crash) fails only that file and is replaced; the rest of the batch goes on. Frame requests for
// the viewer go ahead of queued import files.
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
type Task = { msg: ToWorker; resolve(m: FromWorker): void; reject(e: unknown): void; transfer: ArrayBuffer[]; suspect: boolean };
interface Slot { worker: Worker; ready: Promise<void>; warm: Promise<void>; tasks: Task[]; started: boolean }

/**
 * Files may wait in a worker's own queue behind the one in work, so a worker never idles while
 * the main thread is busy (a batch commit, a burst of I/O callbacks). 64 files are 7-15 ms of a
 * worker's work here, about what the main thread takes to record a batch of 256 (the import
 * pipeline's default): the workers go on through a commit instead of running dry. Only tasks that
 * can be sent again if the worker dies may wait there: files by path, and bytes sent as a copy
 * (small ones). Bytes moved without a copy cannot be sent again, and a frame for the viewer should
 * not wait behind files, so those go only to an idle worker (during an import, the next worker to
 * empty its queue: a few ms).
 */
export const QUEUED_PER_WORKER = 64;
const shareable = (t: Task): boolean => !t.suspect && (t.msg.kind === 'file' || ((t.msg.kind === 'bytes' || t.msg.kind === 'upload') && t.transfer.length === 0));

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
  /** Messages from the workers so far (the answers to several files may come in one). */
  messagesReceived = 0;
  /** Files' worth of warm-up the workers have run (warm-up.ts), all of them together. */
  warmUpRounds = 0;

  constructor(private readonly opts: PoolOptions) {}

  private init(): unknown {
    return { limits: this.opts.limits, blobFolder: this.opts.blobFolder, kek: new Uint8Array(this.opts.kek) };
  }

  private addSlot(): Slot {
    const worker = spawn(this.init(), this.opts.maxHeapMb ?? 768);
    let readyResolve!: () => void;
    let readyReject!: (e: unknown) => void;
    let warmResolve!: () => void;
    const warm = new Promise<void>((r) => (warmResolve = r));
    const slot: Slot = { worker, ready: new Promise<void>((r, j) => { readyResolve = r; readyReject = j; }), warm, tasks: [], started: false };
    slot.ready.catch(() => {});
    const answer = (m: FromWorker): void => {
      const i = slot.tasks.findIndex((t) => t.msg.id === m.id);
      if (i >= 0) slot.tasks.splice(i, 1)[0]!.resolve(m);
    };
    worker.on('message', (m: FromWorker) => {
      this.messagesReceived++;
      if (m.kind === 'ready') { slot.started = true; this.startFailures = 0; readyResolve(); this.pump(); return; }
      if (m.kind === 'warm') { this.warmUpRounds += m.rounds; warmResolve(); return; }
      if (m.kind === 'outcomes') for (const o of m.outcomes) answer({ id: o.id, kind: 'outcome', outcome: o.outcome });
      else answer(m);
      this.pump();
    });
    const die = (err: unknown): void => {
      readyReject(err);
      warmResolve();
      const idx = this.slots.indexOf(slot);
      if (idx >= 0) this.slots.splice(idx, 1);
      const tasks = slot.tasks.splice(0);
      this.opts.logger?.warn('dicom.worker-died', { err });
      if (!slot.started) {
        // A worker that cannot even start (missing loader or codec files) would fail every file:
        // say so instead of refusing the whole batch file by file.
        this.startFailures++;
        const e = new WorkstationError('UNAVAILABLE', 'The DICOM decoder could not start. Reinstall the workstation (npm install) and try again.', { cause: err });
        for (const t of tasks) t.reject(e);
        if (this.startFailures >= 3) for (const q of this.queue.splice(0)) q.reject(e);
        if (!this.closed) this.pump();
        return;
      }
      if (tasks.length > 1) {
        // Several files were queued in it: each is tried again alone, so only the one that kills
        // a worker by itself is refused.
        for (const t of tasks) t.suspect = true;
        this.queue.unshift(...tasks);
      } else if (tasks.length === 1) {
        const t = tasks[0]!;
        // The file that killed the worker is refused; the others get a fresh worker.
        if (t.msg.kind === 'frame') t.reject(new WorkstationError('INTERNAL', 'Decoding this image stopped the decoder (out of memory or a codec crash).', { cause: err }));
        else t.resolve({ id: t.msg.id, kind: 'outcome', outcome: { ok: false, reason: 'decoding it stopped the importer (out of memory or a codec crash)' } });
      }
      if (!this.closed) this.pump();
    };
    worker.on('error', die);
    worker.on('exit', (code) => {
      // A worker stopped by close() never becomes ready or warm: whoever waits for it is let go.
      readyReject(new Error(`worker exited with code ${code}`));
      warmResolve();
      if (this.slots.includes(slot)) die(new Error(`worker exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }

  /** The slot for `task`: an idle one first, else (for a shareable task) one with room in its queue, else a new one. */
  private slotFor(task: Task): Slot | null {
    const idle = this.slots.find((s) => s.tasks.length === 0);
    if (idle) return idle;
    if (this.slots.length < this.opts.size) return this.addSlot();
    if (!shareable(task)) return null;
    let best: Slot | null = null;
    for (const s of this.slots) {
      if (s.tasks.length < QUEUED_PER_WORKER && s.tasks.every(shareable) && (!best || s.tasks.length < best.tasks.length)) best = s;
    }
    return best;
  }

  private pump(): void {
    if (this.closed) return;
    while (this.queue.length) {
      const task = this.queue[0]!;
      const slot = this.slotFor(task);
      if (!slot) return;
      this.queue.shift();
      slot.tasks.push(task);
      void slot.ready.then(
        () => slot.worker.postMessage(task.msg, task.transfer),
        () => { /* die() handles the task */ },
      );
    }
  }

  run(msg: DistributiveOmit<ToWorker, 'id'>, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.closed) return Promise.reject(new WorkstationError('UNAVAILABLE', 'The DICOM service is shutting down.'));
    const full = { ...msg, id: this.nextId++ } as ToWorker;
    return new Promise<FromWorker>((resolve, reject) => {
      const task: Task = { msg: full, resolve, reject, transfer, suspect: false };
      // The viewer waits for frames: they go ahead of import files still queued.
      if (full.kind === 'frame') {
        const firstImport = this.queue.findIndex((t) => t.msg.kind !== 'frame');
        this.queue.splice(firstImport < 0 ? this.queue.length : firstImport, 0, task);
      } else {
        this.queue.push(task);
      }
      this.pump();
    });
  }

  /**
   * Starts every worker now (they start on first use otherwise); resolves when they are ready and
   * have warmed their code (warm-up.ts), or have stopped warming for real work.
   */
  async warmUp(): Promise<void> {
    while (!this.closed && this.slots.length < this.opts.size) this.addSlot();
    await Promise.all(this.slots.map((s) => s.ready.then(() => s.warm, () => undefined)));
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
