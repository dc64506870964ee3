// The DICOM worker thread: parses, checks, hashes, encrypts and stages files for an import, and
// decodes frames for the viewer, so codecs (JPEG 2000 above all) never block the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { WorkstationError } from '../../contract';
import type { DicomLimits } from './limits';
import { prepareShardFolders } from '../blobs';
import { loadFrame, releaseStaged, stageBytes, stageFile, stageUpload } from './process';
import type { ToWorker, FromWorker } from './worker-protocol';

interface Init {
  limits: DicomLimits;
  blobFolder: string;
  kek: Uint8Array;
}
const init = workerData as Init;
const opts = { limits: init.limits, blobFolder: init.blobFolder, kek: Buffer.from(init.kek) };
// The data folder's shard folders, made once (a stat each when they exist): no import pays a mkdir.
prepareShardFolders(opts.blobFolder);

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer);
}

// The work is done strictly in the order messages came, one at a time (a file, then the next).
// An import file is answered as soon as its blob is staged (written and closed, not synced): the
// pipeline makes each batch durable at once before recording it (makeDurableMany), so the
// worker never waits for the disk.
let cpu: Promise<unknown> = Promise.resolve();
parentPort!.on('message', (msg: ToWorker) => {
  cpu = cpu.then(() => work(msg)).catch(() => undefined);
});

async function work(msg: ToWorker): Promise<void> {
  try {
    if (msg.kind === 'file' || msg.kind === 'bytes' || msg.kind === 'upload') {
      const staged = msg.kind === 'file' ? await stageFile(msg.path, opts)
        : msg.kind === 'bytes' ? await stageBytes(msg.bytes, opts)
        : await stageUpload(msg.bytes, msg.target, msg.index, opts);
      post({ id: msg.id, kind: 'outcome', outcome: releaseStaged(staged) });
      return;
    }
    const { frame, meta } = await loadFrame(msg.hash, msg.frame, opts);
    const px = frame.pixels;
    post({ id: msg.id, kind: 'frame', frame, meta }, px.byteOffset === 0 && px.byteLength === px.buffer.byteLength ? [px.buffer as ArrayBuffer] : []);
  } catch (err) {
    const e = err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', 'The image could not be decoded.', { cause: err });
    post({ id: msg.id, kind: 'error', code: e.code, message: e.message, detail: err instanceof Error ? err.message.slice(0, 200) : String(err) });
  }
}
post({ id: 0, kind: 'ready' });
