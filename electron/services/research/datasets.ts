// Reads a local data set from disk: PNG/JPEG in one sub-folder per class, a CSV of
// path,label[,mask][,source][,sequence], or DICOM files. Lists its items with their sha256, the
// content hash that ties results to exactly these bytes, class counts and a few thumbnails.
// Runs inside the reader worker (reader-worker.ts), never on the main thread: every byte of a
// data set is parsed there, under the worker's heap cap and the DICOM limits.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { WorkstationError } from '../../contract/errors';
import { parseCsvLine } from '../csv';
import { decodeFrame, parseDicomFile, type DicomLimits } from '../dicom';
import { decodeImage, sniffFormat, type RawImage } from '../inference';
import { walkFiles } from './folder-walk';

/** One CSV line's cells, trimmed. */
const csvLine = (line: string): string[] => parseCsvLine(line).map((c) => c.trim());

export type DatasetKind = 'folders' | 'csv' | 'dicom';

export interface DatasetItem {
  idx: number;
  /** Path relative to the data set root, forward slashes. */
  itemId: string;
  label: string | null;
  file: string;
  /** Empty in a preview (nothing hashed). */
  sha256: string;
  maskFile: string | null;
  maskSha256: string | null;
  /** Where the item came from (hospital, scanner, public set), when the data set records it. */
  source: string | null;
  /** MR sequence (t1, t1ce, flair, ...), when the data set records it. */
  sequence: string | null;
}

export interface Thumbnail {
  itemId: string;
  label: string | null;
  png: string;
}

export interface ScannedDataset {
  kind: DatasetKind;
  source: string;
  name: string;
  items: DatasetItem[];
  /** Empty in a preview. */
  contentHash: string;
  classCounts: Record<string, number>;
  thumbnails: Thumbnail[];
  /** Items per source and per sequence; null where the data set does not record them. */
  groups: { source: Record<string, number> | null; sequence: Record<string, number> | null };
  /** Files in the folder that are not images (README, manifests): left out, counted. */
  ignored: number;
}

export interface ScanOptions {
  name?: string | undefined;
  /** false: a preview (listing, counts, thumbnails) that reads only each file's first bytes. */
  hash: boolean;
  limits: DicomLimits;
  thumbsPerClass?: number;
  maxThumbs?: number;
}

export const MAX_ITEMS = 200_000;
/** A CSV larger than this is refused before it is read (a data set's index, not the data). */
export const MAX_CSV_BYTES = 64 * 1024 * 1024;
const THUMB = 64;

function isDicomBytes(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/** sha256 of a file (a large one streamed, never held whole) and its first 132 bytes. */
async function hashFile(file: string, maxBytes: number): Promise<{ sha: string; head: Buffer }> {
  const st = await fs.promises.stat(file);
  if (!st.isFile()) throw new WorkstationError('INVALID_INPUT', `${file} is not a file.`);
  if (st.size > maxBytes) throw new WorkstationError('INVALID_INPUT', `${file} is larger than ${Math.round(maxBytes / 1048576)} MB; it is not an image of a data set.`, { details: { reason: 'size' } });
  const h = crypto.createHash('sha256');
  if (st.size <= 16 << 20) {
    // Small files (nearly every image) are read whole: a stream per small file costs 20x more.
    const b = await fs.promises.readFile(file);
    return { sha: h.update(b).digest('hex'), head: b.subarray(0, 132) };
  }
  const heads: Buffer[] = [];
  let got = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    h.update(b);
    if (got < 132) {
      heads.push(b.subarray(0, 132 - got));
      got += Math.min(b.length, 132 - got);
    }
  }
  return { sha: h.digest('hex'), head: Buffer.concat(heads) };
}

async function readHead(file: string): Promise<Buffer> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const b = Buffer.alloc(132);
    const { bytesRead } = await fd.read(b, 0, 132, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
}

function rel(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Every item's id, label and bytes, in id order: the same files and labels give the same hash. */
export function contentHash(items: readonly Pick<DatasetItem, 'itemId' | 'label' | 'sha256' | 'maskSha256' | 'source' | 'sequence'>[]): string {
  const h = crypto.createHash('sha256');
  for (const it of [...items].sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0))) {
    // Source and sequence only when recorded, so data sets registered before they existed keep their hash.
    const groups = it.source !== null || it.sequence !== null ? `\t${it.source ?? ''}\t${it.sequence ?? ''}` : '';
    h.update(`${it.itemId}\t${it.label ?? ''}\t${it.sha256}\t${it.maskSha256 ?? ''}${groups}\n`);
  }
  return h.digest('hex');
}

/** Grey 8-bit thumbnail (area average) of any decoded image, at most `size` pixels a side, as a PNG data URL. */
export function thumbnailPng(img: RawImage, size = THUMB): string {
  const { width: w, height: h, channels: c, data } = img;
  let lo = Infinity;
  let hi = -Infinity;
  const grey = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    let v = 0;
    if (c === 1) v = Number(data[i]);
    else v = (Number(data[i * c]) + Number(data[i * c + 1]) + Number(data[i * c + 2])) / 3;
    grey[i] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = Math.min(size / w, size / h, 1);
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  const png = new PNG({ width: tw, height: th, colorType: 0 });
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const x0 = Math.floor((x * w) / tw);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * w) / tw));
      const y0 = Math.floor((y * h) / th);
      const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * h) / th));
      let s = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) s += grey[yy * w + xx]!;
      const v = s / ((x1 - x0) * (y1 - y0));
      const g = hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 0;
      const o = (y * tw + x) * 4;
      png.data[o] = g;
      png.data[o + 1] = g;
      png.data[o + 2] = g;
      png.data[o + 3] = 255;
    }
  }
  return 'data:image/png;base64,' + PNG.sync.write(png, { colorType: 0 }).toString('base64');
}

/** Decodes the first frame of a DICOM file to a RawImage (stored values with the rescale applied). */
export async function decodeDicomImage(bytes: Uint8Array, limits: DicomLimits): Promise<RawImage> {
  const parsed = parseDicomFile(bytes, limits);
  const f = await decodeFrame(parsed, 0);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = parsed.meta.instance;
  if (f.samplesPerPixel === 3) return { width: f.columns, height: f.rows, channels: 3, bitsPerSample: 8, data: new Uint8Array(f.pixels.buffer, f.pixels.byteOffset, f.pixels.byteLength) };
  const out = new Float32Array(f.pixels.length);
  const invert = f.photometric === 'MONOCHROME1';
  for (let i = 0; i < out.length; i++) out[i] = (invert ? -1 : 1) * (f.pixels[i]! * slope + intercept);
  return { width: f.columns, height: f.rows, channels: 1, bitsPerSample: 32, data: out };
}

/** Reads and decodes one item's image (PNG, JPEG or the first frame of a DICOM file). */
export async function decodeItemImage(file: string, limits: DicomLimits): Promise<RawImage> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `The file ${path.basename(file)} does not exist.`, { cause: err, details: { reason: 'missing' } });
  }
  if (!st.isFile()) throw new WorkstationError('INVALID_INPUT', `${path.basename(file)} is a folder, not an image file.`, { details: { reason: 'folder' } });
  if (st.size > limits.maxFileBytes) throw new WorkstationError('INVALID_INPUT', `The file ${path.basename(file)} is larger than the ${Math.round(limits.maxFileBytes / 1048576)} MB limit.`, { details: { reason: 'size' } });
  const b = await fs.promises.readFile(file);
  if (isDicomBytes(b)) {
    try {
      return await decodeDicomImage(b, limits);
    } catch (err) {
      if (err instanceof WorkstationError) throw err;
      const reason = (err as { message?: string }).message;
      throw new WorkstationError('INVALID_INPUT', `The DICOM file ${path.basename(file)} could not be decoded${reason ? ` (${reason.split('\n')[0]!.slice(0, 120)})` : ''}.`, { cause: err });
    }
  }
  return decodeImage(b, `The file ${path.basename(file)}`);
}

/** A 0/1 mask from a mask image, nearest-neighbour to width x height (masks are binary). */
export async function binaryMask(file: string, width: number, height: number, limits: DicomLimits): Promise<Uint8Array> {
  const img = await decodeItemImage(file, limits);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
      out[y * width + x] = Number(img.data[(sy * img.width + sx) * img.channels]) > 127 ? 1 : 0;
    }
  }
  return out;
}

async function thumbnails(items: DatasetItem[], limits: DicomLimits, perClassMax: number, max: number): Promise<Thumbnail[]> {
  const out: Thumbnail[] = [];
  const perClass = new Map<string, number>();
  for (const it of items) {
    if (out.length >= max) break;
    const k = it.label ?? '(none)';
    if ((perClass.get(k) ?? 0) >= perClassMax) continue;
    try {
      out.push({ itemId: it.itemId, label: it.label, png: thumbnailPng(await decodeItemImage(it.file, limits)) });
      perClass.set(k, (perClass.get(k) ?? 0) + 1);
    } catch {
      // an undecodable item gets no thumbnail; scoring reports it with its reason
    }
  }
  return out;
}

const PATH_COLS = ['path', 'image_path', 'file', 'image', 'filename'];
const LABEL_COLS = ['label', 'label_name', 'class', 'truth'];
const MASK_COLS = ['mask', 'mask_path', 'mask_file'];
const SOURCE_COLS = ['source', 'site', 'origin'];
const SEQUENCE_COLS = ['sequence', 'mr_sequence', 'series_type'];

async function readCsv(input: string, source: string, opts: ScanOptions): Promise<DatasetItem[]> {
  const size = fs.statSync(source).size;
  if (size > MAX_CSV_BYTES) throw new WorkstationError('INVALID_INPUT', `The CSV ${input} is larger than ${MAX_CSV_BYTES / 1048576} MB; a data set's CSV lists files, it does not hold them.`);
  const base = path.dirname(source);
  const lines = fs.readFileSync(source, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new WorkstationError('INVALID_INPUT', `The CSV ${input} is empty.`);
  if (lines.length > MAX_ITEMS + 1) throw new WorkstationError('INVALID_INPUT', `The CSV lists more than ${MAX_ITEMS} files; register a smaller data set.`);
  const first = csvLine(lines[0]!).map((c) => c.toLowerCase());
  let start = 0;
  let cols = { path: 0, label: 1, mask: 2, source: -1, sequence: -1 };
  const find = (names: string[]): number => first.findIndex((c) => names.includes(c));
  if ([...PATH_COLS, ...LABEL_COLS].some((c) => first.includes(c))) {
    cols = { path: find(PATH_COLS), label: find(LABEL_COLS), mask: find(MASK_COLS), source: find(SOURCE_COLS), sequence: find(SEQUENCE_COLS) };
    if (cols.path < 0 || cols.label < 0) throw new WorkstationError('INVALID_INPUT', `The CSV ${input} has a header without "path" and "label" columns.`);
    start = 1;
  }
  const seen = new Set<string>();
  const items: DatasetItem[] = [];
  for (let i = start; i < lines.length; i++) {
    const f = csvLine(lines[i]!);
    const p = f[cols.path];
    const label = f[cols.label];
    if (!p || !label) throw new WorkstationError('INVALID_INPUT', `Line ${i + 1} of ${input} needs a path and a label.`, { details: { line: i + 1 } });
    const file = path.resolve(base, p);
    const itemId = p.split(path.sep).join('/');
    if (seen.has(itemId)) throw new WorkstationError('INVALID_INPUT', `Line ${i + 1} of ${input} repeats ${p}.`, { details: { line: i + 1 } });
    seen.add(itemId);
    const m = cols.mask >= 0 ? f[cols.mask] : undefined;
    const maskFile = m ? path.resolve(base, m) : null;
    const check = async (what: string, target: string): Promise<string> => {
      try {
        if (opts.hash) return (await hashFile(target, opts.limits.maxFileBytes)).sha;
        if (!(await fs.promises.stat(target)).isFile()) throw new Error('not a file');
        return '';
      } catch (err) {
        if (err instanceof WorkstationError) throw err;
        throw new WorkstationError('NOT_FOUND', `${what} ${target} cannot be read; fix the path and register the data set again.`, { cause: err, details: { line: i + 1 } });
      }
    };
    const sha = await check(`Line ${i + 1} of the CSV names`, file);
    const maskSha = maskFile ? await check(`Line ${i + 1} of the CSV names the mask`, maskFile) : null;
    const group = (c: number): string | null => (c >= 0 && f[c] ? f[c]!.slice(0, 200) : null);
    items.push({ idx: items.length, itemId, label, file, sha256: sha, maskFile, maskSha256: maskSha, source: group(cols.source), sequence: group(cols.sequence) });
  }
  return items;
}

async function readFolder(input: string, source: string, opts: ScanOptions): Promise<{ items: DatasetItem[]; kind: DatasetKind; ignored: number }> {
  const files = walkFiles(source, { maxFiles: MAX_ITEMS }).map((w) => w.file);
  // One pass: sniff (and hash, when registering); bytes are streamed, never kept.
  const entries: { file: string; sha: string; isDicom: boolean }[] = [];
  let dicom = 0;
  let images = 0;
  let ignored = 0;
  for (const file of files) {
    let head: Buffer;
    let sha = '';
    try {
      if (opts.hash) ({ sha, head } = await hashFile(file, opts.limits.maxFileBytes));
      else head = await readHead(file);
    } catch {
      ignored++; // unreadable, a broken link or too large: not an item
      continue;
    }
    const isDicom = isDicomBytes(head);
    if (isDicom) dicom++;
    else if (sniffFormat(head)) images++;
    else {
      ignored++; // not an image: README, manifest.csv, ...
      continue;
    }
    entries.push({ file, sha, isDicom });
  }
  if (entries.length === 0) throw new WorkstationError('INVALID_INPUT', `The folder ${input} holds no PNG, JPEG or DICOM files.`);
  const kind: DatasetKind = dicom > images ? 'dicom' : 'folders';
  const seenIds = new Set<string>();
  const items: DatasetItem[] = [];
  for (const e of entries) {
    const r = rel(source, e.file);
    const parts = r.split('/');
    // The class is the first sub-folder under the root; files directly in the root are unlabelled.
    const label = parts.length > 1 ? parts[0]! : null;
    if ((kind === 'folders' && (label === null || e.isDicom)) || (kind === 'dicom' && !e.isDicom)) {
      ignored++;
      continue;
    }
    // DICOM file names often carry patient names or IDs: researchers see a content-derived id.
    let itemId = r;
    if (kind === 'dicom') {
      itemId = `${label ? label + '/' : ''}dcm-${(e.sha || crypto.createHash('sha256').update(r).digest('hex')).slice(0, 16)}`;
      if (seenIds.has(itemId)) itemId += `-${items.length}`;
    }
    seenIds.add(itemId);
    items.push({ idx: items.length, itemId, label, file: e.file, sha256: e.sha, maskFile: null, maskSha256: null, source: null, sequence: null });
  }
  if (items.length === 0) throw new WorkstationError('INVALID_INPUT', `The folder ${input} has images only at its top level; put them in one sub-folder per class.`);
  return { items, kind, ignored };
}

function countBy(items: DatasetItem[], key: 'source' | 'sequence'): Record<string, number> | null {
  if (!items.some((i) => i[key] !== null)) return null;
  const out: Record<string, number> = {};
  for (const it of items) out[it[key] ?? '(none)'] = (out[it[key] ?? '(none)'] ?? 0) + 1;
  return out;
}

/** Registers nothing: reads the folder or CSV and returns what would be registered. */
export async function scanDataset(input: string, opts: ScanOptions): Promise<ScannedDataset> {
  const source = path.resolve(input);
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `There is no folder or CSV file at ${input}.`, { cause: err });
  }
  let kind: DatasetKind;
  let items: DatasetItem[];
  let ignored = 0;
  if (st.isFile()) {
    if (!/\.csv$/i.test(source)) throw new WorkstationError('INVALID_INPUT', `${input} is a file but not a CSV; give a folder (one sub-folder per class, or DICOM files) or a CSV of path,label.`);
    kind = 'csv';
    items = await readCsv(input, source, opts);
  } else if (st.isDirectory()) {
    ({ items, kind, ignored } = await readFolder(input, source, opts));
  } else {
    throw new WorkstationError('INVALID_INPUT', `${input} is neither a folder nor a CSV file.`);
  }
  const classCounts: Record<string, number> = {};
  for (const it of items) classCounts[it.label ?? '(none)'] = (classCounts[it.label ?? '(none)'] ?? 0) + 1;
  return {
    kind,
    source,
    name: opts.name ?? path.basename(source).replace(/\.csv$/i, ''),
    items,
    contentHash: opts.hash ? contentHash(items) : '',
    classCounts,
    thumbnails: await thumbnails(items, opts.limits, opts.thumbsPerClass ?? 2, opts.maxThumbs ?? 12),
    groups: { source: countBy(items, 'source'), sequence: countBy(items, 'sequence') },
    ignored,
  };
}
