// Turns raw model outputs into a finding: calibrated probabilities (softmax with the card's
// temperature), the label or "not recognised", and the tumor mask at the input's own size.
import type { ModelSpec } from './model-card';
import { TUMOR_CLASSES } from './model-card';

export const NOT_RECOGNISED = 'not recognised';

export interface Classification {
  /** Calibrated probability per model class (card order, including a reject class if any). */
  probabilities: Record<string, number>;
  /** A reported class, or "not recognised". */
  label: string;
  /** Calibrated probability of the winning class. */
  confidence: number;
}

/** softmax(logits / T) in float64. */
export function softmaxT(logits: ArrayLike<number>, temperature: number): Float64Array {
  const n = logits.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]! / temperature);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.exp(logits[i]! / temperature - max);
    sum += out[i]!;
  }
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

export function classify(logits: ArrayLike<number>, spec: ModelSpec): Classification {
  const p = softmaxT(logits, spec.temperature);
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  const probabilities: Record<string, number> = {};
  spec.classes.forEach((c, i) => (probabilities[c] = p[i]!));
  const winner = spec.classes[best]!;
  const confidence = p[best]!;
  // Honest rejection: the reject class winning, or no class confident enough after calibration.
  const rejected = spec.rejectClasses.includes(winner) || confidence < spec.rejectThreshold || !spec.reportedClasses.includes(winner);
  return { probabilities, label: rejected ? NOT_RECOGNISED : winner, confidence };
}

export function isTumorLabel(label: string): boolean {
  return (TUMOR_CLASSES as readonly string[]).includes(label);
}

/**
 * Resizes the model's [h, w] probability map to the input's size by bilinear interpolation
 * (pixel centres aligned), then thresholds it to 0/255. Returns the mask and its tumor pixel count.
 */
export function maskToInputSize(prob: Float32Array, h: number, w: number, outH: number, outW: number, threshold: number): { mask: Uint8Array; areaPx: number } {
  const mask = new Uint8Array(outW * outH);
  let area = 0;
  const sy = h / outH;
  const sx = w / outW;
  // Precompute the column taps once per image.
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let x = 0; x < outW; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
    const x0 = Math.floor(fx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, w - 1);
    fxs[x] = fx - x0;
  }
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    const r0 = y0 * w;
    const r1 = y1 * w;
    const row = y * outW;
    for (let x = 0; x < outW; x++) {
      const a = x0s[x]!;
      const b = x1s[x]!;
      const wx = fxs[x]!;
      const top = prob[r0 + a]! + (prob[r0 + b]! - prob[r0 + a]!) * wx;
      const bot = prob[r1 + a]! + (prob[r1 + b]! - prob[r1 + a]!) * wx;
      if (top + (bot - top) * wy >= threshold) {
        mask[row + x] = 255;
        area++;
      }
    }
  }
  return { mask, areaPx: area };
}
