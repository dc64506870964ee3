// Tumor geometry: slice spacing and volume from positions along the slice normal, the largest
// diameter of a mask with its perpendicular in mm, the patient side from Image Orientation, and
// the change between tracking points with the statements that keep a model change from reading
// as a tumor change.
import { describe, expect, it } from 'vitest';
import { AI_NOTICE, type TrackingPoint } from '../../contract';
import { maskDiameters, maskSide, slicePosition, stackVolume } from './geometry';
import { changeBetween, compare } from './tracking-service';

function disc(w: number, h: number, cx: number, cy: number, rx: number, ry = rx): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1) m[y * w + x] = 1;
  return m;
}

describe('tumor geometry', () => {
  it('places slices along their normal and sums area x the median spacing', () => {
    // Oblique axial slices: the normal is not z, positions still 5 mm apart along it.
    const o = [1, 0, 0, 0, Math.cos(0.3), Math.sin(0.3)];
    const n = [0, -Math.sin(0.3), Math.cos(0.3)];
    const pos = (k: number) => [10, 20 + 5 * k * n[1]!, 30 + 5 * k * n[2]!];
    expect(slicePosition(pos(2), o)! - slicePosition(pos(0), o)!).toBeCloseTo(10);
    const slices = [0, 1, 2, 4].map((k) => ({ areaMm2: k === 0 ? 0 : 100, areaPx: k === 0 ? 0 : 400, position: slicePosition(pos(k), o) }));
    // Gaps 5, 5, 10: the median is 5 mm (a missing slice does not double the spacing).
    const v = stackVolume(slices);
    expect(v.spacingMm).toBeCloseTo(5);
    expect(v.volumeMm3).toBeCloseTo(3 * 100 * 5);
    expect(stackVolume([{ areaMm2: 1, areaPx: 1, position: null }])).toMatchObject({ volumeMm3: null, note: expect.stringMatching(/no position/) });
    expect(stackVolume([{ areaMm2: 1, areaPx: 1, position: 3 }, { areaMm2: 2, areaPx: 1, position: 3 }])).toMatchObject({ volumeMm3: null, note: expect.stringMatching(/single slice position/) });
    expect(stackVolume([{ areaMm2: null, areaPx: 1, position: 0 }, { areaMm2: null, areaPx: 1, position: 5 }])).toMatchObject({ volumeMm3: null, spacingMm: 5, note: expect.stringMatching(/pixel spacing/) });
  });

  it('measures the largest diameter of a mask and its perpendicular in mm', () => {
    const d = maskDiameters(disc(100, 100, 50, 50, 10), 100, 100, [0.5, 0.5]);
    expect(d.unit).toBe('mm');
    expect(d.longest).toBeGreaterThan(9.5);
    expect(d.longest).toBeLessThan(11);
    expect(d.perpendicular).toBeGreaterThan(9);
    // An ellipse 40 x 16 pixels on 0.5 mm columns and 1 mm rows: 20 mm across, 16 mm down.
    const e = maskDiameters(disc(100, 100, 50, 50, 20, 8), 100, 100, [1, 0.5]);
    expect(e.longest).toBeGreaterThan(19.5);
    expect(e.longest).toBeLessThan(21);
    expect(e.perpendicular).toBeGreaterThan(15.5);
    expect(e.perpendicular).toBeLessThan(17.5);
    expect(maskDiameters(new Uint8Array(4), 2, 2, null)).toEqual({ longest: 0, perpendicular: 0, unit: 'px' });
    // One pixel measures one pixel across (its corners), not zero.
    const one = new Uint8Array(9);
    one[4] = 1;
    expect(maskDiameters(one, 3, 3, [2, 2]).longest).toBeCloseTo(2 * Math.SQRT2);
  });

  it('tells the patient side from Image Orientation (Patient), not from the image side', () => {
    const rightOfImage = disc(100, 100, 75, 50, 8);
    // Standard axial: columns run towards the patient's left, so the image's right is the patient's left.
    expect(maskSide(rightOfImage, 100, 100, [1, 0, 0, 0, 1, 0], [1, 1])).toBe('left');
    // The same pixels on an image stored flipped left-right are on the patient's right.
    expect(maskSide(rightOfImage, 100, 100, [-1, 0, 0, 0, 1, 0], [1, 1])).toBe('right');
    // Coronal keeps a left-right axis in plane; sagittal has none.
    expect(maskSide(rightOfImage, 100, 100, [1, 0, 0, 0, 0, -1], [1, 1])).toBe('left');
    expect(maskSide(rightOfImage, 100, 100, [0, 1, 0, 0, 0, -1], [1, 1])).toBeNull();
    expect(maskSide(disc(100, 100, 51, 50, 8), 100, 100, [1, 0, 0, 0, 1, 0], [1, 1])).toBe('midline');
    expect(maskSide(rightOfImage, 100, 100, null, [1, 1])).toBeNull();
  });
});

const point = (over: Partial<TrackingPoint>): TrackingPoint => ({
  studyId: 's',
  studyDate: '20240101',
  importedAt: '2024-01-01T00:00:00Z',
  studyDescription: null,
  current: false,
  status: 'measured',
  label: 'glioma',
  seriesId: 'se',
  sequence: 'Axial T1 post-contrast',
  modelId: 'tumornet',
  modelVersion: '1.0.0',
  keySlice: { instanceId: 'i', frame: 0, where: 'series 1, image 4', areaMm2: 300, areaPx: 1000, longestMm: 25, perpendicularMm: 15 },
  sliceAreasMm2: [],
  volumeMm3: 4000,
  sliceSpacingMm: 6,
  volumeNote: null,
  radiologist: { count: 0, longestLengthMm: null, texts: [] },
  ...over,
});

describe('change between tracking points', () => {
  it('gives the change since the prior and the first study in percent, by volume where both have one', () => {
    const pts = [
      point({ studyId: 'a', studyDate: '20230101', volumeMm3: 5000 }),
      point({ studyId: 'b', studyDate: '20230701', volumeMm3: 4000 }),
      point({ studyId: 'c', studyDate: '20240101', volumeMm3: 3000, current: true }),
    ];
    const c = compare(pts);
    expect(c.sincePrior).toMatchObject({ metric: 'volume', fromStudyId: 'b', from: 4000, to: 3000, percent: -25, text: 'Volume 4.00 cm³ → 3.00 cm³ (−25%) since 2023-07-01' });
    expect(c.sinceFirst).toMatchObject({ metric: 'volume', fromStudyId: 'a', percent: -40 });
    expect(c.statements).toEqual([]);
    expect(AI_NOTICE).toMatch(/Not a medical device/);
  });

  it('says plainly when model versions or sequences differ, and falls back to the area without a volume', () => {
    const c = compare([
      point({ studyId: 'a', studyDate: '20230101', modelVersion: '1.0.0', sequence: 'Axial T1 post-contrast', volumeMm3: null }),
      point({ studyId: 'b', studyDate: '20240101', modelVersion: '2.0.0', sequence: 'Axial FLAIR', current: true, keySlice: { ...point({}).keySlice!, areaMm2: 450 } }),
    ]);
    expect(c.sincePrior).toMatchObject({ metric: 'area', percent: 50 });
    expect(c.statements.join(' ')).toMatch(/different model versions \(tumornet 1\.0\.0 for 2023-01-01; tumornet 2\.0\.0 for 2024-01-01\): a change between them may come from the model, not the tumor/);
    expect(c.statements.join(' ')).toMatch(/different sequences/);
    expect(c.statements.join(' ')).toMatch(/compares the key-slice area: a volume is not available/);
  });

  it('leaves studies the AI could not analyse out of the change, and says so', () => {
    const c = compare([
      point({ studyId: 'a', studyDate: '20230101', volumeMm3: 1000 }),
      point({ studyId: 'b', studyDate: '20230601', status: 'not-analysable', volumeMm3: null, keySlice: null }),
      point({ studyId: 'c', studyDate: '20240101', volumeMm3: 1500, current: true }),
    ]);
    expect(c.sincePrior).toMatchObject({ fromStudyId: 'a', percent: 50 });
    expect(c.statements).toEqual(['2023-06-01: most slices could not be analysed by the AI; this study is left out of the change.']);
    // A new lesion has no percentage.
    expect(changeBetween(point({ status: 'no-tumor', volumeMm3: 0 }), point({ volumeMm3: 900 }))).toMatchObject({ percent: null, text: expect.stringMatching(/new since then/) });
  });
});
