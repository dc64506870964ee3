// The research service's reader: one child process (reader-process.ts) with a V8 heap cap, the
// DICOM limits and a time limit per request. A request that kills the reader (out of memory, a
// codec crash) or outlasts its limit fails alone with a sentence; the next one gets a fresh reader.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WorkstationError } from '../../contract';
import { DEFAULT_LIMITS, type DicomLimits } from '../dicom';
import { bundledEntry, type RawImage } from '../inference';
import type { Logger } from '../log';
import type { Comparison, MultiComparison, RunMetricsDto, RunSummary } from '../../contract';
import type { StoredResult } from './compare';
import type { ScannedDataset } from './datasets';
import type { FromReader, ReaderInit, ReaderRequest, ReaderResult, ToReader } from './reader-protocol';

const require = createRequire(import.meta.url);

export interface ReaderLimits {
  /** V8 old-generation cap of the reader process, MB. */
  heapMb: number;
  /** A single request (a whole scan included) taking longer than this is stopped. */
  requestMs: number;
  dicom: DicomLimits;
}

export const DEFAULT_READER_LIMITS: ReaderLimits = { heapMb: 512, requestMs: 30 * 60_000, dicom: DEFAULT_LIMITS };

async function spawn(init: ReaderInit, heapMb: number): Promise<ChildProcess> {
  const tsFile = fileURLToPath(new URL('./reader-process.ts', import.meta.url));
  const jsFile = tsFile.replace(/\.ts$/, '.js');
  const heap = `--max-old-space-size=${heapMb}`;
  // 'advanced' serialization: typed arrays (pixels, masks) cross as they are.
  const opts = { serialization: 'advanced' as const, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[] };
  let child: ChildProcess;
  if (!fs.existsSync(tsFile) && fs.existsSync(jsFile)) child = fork(jsFile, [], { ...opts, execArgv: [heap] });
  else {
    // One bundled file starts in a fraction of the time tsx takes to transform every import.
    const bundled = await bundledEntry(tsFile, 'research-reader');
    child = bundled ? fork(bundled, [], { ...opts, execArgv: [heap] }) : fork(tsFile, [], { ...opts, execArgv: [heap, '--import', pathToFileURL(require.resolve('tsx')).href] });
  }
  child.send({ init });
  return child;
}

interface Pending {
  id: number;
  req: ReaderRequest;
  resolve(r: ReaderResult): void;
  reject(e: unknown): void;
}

export class ReaderPool {
  private worker: ChildProcess | null = null;
  private stderrTail = '';
  private ready: Promise<void> | null = null;
  private readonly queue: Pending[] = [];
  private current: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;
  private startFailures = 0;

  constructor(
    private readonly limits: ReaderLimits,
    private readonly logger?: Logger,
  ) {}

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = spawn({ limits: this.limits.dicom }, this.limits.heapMb).then((worker) => this.wire(worker));
    this.ready.catch(() => {});
    return this.ready;
  }

  private wire(worker: ChildProcess): Promise<void> {
    this.worker = worker;
    if (this.closed) {
      worker.kill('SIGTERM');
      return Promise.reject(new WorkstationError('UNAVAILABLE', 'The research service is shutting down.'));
    }
    if (this.current) this.ref();
    else this.unref();
    return new Promise<void>((resolve, reject) => {
      let started = false;
      worker.stderr?.on('data', (d: Buffer) => {
        this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
      });
      worker.on('message', (m: FromReader) => {
        if ('ready' in m) {
          started = true;
          this.startFailures = 0;
          resolve();
          return;
        }
        const p = this.current;
        if (!p || p.id !== m.id) return;
        this.finish();
        if (m.ok) p.resolve(m.result);
        else p.reject(new WorkstationError(m.code, m.message, m.details ? { details: m.details } : undefined));
        this.pump();
      });
      const die = (err: unknown): void => {
        if (this.worker !== worker) return;
        this.worker = null;
        this.ready = null;
        const p = this.current;
        this.finish();
        this.logger?.warn('research.reader.died', { err, stderr: this.stderrTail.slice(-400) });
        this.stderrTail = '';
        if (!started) {
          this.startFailures++;
          const e = new WorkstationError('UNAVAILABLE', 'The data set reader could not start. Reinstall the workstation (npm install) and try again.', { cause: err });
          reject(e);
          p?.reject(e);
          if (this.startFailures >= 3) for (const q of this.queue.splice(0)) q.reject(e);
        } else {
          p?.reject(
            new WorkstationError('INVALID_INPUT', `Reading ${describe(p.req)} stopped the data set reader (it ran out of memory or crashed); the file is refused and nothing else is affected.`, {
              cause: err,
              details: { reason: 'reader-crash' },
            }),
          );
        }
        if (!this.closed) this.pump();
      };
      worker.on('error', die);
      worker.on('exit', (code, signal) => die(new Error(`the reader process exited (${signal ?? `code ${code}`})`)));
    });
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.current = null;
    // An idle reader never keeps the process alive.
    if (this.queue.length === 0) this.unref();
  }

  private pump(): void {
    if (this.closed || this.current || this.queue.length === 0) return;
    const p = this.queue.shift()!;
    this.current = p;
    const ready = this.start();
    this.ref();
    void ready.then(
      () => {
        if (this.current !== p || !this.worker) return;
        this.ref();
        this.timer = setTimeout(() => {
          // Over its time limit: the worker is stopped (the request fails), a fresh one serves the rest.
          const w = this.worker;
          this.worker = null;
          this.ready = null;
          this.finish();
          p.reject(new WorkstationError('UNAVAILABLE', `Reading ${describe(p.req)} took longer than ${this.limits.requestMs < 1000 ? `${this.limits.requestMs} ms` : `${Math.round(this.limits.requestMs / 1000)} s`} and was stopped.`, { details: { reason: 'timeout' } }));
          w?.kill('SIGKILL');
          this.pump();
        }, this.limits.requestMs);
        this.worker.send({ id: p.id, req: p.req } satisfies ToReader);
      },
      () => {
        /* die() rejected the request */
      },
    );
  }

  /** Starts the process ahead of its first request (it costs a second or so on a loaded machine). */
  warm(): void {
    if (!this.closed) void this.start().catch(() => {});
  }

  private ref(): void {
    this.worker?.ref();
    (this.worker?.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  private unref(): void {
    this.worker?.unref();
    (this.worker?.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  private request(req: ReaderRequest): Promise<ReaderResult> {
    if (this.closed) return Promise.reject(new WorkstationError('UNAVAILABLE', 'The research service is shutting down.'));
    return new Promise<ReaderResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, req, resolve, reject });
      this.pump();
    });
  }

  async scan(input: string, opts: { name?: string | undefined; hash: boolean; thumbsPerClass?: number; maxThumbs?: number }): Promise<ScannedDataset> {
    const r = await this.request({ op: 'scan', input, ...opts });
    return (r as Extract<ReaderResult, { op: 'scan' }>).scanned;
  }

  /**
   * A few thumbnails per class, one request per file: a file that kills the reader costs only its
   * own thumbnail, and the next item of its class is tried instead.
   */
  async sampleThumbnails(items: readonly { itemId: string; label: string | null; file: string }[], perClass: number, max: number, size = 64): Promise<{ itemId: string; label: string | null; png: string }[]> {
    const out: { itemId: string; label: string | null; png: string }[] = [];
    const perClassCount = new Map<string, number>();
    const tried = new Map<string, number>();
    for (const it of items) {
      if (out.length >= max) break;
      const k = it.label ?? '(none)';
      if ((perClassCount.get(k) ?? 0) >= perClass || (tried.get(k) ?? 0) >= perClass + 4) continue;
      tried.set(k, (tried.get(k) ?? 0) + 1);
      let png: string | null = null;
      try {
        png = (await this.thumbs([it.file], size))[0] ?? null;
      } catch (err) {
        if (this.closed || !(err instanceof WorkstationError)) throw err;
      }
      if (png) {
        out.push({ itemId: it.itemId, label: it.label, png });
        perClassCount.set(k, (perClassCount.get(k) ?? 0) + 1);
      }
    }
    return out;
  }

  /** Thumbnails of a page of items; if one file kills the reader, the others are read one by one. */
  async thumbsEach(files: string[], size: number): Promise<(string | null)[]> {
    try {
      return await this.thumbs(files, size);
    } catch (err) {
      if (this.closed || !(err instanceof WorkstationError) || files.length === 1) {
        if (files.length === 1 && err instanceof WorkstationError && !this.closed) return [null];
        throw err;
      }
      const out: (string | null)[] = [];
      for (const f of files) out.push(...(await this.thumbsEach([f], size)));
      return out;
    }
  }

  async pixels(file: string): Promise<RawImage> {
    return ((await this.request({ op: 'pixels', file })) as Extract<ReaderResult, { op: 'pixels' }>).image;
  }

  async mask(file: string, width: number, height: number): Promise<Uint8Array> {
    return ((await this.request({ op: 'mask', file, width, height })) as Extract<ReaderResult, { op: 'mask' }>).mask;
  }

  async hash(files: { file: string; mask: string | null }[]): Promise<Extract<ReaderResult, { op: 'hash' }>['shas']> {
    return ((await this.request({ op: 'hash', files })) as Extract<ReaderResult, { op: 'hash' }>).shas;
  }

  async thumbs(files: string[], size: number): Promise<(string | null)[]> {
    return ((await this.request({ op: 'thumbs', files, size })) as Extract<ReaderResult, { op: 'thumbs' }>).pngs;
  }

  async view(file: string, opts: { maxSize: number; maskFile: string | null; predicted: { mask: Uint8Array; width: number; height: number } | null }): Promise<Omit<Extract<ReaderResult, { op: 'view' }>, 'op'>> {
    const r = (await this.request({ op: 'view', file, ...opts })) as Extract<ReaderResult, { op: 'view' }>;
    return { png: r.png, width: r.width, height: r.height, truthMask: r.truthMask, predictedMask: r.predictedMask };
  }

  async metrics(run: RunSummary, results: StoredResult[], resamples: number): Promise<RunMetricsDto> {
    return ((await this.request({ op: 'metrics', run, results, resamples })) as Extract<ReaderResult, { op: 'metrics' }>).metrics;
  }

  async comparePair(a: RunSummary, b: RunSummary, ra: StoredResult[], rb: StoredResult[], resamples: number): Promise<Comparison> {
    return ((await this.request({ op: 'comparePair', a, b, ra, rb, resamples })) as Extract<ReaderResult, { op: 'comparePair' }>).comparison;
  }

  async compareMany(runs: RunSummary[], results: StoredResult[][], reference: string, resamples: number): Promise<MultiComparison> {
    return ((await this.request({ op: 'compareMany', runs, results, reference, resamples })) as Extract<ReaderResult, { op: 'compareMany' }>).comparison;
  }

  async close(): Promise<void> {
    this.closed = true;
    const e = new WorkstationError('UNAVAILABLE', 'The research service is shutting down.');
    for (const q of this.queue.splice(0)) q.reject(e);
    this.current?.reject(e);
    this.finish();
    const w = this.worker;
    this.worker = null;
    if (w && w.exitCode === null && w.signalCode === null) {
      const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
      w.ref(); // an idle reader is unref'd; its exit must still be waited for
      w.kill('SIGTERM');
      await exited;
    }
  }
}

function describe(req: ReaderRequest): string {
  switch (req.op) {
    case 'scan':
      return `the data set ${path.basename(req.input)}`;
    case 'hash':
      return 'the data set files';
    case 'thumbs':
      return 'the thumbnails';
    case 'metrics':
    case 'comparePair':
    case 'compareMany':
      return 'the statistics';
    default:
      return `the file ${path.basename(req.file)}`;
  }
}
