// The glossary on the patient's results: only the words the report uses, matched as whole words.
import { describe, expect, it } from 'vitest';
import { GLOSSARY, termsIn } from './glossary';

describe('termsIn', () => {
  it('finds the report words, whole words only, in any case', () => {
    const found = termsIn('Enhancing LESION in the left frontal lobe with mild oedema; no midline shift. Follow-up MRI in 3 months.');
    expect(found.map((e) => e.term)).toEqual(['Lesion', 'Enhancement', 'Oedema', 'Midline shift', 'Frontal, parietal, temporal, occipital', 'Follow-up']);
  });

  it('does not match parts of words', () => {
    expect(termsIn('The massive contrasting glioblastomatous … ')).toEqual([]);
  });

  it('finds nothing in an empty report, and every entry has a plain explanation', () => {
    expect(termsIn('')).toEqual([]);
    for (const e of GLOSSARY) expect(e.plain.length).toBeGreaterThan(20);
  });
});
