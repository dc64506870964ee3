import { describe, expect, it } from 'vitest';
import type { ModelSummary } from '@contract/index';
import { sequenceList, sequenceWarning, validatedAccuracy } from './ai-format';

const base: ModelSummary = {
  id: 'tumornet-v2',
  version: '2.0.0',
  task: 'x',
  classes: ['glioma', 'meningioma', 'notumor', 'pituitary', 'other'],
  inputSize: [128, 128],
  temperature: 1,
  formats: ['onnx'],
  verified: true,
  metrics: { validation_classification: { accuracy: 0.97, n: 1400 } },
};

describe('AI panel wording of what the model was validated on', () => {
  it('shows the headline (new-site) figure rather than the same-source one when the card states it', () => {
    expect(validatedAccuracy(base)).toEqual({ accuracy: 0.97, n: 1400, kind: 'held-out validation, same sources as training' });
    const v2 = { ...base, headline: { figure: 'leave-one-source-out accuracy', accuracy: 0.81, n: 5310 } };
    expect(validatedAccuracy(v2)).toEqual({ accuracy: 0.81, n: 5310, kind: 'leave-one-source-out accuracy' });
  });

  it('warns on a series outside the validated sequences, and only then', () => {
    const m = { ...base, validatedSequences: ['t1', 't1ce', 'flair'] };
    expect(sequenceList(m.validatedSequences)).toBe('T1, T1 post-contrast and FLAIR');
    const t2 = sequenceWarning({ code: 't2', name: 'T2', basis: 'Series Description "AX T2 FSE"' }, m);
    expect(t2).toMatch(/looks like T2 \(from Series Description "AX T2 FSE"\)\. The model was validated on T1, T1 post-contrast and FLAIR only/);
    expect(sequenceWarning({ code: 'unknown', name: 'unknown', basis: '' }, m)).toMatch(/does not say which MR sequence/);
    expect(sequenceWarning({ code: 't1ce', name: 'T1 post-contrast', basis: '' }, m)).toBeNull();
    // A card that states no validated sequences gives nothing to compare with: no warning is made up.
    expect(sequenceWarning({ code: 't2', name: 'T2', basis: '' }, base)).toBeNull();
  });
});
