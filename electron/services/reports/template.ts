// The structured brain-tumor MRI template and how a new draft is filled from the AI finding:
// findings and impression are AI text (marked so until the radiologist accepts or edits them).
import { AI_NOTICE, NOT_RECOGNISED_LABEL, REPORT_SECTIONS, formatAreaMm2, formatProbability, formatVolumeMm3, type ReportAiFinding, type ReportSections, type SectionOrigin, type Tracking } from '../../contract';
import { isTumorLabel } from './ai-finding';

export const fmtArea = formatAreaMm2;
export const fmtVolume = formatVolumeMm3;
/** Never rounds a probability below 1 up to 100% (the contract's formatProbability). */
export const fmtPercent = (p: number): string => formatProbability(p, 1);

export interface PriorMeasurement {
  studyDate: string | null;
  areaMm2: number | null;
  volumeMm3: number | null;
}

/** One sentence on the change since the last study with a measurement, or null. */
export function changeSentence(current: { areaMm2: number | null; volumeMm3: number | null }, prior: PriorMeasurement | null): string | null {
  if (!prior) return null;
  const when = prior.studyDate ? `the previous study (${formatDicomDate(prior.studyDate)})` : 'the previous study';
  const pair = current.volumeMm3 !== null && prior.volumeMm3 !== null ? { now: current.volumeMm3, then: prior.volumeMm3, fmt: fmtVolume, what: 'volume' } : current.areaMm2 !== null && prior.areaMm2 !== null ? { now: current.areaMm2, then: prior.areaMm2, fmt: fmtArea, what: 'area' } : null;
  if (!pair) return `No comparable tumor measurement with ${when}.`;
  if (pair.then === 0 && pair.now === 0) return `No measurable tumor now or on ${when}.`;
  if (pair.then === 0) return `New measurable lesion since ${when} (now ${pair.fmt(pair.now)}).`;
  const change = (pair.now - pair.then) / pair.then;
  const trend = Math.abs(change) < 0.1 ? 'Stable' : change > 0 ? 'Increased' : 'Decreased';
  return `${trend} since ${when}: tumor ${pair.what} ${pair.fmt(pair.then)} → ${pair.fmt(pair.now)} (${change >= 0 ? '+' : ''}${(change * 100).toFixed(0)}%).`;
}

export function formatDicomDate(d: string | null): string {
  if (!d) return 'date unknown';
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}

const empty = (origin: SectionOrigin = 'human') => ({ text: '', origin });

export function emptySections(): ReportSections {
  return { clinicalInformation: empty(), technique: empty(), findings: empty(), impression: empty(), recommendation: empty() };
}

/** What the draft states about the patient's earlier studies, from tracking (or the history's sentence). */
export function trackingText(t: Pick<Tracking, 'sincePrior' | 'sinceFirst' | 'statements'> | null): string | null {
  if (!t) return null;
  const lines: string[] = [];
  if (t.sincePrior) lines.push(`AI change since the prior study: ${t.sincePrior.text}.`);
  if (t.sinceFirst && t.sinceFirst.fromStudyId !== t.sincePrior?.fromStudyId) lines.push(`AI change since the first study: ${t.sinceFirst.text}.`);
  if (lines.length === 0) return null;
  return [...lines, ...t.statements].join('\n');
}

/** "Length 23.4 mm (series 1 (AX T1), image 5)" for each of the radiologist's measurements. */
export function measurementLines(measurements: readonly { text: string; where: string }[]): string | null {
  if (measurements.length === 0) return null;
  return `Radiologist measurements: ${measurements.map((m) => `${m.text} (${m.where})`).join('; ')}.`;
}

const mm = (v: number): string => (v >= 10 ? v.toFixed(0) : v.toFixed(1));

/**
 * The draft a study's report starts from, worded as a radiologist writes: the class with its
 * calibrated probability, the side (from Image Orientation), the size in mm (largest diameter and
 * its perpendicular, from Pixel Spacing), the series and image of the key slice, area and volume;
 * a study the model mostly could not analyse says that and gives no class. Pixels only where the
 * file gives no spacing.
 */
export function prefillSections(input: { finding: ReportAiFinding | null; modalities: string; seriesCount: number; description: string | null; change: string | null; measurements?: string | null }): ReportSections {
  const s = emptySections();
  s.technique.text = `${input.modalities || 'MR'} of the brain${input.description ? ` (${input.description})` : ''}; ${input.seriesCount} series reviewed.`;
  const f = input.finding;
  if (!f) {
    if (input.measurements) s.findings.text = input.measurements;
    return s;
  }
  const nr = f.notRecognised ?? 0;
  const mostlyUnanalysed = f.slices > 0 && nr * 2 > f.slices;
  const nrLine = nr > 0 && !mostlyUnanalysed ? `${nr} of ${f.slices} slices were not recognised as brain MRI the model knows.` : null;
  const lines: (string | null)[] = [];
  let impression: string;
  if (mostlyUnanalysed || f.label === NOT_RECOGNISED_LABEL) {
    lines.push(`AI: most slices could not be analysed (${nr} of ${f.slices} not recognised as brain MRI the model knows); the AI gives no classification for this study.`);
    impression = 'The AI could not analyse most slices of this study: no AI finding.';
  } else if (isTumorLabel(f.label)) {
    lines.push(`AI classification: ${f.labelText} (calibrated probability ${fmtPercent(f.probability)}).`);
    const where = f.where ? `key slice ${f.where}` : null;
    lines.push(f.location || where ? `Location: ${[f.location, where].filter(Boolean).join('; ')}.` : null);
    const size = f.sizeMm
      ? `${mm(f.sizeMm.longest)} x ${mm(f.sizeMm.perpendicular)} mm (largest diameter and its perpendicular on that slice)`
      : f.areaPx
        ? 'not measurable in mm (the file gives no pixel spacing)'
        : null;
    const extent = [f.areaMm2 !== null ? `area ${fmtArea(f.areaMm2)}` : null, f.volumeMm3 !== null ? `estimated volume ${fmtVolume(f.volumeMm3)} over ${f.slicesWithTumor} slice${f.slicesWithTumor === 1 ? '' : 's'}` : null].filter(Boolean).join('; ');
    lines.push(size || extent ? `Size: ${[size, extent].filter(Boolean).join('; ')}.` : null);
    lines.push(nrLine);
    impression = `Findings suggest ${f.labelText.toLowerCase()}${f.location ? `, ${f.location}` : ''}${f.sizeMm ? `, ${mm(f.sizeMm.longest)} x ${mm(f.sizeMm.perpendicular)} mm` : ''}.`;
  } else {
    lines.push(`AI classification: ${f.labelText} (calibrated probability ${fmtPercent(f.probability)}).`, nrLine);
    impression = 'No tumor identified by the AI model.';
  }
  if (input.change && !mostlyUnanalysed) lines.push(input.change);
  if (input.measurements) lines.push(input.measurements);
  lines.push(`Model ${f.modelId} ${f.modelVersion} (${f.runtime}). ${AI_NOTICE}`);
  s.findings = { text: lines.filter(Boolean).join('\n'), origin: 'ai' };
  s.impression = { text: impression, origin: 'ai' };
  return s;
}

/** Applies edited texts: AI text that changes becomes ai-edited; untouched sections keep their origin. */
export function applyEdits(current: ReportSections, edits: Partial<Record<keyof ReportSections, string>>): ReportSections {
  const next = structuredClone(current);
  for (const key of REPORT_SECTIONS) {
    const text = edits[key];
    if (text === undefined || text === current[key].text) continue;
    const o = current[key].origin;
    next[key] = { text, origin: o === 'human' ? 'human' : 'ai-edited' };
  }
  return next;
}
