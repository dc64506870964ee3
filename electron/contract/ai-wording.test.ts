// The shared wording of AI results: labels in words, percentages that never round to a
// certainty, and a finding summary that leads with unanalysable slices when they are the majority.
import { describe, expect, it } from 'vitest';
import { aiLabelText, formatProbability, summariseFinding } from './ai';

describe('AI wording', () => {
  it('names every model label in words, and cleans up unknown ones', () => {
    expect(aiLabelText('notumor')).toBe('No tumor');
    expect(aiLabelText('glioma')).toBe('Glioma');
    expect(aiLabelText('pituitary')).toBe('Pituitary tumor');
    expect(aiLabelText('not recognised')).toBe('Not recognised');
    expect(aiLabelText('other')).toBe('Not recognised');
    expect(aiLabelText('low_grade_glioma')).toBe('Low grade glioma');
  });

  it('never shows a probability below 1 as 100%, nor one above 0 as 0%', () => {
    expect(formatProbability(0.998, 0)).toBe('>99%');
    expect(formatProbability(0.9996)).toBe('>99.9%');
    expect(formatProbability(0.995, 0)).toBe('>99%');
    expect(formatProbability(1)).toBe('100.0%');
    expect(formatProbability(0.695)).toBe('69.5%');
    expect(formatProbability(0.0004)).toBe('<0.1%');
    expect(formatProbability(0)).toBe('0.0%');
    expect(formatProbability(0.5, 0)).toBe('50%');
  });

  it('leads with "most slices could not be analysed" when they are the majority', () => {
    const s = summariseFinding({ label: 'notumor', confidence: 0.695, slices: 24, counts: { 'not recognised': 18, notumor: 6 } });
    expect(s.headline).toBe('Most slices could not be analysed');
    expect(s.headline).not.toMatch(/No tumor|69/);
    expect(s.detail).toBe('18 of 24 slices not recognised as brain MRI the model knows; 6 analysed: No tumor 6');
    expect(s).toMatchObject({ mostlyUnanalysed: true, notRecognised: 18, analysed: 6 });
  });

  it('gives the class with its probability otherwise, and counts any unrecognised slices', () => {
    const s = summariseFinding({ label: 'glioma', confidence: 0.9981, slices: 8, counts: { glioma: 5, notumor: 2, 'not recognised': 1 } });
    expect(s.headline).toBe('Glioma 99.8%');
    expect(s.detail).toBe('1 of 8 slices not recognised as brain MRI the model knows; 7 analysed: Glioma 5, No tumor 2');
    expect(summariseFinding({ label: 'glioma', confidence: 0.9, slices: 1, counts: { glioma: 1 } }).detail).toBe('1 slice scored; by class: Glioma 1');
    expect(summariseFinding({ label: 'not recognised', confidence: 0, slices: 3, counts: { 'not recognised': 3 } }).headline).toBe('No slice could be analysed');
  });
});
