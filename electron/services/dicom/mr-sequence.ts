// Which MR sequence a series is (T1, T1 post-contrast, T2, FLAIR, diffusion, ...), read from its
// DICOM header, so the AI panel can say when a series is outside what the model was validated on.

/** The header fields that tell a sequence apart (all optional: scanners fill them unevenly). */
export interface MrAcquisition {
  modality?: string | null;
  seriesDescription?: string | null;
  protocolName?: string | null;
  /** (0018,0020) Scanning Sequence, e.g. "SE", "IR", "GR", "EP" (multi-valued, backslash-separated). */
  scanningSequence?: string | null;
  /** (0018,0021) Sequence Variant. */
  sequenceVariant?: string | null;
  /** (0018,0024) Sequence Name, e.g. "*tse2d1_15", "*tir2d1rr15". */
  sequenceName?: string | null;
  /** (0018,0080) Repetition Time in ms. */
  repetitionTime?: number | null;
  /** (0018,0081) Echo Time in ms. */
  echoTime?: number | null;
  /** (0018,0082) Inversion Time in ms. */
  inversionTime?: number | null;
  /** (0018,0010) Contrast/Bolus Agent. */
  contrastAgent?: string | null;
}

/** The sequence names the model card's `validated_sequences` uses, plus what the model never saw. */
export type MrSequence = 't1' | 't1ce' | 't2' | 'flair' | 'dwi' | 'swi' | 'other' | 'unknown';

export interface SequenceGuess {
  sequence: MrSequence;
  /** What the guess rests on, for the user: 'Series Description "AX T2 FSE"' or 'TR 4000 ms, TE 100 ms'. */
  basis: string;
}

export const SEQUENCE_NAMES: Record<MrSequence, string> = {
  t1: 'T1',
  t1ce: 'T1 post-contrast',
  t2: 'T2',
  flair: 'FLAIR',
  dwi: 'diffusion (DWI/ADC)',
  swi: 'T2*/susceptibility',
  other: 'another sequence',
  unknown: 'unknown',
};

const hasContrast = (agent: string | null | undefined): boolean => {
  const a = (agent ?? '').trim().toLowerCase();
  return a !== '' && !/^(none|no|n\/a|na|0|-)$/.test(a);
};

/** Keyword rules on free text (series description, protocol name), first match wins. */
const TEXT_RULES: { re: RegExp; seq: MrSequence | 'post' }[] = [
  { re: /\b(localizer|localiser|scout|survey|3 ?plane)\b/, seq: 'other' },
  { re: /\b(dwi|adc|trace|diffusion|dti|tensor|b ?1000|ep2d diff)\b/, seq: 'dwi' },
  { re: /\b(swi|swan|t2star|hemo|gre|fl2d|susceptib)\b|t2\*/, seq: 'swi' },
  { re: /\b(perf|dsc|dce|asl|pwi|pd|pdw|proton)\b/, seq: 'other' },
  { re: /flair|\bdark ?fluid\b|\btirm\b/, seq: 'flair' },
  { re: /\bt2\b|\bt2w/, seq: 't2' },
  { re: /(\+ ?c\b|\+gd|\bpost\b|\bgd\b|\bgad|\bcontrast|\bce\b|\bc\+|\bt1c\b|\bt1ce\b|\bpost[ _-]?contrast)/, seq: 'post' },
  { re: /\bt1\b|\bt1w|mprage|\bspgr\b|\bbravo\b|\btfl\b|\bmp ?rage\b/, seq: 't1' },
];

function fromText(text: string): MrSequence | 'post' | null {
  // Scanner names join words with _ - . (t2_tirm_tra_dark-fluid): match on words.
  const t = ` ${text.toLowerCase().replace(/[_\-.]+/g, ' ').replace(/\s+/g, ' ')} `;
  for (const r of TEXT_RULES) if (r.re.test(t)) return r.seq;
  return null;
}

/** TR/TE/TI rules for conventional brain protocols (1.5-3 T); null when the values do not fit one. */
function fromTiming(tr: number | null | undefined, te: number | null | undefined, ti: number | null | undefined): MrSequence | null {
  if (!tr || !te) return null;
  if (ti && ti >= 1500 && te >= 70) return 'flair';
  if (te >= 70 && tr >= 2000) return 't2';
  if (te <= 30 && tr <= 1000) return 't1';
  if (ti && ti >= 600 && ti <= 1300 && te <= 10) return 't1'; // MPRAGE-like inversion recovery
  return null;
}

/**
 * Best guess of the sequence of an MR series. Text in the Series Description or Protocol Name wins
 * (scanners' own names), then TR/TE/TI; a contrast agent in the header or "post"/"+C" in the
 * description turns T1 into T1 post-contrast. Non-MR series are 'other'.
 */
export function guessMrSequence(a: MrAcquisition): SequenceGuess {
  const modality = (a.modality ?? '').trim().toUpperCase();
  if (modality && modality !== 'MR') return { sequence: 'other', basis: `modality ${modality}` };
  const contrast = hasContrast(a.contrastAgent);
  for (const [field, value] of [['Series Description', a.seriesDescription], ['Protocol Name', a.protocolName], ['Sequence Name', a.sequenceName]] as const) {
    const v = (value ?? '').trim();
    if (!v) continue;
    const s = fromText(v);
    if (!s) continue;
    const basis = `${field} "${v.slice(0, 64)}"`;
    if (s === 'post') {
      // "post"/"+C" without a weighting named: post-contrast images are T1-weighted in brain protocols.
      return { sequence: 't1ce', basis };
    }
    if (s === 't1') {
      const post = contrast || fromText(`${a.seriesDescription ?? ''} ${a.protocolName ?? ''}`) === 'post' || /post|\+c|gd|gad|contrast/i.test(v);
      return post ? { sequence: 't1ce', basis: contrast ? `${basis}, Contrast/Bolus Agent "${(a.contrastAgent ?? '').trim().slice(0, 32)}"` : basis } : { sequence: 't1', basis };
    }
    return { sequence: s, basis };
  }
  const t = fromTiming(a.repetitionTime, a.echoTime, a.inversionTime);
  if (t) {
    const parts = [`TR ${Math.round(a.repetitionTime!)} ms`, `TE ${Math.round(a.echoTime!)} ms`];
    if (a.inversionTime) parts.push(`TI ${Math.round(a.inversionTime)} ms`);
    if (t === 't1' && contrast) return { sequence: 't1ce', basis: `${parts.join(', ')}, Contrast/Bolus Agent "${(a.contrastAgent ?? '').trim().slice(0, 32)}"` };
    return { sequence: t, basis: parts.join(', ') };
  }
  return { sequence: 'unknown', basis: 'the header names no sequence (no Series Description, Protocol Name or TR/TE that tells)' };
}

/** Is a guessed sequence among those the model card says were validated? 'unknown' is not. */
export function isValidatedSequence(seq: MrSequence, validated: readonly string[] | null | undefined): boolean {
  if (!validated || validated.length === 0) return false;
  return validated.includes(seq);
}
