// Wording of AI results shared by the viewer panel and the worklist column.
import { NOT_RECOGNISED_LABEL, type ModelSummary } from '@contract/index';

const LABELS: Record<string, string> = {
  glioma: 'Glioma',
  meningioma: 'Meningioma',
  pituitary: 'Pituitary tumor',
  notumor: 'No tumor',
  other: 'Other (not a brain MRI)',
  [NOT_RECOGNISED_LABEL]: 'Not recognised',
};

export function labelText(label: string): string {
  return LABELS[label] ?? label;
}

export function percent(p: number): string {
  return `${(p * 100).toFixed(1)}%`;
}

/** The held-out accuracy a model card states, with its sample size when given. */
export function validatedAccuracy(model: ModelSummary | undefined): { accuracy: number; n: number | null } | null {
  const m = model?.metrics as Record<string, unknown> | undefined;
  if (!m) return null;
  const v = m.validation_classification as Record<string, unknown> | undefined;
  const acc = typeof v?.accuracy === 'number' ? v.accuracy : typeof m.accuracy === 'number' ? m.accuracy : null;
  if (acc === null) return null;
  return { accuracy: acc, n: typeof v?.n === 'number' ? v.n : null };
}
