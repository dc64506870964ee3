// Measurement figures from points and pixel spacing: physical lengths, areas and angles on
// non-square pixels, the bidimensional size of an outline, and pixel statistics inside it.
import { describe, expect, it } from 'vitest';
import { figureOf, longestAndPerpendicular, measurementText, polygonArea, statsOf } from './geometry';

describe('measurement geometry', () => {
  it('measures lengths in mm with the row and column spacing the file gives, else in pixels', () => {
    // 10 columns across at 0.5 mm, 10 rows down at 2 mm: 5 mm and 20 mm.
    expect(figureOf('length', [[0, 0], [10, 0]], [2, 0.5])).toMatchObject({ value: 5, unit: 'mm' });
    expect(figureOf('length', [[0, 0], [0, 10]], [2, 0.5])).toMatchObject({ value: 20, unit: 'mm' });
    expect(figureOf('length', [[0, 0], [3, 4]], null)).toMatchObject({ value: 5, unit: 'px' });
  });

  it('gives an ellipse its area and axes, and a freehand outline its area and bidimensional size', () => {
    const e = figureOf('ellipse', [[10, 10], [30, 20]], [1, 1]);
    expect(e.value).toBeCloseTo(Math.PI * 10 * 5);
    expect(e).toMatchObject({ unit: 'mm²', axes: { major: 20, minor: 10 } });
    const square = figureOf('freehand', [[0, 0], [10, 0], [10, 10], [0, 10]], [0.5, 0.5]);
    expect(square.value).toBeCloseTo(25);
    expect(square.axes!.major).toBeCloseTo(Math.SQRT2 * 5);
    expect(square.axes!.minor).toBeCloseTo(Math.SQRT2 * 5);
    expect(polygonArea([[0, 0], [4, 0], [0, 3]])).toBe(6);
    const d = longestAndPerpendicular([[0, 0], [40, 0], [20, 5], [20, -10]]);
    expect(d.longest).toBe(40);
    expect(d.perpendicular).toBe(15);
  });

  it('measures angles in physical space, so non-square pixels do not bend them', () => {
    // On 2 mm rows and 1 mm columns, (0,0)-(2,0)-(2,1) is a right angle in pixels and in mm;
    // (1,0)-(0,0)-(1,1) is 45 degrees in pixels but atan(2) = 63.4 degrees in mm.
    expect(figureOf('angle', [[0, 0], [2, 0], [2, 1]], [2, 1]).value).toBeCloseTo(90);
    expect(figureOf('angle', [[1, 0], [0, 0], [1, 1]], [2, 1]).value).toBeCloseTo((Math.atan(2) * 180) / Math.PI);
    expect(() => figureOf('angle', [[1, 1], [1, 1], [2, 2]], null)).toThrow(/arms/);
  });

  it('reads pixel statistics inside an outline and at a probe', () => {
    // A 4 x 4 image with values 0..15, row by row.
    const px = Array.from({ length: 16 }, (_, i) => i);
    expect(statsOf('probe', [[2.7, 1.2]], px, 4, 4)).toMatchObject({ mean: 6, pixels: 1 });
    const inner = statsOf('freehand', [[1, 1], [3, 1], [3, 3], [1, 3]], px, 4, 4)!;
    expect(inner).toMatchObject({ pixels: 4, min: 5, max: 10, mean: 7.5 });
    expect(statsOf('ellipse', [[0, 0], [4, 4]], px, 4, 4)!.pixels).toBe(12);
    expect(statsOf('length', [[0, 0], [1, 1]], px, 4, 4)).toBeNull();
  });

  it('writes the figure as a radiologist reads it', () => {
    expect(measurementText('length', '', { value: 23.44, unit: 'mm', axes: null }, null)).toBe('Length 23.4 mm');
    expect(measurementText('ellipse', 'Lesion A', { value: 412.3, unit: 'mm²', axes: { major: 32.1, minor: 16.34 } }, { mean: 310.2, sd: 41.4, min: 0, max: 1, pixels: 9 })).toBe(
      'Lesion A: Ellipse area 412 mm² (32.1 x 16.3 mm; mean 310, SD 41.4)',
    );
    expect(measurementText('angle', '', { value: 37.49, unit: '°', axes: null }, null)).toBe('Angle 37.5°');
    expect(measurementText('probe', '', { value: 512, unit: '', axes: null }, null)).toBe('Probe 512');
  });
});
