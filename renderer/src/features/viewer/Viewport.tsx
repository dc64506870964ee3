// One viewport of the viewer: a cornerstone element showing one series (of the current study or a
// prior) with stack scroll, the tools, the AI overlay, the stored measurements, reference lines,
// keyboard focus and keyboard measurement, corner text, and a drop target for a dragged series.
// The viewer (StudyViewer) owns layout, linking and data; this component owns the canvas.
import { forwardRef, useCallback, useEffect, useImperativeHandle, useMemo, useRef, useState } from 'react';
import type { ImageRenderedEventDetail } from 'cornerstone-core';
import type { AiInstanceResult, Measurement, SeriesSummary, StudySummary } from '@contract/index';
import { cornerstone, cornerstoneTools, getFrameInfo, imageIdFor, initCornerstone, parseImageId } from './cornerstone-setup';
import { drawOverlay, loadOverlay, type OverlayBitmaps, type OverlaySettings } from './overlay';
import { KEYBOARD_POINTS, KIND_OF_TOOL, MEASURE_TOOLS, drawAnnotations, pointsOfToolData, type KeyboardMeasure, type ReferenceDraw, type ToolName } from './annotations';
import type { ImagePlane } from './sync';
import type { Slot } from './layout';
import { labelText, percent } from './ai-format';

export const SERIES_DRAG_TYPE = 'application/x-tumorpredict-series';

export interface NewMeasurement {
  instanceId: string;
  frame: number;
  kind: NonNullable<(typeof KIND_OF_TOOL)[ToolName]>;
  points: [number, number][];
}

export interface ViewportHandle {
  showSlice(index: number): void;
  /** The slice last asked for (ahead of the one rendered while it loads): keys step from here. */
  targetIndex(): number;
  /** Shows this image of the stack, or the stack's start once the series loads. */
  showImage(imageId: string): void;
  index(): number;
  stack(): readonly string[];
  element(): HTMLDivElement | null;
  currentImageId(): string | null;
  fit(): void;
  invert(): void;
  reset(): void;
  setVoi(center: number, width: number): void;
  pixels(): ArrayLike<number> | null;
  focus(): void;
}

export interface ViewportProps {
  slotIndex: number;
  slot: Slot | null;
  series: SeriesSummary | null;
  study: StudySummary | null;
  /** "Current" or "Prior 2024-01-10": which study this is, for comparison at a glance. */
  studyLabel: string;
  active: boolean;
  /** How many viewports are on screen (tab order and labels). */
  count: number;
  tool: ToolName;
  overlay: OverlaySettings;
  /** AI results of this viewport's study by image id; changes when the AI runs again. */
  aiByImage: ReadonlyMap<string, AiInstanceResult>;
  aiVersion: number;
  /** Stored measurements of this viewport's study. */
  measurements: readonly Measurement[];
  selectedMeasurement: string | null;
  references: readonly ReferenceDraw[];
  onActivate(): void;
  onSlice(index: number): void;
  onFirstRender(): void;
  /** A new series is on screen, at this slice (the viewer links it to the others). */
  onSeriesShown(index: number): void;
  onMeasure(m: NewMeasurement): void;
  onDropSeries(slot: Slot): void;
  onMessage(text: string): void;
}

/** The stack of a series: instances of record by instance number (then slice location), every frame. */
export function stackOf(series: SeriesSummary): string[] {
  const inst = series.instances.filter((i) => i.conflictOf === null);
  inst.sort((a, b) => (a.instanceNumber ?? 1e9) - (b.instanceNumber ?? 1e9) || (a.sliceLocation ?? 0) - (b.sliceLocation ?? 0) || a.sopInstanceUid.localeCompare(b.sopInstanceUid));
  return inst.flatMap((i) => Array.from({ length: Math.max(1, i.frames) }, (_, f) => imageIdFor(i.instanceId, f)));
}

/** The plane of one image of a series, from the index (null for frames of a multi-frame image, whose per-frame geometry is not indexed). */
export function planeOfImage(series: SeriesSummary, imageId: string): ImagePlane | null {
  const { instanceId } = parseImageId(imageId);
  const i = series.instances.find((x) => x.instanceId === instanceId);
  if (!i || i.frames > 1 || !i.imagePosition || !i.imageOrientation || i.imageOrientation.length !== 6 || !i.pixelSpacing) return null;
  const o = i.imageOrientation;
  return { position: i.imagePosition, rowCosines: [o[0]!, o[1]!, o[2]!], columnCosines: [o[3]!, o[4]!, o[5]!], spacing: i.pixelSpacing, rows: i.rows, columns: i.columns };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong.';
}

export const Viewport = forwardRef<ViewportHandle, ViewportProps>(function Viewport(props, ref) {
  const elementRef = useRef<HTMLDivElement | null>(null);
  const [index, setIndex] = useState(0);
  const [view, setView] = useState<{ wc: number; ww: number; scale: number; invert: boolean } | null>(null);
  const [imageError, setImageError] = useState<string | null>(null);
  const [dropping, setDropping] = useState(false);
  const [kb, setKb] = useState<KeyboardMeasure | null>(null);
  const stack = useMemo(() => (props.series ? stackOf(props.series) : []), [props.series]);

  // Refs read by cornerstone's event handlers, which outlive a render.
  const stackRef = useRef<string[]>([]);
  stackRef.current = stack;
  const live = useRef(props);
  live.current = props;
  const kbRef = useRef<KeyboardMeasure | null>(null);
  kbRef.current = kb;
  const bitmaps = useRef(new Map<string, OverlayBitmaps | null>());
  const showToken = useRef(0);
  const rendered = useRef(false);
  const pendingImage = useRef<string | null>(null);
  const wanted = useRef(0);
  /** The last showSlice request that has been displayed (equal to showToken when none is loading). */
  const shownToken = useRef(0);

  const redraw = useCallback(() => {
    const el = elementRef.current;
    if (!el) return;
    try {
      cornerstone.updateImage(el);
    } catch {
      // No image displayed yet.
    }
  }, []);

  // Enable cornerstone on the element once, with its tools and render hooks.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    initCornerstone();
    cornerstone.enable(element);
    cornerstoneTools.addStackStateManager(element, ['stack']);
    for (const t of [cornerstoneTools.WwwcTool, cornerstoneTools.PanTool, cornerstoneTools.StackScrollMouseWheelTool, cornerstoneTools.LengthTool, cornerstoneTools.EllipticalRoiTool, cornerstoneTools.FreehandRoiTool, cornerstoneTools.AngleTool, cornerstoneTools.ProbeTool]) {
      cornerstoneTools.addToolForElement(element, t);
    }
    // Dragging up zooms in, as in OHIF and Weasis (cornerstone-tools' default is the reverse).
    cornerstoneTools.addToolForElement(element, cornerstoneTools.ZoomTool, { configuration: { invert: true, minScale: 0.1, maxScale: 20 } });
    cornerstoneTools.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
    cornerstoneTools.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
    cornerstoneTools.setToolActiveForElement(element, 'StackScrollMouseWheel', {});

    const onRendered = (evt: Event): void => {
      const d = (evt as CustomEvent<ImageRenderedEventDetail>).detail;
      const p = live.current;
      const bm = bitmaps.current.get(d.image.imageId);
      drawOverlay(d, bm ?? null, p.overlay);
      const { instanceId, frame } = parseImageId(d.image.imageId);
      drawAnnotations(element, d.canvasContext, p.measurements.filter((m) => m.instanceId === instanceId && m.frame === frame), p.selectedMeasurement, p.references, kbRef.current);
      const i = stackRef.current.indexOf(d.image.imageId);
      // Test and bench hooks: what is on the canvas now, without re-rendering React.
      element.dataset.renderedSlice = String(i);
      element.dataset.overlayDrawn = String(!!bm && bm.areaPx > 0 && p.overlay.visible);
      element.dataset.ww = String(Math.round(d.viewport.voi.windowWidth));
      element.dataset.wc = String(Math.round(d.viewport.voi.windowCenter));
      element.dataset.scale = d.viewport.scale.toFixed(3);
      element.dataset.measurementsDrawn = String(p.measurements.filter((m) => m.instanceId === instanceId && m.frame === frame).length);
      element.dataset.referencesDrawn = String(p.references.length);
      if (!rendered.current) {
        rendered.current = true;
        p.onFirstRender();
      }
      setView({ wc: d.viewport.voi.windowCenter, ww: d.viewport.voi.windowWidth, scale: d.viewport.scale, invert: d.viewport.invert });
    };
    const onNewImage = (evt: Event): void => {
      const d = (evt as CustomEvent<{ image: { imageId: string } }>).detail;
      const i = stackRef.current.indexOf(d.image.imageId);
      if (i >= 0) {
        setIndex(i);
        // A request still loading stays the target; otherwise the image on screen is.
        if (showToken.current === shownToken.current) wanted.current = i;
        live.current.onSlice(i);
      }
      const { instanceId, frame } = parseImageId(d.image.imageId);
      if (!bitmaps.current.has(d.image.imageId) && live.current.aiByImage.size > 0) {
        void loadOverlay(instanceId, frame).then((bm) => {
          bitmaps.current.set(d.image.imageId, bm);
          if (bm && bm.areaPx > 0) redraw();
        });
      }
    };
    // A measurement drawn with the mouse: hand its points over to be stored, and drop the tool's
    // own copy (the stored one is drawn from then on, with the figure the main process computed).
    const onCompleted = (evt: Event): void => {
      const d = (evt as CustomEvent<{ toolName?: string; toolType?: string; measurementData?: unknown }>).detail;
      const tool = (d.toolName ?? d.toolType) as ToolName | undefined;
      const kind = tool ? KIND_OF_TOOL[tool] : undefined;
      const id = stackRef.current[Number(element.dataset.renderedSlice ?? -1)];
      const info = id ? getFrameInfo(id) : undefined;
      if (!tool || !kind || !id || !info) return;
      const pts = pointsOfToolData(tool, d.measurementData, info.columns, info.rows);
      cornerstoneTools.removeToolState(element, tool, d.measurementData);
      redraw();
      if (!pts) return;
      const { instanceId, frame } = parseImageId(id);
      live.current.onMeasure({ instanceId, frame, kind, points: pts });
    };
    element.addEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
    element.addEventListener(cornerstone.EVENTS.NEW_IMAGE, onNewImage);
    element.addEventListener('cornerstonetoolsmeasurementcompleted', onCompleted);
    const ro = new ResizeObserver(() => {
      try {
        // A layout change resizes the viewport: fit the image to its new size.
        cornerstone.resize(element, true);
      } catch {
        // Not displaying an image yet.
      }
    });
    ro.observe(element);
    return () => {
      ro.disconnect();
      element.removeEventListener(cornerstone.EVENTS.IMAGE_RENDERED, onRendered);
      element.removeEventListener(cornerstone.EVENTS.NEW_IMAGE, onNewImage);
      element.removeEventListener('cornerstonetoolsmeasurementcompleted', onCompleted);
      cornerstone.disable(element);
    };
  }, [redraw]);

  // The left mouse button's tool; pan and zoom stay on the middle and right buttons.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    const all: ToolName[] = ['Wwwc', 'Pan', 'Zoom', ...MEASURE_TOOLS];
    for (const t of all) {
      if (t === props.tool) cornerstoneTools.setToolActiveForElement(element, t, { mouseButtonMask: 1 });
      else if (MEASURE_TOOLS.includes(t)) cornerstoneTools.setToolPassiveForElement(element, t);
    }
    if (props.tool !== 'Pan') cornerstoneTools.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
    if (props.tool !== 'Zoom') cornerstoneTools.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
    setKb(null);
  }, [props.tool]);

  const showSlice = useCallback((i: number) => {
    const element = elementRef.current;
    const ids = stackRef.current;
    if (!element || ids.length === 0) return;
    const target = Math.max(0, Math.min(ids.length - 1, i));
    wanted.current = target;
    const token = ++showToken.current;
    cornerstone.loadAndCacheImage(ids[target]!).then(
      (image) => {
        if (token !== showToken.current) return; // a later request wins
        const stackState = cornerstoneTools.getToolState(element, 'stack');
        const data = stackState?.data[0] as { currentImageIdIndex: number } | undefined;
        if (data) data.currentImageIdIndex = target;
        shownToken.current = token;
        cornerstone.displayImage(element, image);
        setImageError(null);
      },
      (e: unknown) => setImageError(errorText(e)),
    );
  }, []);

  // A new series: a fresh stack, fitted, starting at its first slice (or the image asked for).
  useEffect(() => {
    const element = elementRef.current;
    if (!element || stack.length === 0) return;
    const start = pendingImage.current ? Math.max(0, stack.indexOf(pendingImage.current)) : 0;
    pendingImage.current = null;
    bitmaps.current.clear();
    cornerstoneTools.clearToolState(element, 'stack');
    cornerstoneTools.addToolState(element, 'stack', { imageIds: stack, currentImageIdIndex: start });
    setIndex(start);
    wanted.current = start;
    const token = ++showToken.current;
    cornerstone.loadAndCacheImage(stack[start]!).then(
      (image) => {
        if (token !== showToken.current) return;
        shownToken.current = token;
        if (live.current.slotIndex === 0) performance.mark('tp:image-loaded');
        cornerstone.displayImage(element, image);
        cornerstone.reset(element);
        setImageError(null);
        live.current.onSeriesShown(start);
        // Prefetch the rest of the series so scrolling does not wait on the main process.
        for (const id of stack) if (id !== stack[start]) void cornerstone.loadAndCacheImage(id).catch(() => {});
      },
      (e: unknown) => setImageError(errorText(e)),
    );
  }, [stack]);

  // AI results arrived (or changed): forget old masks, fetch the one on screen.
  useEffect(() => {
    bitmaps.current.clear();
    const id = stackRef.current[index];
    if (!id || props.aiByImage.size === 0) {
      redraw();
      return;
    }
    const { instanceId, frame } = parseImageId(id);
    void loadOverlay(instanceId, frame).then((bm) => {
      bitmaps.current.set(id, bm);
      redraw();
    });
    // index is read once here; scrolling loads masks in the NEW_IMAGE handler.
  }, [props.aiVersion, props.aiByImage, redraw]);

  // Anything drawn over the image changed: draw again.
  useEffect(redraw, [props.overlay, props.measurements, props.selectedMeasurement, props.references, kb, redraw]);

  useImperativeHandle(
    ref,
    (): ViewportHandle => ({
      showSlice,
      showImage(imageId) {
        const i = stackRef.current.indexOf(imageId);
        if (i >= 0) showSlice(i);
        else pendingImage.current = imageId;
      },
      index: () => Number(elementRef.current?.dataset.renderedSlice ?? 0),
      targetIndex: () => wanted.current,
      stack: () => stackRef.current,
      element: () => elementRef.current,
      currentImageId: () => stackRef.current[Number(elementRef.current?.dataset.renderedSlice ?? -1)] ?? null,
      fit() {
        if (elementRef.current) cornerstone.fitToWindow(elementRef.current);
      },
      invert() {
        const el = elementRef.current;
        const vp = el ? cornerstone.getViewport(el) : undefined;
        if (!el || !vp) return;
        vp.invert = !vp.invert;
        cornerstone.setViewport(el, vp);
      },
      reset() {
        if (elementRef.current) cornerstone.reset(elementRef.current);
      },
      setVoi(center, width) {
        const el = elementRef.current;
        const vp = el ? cornerstone.getViewport(el) : undefined;
        if (!el || !vp) return;
        vp.voi = { windowCenter: center, windowWidth: Math.max(1, width) };
        cornerstone.setViewport(el, vp);
      },
      pixels() {
        const el = elementRef.current;
        try {
          return el ? (cornerstone.getEnabledElement(el).image?.getPixelData() ?? null) : null;
        } catch {
          return null;
        }
      },
      focus: () => elementRef.current?.focus(),
    }),
    [showSlice],
  );

  // Keyboard measurement on the focused viewport with a measurement tool: Enter starts at the
  // image centre and places points, arrows move (Shift: 10 px), Shift+Enter closes a freehand
  // outline, Escape cancels. While one is under way the arrows do not scroll.
  const onKeyDown = (e: React.KeyboardEvent<HTMLDivElement>): void => {
    const kind = KIND_OF_TOOL[props.tool];
    const id = stackRef.current[index];
    const info = id ? getFrameInfo(id) : undefined;
    if (!kind || !id || !info) return;
    const cur = kbRef.current;
    const step = e.shiftKey ? 10 : 1;
    const stop = (): void => {
      e.preventDefault();
      e.stopPropagation();
    };
    if (e.key === 'Enter' && !e.altKey && !e.ctrlKey && !e.metaKey) {
      stop();
      if (!cur) {
        const start: KeyboardMeasure = { kind, points: [], cursor: [Math.round(info.columns / 2), Math.round(info.rows / 2)] };
        setKb(start);
        props.onMessage(`Keyboard measurement (${kind}): arrows move the cursor (Shift: 10 pixels), Enter places a point${kind === 'freehand' ? ', Shift+Enter closes the outline' : ''}, Escape cancels.`);
        return;
      }
      const finishFreehand = kind === 'freehand' && e.shiftKey;
      const points = finishFreehand ? cur.points : [...cur.points, cur.cursor];
      if (finishFreehand && points.length < 3) {
        props.onMessage('A freehand outline needs at least 3 points.');
        return;
      }
      if (finishFreehand || points.length >= KEYBOARD_POINTS[kind]) {
        setKb(null);
        const { instanceId, frame } = parseImageId(id);
        props.onMeasure({ instanceId, frame, kind, points: points.map(([x, y]) => [x, y]) });
        return;
      }
      setKb({ ...cur, points });
      props.onMessage(`Point ${points.length} placed at x ${cur.cursor[0]}, y ${cur.cursor[1]}.`);
      return;
    }
    if (!cur) return;
    if (e.key === 'Escape') {
      stop();
      setKb(null);
      props.onMessage('Keyboard measurement cancelled.');
      return;
    }
    const move: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const d = move[e.key];
    if (d) {
      stop();
      setKb({ ...cur, cursor: [Math.min(info.columns, Math.max(0, cur.cursor[0] + d[0])), Math.min(info.rows, Math.max(0, cur.cursor[1] + d[1]))] });
    }
  };

  const current = stack[index] ? parseImageId(stack[index]!) : null;
  const info = stack[index] ? getFrameInfo(stack[index]!) : undefined;
  const inst = props.series?.instances.find((i) => i.instanceId === current?.instanceId);
  const sliceResult = stack[index] ? props.aiByImage.get(stack[index]!) : undefined;
  const spacing = info?.pixelSpacing ?? null;
  const study = props.study;
  const label = `Viewport ${props.slotIndex + 1} of ${props.count}: ${props.studyLabel}, ${props.series?.description ?? 'series'}, image ${stack.length ? index + 1 : 0} of ${stack.length}`;

  return (
    <div
      className={`viewport-wrap${props.active && props.count > 1 ? ' active' : ''}${dropping ? ' dropping' : ''}`}
      data-testid="viewport-cell"
      data-viewport-index={props.slotIndex}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes(SERIES_DRAG_TYPE)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setDropping(true);
      }}
      onDragLeave={() => setDropping(false)}
      onDrop={(e) => {
        setDropping(false);
        const raw = e.dataTransfer.getData(SERIES_DRAG_TYPE);
        if (!raw) return;
        e.preventDefault();
        try {
          const slot = JSON.parse(raw) as Slot;
          if (typeof slot.studyId === 'string' && typeof slot.seriesId === 'string') props.onDropSeries(slot);
        } catch {
          // Not one of ours.
        }
      }}
    >
      <div
        ref={elementRef}
        className="viewport"
        data-testid="viewport"
        data-viewport-index={props.slotIndex}
        tabIndex={0}
        role="img"
        aria-label={label}
        aria-roledescription="medical image viewport"
        onContextMenu={(e) => e.preventDefault()}
        onMouseDown={props.onActivate}
        onFocus={props.onActivate}
        onKeyDown={onKeyDown}
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
            <div className="study-tag" data-testid="study-label">{props.studyLabel}</div>
            <div>{study.description ?? 'No description'}</div>
            <div>
              {study.studyDate ?? 'No date'} {study.studyTime?.slice(0, 4) ?? ''}
            </div>
            <div>
              {props.series?.modality ?? ''} {props.series?.description ?? ''}
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
            {sliceResult && props.overlay.visible && (
              <div className="ai-corner">
                AI: {labelText(sliceResult.label)} {percent(sliceResult.confidence)} · not a medical device
              </div>
            )}
          </div>
        </>
      )}
      {kb && (
        <div className="kb-measure" role="status" aria-live="polite">
          {kb.kind}: {kb.points.length} point{kb.points.length === 1 ? '' : 's'} · cursor x {kb.cursor[0]}, y {kb.cursor[1]}
        </div>
      )}
      {imageError && (
        <div className="viewport-message error" role="alert">
          {imageError}
        </div>
      )}
      {!props.slot && <div className="viewport-message muted">Drag a series here, or pick one from the strip.</div>}
    </div>
  );
});

