// The study viewer (loaded on demand with cornerstone): one study's series in a cornerstone
// viewport with stack scroll, window/level, zoom, pan, fit, invert, reset, cine, measurements,
// corner text, and the AI tumor overlay with its side panel. Runs the model on open when it has
// not run. Every action has a shortcut.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ImageRenderedEventDetail } from 'cornerstone-core';
import {
  AI_PROGRESS_EVENT,
  WorkstationError,
  aiProgressSchema,
  type AiInstanceResult,
  type AiProgress,
  type AiSeriesResult,
  type AiStudyResult,
  type ModelSummary,
  type SeriesSummary,
  type StudyDetail,
} from '@contract/index';
import { api } from '../../api/client';
import { cornerstone, cornerstoneTools, getFrameInfo, imageIdFor, initCornerstone, parseImageId } from './cornerstone-setup';
import { clearOverlayCache, drawOverlay, loadOverlay, type OverlayBitmaps, type OverlaySettings } from './overlay';
import { presetsFor } from './presets';
import { AiPanel } from './AiPanel';
import { labelText, percent } from './ai-format';
import './viewer.css';

type ToolName = 'Wwwc' | 'Pan' | 'Zoom' | 'Length' | 'EllipticalRoi';

const TOOLS: { name: ToolName; label: string; key: string; hint: string }[] = [
  { name: 'Wwwc', label: 'W/L', key: 'W', hint: 'Window/level: drag left-right for width, up-down for level' },
  { name: 'Pan', label: 'Pan', key: 'P', hint: 'Pan (also: middle mouse button)' },
  { name: 'Zoom', label: 'Zoom', key: 'Z', hint: 'Zoom by dragging (also: right mouse button)' },
  { name: 'Length', label: 'Length', key: 'L', hint: 'Measure a length (mm where the file gives pixel spacing)' },
  { name: 'EllipticalRoi', label: 'Area', key: 'A', hint: 'Measure an area (mm² where the file gives pixel spacing)' },
];

const CINE_FPS = [5, 10, 15, 20];

interface ViewState {
  wc: number;
  ww: number;
  scale: number;
  invert: boolean;
}

function sortInstances(series: SeriesSummary): string[] {
  const inst = series.instances.filter((i) => i.conflictOf === null);
  inst.sort((a, b) => (a.instanceNumber ?? 1e9) - (b.instanceNumber ?? 1e9) || (a.sliceLocation ?? 0) - (b.sliceLocation ?? 0) || a.sopInstanceUid.localeCompare(b.sopInstanceUid));
  return inst.flatMap((i) => Array.from({ length: Math.max(1, i.frames) }, (_, f) => imageIdFor(i.instanceId, f)));
}

function defaultSeries(detail: StudyDetail): SeriesSummary | undefined {
  return [...detail.series].sort((a, b) => b.instances.length - a.instances.length)[0];
}

/** True when the focused control needs the key itself (typing, a select, a slider's arrows). */
function ownsKey(target: HTMLElement | null, key: string): boolean {
  if (!target) return false;
  if (target.tagName === 'TEXTAREA' || target.tagName === 'SELECT') return true;
  if (target.tagName !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  if (type === 'checkbox' || type === 'button') return key === ' ' || key === 'Enter';
  if (type === 'range') return key.startsWith('Arrow') || key === 'Home' || key === 'End' || key === 'PageUp' || key === 'PageDown';
  return true;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong.';
}

export default function StudyViewer({ studyId }: { studyId: string }) {
  const elementRef = useRef<HTMLDivElement | null>(null);
  const [detail, setDetail] = useState<StudyDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [seriesId, setSeriesId] = useState<string | null>(null);
  const [index, setIndex] = useState(0);
  const [view, setView] = useState<ViewState | null>(null);
  const [tool, setTool] = useState<ToolName>('Wwwc');
  const [cineFps, setCineFps] = useState(10);
  const [cine, setCine] = useState(false);
  const [ai, setAi] = useState<AiStudyResult | null>(null);
  const [aiRunning, setAiRunning] = useState(false);
  const [aiProgress, setAiProgress] = useState<AiProgress | null>(null);
  const [aiError, setAiError] = useState<string | null>(null);
  const [models, setModels] = useState<ModelSummary[]>([]);
  const [overlay, setOverlay] = useState<OverlaySettings>({ visible: true, opacity: 0.4, mode: 'both' });
  const [imageError, setImageError] = useState<string | null>(null);
  // The AI calls wait for the first image so they do not compete with it in the main process.
  const [firstShown, setFirstShown] = useState(false);
  const [measurements, setMeasurements] = useState<{ kind: string; value: number; unit: string }[]>([]);

  const series = useMemo(() => detail?.series.find((s) => s.seriesId === seriesId) ?? null, [detail, seriesId]);
  const stack = useMemo(() => (series ? sortInstances(series) : []), [series]);

  // Refs read by cornerstone event handlers, which outlive a render.
  const stackRef = useRef<string[]>([]);
  stackRef.current = stack;
  const overlayRef = useRef(overlay);
  overlayRef.current = overlay;
  /** Overlay bitmaps by image id (tp:instance/frame): each frame of a multi-frame image has its own mask. */
  const bitmaps = useRef(new Map<string, OverlayBitmaps | null>());
  const showToken = useRef(0);
  const firstRendered = useRef(false);
  const aiHasResults = useRef(false);
  const lastMeasurements = useRef('[]');
  /** Image to show first when the series changes (jump to a key slice in another series). */
  const pendingJump = useRef<string | null>(null);
  aiHasResults.current = !!ai && ai.instances.length > 0;

  // Load the study (the main process writes the study-view audit row).
  useEffect(() => {
    let live = true;
    performance.mark('tp:viewer-mount');
    // Masks may have changed since this study was last open (a run from another window).
    clearOverlayCache();
    api.call('studies.get', { studyId }).then(
      (d) => {
        if (!live) return;
        performance.mark('tp:study-loaded');
        setDetail(d);
        setSeriesId(defaultSeries(d)?.seriesId ?? null);
      },
      (e: unknown) => live && setLoadError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [studyId]);

  // Enable cornerstone on the viewport element once, with its tools and render hooks.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    initCornerstone();
    cornerstone.enable(element);
    cornerstoneTools.addStackStateManager(element, ['stack']);
    for (const t of [cornerstoneTools.WwwcTool, cornerstoneTools.PanTool, cornerstoneTools.ZoomTool, cornerstoneTools.StackScrollMouseWheelTool, cornerstoneTools.LengthTool, cornerstoneTools.EllipticalRoiTool]) {
      cornerstoneTools.addToolForElement(element, t);
    }
    cornerstoneTools.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
    cornerstoneTools.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
    cornerstoneTools.setToolActiveForElement(element, 'StackScrollMouseWheel', {});
    cornerstoneTools.setToolPassiveForElement(element, 'Length');
    cornerstoneTools.setToolPassiveForElement(element, 'EllipticalRoi');

    const onRendered = (evt: Event): void => {
      const d = (evt as CustomEvent<ImageRenderedEventDetail>).detail;
      const bm = bitmaps.current.get(d.image.imageId);
      drawOverlay(d, bm ?? null, overlayRef.current);
      onMeasurement();
      const i = stackRef.current.indexOf(d.image.imageId);
      // Test and bench hooks: what is on the canvas now, without re-rendering React.
      element.dataset.renderedSlice = String(i);
      element.dataset.overlayDrawn = String(!!bm && bm.areaPx > 0 && overlayRef.current.visible);
      element.dataset.ww = String(Math.round(d.viewport.voi.windowWidth));
      element.dataset.wc = String(Math.round(d.viewport.voi.windowCenter));
      if (!firstRendered.current) {
        firstRendered.current = true;
        performance.mark('tp:first-image');
        setFirstShown(true);
      }
      setView({ wc: d.viewport.voi.windowCenter, ww: d.viewport.voi.windowWidth, scale: d.viewport.scale, invert: d.viewport.invert });
    };
    const onNewImage = (evt: Event): void => {
      const d = (evt as CustomEvent<{ image: { imageId: string } }>).detail;
      const i = stackRef.current.indexOf(d.image.imageId);
      if (i >= 0) setIndex(i);
      const { instanceId, frame } = parseImageId(d.image.imageId);
      if (!bitmaps.current.has(d.image.imageId) && aiHasResults.current) {
        void loadOverlay(instanceId, frame).then((bm) => {
          bitmaps.current.set(d.image.imageId, bm);
          if (bm && bm.areaPx > 0) cornerstone.updateImage(element);
        });
      }
    };
    // Measurements of the image on screen, in mm where the file gives pixel spacing.
    const onMeasurement = (): void => {
      const id = stackRef.current[Number(element.dataset.renderedSlice ?? 0)];
      const spaced = !!(id && getFrameInfo(id)?.pixelSpacing);
      const lengths = (cornerstoneTools.getToolState(element, 'Length')?.data ?? []) as { length?: number }[];
      const areas = (cornerstoneTools.getToolState(element, 'EllipticalRoi')?.data ?? []) as { cachedStats?: { area?: number } }[];
      const next = [
        ...lengths.filter((d) => typeof d.length === 'number').map((d) => ({ kind: 'Length', value: d.length!, unit: spaced ? 'mm' : 'px' })),
        ...areas.filter((d) => typeof d.cachedStats?.area === 'number').map((d) => ({ kind: 'Area', value: d.cachedStats!.area!, unit: spaced ? 'mm²' : 'px²' })),
      ];
      // The tools compute their figures while rendering, so this runs after every render too;
      // React only hears about real changes.
      const key = JSON.stringify(next.map((m) => [m.kind, m.value.toFixed(1)]));
      if (key === lastMeasurements.current) return;
      lastMeasurements.current = key;
      setMeasurements(next);
    };
    const measurementEvents = ['cornerstonetoolsmeasurementcompleted', 'cornerstonetoolsmeasurementmodified', 'cornerstonetoolsmeasurementremoved'];
    for (const e of measurementEvents) element.addEventListener(e, onMeasurement);
    element.addEventListener(cornerstone.EVENTS.NEW_IMAGE, onMeasurement);
    element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
    element.addEventListener(cornerstone.EVENTS.NEW_IMAGE, onNewImage);
    const ro = new ResizeObserver(() => {
      try {
        cornerstone.resize(element, false);
      } catch {
        // Not displaying an image yet.
      }
    });
    ro.observe(element);
    return () => {
      ro.disconnect();
      for (const e of measurementEvents) element.removeEventListener(e, onMeasurement);
      element.removeEventListener(cornerstone.EVENTS.NEW_IMAGE, onMeasurement);
      element.removeEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
      element.removeEventListener(cornerstone.EVENTS.NEW_IMAGE, onNewImage);
      cornerstone.disable(element);
      // Closing a study frees its pixels in the renderer; the main process keeps the originals.
      cornerstone.imageCache.purgeCache();
    };
  }, []);

  // The left mouse button's tool.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    for (const t of TOOLS) {
      if (t.name === tool) cornerstoneTools.setToolActiveForElement(element, t.name, { mouseButtonMask: 1 });
      else if (t.name === 'Length' || t.name === 'EllipticalRoi') cornerstoneTools.setToolPassiveForElement(element, t.name);
    }
    // Pan and zoom stay on the middle and right buttons when another tool takes the left.
    if (tool !== 'Pan') cornerstoneTools.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
    if (tool !== 'Zoom') cornerstoneTools.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
  }, [tool]);

  const showSlice = useCallback((i: number) => {
    const element = elementRef.current;
    const ids = stackRef.current;
    if (!element || ids.length === 0) return;
    const target = Math.max(0, Math.min(ids.length - 1, i));
    const token = ++showToken.current;
    cornerstone.loadAndCacheImage(ids[target]!).then(
      (image) => {
        if (token !== showToken.current) return; // a later request wins
        const stackState = cornerstoneTools.getToolState(element, 'stack');
        const data = stackState?.data[0] as { currentImageIdIndex: number } | undefined;
        if (data) data.currentImageIdIndex = target;
        cornerstone.displayImage(element, image);
        setImageError(null);
      },
      (e: unknown) => setImageError(errorText(e)),
    );
  }, []);

  // A new series: a fresh stack, fitted, starting at its first slice (or the key slice asked for).
  useEffect(() => {
    const element = elementRef.current;
    if (!element || stack.length === 0) return;
    const start = pendingJump.current ? Math.max(0, stack.indexOf(pendingJump.current)) : 0;
    pendingJump.current = null;
    cornerstoneTools.clearToolState(element, 'stack');
    cornerstoneTools.addToolState(element, 'stack', { imageIds: stack, currentImageIdIndex: start });
    setIndex(start);
    const token = ++showToken.current;
    cornerstone.loadAndCacheImage(stack[start]!).then(
      (image) => {
        if (token !== showToken.current) return;
        performance.mark('tp:image-loaded');
        cornerstone.displayImage(element, image);
        cornerstone.reset(element);
        setImageError(null);
        // Prefetch the rest of the series so scrolling does not wait on the main process.
        for (const id of stack) if (id !== stack[start]) void cornerstone.loadAndCacheImage(id).catch(() => {});
      },
      (e: unknown) => setImageError(errorText(e)),
    );
  }, [stack]);

  // The AI: show the stored result, or run the model on open when it has not run.
  const runAi = useCallback(
    (force: boolean) => {
      setAiRunning(true);
      setAiError(null);
      setAiProgress(null);
      api.call('ai.runStudy', { studyId, force }).then(
        (r) => {
          setAi(r);
          setAiRunning(false);
          clearOverlayCache();
          bitmaps.current.clear();
        },
        (e: unknown) => {
          setAiRunning(false);
          setAiError(e instanceof WorkstationError && e.code === 'CONFLICT' ? e.message : `The AI could not run: ${errorText(e)}`);
          api.call('ai.studyResult', { studyId }).then(setAi, () => {});
        },
      );
    },
    [studyId],
  );

  // A study that cannot show an image still gets its AI status.
  const aiReady = firstShown || loadError !== null || imageError !== null;
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
        setAi(r);
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

  // When results arrive, fetch the mask of the slice on screen.
  useEffect(() => {
    const element = elementRef.current;
    const id = stack[index];
    if (!element || !id || !ai || ai.instances.length === 0) return;
    const { instanceId, frame } = parseImageId(id);
    if (bitmaps.current.has(id)) {
      cornerstone.updateImage(element);
      return;
    }
    void loadOverlay(instanceId, frame).then((bm) => {
      bitmaps.current.set(id, bm);
      try {
        cornerstone.updateImage(element);
      } catch {
        // No image displayed yet.
      }
    });
  }, [ai, index, stack]);

  // Overlay settings changed: redraw.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    try {
      cornerstone.updateImage(element);
    } catch {
      // No image displayed yet.
    }
  }, [overlay]);

  // Cine.
  useEffect(() => {
    if (!cine || stack.length < 2) return;
    const timer = setInterval(() => {
      const cur = Number(elementRef.current?.dataset.renderedSlice ?? 0);
      showSlice((cur + 1) % stackRef.current.length);
    }, 1000 / cineFps);
    return () => clearInterval(timer);
  }, [cine, cineFps, stack, showSlice]);

  const current = stack[index] ? parseImageId(stack[index]!) : null;
  const currentInstanceId = current?.instanceId ?? null;
  const currentFrame = current?.frame ?? 0;
  const sliceResult: AiInstanceResult | null = useMemo(
    () => ai?.instances.find((r) => r.instanceId === currentInstanceId && r.frame === currentFrame) ?? null,
    [ai, currentInstanceId, currentFrame],
  );
  const seriesResult: AiSeriesResult | null = useMemo(() => ai?.series.find((s) => s.seriesId === seriesId) ?? null, [ai, seriesId]);
  const info = stack[index] ? getFrameInfo(stack[index]!) : undefined;
  const presets = presetsFor(series?.modality ?? null);

  const applyViewport = useCallback((patch: (vp: NonNullable<ReturnType<typeof cornerstone.getViewport>>) => void) => {
    const element = elementRef.current;
    if (!element) return;
    const vp = cornerstone.getViewport(element);
    if (!vp) return;
    patch(vp);
    cornerstone.setViewport(element, vp);
  }, []);

  const applyPreset = useCallback(
    (key: string) => {
      const p = presets.find((x) => x.key === key);
      const id = stackRef.current[Number(elementRef.current?.dataset.renderedSlice ?? 0)];
      const fi = id ? getFrameInfo(id) : undefined;
      if (!p || !fi) return;
      const w = p.window(fi);
      applyViewport((vp) => {
        vp.voi = { windowCenter: w.center, windowWidth: Math.max(1, w.width) };
      });
    },
    [presets, applyViewport],
  );

  const fit = useCallback(() => {
    const element = elementRef.current;
    if (element) cornerstone.fitToWindow(element);
  }, []);
  const invert = useCallback(() => applyViewport((vp) => void (vp.invert = !vp.invert)), [applyViewport]);
  const reset = useCallback(() => {
    const element = elementRef.current;
    if (element) cornerstone.reset(element);
  }, []);
  const clearMeasurements = useCallback(() => {
    const element = elementRef.current;
    if (!element) return;
    for (const t of ['Length', 'EllipticalRoi']) cornerstoneTools.clearToolState(element, t);
    cornerstone.updateImage(element);
  }, []);

  const jumpToKey = useCallback(
    (f: AiSeriesResult) => {
      if (!f.keyInstanceId || !detail) return;
      const s = detail.series.find((x) => x.instances.some((i) => i.instanceId === f.keyInstanceId));
      if (!s) return;
      if (s.seriesId !== seriesId) {
        // The series effect starts the new stack at this image.
        pendingJump.current = imageIdFor(f.keyInstanceId, f.keyFrame ?? 0);
        setSeriesId(s.seriesId);
      } else {
        showSlice(stackRef.current.indexOf(imageIdFor(f.keyInstanceId, f.keyFrame ?? 0)));
      }
    },
    [detail, seriesId, showSlice],
  );

  // Key image: the viewport as shown (overlay included), scaled to at most 512 px, added to the
  // study's report draft (opened, or made from the AI result, by reports.open).
  const [keyImageNote, setKeyImageNote] = useState<string | null>(null);
  const captureKeyImage = useCallback(async (): Promise<void> => {
    const source = elementRef.current?.querySelector('canvas');
    if (!source || source.width === 0) return;
    const scale = Math.min(1, 512 / Math.max(source.width, source.height));
    const copy = document.createElement('canvas');
    copy.width = Math.round(source.width * scale);
    copy.height = Math.round(source.height * scale);
    copy.getContext('2d')?.drawImage(source, 0, 0, copy.width, copy.height);
    const pngBase64 = copy.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
    const slice = Number(elementRef.current?.dataset.renderedSlice ?? 0);
    const imageId = stackRef.current[slice];
    const instanceId = imageId ? parseImageId(imageId).instanceId : undefined;
    try {
      const report = await api.call('reports.open', { studyId });
      if (report.status !== 'draft' && report.status !== 'preliminary') {
        setKeyImageNote('The report is signed: key images can no longer be added (write an addendum instead).');
        return;
      }
      await api.call('reports.addKeyImage', { reportId: report.id, pngBase64, caption: `Slice ${slice + 1}`, ...(instanceId ? { instanceId } : {}) });
      setKeyImageNote(`Key image of slice ${slice + 1} added to the report draft.`);
    } catch (err) {
      setKeyImageNote(errorText(err));
    }
  }, [studyId]);

  // Keyboard shortcuts while the viewer is on screen.
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (ownsKey(e.target as HTMLElement | null, e.key)) return;
      const cur = Number(elementRef.current?.dataset.renderedSlice ?? index);
      const n = stackRef.current.length;
      const page = Math.max(1, Math.round(n / 10));
      const k = e.key;
      let handled = true;
      if (k === 'ArrowDown' || k === 'ArrowRight') showSlice(cur + 1);
      else if (k === 'ArrowUp' || k === 'ArrowLeft') showSlice(cur - 1);
      else if (k === 'PageDown') showSlice(cur + page);
      else if (k === 'PageUp') showSlice(cur - page);
      else if (k === 'Home') showSlice(0);
      else if (k === 'End') showSlice(n - 1);
      else if (presets.some((p) => p.key === k)) applyPreset(k);
      else if (k === 'w' || k === 'W') setTool('Wwwc');
      else if (k === 'p' || k === 'P') setTool('Pan');
      else if (k === 'z' || k === 'Z') setTool('Zoom');
      else if (k === 'l' || k === 'L') setTool('Length');
      else if (k === 'a' || k === 'A') setTool('EllipticalRoi');
      else if (k === 'f' || k === 'F') fit();
      else if (k === 'i' || k === 'I') invert();
      else if (k === 'r' || k === 'R') reset();
      else if (k === 'c' || k === 'C') setCine((c) => !c);
      else if (k === 's' || k === 'S') void captureKeyImage();
      else if (k === 'o' || k === 'O') setOverlay((o) => ({ ...o, visible: !o.visible }));
      else if (k === '[') setOverlay((o) => ({ ...o, opacity: Math.max(0, Math.round((o.opacity - 0.1) * 10) / 10) }));
      else if (k === ']') setOverlay((o) => ({ ...o, opacity: Math.min(1, Math.round((o.opacity + 0.1) * 10) / 10) }));
      else if (k === 'm' || k === 'M') setOverlay((o) => ({ ...o, mode: o.mode === 'both' ? 'fill' : o.mode === 'fill' ? 'contour' : 'both' }));
      else if (k === 'k' || k === 'K') {
        const f = seriesResult ?? ai?.finding;
        if (f) jumpToKey(f);
      } else if (k === 'Delete') clearMeasurements();
      else handled = false;
      if (handled) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [index, presets, applyPreset, fit, invert, reset, showSlice, jumpToKey, seriesResult, ai, clearMeasurements, captureKeyImage]);

  const study = detail?.study;
  const inst = series?.instances.find((i) => i.instanceId === currentInstanceId);
  const spacing = info?.pixelSpacing ?? null;

  return (
    <section className="viewer-page" aria-labelledby="viewer-title">
      <h1 id="viewer-title" className="visually-hidden">Viewer</h1>
      <div className="viewer-toolbar" role="toolbar" aria-label="Viewer tools">
        {TOOLS.map((t) => (
          <button key={t.name} type="button" className={tool === t.name ? 'tool active' : 'tool'} aria-pressed={tool === t.name} onClick={() => setTool(t.name)} title={`${t.hint} (${t.key})`}>
            {t.label}
          </button>
        ))}
        <span className="sep" />
        <button type="button" onClick={fit} title="Fit the image to the viewport (F)">Fit</button>
        <button type="button" onClick={invert} title="Invert grey levels (I)">Invert</button>
        <button type="button" onClick={reset} title="Reset window/level, zoom and pan (R)">Reset</button>
        <button type="button" onClick={clearMeasurements} title="Remove the measurements (Delete)">Clear</button>
        <button type="button" onClick={() => void captureKeyImage()} title="Add this view, with the overlay, to the report as a key image (S)">Key image</button>
        <span className="sep" />
        <label className="inline" htmlFor="wl-preset" title="Window/level presets (1-4)">Preset</label>
        <select id="wl-preset" value="" onChange={(e) => applyPreset(e.target.value)} title="Window/level presets (1-4)" data-testid="wl-preset">
          <option value="" disabled>
            Choose…
          </option>
          {presets.map((p) => (
            <option key={p.key} value={p.key}>
              {p.label} ({p.key})
            </option>
          ))}
        </select>
        <span className="sep" />
        <button type="button" className={cine ? 'tool active' : 'tool'} aria-pressed={cine} onClick={() => setCine((c) => !c)} title="Play or stop the series as a loop (C)">
          {cine ? 'Stop' : 'Cine'}
        </button>
        <select value={cineFps} onChange={(e) => setCineFps(Number(e.target.value))} title="Cine speed (frames per second)" aria-label="Cine speed">
          {CINE_FPS.map((f) => (
            <option key={f} value={f}>
              {f} fps
            </option>
          ))}
        </select>
        {detail && detail.series.length > 1 && (
          <>
            <span className="sep" />
            <label className="inline" htmlFor="series-select">Series</label>
            <select id="series-select" value={seriesId ?? ''} onChange={(e) => setSeriesId(e.target.value)} title="Series of this study">
              {detail.series.map((s) => (
                <option key={s.seriesId} value={s.seriesId}>
                  {s.seriesNumber ?? '?'} {s.description ?? s.modality ?? ''} ({s.instances.length})
                </option>
              ))}
            </select>
          </>
        )}
        <span className="viewer-note" role="status" aria-live="polite" data-testid="key-image-note">
          {keyImageNote ?? ''}
        </span>
      </div>
      <div className="viewer-body">
        <div className="viewport-wrap">
          <div
            ref={elementRef}
            className="viewport"
            data-testid="viewport"
            onContextMenu={(e) => e.preventDefault()}
            aria-label={`Image ${index + 1} of ${stack.length}`}
            role="img"
          />
          {study && (
            <>
              <div className="corner tl" data-testid="corner-tl">
                <div className="strong">{study.patientName}</div>
                <div>ID {study.patientDicomId ?? '—'}</div>
                <div>
                  {study.patientBirthDate ?? 'Birth date —'} {study.patientSex ?? ''}
                </div>
              </div>
              <div className="corner tr">
                <div>{study.description ?? 'No description'}</div>
                <div>
                  {study.studyDate ?? 'No date'} {study.studyTime?.slice(0, 4) ?? ''}
                </div>
                <div>
                  {series?.modality ?? ''} {series?.description ?? ''}
                </div>
                {study.derived && <div className="warn">Derived images</div>}
              </div>
              <div className="corner bl" data-testid="corner-bl">
                <div data-testid="slice-indicator">
                  Image {stack.length ? index + 1 : 0} / {stack.length}
                  {inst?.instanceNumber != null ? ` (#${inst.instanceNumber})` : ''}
                </div>
                <div data-testid="wl-indicator">{view ? `W ${Math.round(view.ww)} L ${Math.round(view.wc)}` : ''}</div>
              </div>
              <div className="corner br">
                <div>{view ? `Zoom ${Math.round(view.scale * 100)}%` : ''}{view?.invert ? ' · inverted' : ''}</div>
                <div>{spacing ? `Pixel ${spacing[1].toFixed(2)} × ${spacing[0].toFixed(2)} mm` : 'No pixel spacing: measurements in px'}</div>
                {sliceResult && overlay.visible && (
                  <div className="ai-corner">
                    AI: {labelText(sliceResult.label)} {percent(sliceResult.confidence)} · not a medical device
                  </div>
                )}
              </div>
            </>
          )}
          {(loadError || imageError) && (
            <div className="viewport-message error" role="alert">
              {loadError ?? imageError}
            </div>
          )}
          {!detail && !loadError && <div className="viewport-message muted">Opening the study…</div>}
        </div>
        <div className="side-panel">
        <AiPanel
          result={ai}
          progress={aiProgress}
          running={aiRunning}
          error={aiError}
          models={models}
          currentSeries={seriesResult}
          currentSequence={series?.sequence}
          currentSlice={sliceResult}
          overlay={overlay}
          onOverlay={setOverlay}
          onRun={() => runAi(true)}
          onCancel={() => void api.call('ai.cancel', { studyId }).catch(() => {})}
          onJumpToKey={jumpToKey}
        />
        <section className="measure-panel" aria-labelledby="measure-title" data-testid="measurements">
          <h2 id="measure-title">Measurements</h2>
          {measurements.length === 0 ? (
            <p className="muted small">None on this image. Length (L) or area (A), then drag on the image.</p>
          ) : (
            <ul>
              {measurements.map((m, i) => (
                <li key={i}>
                  {m.kind}: {m.value.toFixed(1)} {m.unit}
                </li>
              ))}
            </ul>
          )}
        </section>
        </div>
      </div>
      <div className="viewer-slider">
        <label htmlFor="slice-slider" title="Scroll the stack (mouse wheel, arrow keys, Page Up/Down, Home/End)">
          Slice
        </label>
        <input
          id="slice-slider"
          type="range"
          min={0}
          max={Math.max(0, stack.length - 1)}
          value={index}
          onChange={(e) => showSlice(Number(e.target.value))}
          title="Scroll the stack (mouse wheel, arrow keys, Page Up/Down, Home/End)"
          data-testid="slice-slider"
        />
        <span className="muted small">
          Keys: ↑/↓ slice · W/P/Z/L/A tools · 1-4 presets · F fit · I invert · R reset · C cine · O overlay · [ ] opacity · M style · K key slice
        </span>
      </div>
    </section>
  );
}
