// Merging site updates into a new global head: FedAvg weighted by sample count with a cap on any
// one site's share, coordinate-wise median, and coordinate-wise trimmed mean; plus the screens a
// round applies before merging (update norm, direction against the other sites).
import type { HeadWeights } from './model-head';
import { cloneHead, updateNorm } from './train-head';

export type AggregationRule = 'fedavg' | 'median' | 'trimmed-mean';
export const AGGREGATION_RULES: readonly AggregationRule[] = ['fedavg', 'median', 'trimmed-mean'];

export interface SiteUpdate {
  site: string;
  samples: number;
  weights: HeadWeights;
}

export interface MergeOptions {
  rule: AggregationRule;
  /** FedAvg: the largest share of the total weight one site may have (0 < cap <= 1). */
  maxShare: number;
  /** Trimmed mean: the fraction of values cut at each end per coordinate (0 <= trim < 0.5). */
  trim: number;
}

export interface MergeResult {
  weights: HeadWeights;
  /** Weight each site had in the merge (FedAvg shares; equal for the robust rules). */
  shares: Record<string, number>;
}

/**
 * Shares proportional to samples, with no share above `cap`: the excess of capped sites is
 * spread over the others in proportion to their samples (water-filling). With k sites a cap
 * below 1/k cannot hold; it is raised to 1/k (equal shares).
 */
export function cappedShares(samples: readonly number[], cap: number): number[] {
  const k = samples.length;
  if (k === 0) return [];
  const c = Math.max(cap, 1 / k);
  const total = samples.reduce((a, b) => a + b, 0);
  let shares = samples.map((s) => (total > 0 ? s / total : 1 / k));
  const fixed = new Array<boolean>(k).fill(false);
  for (let iter = 0; iter < k; iter++) {
    const over = shares.findIndex((s, i) => !fixed[i] && s > c + 1e-12);
    if (over < 0) break;
    for (let i = 0; i < k; i++) if (!fixed[i] && shares[i]! > c) fixed[i] = true;
    const fixedMass = fixed.reduce((a, f) => a + (f ? c : 0), 0);
    const freeSamples = samples.reduce((a, s, i) => a + (fixed[i] ? 0 : s), 0);
    const freeCount = fixed.filter((f) => !f).length;
    shares = samples.map((s, i) => (fixed[i] ? c : freeSamples > 0 ? ((1 - fixedMass) * s) / freeSamples : (1 - fixedMass) / Math.max(1, freeCount)));
  }
  return shares;
}

function flat(h: HeadWeights): Float64Array {
  const out = new Float64Array(h.weight.length + h.bias.length);
  out.set(h.weight, 0);
  out.set(h.bias, h.weight.length);
  return out;
}

function unflat(v: Float64Array, like: HeadWeights): HeadWeights {
  const h = cloneHead(like);
  for (let k = 0; k < h.weight.length; k++) h.weight[k] = v[k]!;
  for (let k = 0; k < h.bias.length; k++) h.bias[k] = v[h.weight.length + k]!;
  return h;
}

export function merge(global: HeadWeights, updates: readonly SiteUpdate[], opts: MergeOptions): MergeResult {
  if (updates.length === 0) throw new RangeError('no updates to merge');
  const vs = updates.map((u) => flat(u.weights));
  const P = vs[0]!.length;
  const out = new Float64Array(P);
  const shares: Record<string, number> = {};
  if (opts.rule === 'fedavg') {
    const s = cappedShares(updates.map((u) => u.samples), opts.maxShare);
    updates.forEach((u, i) => (shares[u.site] = s[i]!));
    for (let i = 0; i < vs.length; i++) for (let k = 0; k < P; k++) out[k]! += s[i]! * vs[i]![k]!;
  } else {
    updates.forEach((u) => (shares[u.site] = 1 / updates.length));
    const col = new Float64Array(vs.length);
    const cut = opts.rule === 'trimmed-mean' ? Math.floor(vs.length * Math.min(0.49, Math.max(0, opts.trim))) : 0;
    for (let k = 0; k < P; k++) {
      for (let i = 0; i < vs.length; i++) col[i] = vs[i]![k]!;
      col.sort();
      if (opts.rule === 'median') {
        const m = col.length >> 1;
        out[k] = col.length % 2 ? col[m]! : (col[m - 1]! + col[m]!) / 2;
      } else {
        let sum = 0;
        for (let i = cut; i < col.length - cut; i++) sum += col[i]!;
        out[k] = sum / (col.length - 2 * cut);
      }
    }
  }
  return { weights: unflat(out, global), shares };
}

/** Cosine similarity of two updates (deltas from the global head); 0 when either is zero. */
export function cosine(a: HeadWeights, b: HeadWeights, global: HeadWeights): number {
  const ga = flat(global);
  const va = flat(a);
  const vb = flat(b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = 0; k < ga.length; k++) {
    const x = va[k]! - ga[k]!;
    const y = vb[k]! - ga[k]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export interface Screened {
  kept: SiteUpdate[];
  outvoted: { site: string; reason: string }[];
}

/**
 * Before merging: an update whose norm is far above the others' median (a scaled update) is
 * outvoted, with the figures in its reason. (Absolute norm limits and reference-set checks are
 * applied to each package on arrival; this compares sites with each other.)
 */
export function screenUpdates(global: HeadWeights, updates: readonly SiteUpdate[], opts: { normRatio: number }): Screened {
  const norms = updates.map((u) => updateNorm(u.weights, global));
  if (updates.length < 3) return { kept: [...updates], outvoted: [] };
  const sorted = [...norms].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  const kept: SiteUpdate[] = [];
  const outvoted: Screened['outvoted'] = [];
  updates.forEach((u, i) => {
    if (median > 0 && norms[i]! > opts.normRatio * median) {
      outvoted.push({ site: u.site, reason: `its update norm ${norms[i]!.toFixed(3)} is ${(norms[i]! / median).toFixed(1)} times the median of the round's updates (${median.toFixed(3)}); the limit is ${opts.normRatio} times` });
    } else kept.push(u);
  });
  return { kept, outvoted };
}
