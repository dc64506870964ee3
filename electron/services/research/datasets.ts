// Reads a local data set from disk: PNG/JPEG in one sub-folder per class, a CSV of
// path,label[,mask], or DICOM files. Lists its items with their sha256, the content hash that
// ties results to exactly these bytes, class counts and a few small thumbnails.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { WorkstationError } from '../../contract/errors';
import { DEFAULT_LIMITS, decodeFrame, parseDicomFile } from '../dicom';
import { decodeImage, sniffFormat, type RawImage } from '../inference';
import { walkFiles } from './folder-walk';

export type DatasetKind = 'folders' | 'csv' | 'dicom';

export interface DatasetItem {
  idx: number;
  /** Path relative to the data set root, forward slashes. */
  itemId: string;
  label: string | null;
  file: string;
  sha256: string;
  maskFile: string | null;
  maskSha256: string | null;
}

export interface ScannedDataset {
  kind: DatasetKind;
  source: string;
  name: string;
  items: DatasetItem[];
  contentHash: string;
  classCounts: Record<string, number>;
  thumbnails: { itemId: string; label: string | null; png: string }[];
}

export const MAX_ITEMS = 200_000;
const THUMB = 64;
const THUMBS_PER_CLASS = 2;
const MAX_THUMBS = 12;

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function isDicomBytes(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/** Every file under the root, symbolic links followed (with a loop guard), in name order. */
function walk(root: string): string[] {
  return walkFiles(root, { maxFiles: MAX_ITEMS }).map((w) => w.file);
}

function rel(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Every item's id, label and bytes, in id order: the same files and labels give the same hash. */
export function contentHash(items: readonly Pick<DatasetItem, 'itemId' | 'label' | 'sha256' | 'maskSha256'>[]): string {
  const h = crypto.createHash('sha256');
  for (const it of [...items].sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0))) {
    h.update(`${it.itemId}\t${it.label ?? ''}\t${it.sha256}\t${it.maskSha256 ?? ''}\n`);
  }
  return h.digest('hex');
}

/** Splits one CSV line (RFC 4180 quotes). */
function csvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

async function readFileOrFail(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `${what} ${file} cannot be read; fix the path and register the data set again.`, { cause: err });
  }
}

/** Grey 8-bit thumbnail (area average) of any decoded image, as a PNG data URL. */
export function thumbnailPng(img: RawImage): string {
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
  const scale = Math.min(THUMB / w, THUMB / h, 1);
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
export async function decodeDicomImage(bytes: Uint8Array): Promise<RawImage> {
  const parsed = parseDicomFile(bytes, DEFAULT_LIMITS);
  const f = await decodeFrame(parsed, 0);
  const { rescaleSlope: slope, rescaleIntercept: intercept } = parsed.meta.instance;
  if (f.samplesPerPixel === 3) return { width: f.columns, height: f.rows, channels: 3, bitsPerSample: 8, data: new Uint8Array(f.pixels.buffer, f.pixels.byteOffset, f.pixels.byteLength) };
  const out = new Float32Array(f.pixels.length);
  const invert = f.photometric === 'MONOCHROME1';
  for (let i = 0; i < out.length; i++) out[i] = (invert ? -1 : 1) * (f.pixels[i]! * slope + intercept);
  return { width: f.columns, height: f.rows, channels: 1, bitsPerSample: 32, data: out };
}

export async function decodeItemImage(file: string, bytes?: Uint8Array): Promise<RawImage> {
  const b = bytes ?? (await fs.promises.readFile(file));
  if (isDicomBytes(b)) {
    try {
      return await decodeDicomImage(b);
    } catch (err) {
      if (err instanceof WorkstationError) throw err;
      throw new WorkstationError('INVALID_INPUT', `The DICOM file ${path.basename(file)} could not be decoded.`, { cause: err });
    }
  }
  return decodeImage(b, `The file ${path.basename(file)}`);
}

async function thumbnails(items: DatasetItem[]): Promise<ScannedDataset['thumbnails']> {
  const out: ScannedDataset['thumbnails'] = [];
  const perClass = new Map<string, number>();
  for (const it of items) {
    if (out.length >= MAX_THUMBS) break;
    const k = it.label ?? '(none)';
    if ((perClass.get(k) ?? 0) >= THUMBS_PER_CLASS) continue;
    try {
      out.push({ itemId: it.itemId, label: it.label, png: thumbnailPng(await decodeItemImage(it.file)) });
      perClass.set(k, (perClass.get(k) ?? 0) + 1);
    } catch {
      // an undecodable item gets no thumbnail; scoring reports it with its reason
    }
  }
  return out;
}

/** Registers nothing: reads the folder or CSV and returns what would be registered. */
export async function scanDataset(input: string, name?: string): Promise<ScannedDataset> {
  const source = path.resolve(input);
  let st: fs.Stats;
  try {
    st = fs.statSync(source);
  } catch (err) {
    throw new WorkstationError('NOT_FOUND', `There is no folder or CSV file at ${input}.`, { cause: err });
  }
  let kind: DatasetKind;
  const items: DatasetItem[] = [];
  if (st.isFile()) {
    if (!/\.csv$/i.test(source)) throw new WorkstationError('INVALID_INPUT', `${input} is a file but not a CSV; give a folder (one sub-folder per class, or DICOM files) or a CSV of path,label.`);
    kind = 'csv';
    const base = path.dirname(source);
    const lines = fs.readFileSync(source, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length === 0) throw new WorkstationError('INVALID_INPUT', `The CSV ${input} is empty.`);
    let first = csvLine(lines[0]!);
    let start = 0;
    let cols = { path: 0, label: 1, mask: 2 };
    const lower = first.map((c) => c.toLowerCase());
    if (lower.includes('path') || lower.includes('label') || lower.includes('image_path')) {
      const pi = lower.findIndex((c) => c === 'path' || c === 'image_path' || c === 'file');
      const li = lower.findIndex((c) => c === 'label' || c === 'label_name' || c === 'class');
      const mi = lower.findIndex((c) => c === 'mask' || c === 'mask_path');
      if (pi < 0 || li < 0) throw new WorkstationError('INVALID_INPUT', `The CSV ${input} has a header without "path" and "label" columns.`);
      cols = { path: pi, label: li, mask: mi };
      start = 1;
      first = [];
    }
    const seen = new Set<string>();
    for (let i = start; i < lines.length; i++) {
      const f = csvLine(lines[i]!);
      const p = f[cols.path];
      const label = f[cols.label];
      if (!p || !label) throw new WorkstationError('INVALID_INPUT', `Line ${i + 1} of ${input} needs a path and a label.`, { details: { line: i + 1 } });
      const file = path.resolve(base, p);
      const itemId = p.split(path.sep).join('/');
      if (seen.has(itemId)) throw new WorkstationError('INVALID_INPUT', `Line ${i + 1} of ${input} repeats ${p}.`, { details: { line: i + 1 } });
      seen.add(itemId);
      const bytes = await readFileOrFail(file, `Line ${i + 1} of the CSV names`);
      const m = cols.mask >= 0 ? f[cols.mask] : undefined;
      const maskFile = m ? path.resolve(base, m) : null;
      const maskSha = maskFile ? sha256(await readFileOrFail(maskFile, `Line ${i + 1} of the CSV names the mask`)) : null;
      items.push({ idx: items.length, itemId, label, file, sha256: sha256(bytes), maskFile, maskSha256: maskSha });
      if (items.length > MAX_ITEMS) throw new WorkstationError('INVALID_INPUT', `The CSV lists more than ${MAX_ITEMS} files; register a smaller data set.`);
    }
  } else if (st.isDirectory()) {
    const files = walk(source);
    // One pass: read (async, so the event loop keeps serving), sniff, hash; bytes are not kept.
    const entries: { file: string; sha: string; isDicom: boolean }[] = [];
    let dicom = 0;
    let images = 0;
    for (const file of files) {
      const bytes = await fs.promises.readFile(file);
      const isDicom = isDicomBytes(bytes);
      if (isDicom) dicom++;
      else if (sniffFormat(bytes)) images++;
      else continue; // not an image: README, manifest.csv, ...
      entries.push({ file, sha: sha256(bytes), isDicom });
    }
    if (entries.length === 0) throw new WorkstationError('INVALID_INPUT', `The folder ${input} holds no PNG, JPEG or DICOM files.`);
    kind = dicom > images ? 'dicom' : 'folders';
    const seenIds = new Set<string>();
    for (const e of entries) {
      const r = rel(source, e.file);
      const parts = r.split('/');
      // The class is the first sub-folder under the root; files directly in the root are unlabelled.
      const label = parts.length > 1 ? parts[0]! : null;
      if (kind === 'folders' && label === null) continue;
      if (kind === 'folders' && e.isDicom) continue;
      if (kind === 'dicom' && !e.isDicom) continue;
      // DICOM file names often carry patient names or IDs: researchers see a content-derived id.
      let itemId = r;
      if (kind === 'dicom') {
        itemId = `${label ? label + '/' : ''}dcm-${e.sha.slice(0, 16)}`;
        if (seenIds.has(itemId)) itemId += `-${items.length}`;
      }
      seenIds.add(itemId);
      items.push({ idx: items.length, itemId, label, file: e.file, sha256: e.sha, maskFile: null, maskSha256: null });
    }
    if (items.length === 0) throw new WorkstationError('INVALID_INPUT', `The folder ${input} has images only at its top level; put them in one sub-folder per class.`);
  } else {
    throw new WorkstationError('INVALID_INPUT', `${input} is neither a folder nor a CSV file.`);
  }
  const classCounts: Record<string, number> = {};
  for (const it of items) classCounts[it.label ?? '(none)'] = (classCounts[it.label ?? '(none)'] ?? 0) + 1;
  return {
    kind,
    source,
    name: name ?? path.basename(source).replace(/\.csv$/i, ''),
    items,
    contentHash: contentHash(items),
    classCounts,
    thumbnails: await thumbnails(items),
  };
}
