// Wording of AI results shared by the viewer panel and the worklist column: the contract's words
// for labels and its percentages that never round up to 100.
import { aiLabelText, formatProbability, type ModelSummary } from '@contract/index';

export const labelText = aiLabelText;
export const percent = (p: number): string => formatProbability(p, 1);

/** The held-out accuracy a model card states, with its sample size when given. */
export function validatedAccuracy(model: ModelSummary | undefined): { accuracy: number; n: number | null } | null {
  const m = model?.metrics as Record<string, unknown> | undefined;
  if (!m) return null;
  const v = m.validation_classification as Record<string, unknown> | undefined;
  const acc = typeof v?.accuracy === 'number' ? v.accuracy : typeof m.accuracy === 'number' ? m.accuracy : null;
  if (acc === null) return null;
  return { accuracy: acc, n: typeof v?.n === 'number' ? v.n : null };
}
