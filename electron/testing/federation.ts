// Fixtures for the federation tests: free loopback ports, class folders of real images drawn from
// the shared data sets (the model's own validation split for reference sets, never-validated
// images for sites), LGG slices whose file names carry TCGA patient ids, and a key-holding view
// of a site's secrets for the tests that play a malicious site.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { appRoot } from '../services/config';
import { splitLists } from '../services/federated';
import { datasetsRoot, shippedModelDir } from './research';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The shipped model's version (its card), to read the split lists of the pipeline run that made it. */
export function shippedVersion(): string {
  return String((JSON.parse(fs.readFileSync(path.join(shippedModelDir(), 'model-card.json'), 'utf8')) as { version?: unknown }).version ?? '1');
}

/** brain-tumor-mri files (class/name) in a split of the shipped model's training pipeline. */
export function mriSplit(split: 'train' | 'val' | 'cal' | 'sel'): { file: string; label: string }[] {
  const root = path.join(datasetsRoot(), 'brain-tumor-mri');
  const lists = splitLists(path.join(appRoot(), 'native-models', 'training', 'splits'), shippedVersion());
  const all = ['glioma', 'meningioma', 'notumor', 'pituitary'].flatMap((c) => fs.readdirSync(path.join(root, c)).sort().map((f, i) => ({ file: path.join(root, c, f), label: c, key: `mri/${c}/${f}`, i })));
  // A pipeline without split lists: a fixed split (every 5th file is "val").
  const inSplit = (x: (typeof all)[number]): boolean => (lists.size ? lists.get(x.key) === split : (x.i % 5 === 0) === (split === 'val'));
  return all.filter(inSplit).map(({ file, label }) => ({ file, label }));
}

/** The first `perClass` of each class from a list. */
export function takePerClass<T extends { label: string }>(list: readonly T[], perClass: Record<string, number>, skip: Record<string, number> = {}): T[] {
  const out: T[] = [];
  for (const [cls, n] of Object.entries(perClass)) out.push(...list.filter((x) => x.label === cls).slice(skip[cls] ?? 0, (skip[cls] ?? 0) + n));
  return out;
}

/** LGG slices of one sequence (flair, t1, t1ce): file names carry the TCGA patient id. */
export function lggSlices(sequence: 'flair' | 't1' | 't1ce', perLabel: Record<string, number>, skip = 0): { file: string; label: string; patient: string }[] {
  const root = path.join(datasetsRoot(), 'brain-tumor-lgg');
  const rows = fs
    .readFileSync(path.join(root, 'manifest.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .filter((c) => c[3] === sequence)
    .map((c) => ({ file: path.join(root, c[0]!), label: c[1]!, patient: c[2]! }));
  return Object.entries(perLabel).flatMap(([label, n]) => rows.filter((r) => r.label === label).slice(skip, skip + n));
}

/**
 * Copies images into dest/<label>/ (a data set in the "folders" layout). `relabel` maps a true
 * label to the one written (a site with flipped labels); `rename` names the copies.
 */
export function writeClassFolder(dest: string, images: readonly { file: string; label: string }[], opts: { relabel?: (label: string) => string; rename?: (src: string, i: number) => string } = {}): string {
  images.forEach((im, i) => {
    const label = opts.relabel ? opts.relabel(im.label) : im.label;
    fs.mkdirSync(path.join(dest, label), { recursive: true });
    fs.copyFileSync(im.file, path.join(dest, label, opts.rename ? opts.rename(im.file, i) : path.basename(im.file)));
  });
  return dest;
}

/** Every printable run of 6+ characters in a byte buffer (to look for leaked identifiers). */
export function printableRuns(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1').replace(/[^\x20-\x7e]+/g, '\n');
}
