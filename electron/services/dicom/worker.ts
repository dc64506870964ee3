// The DICOM worker thread: parses, checks, hashes, encrypts and stages files for an import, and
// decodes frames for the viewer, so codecs (JPEG 2000 above all) never block the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { WorkstationError } from '../../contract';
import type { DicomLimits } from './limits';
import { finishStaged, loadFrame, stageBytes, stageFile, stageUpload } from './process';
import type { ToWorker, FromWorker } from './worker-protocol';

interface Init {
  limits: DicomLimits;
  blobFolder: string;
  kek: Uint8Array;
}
const init = workerData as Init;
const opts = { limits: init.limits, blobFolder: init.blobFolder, kek: Buffer.from(init.kek) };

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

// The CPU work is done strictly in the order messages came, one at a time (a file, then the
// next); making a staged file durable (fsync, rename) goes on beside it on the I/O threads, and
// the file's answer is posted when its blob is durable.
let cpu: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (msg: ToWorker) => {
  const step = cpu.then(() => work(msg));
  cpu = step.catch(() => undefined);
  void step.then(
    (finish) => finish?.(),
    () => { /* work() posts its own errors */ },
  );
});

async function work(msg: ToWorker): Promise<(() => Promise<void>) | undefined> {
  try {
    if (msg.kind === 'file' || msg.kind === 'bytes' || msg.kind === 'upload') {
      const staged = msg.kind === 'file' ? await stageFile(msg.path, opts)
        : msg.kind === 'bytes' ? await stageBytes(msg.bytes, opts)
        : await stageUpload(msg.bytes, msg.target, msg.index, opts);
      return async () => post({ id: msg.id, kind: 'outcome', outcome: await finishStaged(staged, opts.blobFolder) });
    }
    const { frame, meta } = await loadFrame(msg.hash, msg.frame, opts);
    const px = frame.pixels;
    post({ id: msg.id, kind: 'frame', frame, meta }, px.byteOffset === 0 && px.byteLength === px.buffer.byteLength ? [px.buffer as ArrayBuffer] : []);
  } catch (err) {
    const e = err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', 'The image could not be decoded.', { cause: err });
    post({ id: msg.id, kind: 'error', code: e.code, message: e.message, detail: err instanceof Error ? err.message.slice(0, 200) : String(err) });
  }
  return undefined;
}
post({ id: 0, kind: 'ready' });
