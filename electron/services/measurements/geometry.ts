// The figures of a measurement from its points and the pixel spacing: lengths and areas in mm
// (pixels only where the file gives no spacing), angles in physical space (pixels need not be
// square), the longest diameter with its perpendicular, and pixel statistics inside an outline.
import { WorkstationError, type MeasurementKind, type MeasurementStats } from '../../contract';

export type Point = readonly [number, number];
/** [row spacing, column spacing] in mm, as (0028,0030) gives it: y then x. */
export type Spacing = readonly [number, number] | null;

export interface Figure {
  value: number;
  unit: 'mm' | 'px' | 'mm²' | 'px²' | '°' | '';
  axes: { major: number; minor: number } | null;
}

const scaleOf = (spacing: Spacing): { sx: number; sy: number; mm: boolean } => (spacing ? { sx: spacing[1], sy: spacing[0], mm: true } : { sx: 1, sy: 1, mm: false });

/** Shoelace area of a closed polygon, in the polygon's own units squared. */
export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[i]!;
    const [x1, y1] = points[(i + 1) % points.length]!;
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}

/**
 * The longest chord between any two of `points` (in mm once scaled) and the largest extent
 * perpendicular to it: the bidimensional size a radiologist reports ("32 x 21 mm").
 */
export function longestAndPerpendicular(points: readonly Point[], sx = 1, sy = 1): { longest: number; perpendicular: number; ends: [Point, Point] | null } {
  const p = points.map(([x, y]) => [x * sx, y * sy] as const);
  if (p.length < 2) return { longest: 0, perpendicular: 0, ends: null };
  let best = -1;
  let a = 0;
  let b = 0;
  for (let i = 0; i < p.length; i++) {
    for (let j = i + 1; j < p.length; j++) {
      const d = (p[i]![0] - p[j]![0]) ** 2 + (p[i]![1] - p[j]![1]) ** 2;
      if (d > best) {
        best = d;
        a = i;
        b = j;
      }
    }
  }
  const longest = Math.sqrt(best);
  if (longest === 0) return { longest: 0, perpendicular: 0, ends: [points[a]!, points[b]!] };
  // Unit normal to the longest chord; the perpendicular size is the spread of the points along it.
  const nx = -(p[b]![1] - p[a]![1]) / longest;
  const ny = (p[b]![0] - p[a]![0]) / longest;
  let lo = Infinity;
  let hi = -Infinity;
  for (const [x, y] of p) {
    const t = x * nx + y * ny;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t);
  }
  return { longest, perpendicular: hi - lo, ends: [points[a]!, points[b]!] };
}

/** The figure of a measurement, from points checked to be the right number for the kind. */
export function figureOf(kind: MeasurementKind, points: readonly Point[], spacing: Spacing): Figure {
  const { sx, sy, mm } = scaleOf(spacing);
  const len = mm ? 'mm' : 'px';
  const area = mm ? 'mm²' : 'px²';
  switch (kind) {
    case 'length': {
      const [[x0, y0], [x1, y1]] = points as [Point, Point];
      return { value: Math.hypot((x1 - x0) * sx, (y1 - y0) * sy), unit: len, axes: null };
    }
    case 'ellipse': {
      const [[x0, y0], [x1, y1]] = points as [Point, Point];
      const a = (Math.abs(x1 - x0) / 2) * sx;
      const b = (Math.abs(y1 - y0) / 2) * sy;
      return { value: Math.PI * a * b, unit: area, axes: { major: 2 * Math.max(a, b), minor: 2 * Math.min(a, b) } };
    }
    case 'freehand': {
      const scaled = points.map(([x, y]) => [x * sx, y * sy] as const);
      const d = longestAndPerpendicular(points, sx, sy);
      return { value: polygonArea(scaled), unit: area, axes: { major: d.longest, minor: d.perpendicular } };
    }
    case 'angle': {
      const [[ax, ay], [bx, by], [cx, cy]] = points as [Point, Point, Point];
      const v1 = [(ax - bx) * sx, (ay - by) * sy];
      const v2 = [(cx - bx) * sx, (cy - by) * sy];
      const n1 = Math.hypot(v1[0]!, v1[1]!);
      const n2 = Math.hypot(v2[0]!, v2[1]!);
      if (n1 === 0 || n2 === 0) throw new WorkstationError('INVALID_INPUT', 'An angle needs its two arms to have a length: the points must differ from the vertex.');
      const cos = Math.min(1, Math.max(-1, (v1[0]! * v2[0]! + v1[1]! * v2[1]!) / (n1 * n2)));
      return { value: (Math.acos(cos) * 180) / Math.PI, unit: '°', axes: null };
    }
    case 'probe':
      // The value comes from the pixels (statsOf); the figure is filled in there.
      return { value: 0, unit: '', axes: null };
  }
}

/** Ray casting: is (x, y) inside the closed polygon? */
function insidePolygon(points: readonly Point[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Statistics of the pixel values a measurement covers: pixels whose centre lies inside an ellipse
 * or freehand outline, or the one pixel under a probe. Null for lengths and angles.
 */
export function statsOf(kind: MeasurementKind, points: readonly Point[], pixels: ArrayLike<number>, columns: number, rows: number): MeasurementStats | null {
  const acc = { n: 0, sum: 0, sum2: 0, min: Infinity, max: -Infinity };
  const add = (v: number): void => {
    acc.n++;
    acc.sum += v;
    acc.sum2 += v * v;
    acc.min = Math.min(acc.min, v);
    acc.max = Math.max(acc.max, v);
  };
  if (kind === 'probe') {
    const [x, y] = points[0]!;
    const c = Math.min(columns - 1, Math.max(0, Math.floor(x)));
    const r = Math.min(rows - 1, Math.max(0, Math.floor(y)));
    add(pixels[r * columns + c]!);
  } else if (kind === 'ellipse' || kind === 'freehand') {
    let inside: (x: number, y: number) => boolean;
    let box: [number, number, number, number];
    if (kind === 'ellipse') {
      const [[x0, y0], [x1, y1]] = points as [Point, Point];
      const cx = (x0 + x1) / 2;
      const cy = (y0 + y1) / 2;
      const a = Math.abs(x1 - x0) / 2;
      const b = Math.abs(y1 - y0) / 2;
      inside = (x, y) => a > 0 && b > 0 && ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1;
      box = [cx - a, cy - b, cx + a, cy + b];
    } else {
      inside = (x, y) => insidePolygon(points, x, y);
      box = [Math.min(...points.map((p) => p[0])), Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[0])), Math.max(...points.map((p) => p[1]))];
    }
    const c0 = Math.max(0, Math.floor(box[0]));
    const r0 = Math.max(0, Math.floor(box[1]));
    const c1 = Math.min(columns - 1, Math.ceil(box[2]));
    const r1 = Math.min(rows - 1, Math.ceil(box[3]));
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) if (inside(c + 0.5, r + 0.5)) add(pixels[r * columns + c]!);
  } else return null;
  if (acc.n === 0) return { mean: 0, sd: 0, min: 0, max: 0, pixels: 0 };
  const mean = acc.sum / acc.n;
  return { mean, sd: Math.sqrt(Math.max(0, acc.sum2 / acc.n - mean * mean)), min: acc.min, max: acc.max, pixels: acc.n };
}

const fmt = (v: number, unit: string): string => {
  if (unit === '°') return `${v.toFixed(1)}°`;
  if (unit === 'mm²' || unit === 'px²') return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${unit}`;
  if (unit === 'mm' || unit === 'px') return `${v.toFixed(1)} ${unit}`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
};
const fmtValue = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1));

/** "Length 23.4 mm", "Ellipse area 412 mm² (32.1 x 16.3 mm; mean 310, SD 41)", "Angle 37.5°", "Probe 512". */
export function measurementText(kind: MeasurementKind, label: string, f: Figure, stats: MeasurementStats | null): string {
  const name = { length: 'Length', ellipse: 'Ellipse area', freehand: 'Freehand area', angle: 'Angle', probe: 'Probe' }[kind];
  const lengthUnit = f.unit === 'mm²' ? 'mm' : 'px';
  const extra: string[] = [];
  if (f.axes && (kind === 'ellipse' || kind === 'freehand')) extra.push(`${f.axes.major.toFixed(1)} x ${f.axes.minor.toFixed(1)} ${lengthUnit}`);
  if (stats && kind !== 'probe' && stats.pixels > 0) extra.push(`mean ${fmtValue(stats.mean)}, SD ${fmtValue(stats.sd)}`);
  const body = `${name} ${fmt(f.value, f.unit)}${extra.length ? ` (${extra.join('; ')})` : ''}`;
  return label ? `${label}: ${body}` : body;
}
