// The DICOM worker thread: parses, decodes, hashes, encrypts and writes files for an import, and
// decodes frames for the viewer, so codecs (JPEG 2000 above all) never block the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { WorkstationError } from '../../contract';
import type { DicomLimits } from './limits';
import { loadFrame, processBytes, processFile, processUpload } from './process';
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

parentPort!.on('message', (msg: ToWorker) => {
  void (async () => {
    try {
      if (msg.kind === 'file') post({ id: msg.id, kind: 'outcome', outcome: await processFile(msg.path, opts) });
      else if (msg.kind === 'bytes') post({ id: msg.id, kind: 'outcome', outcome: await processBytes(msg.bytes, opts) });
      else if (msg.kind === 'upload') post({ id: msg.id, kind: 'outcome', outcome: await processUpload(msg.bytes, msg.target, msg.index, opts) });
      else {
        const { frame, meta } = await loadFrame(msg.hash, msg.frame, opts);
        const px = frame.pixels;
        post({ id: msg.id, kind: 'frame', frame, meta }, px.byteOffset === 0 && px.byteLength === px.buffer.byteLength ? [px.buffer as ArrayBuffer] : []);
      }
    } catch (err) {
      const e = err instanceof WorkstationError ? err : new WorkstationError('INTERNAL', 'The image could not be decoded.', { cause: err });
      post({ id: msg.id, kind: 'error', code: e.code, message: e.message, detail: err instanceof Error ? err.message.slice(0, 200) : String(err) });
    }
  })();
});
post({ id: 0, kind: 'ready' });
