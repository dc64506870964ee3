// Wording of AI results shared by the viewer panel and the worklist column: the contract's words
// for labels and its percentages that never round up to 100.
import { aiLabelText, formatProbability, sequenceList, sequenceWarning as contractSequenceWarning, type ModelSummary, type SeriesSummary } from '@contract/index';

export const labelText = aiLabelText;
export const percent = (p: number): string => formatProbability(p, 1);

/**
 * The accuracy to show beside a result: the card's headline (the figure that best predicts a new
 * site, e.g. leave-one-source-out) when it states one, else its held-out validation figure, with
 * what kind of figure it is and its n.
 */
export function validatedAccuracy(model: ModelSummary | undefined): { accuracy: number; n: number | null; kind: string } | null {
  if (model?.headline) return { accuracy: model.headline.accuracy, n: model.headline.n, kind: model.headline.figure };
  const m = model?.metrics as Record<string, unknown> | undefined;
  if (!m) return null;
  const v = m.validation_classification as Record<string, unknown> | undefined;
  const acc = typeof v?.accuracy === 'number' ? v.accuracy : typeof m.accuracy === 'number' ? m.accuracy : null;
  if (acc === null) return null;
  return { accuracy: acc, n: typeof v?.n === 'number' ? v.n : null, kind: 'held-out validation, same sources as training' };
}

export { sequenceList };

/**
 * What to say when a series' sequence is outside what the model was validated on (null when it is
 * inside, or the card states nothing to compare with).
 */
export function sequenceWarning(sequence: SeriesSummary['sequence'] | undefined, model: ModelSummary | undefined): string | null {
  return contractSequenceWarning(sequence, model?.validatedSequences);
}
