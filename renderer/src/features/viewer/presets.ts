// Window/level presets. MR values have no absolute scale, so its presets come from the series'
// own Window Center/Width and from each image's histogram (tissue only, hot pixels cut); CT uses
// the usual Hounsfield windows.
import type { FrameInfo } from './cornerstone-setup';

export interface WindowPreset {
  key: string;
  label: string;
  hint: string;
  window(info: FrameInfo, pixels: ArrayLike<number>): { center: number; width: number };
}

const fullRange = (i: FrameInfo): { center: number; width: number } => ({ center: (i.range.min + i.range.max) / 2, width: Math.max(1, i.range.max - i.range.min) });

/**
 * A window from the histogram of the tissue: pixels above the background (the lowest 5% of the
 * value range, air around the head) between the `lo` and `hi` quantiles. Falls back to the full
 * range for an image with no tissue.
 */
export function histogramWindow(pixels: ArrayLike<number>, range: { min: number; max: number }, lo = 0.01, hi = 0.99): { center: number; width: number } {
  const span = range.max - range.min;
  if (!(span > 0) || pixels.length === 0) return { center: range.min, width: 1 };
  const bins = 2048;
  const hist = new Uint32Array(bins);
  const floor = range.min + 0.05 * span;
  let n = 0;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v <= floor) continue;
    hist[Math.min(bins - 1, Math.floor(((v - range.min) / span) * bins))]!++;
    n++;
  }
  if (n < 16) return { center: (range.min + range.max) / 2, width: span };
  const quantile = (q: number): number => {
    const target = q * n;
    let acc = 0;
    for (let b = 0; b < bins; b++) {
      acc += hist[b]!;
      if (acc >= target) return range.min + ((b + 0.5) / bins) * span;
    }
    return range.max;
  };
  const a = quantile(lo);
  const b = quantile(hi);
  return { center: (a + b) / 2, width: Math.max(1, b - a) };
}

export const MR_PRESETS: WindowPreset[] = [
  {
    key: '1',
    label: 'Series window',
    hint: "The series' own Window Center/Width from the file (full range where the file gives none)",
    window: (i) => (i.windowFromFile ? i.defaultWindow : fullRange(i)),
  },
  { key: '2', label: 'Auto (histogram)', hint: 'From this image: tissue between its 1st and 99th percentile', window: (i, px) => histogramWindow(px, i.range, 0.01, 0.99) },
  { key: '3', label: 'Auto, soft', hint: 'From this image: tissue between its 0.2nd and 99.8th percentile (less contrast, nothing clipped)', window: (i, px) => histogramWindow(px, i.range, 0.002, 0.998) },
  { key: '4', label: 'Full range', hint: 'Every stored value from darkest to brightest', window: (i) => fullRange(i) },
];

export const CT_PRESETS: WindowPreset[] = [
  { key: '1', label: 'Series window', hint: "The series' own Window Center/Width from the file", window: (i) => (i.windowFromFile ? i.defaultWindow : fullRange(i)) },
  { key: '2', label: 'Brain (40/80)', hint: 'Brain window, Hounsfield units', window: () => ({ center: 40, width: 80 }) },
  { key: '3', label: 'Subdural (75/215)', hint: 'Subdural window, Hounsfield units', window: () => ({ center: 75, width: 215 }) },
  { key: '4', label: 'Bone (600/2800)', hint: 'Bone window, Hounsfield units', window: () => ({ center: 600, width: 2800 }) },
];

export function presetsFor(modality: string | null): WindowPreset[] {
  return modality === 'CT' ? CT_PRESETS : MR_PRESETS;
}
