// Window/level presets. MR values have no absolute scale, so its presets derive from each
// image's own range; CT uses the usual Hounsfield windows.
import type { FrameInfo } from './cornerstone-setup';

export interface WindowPreset {
  key: string;
  label: string;
  window(info: FrameInfo): { center: number; width: number };
}

const range = (i: FrameInfo): number => Math.max(1, i.range.max - i.range.min);

export const MR_PRESETS: WindowPreset[] = [
  { key: '1', label: 'File default', window: (i) => i.defaultWindow },
  { key: '2', label: 'Full range', window: (i) => ({ center: (i.range.min + i.range.max) / 2, width: range(i) }) },
  { key: '3', label: 'Soft contrast', window: (i) => ({ center: i.range.min + 0.45 * range(i), width: 0.7 * range(i) }) },
  { key: '4', label: 'High contrast', window: (i) => ({ center: i.range.min + 0.4 * range(i), width: 0.3 * range(i) }) },
];

export const CT_PRESETS: WindowPreset[] = [
  { key: '1', label: 'File default', window: (i) => i.defaultWindow },
  { key: '2', label: 'Brain (40/80)', window: () => ({ center: 40, width: 80 }) },
  { key: '3', label: 'Subdural (75/215)', window: () => ({ center: 75, width: 215 }) },
  { key: '4', label: 'Bone (600/2800)', window: () => ({ center: 600, width: 2800 }) },
];

export function presetsFor(modality: string | null): WindowPreset[] {
  return modality === 'CT' ? CT_PRESETS : MR_PRESETS;
}
