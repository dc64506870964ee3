// Stored AI results of a study: the per-instance classification and tumor mask, the per-series
// finding, runs over a study with progress events and cancellation, and masks for the overlay.
import { z } from 'zod';
import { channel } from './channel';
import { NOT_RECOGNISED_LABEL } from './inference';

const id = z.string().min(1).max(64);

/** Shown with every AI result, on every screen and export. */
export const AI_NOTICE = 'Not a medical device. AI results are for research and decision support only.';

/** not-run: never scored; running: a run is under way; done: every image scored; failed: the last run stopped with an error; cancelled: stopped by a person. */
export const aiStatusSchema = z.enum(['not-run', 'running', 'done', 'failed', 'cancelled']);
export type AiStatus = z.infer<typeof aiStatusSchema>;

export const aiModelRefSchema = z.object({
  id: z.string(),
  version: z.string(),
  runtime: z.string(),
});
export type AiModelRef = z.infer<typeof aiModelRefSchema>;

/** One scored image: an instance's frame (0 for single-frame images; a multi-frame image has one per frame). */
export const aiInstanceResultSchema = z.object({
  instanceId: z.string(),
  /** 0-based frame of the instance. */
  frame: z.number().int().min(0),
  seriesId: z.string(),
  /** A tumor class, notumor, or "not recognised" (the image is not a brain MRI slice the model knows). */
  label: z.string(),
  confidence: z.number(),
  /** Calibrated probabilities per model class. */
  probabilities: z.record(z.string(), z.number()),
  areaPx: z.number().int(),
  areaMm2: z.number().nullable(),
  /** True when a tumor mask with at least one pixel is stored (fetch it with ai.mask). */
  hasMask: z.boolean(),
  ms: z.number(),
});
export type AiInstanceResult = z.infer<typeof aiInstanceResultSchema>;

export const aiSeriesResultSchema = z.object({
  seriesId: z.string(),
  label: z.string(),
  confidence: z.number(),
  /** The instance with the strongest evidence for the finding (the key slice), or null. */
  keyInstanceId: z.string().nullable(),
  /** The key slice's 0-based frame within keyInstanceId (0 for single-frame images), or null with it. */
  keyFrame: z.number().int().min(0).nullable(),
  slices: z.number().int(),
  counts: z.record(z.string(), z.number().int()),
});
export type AiSeriesResult = z.infer<typeof aiSeriesResultSchema>;

export const aiStudyResultSchema = z.object({
  studyId: z.string(),
  status: aiStatusSchema,
  model: aiModelRefSchema.nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** While running: images (frames) scored so far of the total. */
  progress: z.object({ done: z.number().int(), total: z.number().int() }).nullable(),
  /** Why the last run failed, as a sentence; null otherwise. */
  error: z.string().nullable(),
  /** The study-level finding: the strongest series finding, or null before a run. */
  finding: aiSeriesResultSchema.nullable(),
  series: z.array(aiSeriesResultSchema),
  instances: z.array(aiInstanceResultSchema),
  /** Images the model could not score, with the reason (one sentence each). */
  failures: z.array(z.object({ instanceId: z.string(), frame: z.number().int().min(0), reason: z.string() })),
  notice: z.literal(AI_NOTICE),
});
export type AiStudyResult = z.infer<typeof aiStudyResultSchema>;

/**
 * Where a study stands in the background scoring of arriving studies (settings
 * backgroundScoring): queued (waiting for its turn), skipped (not a study the model reads, e.g.
 * not MR), failed (no image could be scored), off (not scored, and the setting is off); null:
 * nothing to add to `status` (scored, running, or never queued).
 */
export const aiBackgroundStateSchema = z.enum(['queued', 'skipped', 'failed', 'off']);
export type AiBackgroundState = z.infer<typeof aiBackgroundStateSchema>;

/** One row per study for the worklist's AI column. */
export const aiStudyStatusSchema = z.object({
  studyId: z.string(),
  status: aiStatusSchema,
  label: z.string().nullable(),
  confidence: z.number().nullable(),
  background: aiBackgroundStateSchema.nullable().default(null),
  /** Why a study was skipped or failed in the background, as a sentence; null otherwise. */
  reason: z.string().nullable().default(null),
});
export type AiStudyStatus = z.infer<typeof aiStudyStatusSchema>;

/**
 * Payload of the `ai.background` event, pushed to every signed-in radiologist when a study's
 * background scoring changes (queued, running, scored, skipped, failed, off). Ids only.
 */
export const aiBackgroundEventSchema = z.object({
  studyId: z.string(),
  state: z.enum(['queued', 'running', 'scored', 'skipped', 'failed', 'off']),
});
export type AiBackgroundEvent = z.infer<typeof aiBackgroundEventSchema>;
export const AI_BACKGROUND_EVENT = 'ai.background';

/** Payload of the `ai.progress` event pushed to the connection that started a run. */
export const aiProgressSchema = z.object({
  studyId: z.string(),
  done: z.number().int(),
  total: z.number().int(),
  failed: z.number().int(),
  phase: z.enum(['loading', 'scoring', 'done', 'cancelled', 'failed']),
});
export type AiProgress = z.infer<typeof aiProgressSchema>;
export const AI_PROGRESS_EVENT = 'ai.progress';

/**
 * A tumor mask at the image's own size, run-length encoded row by row: `runs` alternates
 * background and mask pixel counts, starting with background (possibly 0).
 */
export const aiMaskSchema = z.object({
  instanceId: z.string(),
  frame: z.number().int().min(0),
  width: z.number().int(),
  height: z.number().int(),
  runs: z.array(z.number().int().nonnegative()),
  areaPx: z.number().int(),
});
export type AiMask = z.infer<typeof aiMaskSchema>;

export const aiChannels = {
  'ai.studyResult': channel({
    summary: 'The stored AI result of a study, or its status when none is stored',
    request: z.object({ studyId: id }).strict(),
    response: aiStudyResultSchema,
  }),
  'ai.studyStatuses': channel({
    summary: 'AI status and finding of several studies (the worklist column)',
    request: z.object({ studyIds: z.array(id).max(500) }).strict(),
    response: z.object({ statuses: z.array(aiStudyStatusSchema) }),
  }),
  'ai.runStudy': channel({
    summary: 'Run the tumor model over every image of a study (progress as ai.progress events); replaces an older result',
    request: z.object({ studyId: id, force: z.boolean().default(false) }).strict(),
    response: aiStudyResultSchema,
  }),
  'ai.cancel': channel({
    summary: 'Cancel the AI run of a study (results already stored stay)',
    request: z.object({ studyId: id }).strict(),
    response: z.object({ cancelled: z.boolean() }),
  }),
  'ai.mask': channel({
    summary: 'The stored tumor mask of one image (one frame of a multi-frame image), for the overlay',
    // frame defaults to 0 so callers written before multi-frame scoring keep working.
    request: z.object({ instanceId: id, frame: z.number().int().min(0).default(0) }).strict(),
    response: aiMaskSchema,
  }),
};

/** Run-length encodes a 0/non-zero mask (see aiMaskSchema). */
export function encodeMaskRuns(mask: ArrayLike<number>): { runs: number[]; areaPx: number } {
  const runs: number[] = [];
  let current = 0;
  let count = 0;
  let area = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i] ? 1 : 0;
    area += v;
    if (v === current) count++;
    else {
      runs.push(count);
      current = v;
      count = 1;
    }
  }
  runs.push(count);
  return { runs, areaPx: area };
}

/** Expands runs into a 0/1 mask of width x height; refuses runs that do not fill it exactly. */
export function decodeMaskRuns(runs: readonly number[], width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  let pos = 0;
  let value = 0;
  for (const n of runs) {
    if (pos + n > out.length) throw new RangeError('mask runs overflow the image');
    if (value) out.fill(1, pos, pos + n);
    pos += n;
    value ^= 1;
  }
  if (pos !== out.length) throw new RangeError('mask runs do not cover the image');
  return out;
}

// ---- Wording of AI results, shared by every screen and export -------------------------------

const AI_LABEL_WORDS: Record<string, string> = {
  glioma: 'Glioma',
  meningioma: 'Meningioma',
  pituitary: 'Pituitary tumor',
  notumor: 'No tumor',
  // A model's reject class ("other") and the rejection label both mean the same to a reader.
  other: 'Not recognised',
  [NOT_RECOGNISED_LABEL]: 'Not recognised',
};

/** A model label in words ("notumor" -> "No tumor"); an unknown label is cleaned up, never shown raw. */
export function aiLabelText(label: string): string {
  const known = AI_LABEL_WORDS[label];
  if (known) return known;
  const words = label.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : 'Unknown';
}

/**
 * A probability as a percentage with `digits` decimals that never rounds to a certainty it is not:
 * anything below 1 shows below 100 (">99.9%", not "100.0%") and anything above 0 above 0.
 */
export function formatProbability(p: number, digits = 1): string {
  if (!Number.isFinite(p)) return '–';
  const v = Math.min(1, Math.max(0, p)) * 100;
  const step = 10 ** -digits;
  const text = v.toFixed(digits);
  if (p < 1 && Number(text) >= 100) return `>${(100 - step).toFixed(digits)}%`;
  if (p > 0 && Number(text) <= 0) return `<${step.toFixed(digits)}%`;
  return `${text}%`;
}

/** What a series or study finding says, in the order a reader needs it. */
export interface FindingSummary {
  /** "Most slices could not be analysed", "Glioma 97.3%", "No tumor 69.5%", "No slice could be analysed". */
  headline: string;
  /** Slice counts in words: "18 of 24 slices not recognised; 6 analysed: No tumor 6". */
  detail: string;
  /** Slices the model did not recognise as the brain MRI it knows. */
  notRecognised: number;
  analysed: number;
  /** Strictly more than half the slices could not be analysed: the headline says so, no class. */
  mostlyUnanalysed: boolean;
}

export function summariseFinding(f: { label: string; confidence: number; slices: number; counts: Record<string, number> }): FindingSummary {
  const notRecognised = (f.counts[NOT_RECOGNISED_LABEL] ?? 0) + (f.counts.other ?? 0);
  const analysed = Math.max(0, f.slices - notRecognised);
  const mostlyUnanalysed = f.slices > 0 && notRecognised * 2 > f.slices;
  const analysedCounts = Object.entries(f.counts)
    .filter(([k, n]) => k !== NOT_RECOGNISED_LABEL && k !== 'other' && n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${aiLabelText(k)} ${n}`)
    .join(', ');
  const plural = (n: number): string => `${n} slice${n === 1 ? '' : 's'}`;
  let headline: string;
  if (f.slices === 0 || analysed === 0) headline = 'No slice could be analysed';
  else if (mostlyUnanalysed) headline = 'Most slices could not be analysed';
  else if (f.label === NOT_RECOGNISED_LABEL) headline = 'Not recognised';
  else headline = `${aiLabelText(f.label)} ${formatProbability(f.confidence)}`;
  const parts: string[] = [];
  if (notRecognised > 0) parts.push(`${notRecognised} of ${plural(f.slices)} not recognised as brain MRI the model knows`);
  else parts.push(`${plural(f.slices)} scored`);
  if (analysed > 0 && analysedCounts) parts.push(`${notRecognised > 0 ? `${analysed} analysed` : 'by class'}: ${analysedCounts}`);
  return { headline, detail: parts.join('; '), notRecognised, analysed, mostlyUnanalysed };
}

/** What a model card claims about itself, as the AI panel, the report and the PDF state it. */
export interface ModelClaims {
  /** The figure that best predicts a new site's data (e.g. leave-one-source-out), with its n. */
  headline?: { figure: string; accuracy: number; n: number; description?: string } | undefined;
  /** Sequence codes the model was validated on ('t1', 't1ce', 't2', 'flair', ...). */
  validatedSequences?: string[] | undefined;
}

/** A series' MR sequence as the DICOM index guesses it (SeriesSummary.sequence). */
export interface SeriesSequenceGuess {
  code: string;
  name: string;
  basis: string;
}

const SEQUENCE_WORDS: Record<string, string> = { t1: 'T1', t1ce: 'T1 post-contrast', t2: 'T2', flair: 'FLAIR', dwi: 'diffusion', swi: 'T2*/SWI' };

/** "T1, T1 post-contrast and FLAIR" from a card's validated_sequences. */
export function sequenceList(codes: readonly string[]): string {
  const words = codes.map((c) => SEQUENCE_WORDS[c] ?? c);
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/**
 * What to say when a series' sequence is outside what the model was validated on (null when it is
 * inside, or the card states nothing to compare with).
 */
export function sequenceWarning(sequence: SeriesSequenceGuess | null | undefined, validated: readonly string[] | null | undefined): string | null {
  if (!validated || validated.length === 0 || !sequence) return null;
  if (validated.includes(sequence.code)) return null;
  const list = sequenceList(validated);
  if (sequence.code === 'unknown') {
    return `The header of this series does not say which MR sequence it is. The model was validated on ${list} only: check the sequence before relying on this result.`;
  }
  return `This series looks like ${sequence.name} (from ${sequence.basis}). The model was validated on ${list} only: on ${sequence.name} its result may be wrong, including "No tumor" for a tumor.`;
}

/** "Expected accuracy on a new site: 81.2% (leave-one-source-out, n = 2,431)", or null without a headline. */
export function headlineText(h: ModelClaims['headline']): string | null {
  if (!h) return null;
  return `Expected accuracy on a new site: ${(h.accuracy * 100).toFixed(1)}% (${h.figure}, n = ${h.n.toLocaleString('en-US')})`;
}
