// The structured brain-tumor MRI template and how a new draft is filled from the AI finding:
// findings and impression are AI text (marked so until the radiologist accepts or edits them).
import { AI_NOTICE, REPORT_SECTIONS, type ReportAiFinding, type ReportSections, type SectionOrigin } from '../../contract';
import { isTumorLabel } from './ai-finding';

export const fmtArea = (mm2: number): string => `${mm2 >= 100 ? Math.round(mm2) : mm2.toFixed(1)} mm²`;
export const fmtVolume = (mm3: number): string => (mm3 >= 1000 ? `${(mm3 / 1000).toFixed(2)} cm³` : `${Math.round(mm3)} mm³`);
export const fmtPercent = (p: number): string => `${(p * 100).toFixed(1)}%`;

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

/** The draft a study's report starts from. */
export function prefillSections(input: { finding: ReportAiFinding | null; modalities: string; seriesCount: number; description: string | null; change: string | null }): ReportSections {
  const s = emptySections();
  s.technique.text = `${input.modalities || 'MR'} of the brain${input.description ? ` (${input.description})` : ''}; ${input.seriesCount} series reviewed.`;
  const f = input.finding;
  if (!f) return s;
  const measure = [f.areaMm2 !== null ? `area ${fmtArea(f.areaMm2)} on the key slice` : f.areaPx ? `area ${f.areaPx} pixels on the key slice (no pixel spacing)` : null, f.volumeMm3 !== null ? `estimated volume ${fmtVolume(f.volumeMm3)} over ${f.slicesWithTumor} slices` : null].filter(Boolean).join('; ');
  const lines = isTumorLabel(f.label)
    ? [`AI classification: ${f.labelText} (calibrated probability ${fmtPercent(f.probability)}).`, f.location ? `Location: ${f.location}.` : null, measure ? `Measurement: ${measure}.` : null]
    : [`AI classification: ${f.labelText} (calibrated probability ${fmtPercent(f.probability)}).`];
  if (input.change) lines.push(input.change);
  lines.push(`Model ${f.modelId} ${f.modelVersion} (${f.runtime}). ${AI_NOTICE}`);
  s.findings = { text: lines.filter(Boolean).join('\n'), origin: 'ai' };
  s.impression = {
    text: isTumorLabel(f.label) ? `Findings suggest ${f.labelText.toLowerCase()}${f.location ? `, ${f.location}` : ''}.` : `No tumor identified by the AI model.`,
    origin: 'ai',
  };
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
