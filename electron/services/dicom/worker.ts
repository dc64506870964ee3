// The DICOM worker thread: parses, checks, hashes, encrypts and stages files for an import, and
// decodes frames for the viewer, so codecs (JPEG 2000 above all) never block the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { WorkstationError } from '../../contract';
import type { DicomLimits } from './limits';
import { ownsBuffer, prepareShardFolders } from '../blobs';
import { loadFrame, ReadBuffer, releaseStaged, stageBytes, stageFile, stageUpload, type FileOutcome } from './process';
import { keepWarm, warmUpImportPath, type KeepWarm } from './warm-up';
import type { ToWorker, FromWorker } from './worker-protocol';

interface Init {
  limits: DicomLimits;
  blobFolder: string;
  kek: Uint8Array;
}
const init = workerData as Init;
// Small blobs come back encrypted, for the pipeline's pack files (packs.ts), moved, not copied.
// Files are read into one buffer, reused from file to file (the worker does one file at a time).
const opts = { limits: init.limits, blobFolder: init.blobFolder, kek: Buffer.from(init.kek), pack: true, readBuffer: new ReadBuffer() };
// The data folder's shard folders, made once (a stat each when they exist): no import pays a mkdir.
prepareShardFolders(opts.blobFolder);

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}
/** The records of these outcomes, moved with the message (sealBlob gives both buffers of a record their own memory). */
const records = (outcomes: FileOutcome[]): ArrayBuffer[] =>
  outcomes.flatMap((o) => (o.ok && o.record ? [o.record.frame, o.record.body].filter(ownsBuffer).map((b) => b.buffer as ArrayBuffer) : []));

// The work is done strictly in the order messages came, one at a time (a file, then the next).
// An import file is answered as soon as its blob is encrypted: a small one as a record, which the
// pipeline appends to a pack file, a large one staged (written and closed, not synced), which the
// pipeline makes durable with its batch (makeDurableMany). The worker never waits for the disk.
// While more files wait behind the one just done, its answer is held and sent with the next ones
// (at most HOLD_MAX at a time, always when nothing else waits): a message each way per file cost
// as much as hashing it. A held answer is only delayed, never lost: if this worker dies, the pool
// still has the file's task and tries it again. Messages are taken in from a macrotask
// (setImmediate), so all those already sent are in the queue before the first file starts: run
// straight from the message event, each file would finish (it does no asynchronous I/O) before
// the next message is even delivered, and nothing would ever wait behind it.
const HOLD_MAX = 8;
const queue: ToWorker[] = [];
let draining = false;
let held: { id: number; outcome: FileOutcome }[] = [];
function flushHeld(): void {
  if (!held.length) return;
  const out = held;
  held = [];
  const transfer = records(out.map((h) => h.outcome));
  if (out.length === 1) post({ id: out[0]!.id, kind: 'outcome', outcome: out[0]!.outcome }, transfer);
  else post({ id: 0, kind: 'outcomes', outcomes: out }, transfer);
}

parentPort!.on('message', (msg: ToWorker) => {
  queue.push(msg);
  if (!draining) {
    draining = true;
    setImmediate(() => void drain());
  }
});

async function drain(): Promise<void> {
  try {
    while (queue.length) await work(queue.shift()!).catch(() => undefined);
  } finally {
    flushHeld();
    draining = false;
    warmth?.touch();
  }
}

async function work(msg: ToWorker): Promise<void> {
  try {
    if (msg.kind === 'file' || msg.kind === 'bytes' || msg.kind === 'upload') {
      const staged = msg.kind === 'file' ? await stageFile(msg.path, opts)
        : msg.kind === 'bytes' ? await stageBytes(msg.bytes, opts)
        : await stageUpload(msg.bytes, msg.target, msg.index, opts);
      held.push({ id: msg.id, outcome: releaseStaged(staged) });
      if (held.length >= HOLD_MAX || !queue.length) flushHeld();
      return;
    }
    flushHeld();
    const { frame, meta } = await loadFrame(msg.hash, msg.packed, msg.frame, opts);
    const px = frame.pixels;
    post({ id: msg.id, kind: 'frame', frame, meta }, px.byteOffset === 0 && px.byteLength === px.buffer.byteLength ? [px.buffer as ArrayBuffer] : []);
  } catch (err) {
    flushHeld();
    const e = err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', 'The image could not be decoded.', { cause: err });
    post({ id: msg.id, kind: 'error', code: e.code, message: e.message, detail: err instanceof Error ? err.message.slice(0, 200) : String(err) });
  }
}
post({ id: 0, kind: 'ready' });

// Then, while nothing else is asked of it, the worker runs the import path on synthetic slices
// (warm-up.ts) so V8 has compiled it before the first real file, and says when it is warm. Real
// work stops the warm-up (the files warm it as well); a failed warm-up costs only its time.
// Once warm, it stays warm while idle (keepWarm: V8 drops compiled code after a minute's idling).
let warmth: KeepWarm | null = null;
const busy = (): boolean => draining || queue.length > 0;
void warmUpImportPath(opts, busy)
  .catch(() => 0)
  .finally(() => { warmth = keepWarm(opts, busy); })
  // A moment for the compiler threads to finish what the last rounds started.
  .then((rounds) => new Promise<number>((resolve) => setTimeout(() => resolve(rounds), 30)))
  .then((rounds) => post({ id: 0, kind: 'warm', rounds }));

