// The AI tumor overlay: fetches an image's stored mask (ai.mask, per frame: each frame of a
// multi-frame image has its own), turns it into fill and contour bitmaps once, and draws them
// over the image in pixel coordinates after each cornerstone render.
import { decodeMaskRuns } from '@contract/index';
import { api } from '../../api/client';
import { cornerstone } from './cornerstone-setup';
import type { ImageRenderedEventDetail } from 'cornerstone-core';

export interface OverlayBitmaps {
  width: number;
  height: number;
  areaPx: number;
  fill: HTMLCanvasElement | null;
  contour: HTMLCanvasElement | null;
}

export interface OverlaySettings {
  visible: boolean;
  /** Opacity of the fill, 0..1; the contour is always drawn opaque. */
  opacity: number;
  mode: 'fill' | 'contour' | 'both';
}

/** The overlay colour: saturated red-orange, distinct from the grey image and from the focus ring. */
const FILL_RGB = [255, 64, 32] as const;
const CONTOUR_RGB = [255, 214, 0] as const;

/** Keyed by `${instanceId}/${frame}`. */
const cache = new Map<string, Promise<OverlayBitmaps | null>>();

function bitmap(width: number, height: number, mask: Uint8Array, rgb: readonly [number, number, number], pick: (i: number) => boolean): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < mask.length; i++) {
    if (!pick(i)) continue;
    const j = i * 4;
    img.data[j] = rgb[0];
    img.data[j + 1] = rgb[1];
    img.data[j + 2] = rgb[2];
    img.data[j + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** Mask pixels with a 4-neighbour outside the mask (or at the image edge). */
function isEdge(mask: Uint8Array, width: number, height: number, i: number): boolean {
  if (!mask[i]) return false;
  const x = i % width;
  const y = (i - x) / width;
  if (x === 0 || y === 0 || x === width - 1 || y === height - 1) return true;
  return !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width];
}

/** The overlay bitmaps of one frame of an image, or null when it has no stored AI result. */
export function loadOverlay(instanceId: string, frame: number): Promise<OverlayBitmaps | null> {
  const key = `${instanceId}/${frame}`;
  let p = cache.get(key);
  if (!p) {
    p = api.call('ai.mask', { instanceId, frame }).then(
      (m) => {
        if (m.areaPx === 0) return { width: m.width, height: m.height, areaPx: 0, fill: null, contour: null };
        const mask = decodeMaskRuns(m.runs, m.width, m.height);
        return {
          width: m.width,
          height: m.height,
          areaPx: m.areaPx,
          fill: bitmap(m.width, m.height, mask, FILL_RGB, (i) => mask[i] === 1),
          contour: bitmap(m.width, m.height, mask, CONTOUR_RGB, (i) => isEdge(mask, m.width, m.height, i)),
        };
      },
      () => null,
    );
    cache.set(key, p);
    // A missing result may appear after a run: do not cache the miss.
    void p.then((v) => {
      if (v === null) cache.delete(key);
    });
  }
  return p;
}

/** Forgets cached masks (after a new AI run). */
export function clearOverlayCache(): void {
  cache.clear();
}

/** Draws the overlay into the canvas cornerstone just rendered. */
export function drawOverlay(detail: ImageRenderedEventDetail, overlay: OverlayBitmaps | null, settings: OverlaySettings): void {
  if (!settings.visible || !overlay || overlay.areaPx === 0) return;
  const { canvasContext: ctx, enabledElement, image } = detail;
  ctx.save();
  cornerstone.setToPixelCoordinateSystem(enabledElement, ctx);
  ctx.imageSmoothingEnabled = false;
  // The mask is stored at the image's own size; scale if a decoder produced another size.
  const sx = image.columns / overlay.width;
  const sy = image.rows / overlay.height;
  if (overlay.fill && settings.mode !== 'contour' && settings.opacity > 0) {
    ctx.globalAlpha = settings.opacity;
    ctx.drawImage(overlay.fill, 0, 0, overlay.width * sx, overlay.height * sy);
  }
  if (overlay.contour && settings.mode !== 'fill') {
    ctx.globalAlpha = 1;
    ctx.drawImage(overlay.contour, 0, 0, overlay.width * sx, overlay.height * sy);
  }
  ctx.restore();
}
