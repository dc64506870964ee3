import { describe, expect, it } from 'vitest';
import { guessMrSequence, isValidatedSequence } from './mr-sequence';

describe('MR sequence from the DICOM header', () => {
  it.each([
    ['AX T2 FSE', 't2'],
    ['t2_tse_tra_p2', 't2'],
    ['Ax T2 PROPELLER', 't2'],
    ['AX T2 FLAIR', 'flair'],
    ['t2_tirm_tra_dark-fluid', 'flair'],
    ['Sag FLAIR CUBE', 'flair'],
    ['AX T1 POST GD', 't1ce'],
    ['t1_se_tra+C', 't1ce'],
    ['Ax T1 +C', 't1ce'],
    ['T1 MPRAGE', 't1'],
    ['t1_mprage_sag_p2_iso', 't1'],
    ['Ax T1 SE', 't1'],
    ['AX DWI B1000', 'dwi'],
    ['ADC', 'dwi'],
    ['SWI_Images', 'swi'],
    ['AX T2* GRE', 'swi'],
    ['Ax T2*', 'swi'],
    ['AX PD', 'other'],
    ['3-plane Localizer', 'other'],
    ['POST CONTRAST AX', 't1ce'],
  ])('Series Description "%s" is %s', (desc, seq) => {
    const g = guessMrSequence({ modality: 'MR', seriesDescription: desc });
    expect(g.sequence).toBe(seq);
    expect(g.basis).toContain(desc);
  });

  it('a contrast agent in the header makes a T1 series post-contrast', () => {
    expect(guessMrSequence({ modality: 'MR', seriesDescription: 'Ax T1 SE', contrastAgent: 'Gadovist 10 ml' }).sequence).toBe('t1ce');
    expect(guessMrSequence({ modality: 'MR', seriesDescription: 'Ax T1 SE', contrastAgent: 'NONE' }).sequence).toBe('t1');
  });

  it('falls back to TR/TE/TI when the text names no sequence', () => {
    expect(guessMrSequence({ modality: 'MR', seriesDescription: 'AX 5mm', repetitionTime: 4500, echoTime: 100 })).toEqual({ sequence: 't2', basis: 'TR 4500 ms, TE 100 ms' });
    expect(guessMrSequence({ modality: 'MR', repetitionTime: 9000, echoTime: 120, inversionTime: 2500 }).sequence).toBe('flair');
    expect(guessMrSequence({ modality: 'MR', repetitionTime: 500, echoTime: 12 }).sequence).toBe('t1');
    expect(guessMrSequence({ modality: 'MR', repetitionTime: 500, echoTime: 12, contrastAgent: 'Magnevist' }).sequence).toBe('t1ce');
    expect(guessMrSequence({ modality: 'MR', repetitionTime: 2300, echoTime: 2.3, inversionTime: 900 }).sequence).toBe('t1');
  });

  it('says unknown when nothing tells, and other for non-MR images', () => {
    expect(guessMrSequence({ modality: 'MR', seriesDescription: 'Brain' }).sequence).toBe('unknown');
    expect(guessMrSequence({ modality: 'MR', repetitionTime: 1500, echoTime: 40 }).sequence).toBe('unknown');
    expect(guessMrSequence({ modality: 'CT', seriesDescription: 'Head T2' }).sequence).toBe('other');
  });

  it('is validated only when the card lists it', () => {
    expect(isValidatedSequence('t1ce', ['t1', 't1ce', 'flair'])).toBe(true);
    expect(isValidatedSequence('t2', ['t1', 't1ce', 'flair'])).toBe(false);
    expect(isValidatedSequence('unknown', ['t1', 't1ce', 'flair'])).toBe(false);
    expect(isValidatedSequence('t1', undefined)).toBe(false);
  });
});
