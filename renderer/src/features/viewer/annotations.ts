// What the viewer draws over an image after cornerstone renders it, besides the AI overlay: the
// stored measurements of that image (the author's own in green, others' in blue), reference lines
// from the other viewports, and the keyboard measurement's cursor and points so far.
import type { Measurement, MeasurementKind } from '@contract/index';
import { cornerstone } from './cornerstone-setup';

export type ToolName = 'Wwwc' | 'Pan' | 'Zoom' | 'Length' | 'EllipticalRoi' | 'FreehandRoi' | 'Angle' | 'Probe';

/** The cornerstone-tools tool that draws each measurement kind with the mouse. */
export const TOOL_OF_KIND: Record<MeasurementKind, ToolName> = { length: 'Length', ellipse: 'EllipticalRoi', freehand: 'FreehandRoi', angle: 'Angle', probe: 'Probe' };
export const KIND_OF_TOOL: Partial<Record<ToolName, MeasurementKind>> = { Length: 'length', EllipticalRoi: 'ellipse', FreehandRoi: 'freehand', Angle: 'angle', Probe: 'probe' };
export const MEASURE_TOOLS = Object.keys(KIND_OF_TOOL) as ToolName[];

/** Keyboard measurement in progress: points placed so far and the cursor, image pixel coordinates. */
export interface KeyboardMeasure {
  kind: MeasurementKind;
  points: [number, number][];
  cursor: [number, number];
}

export interface ReferenceDraw {
  line: [[number, number], [number, number]];
  /** Which viewport's slice it shows ("2"). */
  label: string;
}

const MINE = '#7ee787';
const THEIRS = '#5fb3ff';
const SELECTED = '#ffd866';

function path(ctx: CanvasRenderingContext2D, element: HTMLElement, kind: MeasurementKind, pts: readonly (readonly [number, number])[], closed: boolean): void {
  const c = pts.map(([x, y]) => cornerstone.pixelToCanvas(element, { x, y }));
  ctx.beginPath();
  if (kind === 'ellipse' && c.length === 2) {
    const [a, b] = c as [{ x: number; y: number }, { x: number; y: number }];
    ctx.ellipse((a.x + b.x) / 2, (a.y + b.y) / 2, Math.abs(b.x - a.x) / 2, Math.abs(b.y - a.y) / 2, 0, 0, 2 * Math.PI);
  } else if (kind === 'probe' && c.length === 1) {
    const p = c[0]!;
    ctx.moveTo(p.x - 6, p.y);
    ctx.lineTo(p.x + 6, p.y);
    ctx.moveTo(p.x, p.y - 6);
    ctx.lineTo(p.x, p.y + 6);
  } else {
    c.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
    if (closed && c.length > 2) ctx.closePath();
  }
  ctx.stroke();
}

/** Draws into the canvas cornerstone just rendered, in canvas coordinates (lines stay 2 px at any zoom). */
export function drawAnnotations(
  element: HTMLElement,
  ctx: CanvasRenderingContext2D,
  measurements: readonly Measurement[],
  selectedId: string | null,
  references: readonly ReferenceDraw[],
  keyboard: KeyboardMeasure | null,
): void {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.lineWidth = 2;
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'bottom';
  for (const r of references) {
    ctx.strokeStyle = '#ffb000';
    ctx.setLineDash([6, 4]);
    path(ctx, element, 'length', r.line, false);
    ctx.setLineDash([]);
    const a = cornerstone.pixelToCanvas(element, { x: r.line[0][0], y: r.line[0][1] });
    ctx.fillStyle = '#ffb000';
    ctx.fillText(r.label, a.x + 4, a.y - 2);
  }
  for (const m of measurements) {
    const color = m.id === selectedId ? SELECTED : m.mine ? MINE : THEIRS;
    ctx.strokeStyle = color;
    path(ctx, element, m.kind, m.points, m.kind === 'freehand');
    const anchor = cornerstone.pixelToCanvas(element, { x: m.points[0]![0], y: m.points[0]![1] });
    const text = m.text;
    const w = ctx.measureText(text).width;
    ctx.fillStyle = 'rgba(0,0,0,0.6)';
    ctx.fillRect(anchor.x + 6, anchor.y - 18, w + 6, 16);
    ctx.fillStyle = color;
    ctx.fillText(text, anchor.x + 9, anchor.y - 3);
  }
  if (keyboard) {
    ctx.strokeStyle = SELECTED;
    if (keyboard.points.length) path(ctx, element, keyboard.kind === 'ellipse' ? 'ellipse' : 'length', [...keyboard.points, keyboard.cursor], false);
    const c = cornerstone.pixelToCanvas(element, { x: keyboard.cursor[0], y: keyboard.cursor[1] });
    ctx.beginPath();
    ctx.arc(c.x, c.y, 7, 0, 2 * Math.PI);
    ctx.moveTo(c.x - 12, c.y);
    ctx.lineTo(c.x + 12, c.y);
    ctx.moveTo(c.x, c.y - 12);
    ctx.lineTo(c.x, c.y + 12);
    ctx.stroke();
  }
  ctx.restore();
}

interface Handle {
  x: number;
  y: number;
}

/**
 * The points of a measurement cornerstone-tools just completed, in image pixel coordinates
 * clamped to the image, or null when it is not one we keep (or still incomplete).
 */
export function pointsOfToolData(tool: ToolName, data: unknown, columns: number, rows: number): [number, number][] | null {
  const d = data as { handles?: Record<string, Handle | Handle[] | undefined> } | null;
  const h = d?.handles;
  if (!h) return null;
  const pick = (...names: string[]): [number, number][] | null => {
    const out: [number, number][] = [];
    for (const n of names) {
      const p = h[n] as Handle | undefined;
      if (!p || !Number.isFinite(p.x) || !Number.isFinite(p.y)) return null;
      out.push([p.x, p.y]);
    }
    return out;
  };
  let pts: [number, number][] | null;
  switch (tool) {
    case 'Length':
    case 'EllipticalRoi':
      pts = pick('start', 'end');
      break;
    case 'Angle':
      pts = pick('start', 'middle', 'end');
      break;
    case 'Probe':
      pts = pick('end');
      break;
    case 'FreehandRoi': {
      const list = h.points as Handle[] | undefined;
      pts = Array.isArray(list) && list.length >= 3 ? list.map((p) => [p.x, p.y] as [number, number]) : null;
      break;
    }
    default:
      pts = null;
  }
  if (!pts) return null;
  const clamp = (v: number, hi: number): number => Math.min(hi, Math.max(0, v));
  return pts.map(([x, y]) => [clamp(x, columns), clamp(y, rows)]);
}

/** Points each kind needs from the keyboard before it is complete (freehand: closed with Shift+Enter). */
export const KEYBOARD_POINTS: Record<MeasurementKind, number> = { length: 2, ellipse: 2, angle: 3, probe: 1, freehand: Infinity };
