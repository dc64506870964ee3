// The study viewer (loaded on demand with cornerstone): a study, and the patient's priors beside
// it, in 1x1, 1x2 or 2x2 viewports with the brain-MRI follow-up hanging protocol, the series strip
// (drag a series into a viewport), linked scrolling, reference lines, the tools, window/level
// presets, cine, measurements that last, key images, the AI overlay and panel, tumor tracking over
// time, the DICOM tag browser and the report. Every action has a shortcut (app/shortcuts.ts).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  AI_PROGRESS_EVENT,
  WorkstationError,
  aiProgressSchema,
  formatStudyDate,
  type AiInstanceResult,
  type AiProgress,
  type AiSeriesResult,
  type AiStudyResult,
  type Measurement,
  type ModelSummary,
  type SeriesSummary,
  type StudyDetail,
  type StudySummary,
  type Tracking,
} from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import { keysOf, withKeys } from '../../app/shortcuts';
import { cornerstone, getFrameInfo, imageIdFor, parseImageId } from './cornerstone-setup';
import { clearOverlayCache, type OverlaySettings } from './overlay';
import { presetsFor } from './presets';
import { AiPanel } from './AiPanel';
import type { ReferenceDraw, ToolName } from './annotations';
import { LAYOUTS, cellsOf, hangStudy, mainSeries, matchSeries, type LayoutId, type Slot } from './layout';
import { linkMode, linkedIndex, normalOf, referenceLine, type LinkStack } from './sync';
import { Viewport, planeOfImage, stackOf, type NewMeasurement, type ViewportHandle } from './Viewport';
import { SeriesStrip } from './SeriesStrip';
import { MeasurementsPanel, PriorsPanel } from './SidePanels';
import { TagBrowser } from './TagBrowser';
import { TrackingPanel } from '../tracking/TrackingPanel';
import './viewer.css';

const TOOLS: { name: ToolName; label: string; action: string; hint: string }[] = [
  { name: 'Wwwc', label: 'W/L', action: 'Window/level tool', hint: 'Window/level: drag left-right for width, up-down for level' },
  { name: 'Pan', label: 'Pan', action: 'Pan tool', hint: 'Pan (also: middle mouse button)' },
  { name: 'Zoom', label: 'Zoom', action: 'Zoom tool', hint: 'Zoom: drag up to zoom in, down to zoom out (also: right mouse button)' },
  { name: 'Length', label: 'Length', action: 'Length', hint: 'Measure a length (mm where the file gives pixel spacing)' },
  { name: 'EllipticalRoi', label: 'Ellipse', action: 'Ellipse area', hint: 'Measure an ellipse area (mm², with the mean and SD of the values inside)' },
  { name: 'FreehandRoi', label: 'Freehand', action: 'Freehand area', hint: 'Outline an area by hand: click points, click the first one to close' },
  { name: 'Angle', label: 'Angle', action: 'Angle', hint: 'Measure an angle: three points, the vertex second' },
  { name: 'Probe', label: 'Probe', action: 'Probe', hint: 'Read the value of one pixel' },
];
const TOOL_KEYS: Record<string, ToolName> = { W: 'Wwwc', P: 'Pan', Z: 'Zoom', L: 'Length', A: 'EllipticalRoi', D: 'FreehandRoi', G: 'Angle', V: 'Probe' };
const CINE_FPS = [5, 10, 15, 20];
const MAX_SLOTS = 4;

/** True when the focused control needs the key itself (typing, a select, a slider's arrows). */
function ownsKey(target: HTMLElement | null, key: string): boolean {
  if (!target) return false;
  if (target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return true;
  if (target.closest?.('[role="dialog"]')) return true;
  if (target.tagName !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  if (type === 'checkbox' || type === 'button') return key === ' ' || key === 'Enter';
  if (type === 'range') return key.startsWith('Arrow') || key === 'Home' || key === 'End' || key === 'PageUp' || key === 'PageDown';
  return true;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong.';
}

/** What linking needs of a stack: its Frame of Reference, normal and per-image positions. */
function linkStackOf(series: SeriesSummary): LinkStack {
  const ids = stackOf(series);
  const first = ids[0] ? planeOfImage(series, ids[0]) : null;
  return {
    frameOfReferenceUid: series.frameOfReferenceUid,
    normal: first ? normalOf(first) : null,
    positions: ids.map((id) => planeOfImage(series, id)?.position ?? null),
  };
}

export default function StudyViewer({ studyId }: { studyId: string }) {
  const nav = useNavigation();
  const [details, setDetails] = useState<Record<string, StudyDetail>>({});
  const [priors, setPriors] = useState<StudySummary[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [layout, setLayout] = useState<LayoutId>('1x1');
  const [slots, setSlots] = useState<(Slot | null)[]>([null, null, null, null]);
  const [active, setActive] = useState(0);
  const [linked, setLinked] = useState(true);
  const [hangNote, setHangNote] = useState('');
  const [indices, setIndices] = useState<number[]>([0, 0, 0, 0]);
  const [tool, setTool] = useState<ToolName>('Wwwc');
  const [cineFps, setCineFps] = useState(10);
  const [cine, setCine] = useState(false);
  const [overlay, setOverlay] = useState<OverlaySettings>({ visible: true, opacity: 0.4, mode: 'both' });
  const [ai, setAi] = useState<Record<string, AiStudyResult>>({});
  const [aiVersion, setAiVersion] = useState(0);
  const [aiRunning, setAiRunning] = useState(false);
  const [aiProgress, setAiProgress] = useState<AiProgress | null>(null);
  const [aiError, setAiError] = useState<string | null>(null);
  const [models, setModels] = useState<ModelSummary[]>([]);
  const [measurements, setMeasurements] = useState<Record<string, Measurement[]>>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [measureError, setMeasureError] = useState<string | null>(null);
  const [tracking, setTracking] = useState<Tracking | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [tags, setTags] = useState<{ instanceId: string; frame: number } | null>(null);
  const [firstShown, setFirstShown] = useState(false);

  const handles = useRef<(ViewportHandle | null)[]>([null, null, null, null]);
  const rendered = useRef(new Set<number>());
  /** Slice each viewport was sent to by linking: its NEW_IMAGE for that slice does not link back. */
  const linkTargets = useRef<(number | null)[]>([null, null, null, null]);
  /** Index offsets between viewports when linked by index (set when the link is made). */
  const phases = useRef<number[]>([0, 0, 0, 0]);
  const opener = useRef<HTMLElement | null>(null);

  const cells = cellsOf(layout);
  const current = details[studyId] ?? null;
  const visible = slots.slice(0, cells);
  const seriesOf = useCallback((s: Slot | null): SeriesSummary | null => (s ? (details[s.studyId]?.series.find((x) => x.seriesId === s.seriesId) ?? null) : null), [details]);
  const studyLabel = useCallback((id: string) => (id === studyId ? 'Current' : `Prior ${formatStudyDate(details[id]?.study.studyDate ?? null)}`), [studyId, details]);
  const activeSlot = visible[active] ?? null;
  const activeStudyId = activeSlot?.studyId ?? studyId;

  // ---- opening: the study, its priors, and the hanging protocol ------------------------------
  useEffect(() => {
    let live = true;
    performance.mark('tp:viewer-mount');
    // Masks may have changed since this study was last open (a run from another window).
    clearOverlayCache();
    const priorsCall = api.call('studies.priors', { studyId }).then((r) => r.studies, () => [] as StudySummary[]);
    Promise.all([api.call('studies.get', { studyId }), priorsCall]).then(
      async ([d, ps]) => {
        if (!live) return;
        performance.mark('tp:study-loaded');
        setPriors(ps);
        const prior = ps.find((p) => p.modalities.includes('MR'));
        let priorDetail: StudyDetail | null = null;
        if (prior && d.study.modalities.includes('MR')) priorDetail = await api.call('studies.get', { studyId: prior.studyId }).catch(() => null);
        if (!live) return;
        const hang = hangStudy(d, priorDetail);
        setDetails(priorDetail ? { [d.study.studyId]: d, [priorDetail.study.studyId]: priorDetail } : { [d.study.studyId]: d });
        setLayout(hang.layout);
        setSlots([...hang.slots, null, null, null, null].slice(0, MAX_SLOTS));
        setHangNote(hang.note);
        phases.current = [0, 0, 0, 0];
      },
      (e: unknown) => live && setLoadError(errorText(e)),
    );
    return () => {
      live = false;
      // Closing a study frees its pixels in the renderer; the main process keeps the originals.
      cornerstone.imageCache.purgeCache();
    };
  }, [studyId]);

  const loadStudy = useCallback(
    async (id: string): Promise<StudyDetail | null> => {
      if (details[id]) return details[id]!;
      try {
        const d = await api.call('studies.get', { studyId: id });
        setDetails((m) => ({ ...m, [id]: d }));
        return d;
      } catch (e) {
        setNote(errorText(e));
        return null;
      }
    },
    [details],
  );

  // ---- AI: stored results of every study on screen; the model runs on the current one -------
  const shownStudies = useMemo(() => [...new Set(visible.filter((s): s is Slot => !!s).map((s) => s.studyId))], [visible]);
  const runAi = useCallback(
    (force: boolean) => {
      setAiRunning(true);
      setAiError(null);
      setAiProgress(null);
      api.call('ai.runStudy', { studyId, force }).then(
        (r) => {
          setAi((m) => ({ ...m, [studyId]: r }));
          setAiRunning(false);
          clearOverlayCache();
          setAiVersion((v) => v + 1);
        },
        (e: unknown) => {
          setAiRunning(false);
          setAiError(e instanceof WorkstationError && e.code === 'CONFLICT' ? e.message : `The AI could not run: ${errorText(e)}`);
          api.call('ai.studyResult', { studyId }).then((r) => setAi((m) => ({ ...m, [studyId]: r })), () => {});
        },
      );
    },
    [studyId],
  );

  // A study that cannot show an image still gets its AI status; the AI calls wait for the first
  // image so they do not compete with it in the main process.
  const aiReady = firstShown || loadError !== null;
  useEffect(() => {
    if (!aiReady) return;
    const off = api.onEvent((evt) => {
      if (evt.event !== AI_PROGRESS_EVENT) return;
      const p = aiProgressSchema.safeParse(evt.data);
      if (p.success && p.data.studyId === studyId) setAiProgress(p.data);
    });
    let live = true;
    api.call('ai.studyResult', { studyId }).then(
      (r) => {
        if (!live) return;
        setAi((m) => ({ ...m, [studyId]: r }));
        if (r.status === 'not-run' || r.status === 'running') runAi(false);
      },
      (e: unknown) => live && setAiError(errorText(e)),
    );
    api.call('models.list', {}).then((r) => live && setModels(r.models), () => {});
    return () => {
      live = false;
      off();
    };
  }, [studyId, runAi, aiReady]);

  // Priors on screen: their stored results (a prior the model never saw is scored too, for tracking).
  useEffect(() => {
    if (!aiReady) return;
    for (const id of shownStudies) {
      if (id === studyId || ai[id]) continue;
      api.call('ai.studyResult', { studyId: id }).then(
        (r) => {
          setAi((m) => ({ ...m, [id]: r }));
          if (r.status === 'not-run') {
            api.call('ai.runStudy', { studyId: id, force: false }).then((done) => {
              setAi((m) => ({ ...m, [id]: done }));
              setAiVersion((v) => v + 1);
            }, () => {});
          }
        },
        () => {},
      );
    }
  }, [aiReady, shownStudies, studyId, ai]);

  const aiByImage = useMemo(() => {
    const out: Record<string, Map<string, AiInstanceResult>> = {};
    for (const [id, r] of Object.entries(ai)) out[id] = new Map(r.instances.map((i) => [imageIdFor(i.instanceId, i.frame), i]));
    return out;
  }, [ai]);
  const EMPTY_AI = useMemo(() => new Map<string, AiInstanceResult>(), []);

  // ---- measurements of every study on screen --------------------------------------------------
  const loadMeasurements = useCallback((id: string) => {
    api.call('measurements.list', { studyId: id }).then(
      (r) => setMeasurements((m) => ({ ...m, [id]: r.measurements })),
      (e: unknown) => setMeasureError(errorText(e)),
    );
  }, []);
  useEffect(() => {
    for (const id of shownStudies) if (!measurements[id]) loadMeasurements(id);
  }, [shownStudies, measurements, loadMeasurements]);

  const refreshTracking = useCallback(() => {
    api.call('tracking.patient', { studyId }).then(setTracking, () => setTracking(null));
  }, [studyId]);
  const aiDoneKey = Object.values(ai).map((r) => `${r.studyId}:${r.status}:${r.finishedAt ?? ''}`).join('|');
  useEffect(() => {
    if (aiReady) refreshTracking();
  }, [aiReady, aiDoneKey, refreshTracking]);

  const saveMeasurement = useCallback(
    (m: NewMeasurement) => {
      setMeasureError(null);
      api.call('measurements.save', { instanceId: m.instanceId, frame: m.frame, kind: m.kind, points: m.points }).then(
        (saved) => {
          setMeasurements((all) => ({ ...all, [saved.studyId]: [...(all[saved.studyId] ?? []), saved] }));
          setSelected(saved.id);
          setNote(`${saved.text} stored (${saved.where}).`);
          refreshTracking();
        },
        (e: unknown) => setMeasureError(`The measurement was not stored: ${errorText(e)}`),
      );
    },
    [refreshTracking],
  );
  /** Deletions sent and not yet answered: a second Delete picks the next measurement, not the same one. */
  const deleting = useRef(new Set<string>());
  const deleteMeasurement = useCallback(
    (m: Measurement) => {
      if (deleting.current.has(m.id)) return;
      deleting.current.add(m.id);
      api.call('measurements.delete', { id: m.id }).finally(() => deleting.current.delete(m.id)).then(
        () => {
          setMeasurements((all) => ({ ...all, [m.studyId]: (all[m.studyId] ?? []).filter((x) => x.id !== m.id) }));
          setNote(`${m.text} deleted.`);
          refreshTracking();
        },
        (e: unknown) => setMeasureError(errorText(e)),
      );
    },
    [refreshTracking],
  );

  // ---- linking and reference lines -------------------------------------------------------------
  const linkStacks = useMemo(() => visible.map((s) => {
    const series = seriesOf(s);
    return series ? linkStackOf(series) : null;
  }), [visible, seriesOf]);

  const linkNote = useMemo(() => {
    if (cells < 2 || !linked) return cells < 2 ? '' : 'Scrolling not linked (N links it).';
    const src = linkStacks[active];
    const others = linkStacks.filter((s, i) => i !== active && s);
    if (!src || others.length === 0) return '';
    const modes = others.map((o) => linkMode(src, o!));
    if (modes.every((m) => m === 'position')) return 'Scrolling linked by slice position (one Frame of Reference).';
    return 'Scrolling linked by slice index: these series do not share a Frame of Reference, so the same index need not be the same level. Unlink (N), align, and link again to keep an offset.';
  }, [cells, linked, linkStacks, active]);

  const syncFrom = useCallback(
    (from: number, index: number, only?: number) => {
      const src = linkStacks[from];
      if (!src) return;
      for (let j = 0; j < cells; j++) {
        if (j === from || (only !== undefined && j !== only)) continue;
        const dst = linkStacks[j];
        const h = handles.current[j];
        if (!dst || !h) continue;
        const mode = linkMode(src, dst);
        const target = linkedIndex(src, index, dst, mode, phases.current[j]! - phases.current[from]!);
        if (target === h.index() && only === undefined) continue;
        linkTargets.current[j] = target;
        h.showSlice(target);
      }
    },
    [linkStacks, cells],
  );

  const onSlice = useCallback(
    (i: number, index: number) => {
      setIndices((xs) => (xs[i] === index ? xs : xs.map((v, k) => (k === i ? index : v))));
      if (linkTargets.current[i] === index) {
        linkTargets.current[i] = null;
        return;
      }
      linkTargets.current[i] = null;
      if (linked && cells > 1) syncFrom(i, index);
    },
    [linked, cells, syncFrom],
  );

  const toggleLink = useCallback(() => {
    setLinked((l) => {
      if (!l) {
        // Linking again keeps the viewports' current offset (by index) as it is now.
        phases.current = handles.current.map((h) => h?.index() ?? 0);
      }
      return !l;
    });
  }, []);

  const references = useMemo(() => {
    const out: ReferenceDraw[][] = [[], [], [], []];
    const src = seriesOf(visible[active] ?? null);
    const srcId = src ? stackOf(src)[indices[active] ?? 0] : undefined;
    const srcPlane = src && srcId ? planeOfImage(src, srcId) : null;
    if (!src || !srcPlane) return out;
    for (let j = 0; j < cells; j++) {
      if (j === active) continue;
      const dst = seriesOf(visible[j] ?? null);
      if (!dst || !dst.frameOfReferenceUid || dst.frameOfReferenceUid !== src.frameOfReferenceUid) continue;
      const dstId = stackOf(dst)[indices[j] ?? 0];
      const dstPlane = dstId ? planeOfImage(dst, dstId) : null;
      const line = dstPlane ? referenceLine(dstPlane, srcPlane) : null;
      if (line) out[j] = [{ line, label: String(active + 1) }];
    }
    return out;
  }, [visible, active, indices, cells, seriesOf]);

  // ---- layout ---------------------------------------------------------------------------------
  const fillSlots = useCallback(
    (next: LayoutId, base: (Slot | null)[]): (Slot | null)[] => {
      const out = [...base];
      const used = new Set(out.slice(0, cellsOf(next)).filter(Boolean).map((s) => s!.seriesId));
      const candidates: Slot[] = [];
      const first = seriesOf(out[0] ?? null);
      for (const d of Object.values(details)) {
        if (d.study.studyId === studyId) continue;
        const m = first ? matchSeries(first, d.series) : null;
        if (m) candidates.push({ studyId: d.study.studyId, seriesId: m.series.seriesId });
      }
      for (const d of [current, ...Object.values(details).filter((x) => x !== current)]) {
        if (!d) continue;
        for (const s of d.series) candidates.push({ studyId: d.study.studyId, seriesId: s.seriesId });
      }
      for (let i = 0; i < cellsOf(next); i++) {
        if (out[i]) continue;
        const c = candidates.find((x) => !used.has(x.seriesId)) ?? (out[0] ? { ...out[0] } : null);
        out[i] = c;
        if (c) used.add(c.seriesId);
      }
      return out;
    },
    [details, current, studyId, seriesOf],
  );
  const changeLayout = useCallback(
    (next: LayoutId) => {
      setLayout(next);
      setSlots((s) => fillSlots(next, s));
      setActive((a) => (a < cellsOf(next) ? a : 0));
      rendered.current = new Set([...rendered.current].filter((i) => i < cellsOf(next)));
    },
    [fillSlots],
  );
  const assign = useCallback((i: number, slot: Slot) => {
    setSlots((s) => s.map((x, k) => (k === i ? slot : x)));
    setActive(i);
  }, []);
  const openPrior = useCallback(
    async (id: string) => {
      const d = await loadStudy(id);
      if (!d) return;
      const first = seriesOf(slots[0] ?? null) ?? (current ? mainSeries(current) : undefined) ?? null;
      const m = first ? matchSeries(first, d.series) : null;
      const series = m?.series ?? mainSeries(d);
      if (!series) return;
      if (cells < 2) setLayout('1x2');
      setSlots((s) => s.map((x, k) => (k === 1 ? { studyId: id, seriesId: series.seriesId } : x)));
      phases.current = [0, 0, 0, 0];
      setHangNote(`Prior ${formatStudyDate(d.study.studyDate)} on the right (${m ? m.reason : 'its main series'}).`);
    },
    [loadStudy, seriesOf, slots, current, cells],
  );

  // ---- first images ---------------------------------------------------------------------------
  const onFirstRender = useCallback(
    (i: number) => {
      if (rendered.current.size === 0) performance.mark('tp:first-image');
      rendered.current.add(i);
      if (!firstShown) setFirstShown(true);
      if (visible.every((s, k) => !s || rendered.current.has(k))) performance.mark('tp:layout-rendered');
    },
    [visible, firstShown],
  );
  const onSeriesShown = useCallback(
    (i: number) => {
      // A series put into a linked viewport joins the link at the active viewport's level.
      if (!linked || cells < 2 || i === active) return;
      const h = handles.current[active];
      if (h) syncFrom(active, h.index(), i);
    },
    [linked, cells, active, syncFrom],
  );

  // ---- actions on the active viewport ---------------------------------------------------------
  const activeHandle = (): ViewportHandle | null => handles.current[active] ?? null;
  const activeSeries = seriesOf(activeSlot);
  const presets = presetsFor(activeSeries?.modality ?? null);
  const applyPreset = useCallback(
    (key: string) => {
      const h = handles.current[active];
      const id = h?.currentImageId();
      const info = id ? getFrameInfo(id) : undefined;
      const p = presets.find((x) => x.key === key);
      const px = h?.pixels();
      if (!h || !info || !p || !px) return;
      const w = p.window(info, px);
      h.setVoi(w.center, w.width);
    },
    [presets, active],
  );

  const seriesResult: AiSeriesResult | null = useMemo(() => ai[activeStudyId]?.series.find((s) => s.seriesId === activeSlot?.seriesId) ?? null, [ai, activeStudyId, activeSlot]);
  const activeImageId = activeSeries ? (stackOf(activeSeries)[indices[active] ?? 0] ?? null) : null;
  const sliceResult = activeImageId ? (aiByImage[activeStudyId]?.get(activeImageId) ?? null) : null;

  const jumpToKey = useCallback(
    (f: AiSeriesResult) => {
      const d = details[activeStudyId];
      if (!f.keyInstanceId || !d) return;
      const s = d.series.find((x) => x.instances.some((i) => i.instanceId === f.keyInstanceId));
      if (!s) return;
      const imageId = imageIdFor(f.keyInstanceId, f.keyFrame ?? 0);
      const h = handles.current[active];
      h?.showImage(imageId);
      if (s.seriesId !== activeSlot?.seriesId) assign(active, { studyId: activeStudyId, seriesId: s.seriesId });
    },
    [details, activeStudyId, active, activeSlot, assign],
  );
  const showMeasurement = useCallback(
    (m: Measurement) => {
      setSelected(m.id);
      let i = visible.findIndex((s) => s?.studyId === m.studyId && s.seriesId === m.seriesId);
      if (i < 0) {
        i = active;
        assign(i, { studyId: m.studyId, seriesId: m.seriesId });
      }
      setActive(i);
      handles.current[i]?.showImage(imageIdFor(m.instanceId, m.frame));
    },
    [visible, active, assign],
  );

  // Key image: the active viewport as shown (overlay included), scaled to at most 512 px, added
  // to the current study's report draft (opened, or made from the AI result, by reports.open).
  const captureKeyImage = useCallback(async (): Promise<void> => {
    const h = handles.current[active];
    const source = h?.element()?.querySelector('canvas');
    if (!h || !source || source.width === 0) return;
    const scale = Math.min(1, 512 / Math.max(source.width, source.height));
    const copy = document.createElement('canvas');
    copy.width = Math.round(source.width * scale);
    copy.height = Math.round(source.height * scale);
    copy.getContext('2d')?.drawImage(source, 0, 0, copy.width, copy.height);
    const pngBase64 = copy.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
    const slice = h.index();
    const imageId = h.currentImageId();
    const instanceId = imageId ? parseImageId(imageId).instanceId : undefined;
    const prior = activeStudyId !== studyId ? ` (${studyLabel(activeStudyId).toLowerCase()})` : '';
    try {
      const report = await api.call('reports.open', { studyId });
      if (report.status !== 'draft' && report.status !== 'preliminary') {
        setNote('The report is signed: key images can no longer be added (write an addendum instead).');
        return;
      }
      await api.call('reports.addKeyImage', { reportId: report.id, pngBase64, caption: `Slice ${slice + 1}${prior}`, ...(instanceId && !prior ? { instanceId } : {}) });
      setNote(`Key image of slice ${slice + 1}${prior} added to the report draft.`);
    } catch (err) {
      setNote(errorText(err));
    }
  }, [studyId, active, activeStudyId, studyLabel]);

  const openTags = useCallback(() => {
    const id = handles.current[active]?.currentImageId();
    if (!id) return;
    opener.current = document.activeElement as HTMLElement | null;
    setTags(parseImageId(id));
  }, [active]);
  const closeTags = useCallback(() => {
    setTags(null);
    (opener.current ?? handles.current[active]?.element())?.focus();
  }, [active]);

  const deleteLastOnImage = useCallback(() => {
    const id = handles.current[active]?.currentImageId();
    if (!id) return;
    const { instanceId, frame } = parseImageId(id);
    const mine = (measurements[activeStudyId] ?? []).filter((m) => m.mine && m.instanceId === instanceId && m.frame === frame && !deleting.current.has(m.id));
    const last = mine.find((m) => m.id === selected) ?? mine.at(-1);
    if (last) deleteMeasurement(last);
  }, [active, activeStudyId, measurements, selected, deleteMeasurement]);

  // Cine on the active viewport.
  useEffect(() => {
    if (!cine) return;
    const timer = setInterval(() => {
      const h = handles.current[active];
      const n = h?.stack().length ?? 0;
      if (h && n > 1) h.showSlice((h.targetIndex() + 1) % n);
    }, 1000 / cineFps);
    return () => clearInterval(timer);
  }, [cine, cineFps, active]);

  // Keyboard shortcuts while the viewer is on screen (app/shortcuts.ts lists them).
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (ownsKey(e.target as HTMLElement | null, e.key)) return;
      const h = handles.current[active];
      // Step from the slice last asked for: quick key presses while one loads are not lost.
      const cur = h?.targetIndex() ?? 0;
      const n = h?.stack().length ?? 0;
      const page = Math.max(1, Math.round(n / 10));
      const k = keysOf(e);
      let handled = true;
      if (k === 'ArrowDown' || k === 'ArrowRight') h?.showSlice(cur + 1);
      else if (k === 'ArrowUp' || k === 'ArrowLeft') h?.showSlice(cur - 1);
      else if (k === 'PageDown') h?.showSlice(cur + page);
      else if (k === 'PageUp') h?.showSlice(cur - page);
      else if (k === 'Home') h?.showSlice(0);
      else if (k === 'End') h?.showSlice(n - 1);
      else if (k === 'Shift+1') changeLayout('1x1');
      else if (k === 'Shift+2') changeLayout('1x2');
      else if (k === 'Shift+4') changeLayout('2x2');
      else if (presets.some((p) => p.key === k)) applyPreset(k);
      else if (TOOL_KEYS[k]) setTool(TOOL_KEYS[k]!);
      else if (k === 'F') h?.fit();
      else if (k === 'I') h?.invert();
      else if (k === 'R') h?.reset();
      else if (k === 'C') setCine((c) => !c);
      else if (k === 'S') void captureKeyImage();
      else if (k === 'O') setOverlay((o) => ({ ...o, visible: !o.visible }));
      else if (k === '[') setOverlay((o) => ({ ...o, opacity: Math.max(0, Math.round((o.opacity - 0.1) * 10) / 10) }));
      else if (k === ']') setOverlay((o) => ({ ...o, opacity: Math.min(1, Math.round((o.opacity + 0.1) * 10) / 10) }));
      else if (k === 'M') setOverlay((o) => ({ ...o, mode: o.mode === 'both' ? 'fill' : o.mode === 'fill' ? 'contour' : 'both' }));
      else if (k === 'K') {
        const f = seriesResult ?? ai[activeStudyId]?.finding;
        if (f) jumpToKey(f);
      } else if (k === 'Delete') deleteLastOnImage();
      else if (k === 'E') nav.openReport(studyId);
      else if (k === 'T') openTags();
      else if (k === 'N') toggleLink();
      else handled = false;
      if (handled) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [active, presets, applyPreset, changeLayout, captureKeyImage, seriesResult, ai, activeStudyId, jumpToKey, deleteLastOnImage, nav, studyId, openTags, toggleLink]);

  const stripStudies = useMemo(
    () => [current, ...Object.values(details).filter((d) => d !== current)].filter((d): d is StudyDetail => !!d).map((d) => ({ detail: d, label: studyLabel(d.study.studyId) })),
    [current, details, studyLabel],
  );
  const measurementGroups = useMemo(
    () => stripStudies.map(({ detail, label }) => ({ label, measurements: measurements[detail.study.studyId] ?? [] })),
    [stripStudies, measurements],
  );
  const activeStack = activeSeries ? stackOf(activeSeries) : [];
  const activeResult = ai[activeStudyId] ?? null;

  return (
    <section className="viewer-page" aria-labelledby="viewer-title">
      <h1 id="viewer-title" className="visually-hidden" tabIndex={-1}>
        Viewer{current ? `: ${current.study.patientName}, ${formatStudyDate(current.study.studyDate)}` : ''}
      </h1>
      <div className="viewer-toolbar" role="toolbar" aria-label="Viewer tools">
        {TOOLS.map((t) => (
          <button key={t.name} type="button" className={tool === t.name ? 'tool active' : 'tool'} aria-pressed={tool === t.name} onClick={() => setTool(t.name)} title={withKeys(t.hint, 'viewer', t.action)} data-tool={t.name}>
            {t.label}
          </button>
        ))}
        <span className="sep" />
        <button type="button" onClick={() => activeHandle()?.fit()} title={withKeys('Fit the image to the viewport', 'viewer', 'Fit')}>Fit</button>
        <button type="button" onClick={() => activeHandle()?.invert()} title={withKeys('Invert grey levels', 'viewer', 'Invert')}>Invert</button>
        <button type="button" onClick={() => activeHandle()?.reset()} title={withKeys('Reset window/level, zoom and pan', 'viewer', 'Reset')}>Reset</button>
        <button type="button" onClick={() => void captureKeyImage()} title={withKeys('Add this view, with the overlay, to the report as a key image', 'viewer', 'Key image')}>Key image</button>
        <span className="sep" />
        <label className="inline" htmlFor="wl-preset" title="Window/level presets (1-4)">Preset</label>
        <select id="wl-preset" value="" onChange={(e) => applyPreset(e.target.value)} title="Window/level presets (1-4)" data-testid="wl-preset">
          <option value="" disabled>
            Choose…
          </option>
          {presets.map((p) => (
            <option key={p.key} value={p.key} title={p.hint}>
              {p.label} ({p.key})
            </option>
          ))}
        </select>
        <span className="sep" />
        <button type="button" className={cine ? 'tool active' : 'tool'} aria-pressed={cine} onClick={() => setCine((c) => !c)} title={withKeys('Play or stop the series as a loop', 'viewer', 'Cine')}>
          {cine ? 'Stop' : 'Cine'}
        </button>
        <select value={cineFps} onChange={(e) => setCineFps(Number(e.target.value))} title="Cine speed (frames per second)" aria-label="Cine speed">
          {CINE_FPS.map((f) => (
            <option key={f} value={f}>
              {f} fps
            </option>
          ))}
        </select>
        <span className="sep" />
        <span role="group" aria-label="Layout" className="layout-buttons">
          {LAYOUTS.map((l) => (
            <button key={l.id} type="button" className={layout === l.id ? 'tool active' : 'tool'} aria-pressed={layout === l.id} onClick={() => changeLayout(l.id)} title={`Layout ${l.label} (${l.key})`} data-layout={l.id}>
              {l.label}
            </button>
          ))}
        </span>
        <button type="button" className={linked && cells > 1 ? 'tool active' : 'tool'} aria-pressed={linked} onClick={toggleLink} disabled={cells < 2} title={withKeys('Link scrolling between the viewports', 'viewer', 'Link scrolling on/off')} data-testid="link-toggle">
          Link
        </button>
        <span className="sep" />
        <button type="button" onClick={openTags} title={withKeys('Read the DICOM tags of the image on screen', 'viewer', 'DICOM tags')} data-testid="open-tags">Tags</button>
        <button type="button" className="primary" onClick={() => nav.openReport(studyId)} title={withKeys("Open this study's report", 'viewer', 'Open the report')} data-testid="open-report">
          Report
        </button>
        <span className="viewer-note" role="status" aria-live="polite" data-testid="key-image-note">
          {note ?? ''}
        </span>
      </div>
      <div className="viewer-status muted small">
        <span data-testid="layout-note">{hangNote}</span> <span data-testid="link-note">{linkNote}</span>
      </div>
      <div className="viewer-body">
        <SeriesStrip studies={stripStudies} shown={visible} ready={firstShown} onPick={(slot) => assign(active, slot)} />
        <div className={`viewport-grid layout-${layout}`} data-testid="viewport-grid" data-layout={layout}>
          {loadError ? (
            <div className="viewport-message error" role="alert">
              {loadError}
            </div>
          ) : !current ? (
            <div className="viewport-message muted">Opening the study…</div>
          ) : (
            visible.map((slot, i) => {
              const series = seriesOf(slot);
              const sid = slot?.studyId ?? studyId;
              return (
                <Viewport
                  key={i}
                  ref={(h) => {
                    handles.current[i] = h;
                  }}
                  slotIndex={i}
                  count={cells}
                  slot={slot}
                  series={series}
                  study={details[sid]?.study ?? null}
                  studyLabel={studyLabel(sid)}
                  active={i === active}
                  tool={tool}
                  overlay={overlay}
                  aiByImage={aiByImage[sid] ?? EMPTY_AI}
                  aiVersion={aiVersion}
                  measurements={measurements[sid] ?? []}
                  selectedMeasurement={selected}
                  references={references[i] ?? []}
                  onActivate={() => setActive(i)}
                  onSlice={(index) => onSlice(i, index)}
                  onFirstRender={() => onFirstRender(i)}
                  onSeriesShown={() => onSeriesShown(i)}
                  onMeasure={saveMeasurement}
                  onDropSeries={(s) => assign(i, s)}
                  onMessage={setNote}
                />
              );
            })
          )}
        </div>
        <div className="side-panel">
          <PriorsPanel priors={priors} openIds={new Set(visible.filter(Boolean).map((s) => s!.studyId))} onOpen={(id) => void openPrior(id)} />
          <AiPanel
            result={activeResult}
            progress={activeStudyId === studyId ? aiProgress : null}
            running={activeStudyId === studyId && aiRunning}
            error={activeStudyId === studyId ? aiError : null}
            models={models}
            currentSeries={seriesResult}
            currentSequence={activeSeries?.sequence}
            currentSlice={sliceResult}
            overlay={overlay}
            onOverlay={setOverlay}
            onRun={() => runAi(true)}
            onCancel={() => void api.call('ai.cancel', { studyId }).catch(() => {})}
            onJumpToKey={jumpToKey}
            studyLabel={activeStudyId === studyId ? null : studyLabel(activeStudyId)}
          />
          <MeasurementsPanel groups={measurementGroups} selected={selected} error={measureError} onSelect={showMeasurement} onDelete={deleteMeasurement} />
          {tracking && <TrackingPanel tracking={tracking} compact />}
        </div>
      </div>
      <div className="viewer-slider">
        <label htmlFor="slice-slider" title="Scroll the stack of the active viewport (mouse wheel, arrow keys, Page Up/Down, Home/End)">
          Slice{cells > 1 ? ` (viewport ${active + 1})` : ''}
        </label>
        <input
          id="slice-slider"
          type="range"
          min={0}
          max={Math.max(0, activeStack.length - 1)}
          value={indices[active] ?? 0}
          onChange={(e) => activeHandle()?.showSlice(Number(e.target.value))}
          title="Scroll the stack (mouse wheel, arrow keys, Page Up/Down, Home/End)"
          data-testid="slice-slider"
        />
        <span className="muted small">
          Keys: ↑/↓ slice · W/P/Z tools · L/A/D/G/V measure (Enter on the image: by keyboard) · 1-4 presets · F fit · I invert · R reset · C cine · O overlay · K key slice · Shift+1/2/4 layout · N link · T tags · E report
        </span>
      </div>
      {tags && <TagBrowser instanceId={tags.instanceId} frame={tags.frame} onClose={closeTags} />}
    </section>
  );
}
