// Linked scrolling and reference lines: by slice position within one Frame of Reference (the
// nearest slice along the normal, whatever the stacks' spacing or order), by index otherwise
// (keeping the offset the link was made with), and where a sagittal plane cuts an axial image.
import { describe, expect, it } from 'vitest';
import { linkMode, linkedIndex, referenceLine, toImagePoint, type ImagePlane, type LinkStack } from './sync';

const axialStack = (forUid: string | null, zs: number[]): LinkStack => ({ frameOfReferenceUid: forUid, normal: [0, 0, 1], positions: zs.map((z) => [0, 0, z] as const) });

describe('linked scrolling', () => {
  it('links by position within one Frame of Reference: the nearest slice, across spacings and orders', () => {
    const thin = axialStack('for-1', [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    const thick = axialStack('for-1', [20, 15, 10, 5, 0]);
    expect(linkMode(thin, thick)).toBe('position');
    expect(linkedIndex(thin, 5, thick, 'position')).toBe(2); // z 10
    expect(linkedIndex(thin, 7, thick, 'position')).toBe(1); // z 14 -> 15
    expect(linkedIndex(thick, 0, thin, 'position')).toBe(10); // z 20
  });

  it('links by index (with its offset) across Frames of Reference or without positions', () => {
    const a = axialStack('for-visit-1', [0, 5, 10, 15]);
    const b = axialStack('for-visit-2', [100, 105, 110, 115, 120, 125]);
    expect(linkMode(a, b)).toBe('index');
    expect(linkedIndex(a, 2, b, 'index')).toBe(2);
    expect(linkedIndex(a, 2, b, 'index', 3)).toBe(5);
    expect(linkedIndex(a, 3, b, 'index', 3)).toBe(5); // clamped to the stack
    expect(linkMode(a, { ...a, positions: [null, null, null, null] })).toBe('index');
    // Same Frame of Reference but crossing planes: index.
    expect(linkMode(a, { ...a, normal: [1, 0, 0] })).toBe('index');
  });
});

describe('reference lines', () => {
  // A 100 x 100 axial image at z = 10 (1 mm pixels) and a sagittal one through x = 30.
  const axial: ImagePlane = { position: [0, 0, 10], rowCosines: [1, 0, 0], columnCosines: [0, 1, 0], spacing: [1, 1], rows: 100, columns: 100 };
  const sagittal: ImagePlane = { position: [30, 0, 60], rowCosines: [0, 1, 0], columnCosines: [0, 0, -1], spacing: [1, 1], rows: 100, columns: 100 };

  it('draws where a sagittal slice cuts an axial image, and the axial level on the sagittal', () => {
    const onAxial = referenceLine(axial, sagittal)!;
    // The column x = 30 (pixel centre 30 is at 30.5 in cornerstone's coordinates), top to bottom.
    expect(onAxial.map((p) => p[0].toFixed(1))).toEqual(['30.5', '30.5']);
    expect(Math.abs(onAxial[0][1] - onAxial[1][1])).toBeCloseTo(100);
    const onSagittal = referenceLine(sagittal, axial)!;
    // z = 10 is row 50 of the sagittal (z runs from 60 down).
    expect(onSagittal.map((p) => p[1].toFixed(1))).toEqual(['50.5', '50.5']);
    expect(toImagePoint(sagittal, [30, 0, 60])).toEqual([0.5, 0.5]);
  });

  it('draws nothing for parallel planes or a plane that misses the image', () => {
    expect(referenceLine(axial, { ...axial, position: [0, 0, 20] })).toBeNull();
    expect(referenceLine(axial, { ...sagittal, position: [30, 0, -50] })).toBeNull();
  });
});
