// The research reader: a child process in which every byte of a research data set is parsed
// (folder and CSV scans, DICOM and image decoding, masks, thumbnails), under the heap cap its
// parent starts it with and the DICOM limits, so a hostile file can take down only this process.
// A process, not a worker thread: in Node 20 a worker thread that exhausts its resourceLimits
// heap inside one large allocation aborts the whole process (fatal "heap out of memory").
import crypto from 'node:crypto';
import fs from 'node:fs';
import { PNG } from 'pngjs';
import { WorkstationError } from '../../contract/errors';
import type { RawImage } from '../inference';
import { compareRuns, runMetrics } from './compare';
import { compareMany } from './compare-many';
import type { FromReader, ReaderInit, ReaderRequest, ReaderResult, ToReader } from './reader-protocol';

// The parent sends the limits as its first message, before any request.
let init: ReaderInit | null = null;
const send = (m: FromReader): void => {
  process.send?.(m);
};

/** sha256 of a file: read whole when small (a stream per small file costs 20x more), streamed when large. */
async function sha(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  if ((await fs.promises.stat(file)).size <= 16 << 20) return h.update(await fs.promises.readFile(file)).digest('hex');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Grey image, at most maxSize a side (nearest sample), as 8-bit values windowed to its range. */
function greyScaled(img: RawImage, maxSize: number): { w: number; h: number; grey: Uint8Array } {
  const scale = Math.min(1, maxSize / img.width, maxSize / img.height);
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const vals = new Float64Array(w * h);
  let lo = Infinity;
  let hi = -Infinity;
  const c = img.channels;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
      const i = sy * img.width + sx;
      const v = c === 1 ? Number(img.data[i]) : (Number(img.data[i * c]) + Number(img.data[i * c + 1]) + Number(img.data[i * c + 2])) / 3;
      vals[y * w + x] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const grey = new Uint8Array(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = hi > lo ? Math.round(((vals[i]! - lo) / (hi - lo)) * 255) : 0;
  return { w, h, grey };
}

function pngUrl(png: PNG): string {
  return 'data:image/png;base64,' + PNG.sync.write(png).toString('base64');
}

/** A mask (non-zero = inside) at (mw, mh) as a translucent colour overlay of w x h. */
function overlayPng(mask: Uint8Array, mw: number, mh: number, w: number, h: number, rgb: [number, number, number]): string {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    const sy = Math.min(mh - 1, Math.floor(((y + 0.5) * mh) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(mw - 1, Math.floor(((x + 0.5) * mw) / w));
      const o = (y * w + x) * 4;
      if (mask[sy * mw + sx]) {
        png.data[o] = rgb[0];
        png.data[o + 1] = rgb[1];
        png.data[o + 2] = rgb[2];
        png.data[o + 3] = 110;
      } else png.data[o + 3] = 0;
    }
  }
  return pngUrl(png);
}

function compute(req: Extract<ReaderRequest, { op: 'metrics' | 'comparePair' | 'compareMany' }>): { result: ReaderResult } {
  switch (req.op) {
    case 'metrics':
      return { result: { op: 'metrics', metrics: runMetrics(req.run, req.results, { resamples: req.resamples }) } };
    case 'comparePair':
      return { result: { op: 'comparePair', comparison: compareRuns(req.a, req.b, req.ra, req.rb, { resamples: req.resamples }) } };
    case 'compareMany':
      return { result: { op: 'compareMany', comparison: compareMany(req.runs, req.results, req.reference, { resamples: req.resamples }) } };
  }
}

async function handle(req: ReaderRequest): Promise<{ result: ReaderResult }> {
  if (!init) throw new WorkstationError('INTERNAL', 'The reader got a request before its limits.');
  const limits = init.limits;
  if (req.op === 'metrics' || req.op === 'comparePair' || req.op === 'compareMany') return compute(req);
  // The file readers (DICOM codecs among them) load on first use: the statistics process never needs them.
  const { binaryMask, decodeItemImage, scanDataset, thumbnailPng } = await import('./datasets');
  switch (req.op) {
    case 'scan': {
      const scanned = await scanDataset(req.input, { name: req.name, hash: req.hash, limits, ...(req.thumbsPerClass !== undefined ? { thumbsPerClass: req.thumbsPerClass } : {}), ...(req.maxThumbs !== undefined ? { maxThumbs: req.maxThumbs } : {}) });
      return { result: { op: 'scan', scanned } };
    }
    case 'pixels': {
      return { result: { op: 'pixels', image: await decodeItemImage(req.file, limits) } };
    }
    case 'mask': {
      return { result: { op: 'mask', mask: await binaryMask(req.file, req.width, req.height, limits) } };
    }
    case 'hash': {
      const shas: ({ sha: string; mask: string | null } | { error: string })[] = [];
      for (const f of req.files) {
        try {
          shas.push({ sha: await sha(f.file), mask: f.mask ? await sha(f.mask) : null });
        } catch (err) {
          shas.push({ error: (err as NodeJS.ErrnoException).code ?? 'unreadable' });
        }
      }
      return { result: { op: 'hash', shas } };
    }
    case 'thumbs': {
      const pngs: (string | null)[] = [];
      for (const f of req.files) {
        try {
          pngs.push(thumbnailPng(await decodeItemImage(f, limits), req.size));
        } catch {
          pngs.push(null);
        }
      }
      return { result: { op: 'thumbs', pngs } };
    }
    case 'view': {
      const img = await decodeItemImage(req.file, limits);
      const { w, h, grey } = greyScaled(img, req.maxSize);
      const png = new PNG({ width: w, height: h });
      for (let i = 0; i < grey.length; i++) {
        png.data[i * 4] = grey[i]!;
        png.data[i * 4 + 1] = grey[i]!;
        png.data[i * 4 + 2] = grey[i]!;
        png.data[i * 4 + 3] = 255;
      }
      let truthMask: string | null = null;
      if (req.maskFile) {
        try {
          truthMask = overlayPng(await binaryMask(req.maskFile, w, h, limits), w, h, w, h, [80, 220, 120]);
        } catch {
          truthMask = null;
        }
      }
      const p = req.predicted;
      const predictedMask = p && p.width > 0 && p.height > 0 && p.mask.length === p.width * p.height ? overlayPng(p.mask, p.width, p.height, w, h, [255, 120, 60]) : null;
      return { result: { op: 'view', png: pngUrl(png), width: w, height: h, truthMask, predictedMask } };
    }
  }
}

process.on('message', (msg: ToReader | { init: ReaderInit }) => {
  if ('init' in msg) {
    init = msg.init;
    return;
  }
  void handle(msg.req).then(
    ({ result }) => send({ id: msg.id, ok: true, result }),
    (err: unknown) => {
      const e = err instanceof WorkstationError ? err : new WorkstationError('INVALID_INPUT', `The file could not be read (${err instanceof Error ? err.message.split('\n')[0]!.slice(0, 160) : String(err)}).`);
      send({ id: msg.id, ok: false, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });
    },
  );
});
// The parent gone (crash, kill): nothing left to read for.
process.on('disconnect', () => process.exit(0));
send({ id: 0, ready: true });
