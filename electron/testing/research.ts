// Fixtures for the research tests: the shipped model (and an honest variant of it), a small
// data set copied from the real MRI images, and a CSV data set with ground-truth masks.
import fs from 'node:fs';
import path from 'node:path';
import { appRoot } from '../services/config';

export function shippedModelDir(): string {
  const root = process.env.TUMORPREDICT_MODELS ? path.resolve(process.env.TUMORPREDICT_MODELS) : path.join(appRoot(), 'native-models');
  const dir = path.join(root, 'tumornet');
  if (!fs.existsSync(path.join(dir, 'model-card.json'))) {
    throw new Error(`The shipped model ${dir} is missing: train it with /usr/bin/python3 native-models/training/train.py (or set TUMORPREDICT_MODELS to a folder holding tumornet/).`);
  }
  return dir;
}

/**
 * A second model for the registry and comparison tests: the same weights with the calibration
 * temperature set to 1 (the uncalibrated network), under its own id and version. A genuine
 * variant (its probabilities differ), but not an independently trained model: tests say so.
 */
export function makeUncalibratedVariant(destParent: string, id = 'tumornet-t1'): string {
  return makeTemperatureVariant(destParent, id, 1);
}

/** The shipped weights under another id with another calibration temperature (version gets "-t<T>"). */
export function makeTemperatureVariant(destParent: string, id: string, temperature: number): string {
  const src = shippedModelDir();
  const dest = path.join(destParent, id);
  fs.cpSync(src, dest, { recursive: true });
  const card = JSON.parse(fs.readFileSync(path.join(dest, 'model-card.json'), 'utf8')) as Record<string, unknown>;
  card.id = id;
  card.version = `${String(card.version)}-t${temperature}`;
  card.name = `${String(card.name ?? 'TumorNet')} (${temperature === 1 ? 'uncalibrated ' : ''}variant, temperature ${temperature})`;
  if (card.calibration && typeof card.calibration === 'object') (card.calibration as Record<string, unknown>).temperature = temperature;
  card.temperature = temperature;
  fs.writeFileSync(path.join(dest, 'model-card.json'), JSON.stringify(card, null, 1));
  return dest;
}

export function datasetsRoot(): string {
  const dir = path.resolve(appRoot(), '../shared/datasets');
  if (!fs.existsSync(path.join(dir, 'brain-tumor-mri'))) {
    throw new Error(`The MRI data set is missing: expected ${dir}/brain-tumor-mri (the shared datasets folder beside the clone; see its README).`);
  }
  return dir;
}

export const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'] as const;

/** Copies the first `perClass` images of each class into dest/<class>/. */
export function copyMriSubset(dest: string, perClass: number): string {
  const src = path.join(datasetsRoot(), 'brain-tumor-mri');
  for (const cls of CLASSES) {
    fs.mkdirSync(path.join(dest, cls), { recursive: true });
    const files = fs
      .readdirSync(path.join(src, cls))
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort()
      .slice(0, perClass);
    for (const f of files) fs.copyFileSync(path.join(src, cls, f), path.join(dest, cls, f));
  }
  return dest;
}

/** A CSV data set (path,label,mask) of `n` segmentation images with their hand-drawn masks. */
export function writeSegCsv(dest: string, n: number): string {
  const seg = path.join(datasetsRoot(), 'brain-tumor-seg');
  const rows = fs.readFileSync(path.join(seg, 'index.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
  fs.mkdirSync(path.join(dest, 'images'), { recursive: true });
  fs.mkdirSync(path.join(dest, 'masks'), { recursive: true });
  const out = ['path,label,mask'];
  for (const line of rows.slice(0, n)) {
    const [id, label, img, mask] = line.split(',');
    fs.copyFileSync(path.join(seg, img!), path.join(dest, 'images', `${id}.png`));
    fs.copyFileSync(path.join(seg, mask!), path.join(dest, 'masks', `${id}.png`));
    out.push(`images/${id}.png,${label},masks/${id}.png`);
  }
  const file = path.join(dest, 'seg.csv');
  fs.writeFileSync(file, out.join('\n') + '\n');
  return file;
}

export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/**
 * A hostile DICOM file: a valid header followed by `n` empty private elements (8 bytes each in
 * the file, far more in a parser's heap: 10^6 of them take about 200 MB). Parsing it on the main
 * thread of a process with a small heap ends that process; in a capped worker, only the worker.
 */
export function manyElementsDicom(n: number): Buffer {
  const el = (g: number, e: number, vr: string, val: Buffer): Buffer => {
    const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
    const h = Buffer.alloc(long ? 12 : 8);
    h.writeUInt16LE(g, 0);
    h.writeUInt16LE(e, 2);
    h.write(vr, 4, 'latin1');
    if (long) h.writeUInt32LE(val.length, 8);
    else h.writeUInt16LE(val.length, 6);
    return Buffer.concat([h, val]);
  };
  const ui = (s: string): Buffer => (s.length % 2 ? Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])]) : Buffer.from(s, 'latin1'));
  const meta = Buffer.concat([el(2, 1, 'OB', Buffer.from([0, 1])), el(2, 2, 'UI', ui('1.2.840.10008.5.1.4.1.1.4')), el(2, 3, 'UI', ui('1.2.826.0.1.3680043.10.54321.1')), el(2, 0x10, 'UI', ui('1.2.840.10008.1.2.1'))]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(meta.length);
  const body = Buffer.alloc(n * 8);
  for (let i = 0, o = 0; i < n; i++, o += 8) {
    body.writeUInt16LE(0x0009 + 2 * Math.floor(i / 0xff00), o);
    body.writeUInt16LE(0x0100 + (i % 0xff00), o + 2);
    body.write('LO', o + 4, 'latin1');
  }
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), el(2, 0, 'UL', len), meta, body]);
}

/**
 * A CSV data set from two sources with a `source` and a `sequence` column: LGG slices (real
 * t1, t1ce and flair images with their masks) and images of the four-class MRI set (sequence not
 * recorded). `perSequence` LGG glioma slices per sequence, `perClass` MRI images per class.
 */
export function writeMultiSourceCsv(dest: string, perSequence = 2, perClass = 3): string {
  const lggRoot = path.join(datasetsRoot(), 'brain-tumor-lgg');
  const rows = fs.readFileSync(path.join(lggRoot, 'manifest.csv'), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
  fs.mkdirSync(path.join(dest, 'lgg'), { recursive: true });
  fs.mkdirSync(path.join(dest, 'mri'), { recursive: true });
  const out = ['path,label,mask,source,sequence'];
  for (const seq of ['t1', 't1ce', 'flair']) {
    const picked = rows.filter((r) => r[1] === 'glioma' && r[3] === seq).slice(0, perSequence);
    for (const r of picked) {
      const img = path.basename(r[0]!);
      const mask = path.basename(r[5]!);
      fs.copyFileSync(path.join(lggRoot, r[0]!), path.join(dest, 'lgg', img));
      fs.copyFileSync(path.join(lggRoot, r[5]!), path.join(dest, 'lgg', mask));
      out.push(`lgg/${img},glioma,lgg/${mask},lgg,${seq}`);
    }
  }
  const mri = path.join(datasetsRoot(), 'brain-tumor-mri');
  for (const cls of CLASSES) {
    for (const f of fs.readdirSync(path.join(mri, cls)).filter((x) => /\.jpe?g$/i.test(x)).sort().slice(0, perClass)) {
      fs.copyFileSync(path.join(mri, cls, f), path.join(dest, 'mri', `${cls}-${f}`));
      out.push(`mri/${cls}-${f},${cls},,kaggle-mri,`);
    }
  }
  const file = path.join(dest, 'multi.csv');
  fs.writeFileSync(file, out.join('\n') + '\n');
  return file;
}
