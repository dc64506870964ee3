// Tumor geometry for tracking and reports: slice positions along the slice normal, the volume of a
// mask stack (sum of area x slice spacing) where the geometry allows it, the largest diameter of
// a mask with its perpendicular, and which side of the patient a mask lies on, all from the
// file's Image Position, Image Orientation and Pixel Spacing.
import { longestAndPerpendicular, type Point } from '../measurements';

type Vec3 = [number, number, number];

const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: readonly number[], b: readonly number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

/** The unit normal of a slice from its six direction cosines, or null when they are not usable. */
export function sliceNormal(orientation: readonly number[] | null): Vec3 | null {
  if (!orientation || orientation.length !== 6 || orientation.some((v) => !Number.isFinite(v))) return null;
  const n = cross([orientation[0]!, orientation[1]!, orientation[2]!], [orientation[3]!, orientation[4]!, orientation[5]!]);
  const len = Math.hypot(...n);
  return len > 1e-6 ? [n[0] / len, n[1] / len, n[2] / len] : null;
}

/** Position of a slice along its normal, mm (null without position or orientation). */
export function slicePosition(position: readonly number[] | null, orientation: readonly number[] | null): number | null {
  const n = sliceNormal(orientation);
  if (!n || !position || position.length !== 3) return null;
  return dot(position, n);
}

export interface VolumeSlice {
  areaMm2: number | null;
  areaPx: number;
  /** Along the slice normal, mm; null when the file gives no position (or a frame of a multi-frame image). */
  position: number | null;
}

/**
 * The volume of a tumor over a series: the sum of its mask areas times the spacing between slice
 * positions (the median gap, so one missing slice does not double it). Null, with the reason,
 * where the geometry does not allow it.
 */
export function stackVolume(slices: readonly VolumeSlice[]): { volumeMm3: number | null; spacingMm: number | null; note: string | null } {
  const withTumor = slices.filter((s) => s.areaPx > 0);
  if (slices.some((s) => s.position === null)) return { volumeMm3: null, spacingMm: null, note: 'the slices have no position in the file (or are frames of one image), so their spacing is unknown' };
  const zs = [...new Set(slices.map((s) => Math.round(s.position! * 1000) / 1000))].sort((a, b) => a - b);
  const gaps = zs.slice(1).map((z, i) => z - zs[i]!).filter((g) => g > 1e-3);
  if (gaps.length === 0) return { volumeMm3: null, spacingMm: null, note: 'the series has a single slice position, so there is no slice spacing' };
  gaps.sort((a, b) => a - b);
  const spacingMm = gaps[Math.floor(gaps.length / 2)]!;
  if (withTumor.some((s) => s.areaMm2 === null)) return { volumeMm3: null, spacingMm, note: 'the file gives no pixel spacing, so the areas are in pixels' };
  return { volumeMm3: withTumor.reduce((sum, s) => sum + s.areaMm2!, 0) * spacingMm, spacingMm, note: null };
}

/** Convex hull (monotone chain) of points. */
function hull(points: Point[]): Point[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const turn = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && turn(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: Point[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!;
    while (upper.length >= 2 && turn(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/**
 * The largest in-plane diameter of a 0/1 mask and the largest extent perpendicular to it, over the
 * corners of its pixels (so one pixel measures one pixel across), in mm with the pixel spacing
 * ([row, column] mm) or in pixels without it. Zero for an empty mask.
 */
export function maskDiameters(mask: ArrayLike<number>, width: number, height: number, spacing: readonly [number, number] | null): { longest: number; perpendicular: number; unit: 'mm' | 'px' } {
  const corners: Point[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      // Only edge pixels can hold hull corners.
      if (x > 0 && y > 0 && x < width - 1 && y < height - 1 && mask[i - 1] && mask[i + 1] && mask[i - width] && mask[i + width]) continue;
      corners.push([x, y], [x + 1, y], [x, y + 1], [x + 1, y + 1]);
    }
  }
  const unit = spacing ? 'mm' : 'px';
  if (corners.length === 0) return { longest: 0, perpendicular: 0, unit };
  const d = longestAndPerpendicular(hull(corners), spacing ? spacing[1] : 1, spacing ? spacing[0] : 1);
  return { longest: d.longest, perpendicular: d.perpendicular, unit };
}

/**
 * Where a mask lies in the patient, from Image Orientation (Patient): the offset of the mask's
 * centroid from the image centre, projected on the patient's left-right axis (DICOM's +x is the
 * patient's left) and front-back axis (+y is posterior). The image centre stands for the midline,
 * which holds for head scans centred on the head; within 5 mm of it (or 6% of the field of view,
 * whichever is less) a mask is midline or central. A null side where the slice has no left-right
 * axis in its plane (sagittal), a null front-back where it has none (coronal); both null without
 * orientation or mask.
 */
export function maskPosition(mask: ArrayLike<number>, width: number, height: number, orientation: readonly number[] | null, spacing: readonly [number, number] | null): { side: 'left' | 'right' | 'midline' | null; frontBack: 'anterior' | 'posterior' | 'central' | null } {
  const none = { side: null, frontBack: null };
  if (!orientation || orientation.length !== 6) return none;
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      n++;
      sx += x + 0.5;
      sy += y + 0.5;
    }
  }
  if (n === 0) return none;
  const colMm = spacing ? spacing[1] : 1;
  const rowMm = spacing ? spacing[0] : 1;
  const dx = (sx / n - width / 2) * colMm;
  const dy = (sy / n - height / 2) * rowMm;
  const threshold = Math.min(spacing ? 5 : Infinity, 0.06 * Math.max(width * colMm, height * rowMm));
  const along = (axis: 0 | 1): number | null => {
    const r = orientation[axis]!; // patient axis per column step
    const c = orientation[3 + axis]!; // per row step
    if (Math.abs(r) < 0.3 && Math.abs(c) < 0.3) return null;
    return dx * r + dy * c;
  };
  const lr = along(0);
  const ap = along(1);
  return {
    side: lr === null ? null : Math.abs(lr) < threshold ? 'midline' : lr > 0 ? 'left' : 'right',
    frontBack: ap === null ? null : Math.abs(ap) < threshold ? 'central' : ap > 0 ? 'posterior' : 'anterior',
  };
}

/** The patient side a mask lies on (see maskPosition). */
export function maskSide(mask: ArrayLike<number>, width: number, height: number, orientation: readonly number[] | null, spacing: readonly [number, number] | null): 'left' | 'right' | 'midline' | null {
  return maskPosition(mask, width, height, orientation, spacing).side;
}
