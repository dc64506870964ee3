// The follow-up hanging protocol and series matching: the current study's main series left, the
// prior's same sequence right, matched by Series Description and geometry, never across planes.
import { describe, expect, it } from 'vitest';
import type { InstanceSummary, SeriesSummary, StudyDetail } from '@contract/index';
import { hangStudy, mainSeries, matchSeries, planeOf } from './layout';

const AXIAL = [1, 0, 0, 0, 1, 0];
const SAGITTAL = [0, 1, 0, 0, 0, -1];
const CORONAL = [1, 0, 0, 0, 0, -1];

function series(id: string, description: string, n: number, orientation = AXIAL, spacing: [number, number] = [0.98, 0.98], size = 256): SeriesSummary {
  const inst = (k: number): InstanceSummary => ({
    instanceId: `${id}-${k}`, sopInstanceUid: `${id}.${k}`, sopClassUid: null, instanceNumber: k + 1, rows: size, columns: size, frames: 1, samplesPerPixel: 1,
    photometric: 'MONOCHROME2', transferSyntax: '1.2.840.10008.1.2.1', pixelSpacing: spacing, imagePosition: [0, 0, k * 5], imageOrientation: orientation,
    sliceLocation: k * 5, sliceThickness: 5, windowCenter: null, windowWidth: null, conflictOf: null,
  });
  return { seriesId: id, seriesInstanceUid: id, modality: 'MR', seriesNumber: Number(id.replace(/\D/g, '')) || 1, description, bodyPart: null, frameOfReferenceUid: `for-${id.split('-')[0]}`, sequence: null, instances: Array.from({ length: n }, (_, k) => inst(k)) };
}

function study(id: string, date: string, list: SeriesSummary[]): StudyDetail {
  return {
    study: { studyId: id, studyInstanceUid: id, patientId: 'p', patientName: 'P', patientDicomId: 'P1', patientBirthDate: null, patientSex: null, studyDate: date, studyTime: null, accessionNumber: null, description: null, modalities: ['MR'], seriesCount: list.length, instanceCount: 0, conflictCount: 0, derived: false, importedAt: '2024-01-01' },
    series: list,
  };
}

describe('hanging protocol', () => {
  it('knows the plane of a series from its orientation', () => {
    expect(planeOf(series('a1', 'x', 1, AXIAL))).toBe('axial');
    expect(planeOf(series('a1', 'x', 1, SAGITTAL))).toBe('sagittal');
    expect(planeOf(series('a1', 'x', 1, CORONAL))).toBe('coronal');
  });

  it('matches the same sequence by description and geometry, never across planes', () => {
    const target = series('c1', 'AX T1 POST GD', 24);
    const prior = [series('p1', 'Sag T1', 30, SAGITTAL), series('p2', 'Ax FLAIR', 24), series('p3', 'ax t1 post-gd', 20), series('p4', 'AX T1 POST GD', 24, SAGITTAL)];
    const m = matchSeries(target, prior)!;
    expect(m.series.seriesId).toBe('p3');
    expect(m.reason).toBe('same description and geometry');
    // Another matrix and spacing: still the same description, but a lower score than one that also matches geometry.
    const geometry = matchSeries(target, [series('p5', 'AX T1 POST GD', 24, AXIAL, [0.45, 0.45], 512), series('p6', 'AX T1 POST GD', 24)])!;
    expect(geometry.series.seriesId).toBe('p6');
    // Nothing in the same plane: no match rather than a sagittal beside an axial.
    expect(matchSeries(target, [series('p1', 'AX T1 POST GD', 30, SAGITTAL)])).toBeNull();
  });

  it('hangs the current main series left and the prior match right, 1x2; 1x1 without a prior', () => {
    const current = study('cur', '20240710', [series('c1', 'Localizer', 3, SAGITTAL), series('c2', 'AX T1 POST GD', 24), series('c3', 'AX FLAIR', 24)]);
    expect(mainSeries(current)!.seriesId).toBe('c2');
    const prior = study('pri', '20240110', [series('p1', 'AX FLAIR', 22), series('p2', 'AX T1 POST GD', 22)]);
    const h = hangStudy(current, prior);
    expect(h.layout).toBe('1x2');
    expect(h.slots).toEqual([{ studyId: 'cur', seriesId: 'c2' }, { studyId: 'pri', seriesId: 'p2' }]);
    expect(h.note).toBe('Follow-up: current left, prior 2024-01-10 right (same description and geometry).');
    expect(hangStudy(current, null)).toMatchObject({ layout: '1x1', slots: [{ studyId: 'cur', seriesId: 'c2' }] });
    expect(hangStudy(current, study('pri', '20240110', [series('p1', 'SAG T1', 22, SAGITTAL)]))).toMatchObject({ layout: '1x1', note: expect.stringMatching(/no series in the same plane/) });
  });
});
