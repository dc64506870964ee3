// The simulation's data: the shared data sets as one list (source, sequence, class, patient group),
// a reference set the model never trained on (its pipeline's validation split, plus a fifth of the
// LGG patients), and a non-IID split of the rest over N sites: for every source and class the
// sites' shares are drawn from a Dirichlet distribution (seeded), LGG patients go whole to one site.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkstationError } from '../../contract';
import { seeded } from './train-head';

export type SourceName = 'mri' | 'seg' | 'lgg-flair' | 'lgg-t1' | 'lgg-t1ce';
export const SOURCE_NAMES: readonly SourceName[] = ['mri', 'seg', 'lgg-flair', 'lgg-t1', 'lgg-t1ce'];

export interface SimItem {
  file: string;
  label: string;
  source: SourceName;
  /** Images that must stay together (an LGG patient; otherwise the file itself). */
  group: string;
  /** The model pipeline's split for mri/seg images (train, cal, sel, val), or null. */
  split: string | null;
}

function csvRows(file: string): string[][] {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));
}

/**
 * The split lists of the pipeline run that made a model: tumornet 1.x wrote splits/<split>.txt
 * (path,label; brain-tumor-mri and -seg only), the pipeline writes splits/<split>.csv (file,
 * label, source, group, sequence; every source) from 2.0.0 on. Both may sit in the folder.
 */
export function splitLists(splitsDir: string | null, modelVersion: string): Map<string, string> {
  const splitOf = new Map<string, string>();
  if (!splitsDir || !fs.existsSync(splitsDir)) return splitOf;
  const names = fs.readdirSync(splitsDir);
  const csv = names.filter((n) => n.endsWith('.csv'));
  const txt = names.filter((n) => n.endsWith('.txt'));
  const useCsv = csv.length > 0 && (!/^1(\.|$)/.test(modelVersion) || txt.length === 0);
  for (const f of useCsv ? csv : txt) {
    const lines = fs.readFileSync(path.join(splitsDir, f), 'utf8').split(/\r?\n/);
    for (const line of useCsv ? lines.slice(1) : lines) {
      const rel = line.split(',')[0];
      if (rel) splitOf.set(rel, f.replace(/\.(csv|txt)$/, ''));
    }
  }
  return splitOf;
}

/** Every labelled image of the shared data sets, with the split the model's pipeline put it in. */
export function sharedItems(datasetsDir: string, splitsDir: string | null, modelVersion = '1'): SimItem[] {
  const mriDir = path.join(datasetsDir, 'brain-tumor-mri');
  if (!fs.existsSync(path.join(mriDir, 'manifest.csv'))) throw new WorkstationError('NOT_FOUND', `The shared data sets are not at ${datasetsDir} (no brain-tumor-mri/manifest.csv).`);
  const splitOf = splitLists(splitsDir, modelVersion);
  // Without split files: a fixed hash split (15% "val").
  const hashSplit = (rel: string): string => (parseInt(crypto.createHash('sha256').update(rel).digest('hex').slice(0, 8), 16) / 2 ** 32 < 0.15 ? 'val' : 'train');
  const items: SimItem[] = [];
  for (const [rel, label] of csvRows(path.join(mriDir, 'manifest.csv'))) {
    const key = `mri/${rel}`;
    items.push({ file: path.join(mriDir, rel!), label: label!, source: 'mri', group: key, split: splitOf.get(key) ?? (splitOf.size ? null : hashSplit(key)) });
  }
  const segDir = path.join(datasetsDir, 'brain-tumor-seg');
  if (fs.existsSync(path.join(segDir, 'index.csv'))) {
    for (const [, label, img] of csvRows(path.join(segDir, 'index.csv'))) {
      const key = `seg/${img}`;
      items.push({ file: path.join(segDir, img!), label: label!, source: 'seg', group: key, split: splitOf.get(key) ?? (splitOf.size ? null : hashSplit(key)) });
    }
  }
  const lggDir = path.join(datasetsDir, 'brain-tumor-lgg');
  if (fs.existsSync(path.join(lggDir, 'manifest.csv'))) {
    for (const [file, label, patient, sequence] of csvRows(path.join(lggDir, 'manifest.csv'))) {
      items.push({ file: path.join(lggDir, file!), label: label!, source: `lgg-${sequence}` as SourceName, group: `lgg:${patient}`, split: splitOf.get(`lgg/${file!}`) ?? null });
    }
  }
  return items;
}

function gamma(rand: () => number, normal: () => number, a: number): number {
  // Marsaglia and Tsang; for a < 1 via Gamma(a + 1) * U^(1/a).
  if (a < 1) return gamma(rand, normal, a + 1) * Math.pow(rand() || 1e-12, 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rand();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function dirichlet(rand: () => number, normal: () => number, k: number, alpha: number): number[] {
  const g = Array.from({ length: k }, () => gamma(rand, normal, alpha));
  const s = g.reduce((a, b) => a + b, 0);
  return g.map((x) => x / s);
}

function pick(rand: () => number, p: readonly number[]): number {
  let u = rand();
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u <= 0) return i;
  }
  return p.length - 1;
}

export interface SimSplit {
  reference: SimItem[];
  sites: SimItem[][];
  /** Images per site by source and class, for the report. */
  table: { site: number; source: string; label: string; n: number }[];
}

export interface SplitOptions {
  sites: number;
  /** Dirichlet concentration: small = very non-IID, large = nearly IID. */
  alpha: number;
  seed: number;
  /** Sources sites hold (the reference set keeps every source). */
  sources?: readonly SourceName[] | undefined;
  /** 'unseen': only images the model's weights never trained on (cal, sel, and LGG); 'all': its training images too. */
  siteData: 'unseen' | 'all';
  /** Fraction of LGG patients kept for the reference set. */
  referenceLgg: number;
}

export function splitForSimulation(items: readonly SimItem[], opts: SplitOptions): SimSplit {
  const rand = seeded(opts.seed);
  const normal = (() => {
    const r2 = seeded(opts.seed ^ 0x5bd1e995);
    return () => {
      const u = r2() || 1e-12;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r2());
    };
  })();
  const hash01 = (s: string): number => parseInt(crypto.createHash('sha256').update(`${opts.seed}:${s}`).digest('hex').slice(0, 8), 16) / 2 ** 32;
  const reference: SimItem[] = [];
  const pool: SimItem[] = [];
  for (const it of items) {
    // LGG images no list names (a model that never saw LGG): whole patients by hash.
    const unlisted = it.source.startsWith('lgg') && it.split === null;
    if (unlisted ? hash01(it.group) < opts.referenceLgg : it.split === 'val') reference.push(it);
    else if (unlisted || opts.siteData === 'all' || it.split === 'cal' || it.split === 'sel') pool.push(it);
  }
  const allowed = opts.sources ? new Set(opts.sources) : null;
  const sites: SimItem[][] = Array.from({ length: opts.sites }, () => []);
  const shares = new Map<string, number[]>();
  const shareOf = (key: string): number[] => {
    let s = shares.get(key);
    if (!s) {
      s = dirichlet(rand, normal, opts.sites, opts.alpha);
      shares.set(key, s);
    }
    return s;
  };
  const groupSite = new Map<string, number>();
  for (const it of pool) {
    if (allowed && !allowed.has(it.source)) continue;
    let site: number;
    if (it.source.startsWith('lgg')) {
      // A patient's slices (every sequence) stay at one site; the site's share of LGG patients is non-IID.
      site = groupSite.get(it.group) ?? pick(rand, shareOf('lgg'));
      groupSite.set(it.group, site);
    } else {
      site = pick(rand, shareOf(`${it.source}|${it.label}`));
    }
    sites[site]!.push(it);
  }
  const table: SimSplit['table'] = [];
  sites.forEach((list, s) => {
    const counts = new Map<string, number>();
    for (const it of list) counts.set(`${it.source}|${it.label}`, (counts.get(`${it.source}|${it.label}`) ?? 0) + 1);
    for (const [k, n] of [...counts].sort()) {
      const [source, label] = k.split('|') as [string, string];
      table.push({ site: s, source, label, n });
    }
  });
  return { reference, sites, table };
}
