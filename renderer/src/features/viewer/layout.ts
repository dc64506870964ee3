// Layouts and the brain-MRI follow-up hanging protocol: which series each viewport shows. The
// protocol puts the current study's main series on the left and the prior's same sequence on the
// right, matched by Series Description and geometry (plane, pixel spacing, matrix).
import type { SeriesSummary, StudyDetail } from '@contract/index';

export const LAYOUTS = [
  { id: '1x1', label: '1x1', cells: 1, key: 'Shift+1' },
  { id: '1x2', label: '1x2', cells: 2, key: 'Shift+2' },
  { id: '2x2', label: '2x2', cells: 4, key: 'Shift+4' },
] as const;
export type LayoutId = (typeof LAYOUTS)[number]['id'];
export const cellsOf = (layout: LayoutId): number => LAYOUTS.find((l) => l.id === layout)!.cells;

/** What one viewport shows: a series of a study (the current one or a prior). */
export interface Slot {
  studyId: string;
  seriesId: string;
}

export type Plane = 'axial' | 'coronal' | 'sagittal' | 'oblique';

/** The plane of a series from its first instance's orientation (the normal's dominant axis). */
export function planeOf(series: SeriesSummary): Plane | null {
  const o = series.instances.find((i) => i.imageOrientation?.length === 6)?.imageOrientation;
  if (!o) return null;
  const n = [o[1]! * o[5]! - o[2]! * o[4]!, o[2]! * o[3]! - o[0]! * o[5]!, o[0]! * o[4]! - o[1]! * o[3]!].map(Math.abs);
  const max = Math.max(...n);
  if (max < 0.8) return 'oblique';
  return n[2] === max ? 'axial' : n[1] === max ? 'coronal' : 'sagittal';
}

/** Series Description compared without case, spacing or punctuation. */
export const descriptionKey = (d: string | null): string => (d ?? '').toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();

const imageCount = (s: SeriesSummary): number => s.instances.filter((i) => i.conflictOf === null).reduce((n, i) => n + Math.max(1, i.frames), 0);

/** The series a study opens on: the one with the most images (ties: the lowest series number). */
export function mainSeries(detail: StudyDetail): SeriesSummary | undefined {
  return [...detail.series].sort((a, b) => imageCount(b) - imageCount(a) || (a.seriesNumber ?? 1e9) - (b.seriesNumber ?? 1e9))[0];
}

export interface SeriesMatch {
  series: SeriesSummary;
  /** Why it was chosen, for the screen: "same description and geometry", "same plane only". */
  reason: string;
  score: number;
}

/**
 * The series of `candidates` that shows the same sequence as `target`: the same plane is required
 * (an axial never hangs beside a sagittal); then the Series Description (exactly, else shared
 * words), the pixel spacing (within 10%) and the matrix decide.
 */
export function matchSeries(target: SeriesSummary, candidates: readonly SeriesSummary[]): SeriesMatch | null {
  const plane = planeOf(target);
  const key = descriptionKey(target.description);
  const words = new Set(key.split(' ').filter(Boolean));
  const first = target.instances[0];
  let best: SeriesMatch | null = null;
  for (const c of candidates) {
    if (c.modality !== target.modality) continue;
    const p = planeOf(c);
    if (plane && p && plane !== p) continue;
    let score = 0;
    const reasons: string[] = [];
    const ck = descriptionKey(c.description);
    if (key && ck === key) {
      score += 4;
      reasons.push('same description');
    } else if (words.size) {
      const cw = ck.split(' ').filter(Boolean);
      const shared = cw.filter((w) => words.has(w)).length;
      const jaccard = shared / (new Set([...words, ...cw]).size || 1);
      if (jaccard >= 0.5) {
        score += 2 * jaccard;
        reasons.push('similar description');
      }
    }
    const cf = c.instances[0];
    if (first && cf) {
      const sp = first.pixelSpacing;
      const cs = cf.pixelSpacing;
      if (sp && cs && Math.abs(sp[0] - cs[0]) <= 0.1 * sp[0] && Math.abs(sp[1] - cs[1]) <= 0.1 * sp[1]) score += 1;
      if (first.rows === cf.rows && first.columns === cf.columns) score += 0.5;
    }
    if (plane && p === plane) score += 1;
    if (score >= 2 && reasons.length === 0) reasons.push('same geometry');
    const reason = reasons.length ? `${reasons.join(', ')}${score >= 5.5 ? ' and geometry' : ''}` : 'same plane only';
    if (!best || score > best.score || (score === best.score && imageCount(c) > imageCount(best.series))) best = { series: c, reason, score };
  }
  return best;
}

const dateText = (d: string | null): string => (d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : (d ?? '(no date)'));

export interface Hanging {
  layout: LayoutId;
  slots: (Slot | null)[];
  /** What the protocol did, in words, for the screen. */
  note: string;
}

/**
 * Brain-MRI follow-up: with a prior MR study, 1x2 with the current main series on the left and the
 * prior's matching series on the right; otherwise 1x1 with the current main series.
 */
export function hangStudy(current: StudyDetail, prior: StudyDetail | null): Hanging {
  const main = mainSeries(current);
  const left: Slot | null = main ? { studyId: current.study.studyId, seriesId: main.seriesId } : null;
  if (!main || !prior || !current.study.modalities.includes('MR')) return { layout: '1x1', slots: [left], note: '' };
  const match = matchSeries(main, prior.series);
  if (!match) return { layout: '1x1', slots: [left], note: 'The prior study has no series in the same plane to compare.' };
  return {
    layout: '1x2',
    slots: [left, { studyId: prior.study.studyId, seriesId: match.series.seriesId }],
    note: `Follow-up: current left, prior ${dateText(prior.study.studyDate)} right (${match.reason}).`,
  };
}
