// Geometry between viewports: linked scrolling (by slice position along the normal within one
// Frame of Reference, by slice index otherwise) and reference lines (where another viewport's
// slice plane cuts this one), from Image Position, Image Orientation and Pixel Spacing.

/** One image plane in patient coordinates (mm). */
export interface ImagePlane {
  position: readonly [number, number, number];
  /** Direction of increasing column index (along a row), then of increasing row index. */
  rowCosines: readonly [number, number, number];
  columnCosines: readonly [number, number, number];
  /** [row spacing, column spacing] mm. */
  spacing: readonly [number, number];
  rows: number;
  columns: number;
}

type V = readonly [number, number, number];
const sub = (a: V, b: V): [number, number, number] => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const add = (a: V, b: V): [number, number, number] => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const mul = (a: V, k: number): [number, number, number] => [a[0] * k, a[1] * k, a[2] * k];
const dot = (a: V, b: V): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V, b: V): [number, number, number] => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

export function normalOf(p: ImagePlane): [number, number, number] {
  const n = cross(p.rowCosines, p.columnCosines);
  const len = Math.hypot(...n) || 1;
  return mul(n, 1 / len);
}

/** A stack for linking: its Frame of Reference and each slice's position along its normal (null if unknown). */
export interface LinkStack {
  frameOfReferenceUid: string | null;
  normal: readonly [number, number, number] | null;
  /** Per slice: its position (IPP) in patient coordinates, or null. */
  positions: readonly (readonly [number, number, number] | null)[];
}

export type LinkMode = 'position' | 'index';

/** How two stacks link: by position when they share a Frame of Reference and parallel planes with known positions. */
export function linkMode(a: LinkStack, b: LinkStack): LinkMode {
  if (!a.frameOfReferenceUid || a.frameOfReferenceUid !== b.frameOfReferenceUid || !a.normal || !b.normal) return 'index';
  if (Math.abs(dot(a.normal, b.normal)) < 0.99) return 'index';
  if (a.positions.some((p) => !p) || b.positions.some((p) => !p)) return 'index';
  return 'position';
}

/**
 * The slice of `target` to show when `source` shows slice `index`: by position, the target slice
 * nearest the source slice's position along the target's normal; by index, the same index moved
 * by `offset` (the difference when the link was made), clamped to the stack.
 */
export function linkedIndex(source: LinkStack, index: number, target: LinkStack, mode: LinkMode, offset = 0): number {
  const n = target.positions.length;
  if (n === 0) return 0;
  if (mode === 'position') {
    const p = source.positions[index];
    if (p && target.normal) {
      const d = dot(p, target.normal);
      let best = 0;
      let bestDist = Infinity;
      target.positions.forEach((q, i) => {
        if (!q) return;
        const dist = Math.abs(dot(q, target.normal!) - d);
        if (dist < bestDist) {
          bestDist = dist;
          best = i;
        }
      });
      return best;
    }
  }
  return Math.max(0, Math.min(n - 1, index + offset));
}

/** The four corners of an image in patient coordinates (outer edges of the corner pixels). */
function corners(p: ImagePlane): [number, number, number][] {
  const [rs, cs] = p.spacing;
  // IPP is the centre of the first pixel: the image's edge is half a pixel before it.
  const origin = sub(sub(p.position, mul(p.rowCosines, cs / 2)), mul(p.columnCosines, rs / 2));
  const across = mul(p.rowCosines, cs * p.columns);
  const down = mul(p.columnCosines, rs * p.rows);
  return [origin, add(origin, across), add(add(origin, across), down), add(origin, down)];
}

/** A patient-space point in the image's pixel coordinates (cornerstone's: pixel (0,0)'s top-left corner is 0,0). */
export function toImagePoint(p: ImagePlane, point: V): [number, number] {
  const d = sub(point, p.position);
  return [dot(d, p.rowCosines) / p.spacing[1] + 0.5, dot(d, p.columnCosines) / p.spacing[0] + 0.5];
}

/**
 * Where `source`'s plane cuts `target`: the segment, in `target`'s pixel coordinates, of the
 * source image's outline that crosses the target plane; null for parallel planes or no crossing.
 * Both images must share a Frame of Reference (the caller checks).
 */
export function referenceLine(target: ImagePlane, source: ImagePlane): [[number, number], [number, number]] | null {
  const nt = normalOf(target);
  if (Math.abs(dot(nt, normalOf(source))) > 0.99) return null;
  const dist = (q: V): number => dot(sub(q, target.position), nt);
  const c = corners(source);
  const hits: [number, number, number][] = [];
  for (let i = 0; i < 4; i++) {
    const a = c[i]!;
    const b = c[(i + 1) % 4]!;
    const da = dist(a);
    const db = dist(b);
    if (da === 0) hits.push(a);
    if ((da < 0 && db > 0) || (da > 0 && db < 0)) hits.push(add(a, mul(sub(b, a), da / (da - db))));
  }
  if (hits.length < 2) return null;
  // The two hits farthest apart (a corner on the plane can appear twice).
  let best: [number, number] = [0, 1];
  let far = -1;
  for (let i = 0; i < hits.length; i++) for (let j = i + 1; j < hits.length; j++) {
    const d = Math.hypot(...sub(hits[i]!, hits[j]!));
    if (d > far) {
      far = d;
      best = [i, j];
    }
  }
  return [toImagePoint(target, hits[best[0]]!), toImagePoint(target, hits[best[1]]!)];
}
