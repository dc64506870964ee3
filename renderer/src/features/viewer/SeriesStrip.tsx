// The series thumbnail strip: every series of the current study and of the priors opened beside
// it, grouped by study, each a small image of its middle slice. Drag one onto a viewport, or pick
// it (click, Enter) to show it in the active viewport.
import { useEffect, useRef } from 'react';
import type { Frame, SeriesSummary, StudyDetail } from '@contract/index';
import { api } from '../../api/client';
import type { Slot } from './layout';
import { SERIES_DRAG_TYPE, stackOf } from './Viewport';
import { parseImageId } from './cornerstone-setup';

const THUMB = 64;

/** Draws a frame, windowed with its default window, into a THUMB x THUMB canvas. */
function drawThumb(canvas: HTMLCanvasElement, f: Frame): void {
  const bin = atob(f.data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const buf = bytes.buffer;
  const px =
    f.dataType === 'uint8' ? new Uint8Array(buf) : f.dataType === 'int16' ? new Int16Array(buf) : f.dataType === 'uint16' ? new Uint16Array(buf) : f.dataType === 'int32' ? new Int32Array(buf) : new Float32Array(buf);
  const src = document.createElement('canvas');
  src.width = f.columns;
  src.height = f.rows;
  const sctx = src.getContext('2d');
  if (!sctx) return;
  const img = sctx.createImageData(f.columns, f.rows);
  const lo = f.windowCenter - f.windowWidth / 2;
  const n = f.rows * f.columns;
  for (let i = 0; i < n; i++) {
    let v: number;
    if (f.samplesPerPixel === 3) {
      img.data[4 * i] = px[3 * i]!;
      img.data[4 * i + 1] = px[3 * i + 1]!;
      img.data[4 * i + 2] = px[3 * i + 2]!;
    } else {
      v = Math.max(0, Math.min(255, ((px[i]! - lo) / f.windowWidth) * 255));
      if (f.invert) v = 255 - v;
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    }
    img.data[4 * i + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const s = Math.min(THUMB / f.columns, THUMB / f.rows);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, THUMB, THUMB);
  ctx.drawImage(src, (THUMB - f.columns * s) / 2, (THUMB - f.rows * s) / 2, f.columns * s, f.rows * s);
}

function Thumb({ series, ready }: { series: SeriesSummary; ready: boolean }) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  useEffect(() => {
    if (!ready || !canvas.current) return;
    const stack = stackOf(series);
    const mid = stack[Math.floor(stack.length / 2)];
    if (!mid) return;
    const { instanceId, frame } = parseImageId(mid);
    let live = true;
    api.call('images.frame', { instanceId, frame }).then(
      (f) => {
        if (live && canvas.current) drawThumb(canvas.current, f);
      },
      () => {},
    );
    return () => {
      live = false;
    };
  }, [series, ready]);
  return <canvas ref={canvas} width={THUMB} height={THUMB} aria-hidden="true" />;
}

export interface StripStudy {
  detail: StudyDetail;
  /** "Current", "Prior 2024-01-10". */
  label: string;
}

export function SeriesStrip(props: { studies: StripStudy[]; shown: readonly (Slot | null)[]; ready: boolean; onPick(slot: Slot): void }) {
  return (
    <nav className="series-strip" aria-label="Series" data-testid="series-strip">
      {props.studies.map(({ detail, label }) => (
        <div key={detail.study.studyId} className="strip-study">
          <div className="strip-study-label">{label}</div>
          <ul>
            {detail.series.map((s) => {
              const slot: Slot = { studyId: detail.study.studyId, seriesId: s.seriesId };
              const where = props.shown.map((x, i) => (x && x.seriesId === s.seriesId ? i + 1 : 0)).filter(Boolean);
              const count = stackOf(s).length;
              const name = `${label}: series ${s.seriesNumber ?? '?'} ${s.description ?? s.modality ?? ''}, ${count} image${count === 1 ? '' : 's'}`;
              return (
                <li key={s.seriesId}>
                  <button
                    type="button"
                    className={where.length ? 'thumb shown' : 'thumb'}
                    draggable
                    data-testid="series-thumb"
                    data-series-id={s.seriesId}
                    onDragStart={(e) => {
                      e.dataTransfer.setData(SERIES_DRAG_TYPE, JSON.stringify(slot));
                      e.dataTransfer.effectAllowed = 'copy';
                    }}
                    onClick={() => props.onPick(slot)}
                    aria-label={`${name}${where.length ? `, in viewport ${where.join(' and ')}` : ''}. Enter shows it in the active viewport; drag it onto a viewport.`}
                    title={`${name}. Click: show in the active viewport; drag onto a viewport.`}
                  >
                    <Thumb series={s} ready={props.ready} />
                    <span className="thumb-text">
                      {s.seriesNumber ?? '?'} {s.description ?? s.modality ?? ''}
                      <span className="muted"> ({count})</span>
                      {where.length ? <span className="thumb-where"> ▸ {where.join(', ')}</span> : null}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </nav>
  );
}
