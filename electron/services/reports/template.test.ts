// The draft's wording from an AI finding: a study the model mostly could not analyse says so and
// gives no class; a tumor is placed by side and sized in mm where the file gives pixel spacing,
// and only then in pixels; the side follows Image Orientation (Patient), not the image's left.
import { describe, expect, it } from 'vitest';
import type { ReportAiFinding } from '../../contract';
import { describeLocation } from './ai-finding';
import { prefillSections } from './template';

const finding = (over: Partial<ReportAiFinding>): ReportAiFinding => ({
  label: 'glioma', labelText: 'Glioma', probability: 0.9981, location: 'left hemisphere, posterior', areaMm2: 412.3, areaPx: 430, volumeMm3: 4210, slicesWithTumor: 6, slices: 24,
  seriesId: 's', keyInstanceId: 'i', keyFrame: 0, modelId: 'tumornet', modelVersion: '2.0.0', runtime: 'onnxruntime-node', resultAt: '2024-07-10T10:00:00Z',
  sizeMm: { longest: 32.14, perpendicular: 21.4 }, where: 'series 3 (AX T1 POST), image 12', notRecognised: 0, ...over,
});
const base = { modalities: 'MR', seriesCount: 3, description: 'Brain', change: null };

describe('report pre-fill wording', () => {
  it('says most slices could not be analysed, and gives no class, when they are the majority', () => {
    const s = prefillSections({ ...base, finding: finding({ label: 'notumor', labelText: 'No tumor', probability: 0.695, notRecognised: 18, sizeMm: null }) });
    expect(s.findings.text).toMatch(/^AI: most slices could not be analysed \(18 of 24 not recognised as brain MRI the model knows\); the AI gives no classification for this study\.$/m);
    expect(s.findings.text).not.toMatch(/No tumor|69/);
    expect(s.impression.text).toBe('The AI could not analyse most slices of this study: no AI finding.');
  });

  it('places and sizes a tumor as a radiologist writes it, with the series and image', () => {
    const s = prefillSections({ ...base, finding: finding({}), change: 'AI change since the prior study: Volume 3.10 cm³ → 4.21 cm³ (+36%) since 2024-01-10.' });
    expect(s.findings.text.split('\n')).toEqual([
      'AI classification: Glioma (calibrated probability 99.8%).',
      'Location: left hemisphere, posterior; key slice series 3 (AX T1 POST), image 12.',
      'Size: 32 x 21 mm (largest diameter and its perpendicular on that slice); area 412 mm²; estimated volume 4.21 cm³ over 6 slices.',
      'AI change since the prior study: Volume 3.10 cm³ → 4.21 cm³ (+36%) since 2024-01-10.',
      'Model tumornet 2.0.0 (onnxruntime-node). Not a medical device. AI results are for research and decision support only.',
    ]);
    expect(s.impression.text).toBe('Findings suggest glioma, left hemisphere, posterior, 32 x 21 mm.');
    // A probability just below 1 never reads 100%.
    expect(prefillSections({ ...base, finding: finding({ probability: 0.99996 }) }).findings.text).toContain('(calibrated probability >99.9%)');
  });

  it('says the size cannot be given in mm without pixel spacing, and counts unrecognised slices', () => {
    const s = prefillSections({ ...base, finding: finding({ sizeMm: null, areaMm2: null, volumeMm3: null, notRecognised: 2, location: null, where: 'series 1, image 4' }) });
    expect(s.findings.text).toMatch(/^Size: not measurable in mm \(the file gives no pixel spacing\)\.$/m);
    expect(s.findings.text).toMatch(/^2 of 24 slices were not recognised as brain MRI the model knows\.$/m);
    expect(s.findings.text).toMatch(/^Location: key slice series 1, image 4\.$/m);
    expect(s.findings.text).not.toMatch(/% across/);
  });

  it('takes the side from Image Orientation (Patient): a flipped image puts the same pixels on the other side', () => {
    const w = 64;
    const mask = new Uint8Array(w * w);
    for (let y = 28; y < 36; y++) for (let x = 50; x < 58; x++) mask[y * w + x] = 1;
    expect(describeLocation(mask, w, w, [1, 0, 0, 0, 1, 0], [1, 1])).toBe('left hemisphere, central');
    expect(describeLocation(mask, w, w, [-1, 0, 0, 0, 1, 0], [1, 1])).toBe('right hemisphere, central');
    // No orientation: no side rather than a guess (and never "% across").
    expect(describeLocation(mask, w, w, null, [1, 1])).toBeNull();
  });
});
