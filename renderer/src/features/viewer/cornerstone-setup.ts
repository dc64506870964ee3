// The one place cornerstone is initialised: cornerstone-core, cornerstone-tools with its external
// modules, and the "tp:" image loader that turns images.frame replies into cornerstone images.
import * as cornerstone from 'cornerstone-core';
import * as cornerstoneTools from 'cornerstone-tools';
import * as cornerstoneMath from 'cornerstone-math';
import Hammer from 'hammerjs';
import type { CsImage } from 'cornerstone-core';
import type { Frame } from '@contract/index';
import { api } from '../../api/client';

export { cornerstone, cornerstoneTools };

/** What the viewer needs to know about a loaded frame beyond the pixels. */
export interface FrameInfo {
  instanceId: string;
  frame: number;
  rows: number;
  columns: number;
  pixelSpacing: [number, number] | null;
  photometric: string;
  defaultWindow: { center: number; width: number };
  /** True when defaultWindow is the file's own Window Center/Width. */
  windowFromFile: boolean;
  range: { min: number; max: number };
}

const frameInfo = new Map<string, FrameInfo>();
let initialised = false;

export function imageIdFor(instanceId: string, frame: number): string {
  return `tp:${instanceId}/${frame}`;
}

export function parseImageId(imageId: string): { instanceId: string; frame: number } {
  const m = /^tp:([^/]+)\/(\d+)$/.exec(imageId);
  if (!m) throw new Error(`not a workstation image id: ${imageId}`);
  return { instanceId: m[1]!, frame: Number(m[2]) };
}

export function getFrameInfo(imageId: string): FrameInfo | undefined {
  return frameInfo.get(imageId);
}

function base64Bytes(b64: string): ArrayBuffer {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/** A decoded frame (modality values, rescale already applied) as a cornerstone image. */
export function frameToImage(imageId: string, f: Frame): CsImage {
  const buf = base64Bytes(f.data);
  let pixels: ArrayLike<number>;
  switch (f.dataType) {
    case 'uint8': pixels = new Uint8Array(buf); break;
    case 'int16': pixels = new Int16Array(buf); break;
    case 'uint16': pixels = new Uint16Array(buf); break;
    case 'int32': pixels = new Int32Array(buf); break;
    default: pixels = new Float32Array(buf);
  }
  const color = f.samplesPerPixel === 3;
  if (color) {
    // cornerstone draws colour images from RGBA.
    const rgb = pixels;
    const rgba = new Uint8Array(f.rows * f.columns * 4);
    for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
      rgba[j] = rgb[i]!;
      rgba[j + 1] = rgb[i + 1]!;
      rgba[j + 2] = rgb[i + 2]!;
      rgba[j + 3] = 255;
    }
    pixels = rgba;
  }
  const spacing = f.pixelSpacing;
  frameInfo.set(imageId, {
    instanceId: f.instanceId,
    frame: f.frame,
    rows: f.rows,
    columns: f.columns,
    pixelSpacing: spacing,
    photometric: f.photometric,
    defaultWindow: { center: f.windowCenter, width: f.windowWidth },
    windowFromFile: f.windowFromFile,
    range: { min: f.min, max: f.max },
  });
  return {
    imageId,
    minPixelValue: color ? 0 : f.min,
    maxPixelValue: color ? 255 : f.max,
    // The main process already applied the modality LUT (rescale slope and intercept).
    slope: 1,
    intercept: 0,
    windowCenter: color ? 127.5 : f.windowCenter,
    windowWidth: color ? 255 : f.windowWidth,
    getPixelData: () => pixels,
    rows: f.rows,
    columns: f.columns,
    height: f.rows,
    width: f.columns,
    color,
    rgba: color,
    // Without spacing cornerstone-tools reports measurements in pixels, which the viewer says.
    rowPixelSpacing: spacing ? spacing[0] : undefined,
    columnPixelSpacing: spacing ? spacing[1] : undefined,
    invert: f.invert,
    sizeInBytes: (pixels as unknown as ArrayBufferView).byteLength ?? f.rows * f.columns * 2,
  };
}

function loadImage(imageId: string): { promise: Promise<CsImage> } {
  const { instanceId, frame } = parseImageId(imageId);
  return { promise: api.call('images.frame', { instanceId, frame }).then((f) => frameToImage(imageId, f)) };
}

/** Initialises cornerstone once per page load. */
export function initCornerstone(): void {
  if (initialised) return;
  initialised = true;
  cornerstoneTools.external.cornerstone = cornerstone;
  cornerstoneTools.external.cornerstoneMath = cornerstoneMath;
  cornerstoneTools.external.Hammer = Hammer;
  // SVG cursors are data: URLs set as inline style attributes, which the CSP allows; keep the
  // plain ones anyway so nothing depends on them.
  cornerstoneTools.init({ showSVGCursors: false, globalToolSyncEnabled: false });
  cornerstone.registerImageLoader('tp', loadImage);
  cornerstone.imageCache.setMaximumSizeBytes(512 * 1024 * 1024);
  // Measurement tools read pixel spacing from the imagePlaneModule metadata.
  cornerstone.metaData.addProvider((type, imageId) => {
    if (type !== 'imagePlaneModule') return undefined;
    const info = frameInfo.get(imageId);
    if (!info) return undefined;
    return {
      rows: info.rows,
      columns: info.columns,
      rowPixelSpacing: info.pixelSpacing ? info.pixelSpacing[0] : null,
      columnPixelSpacing: info.pixelSpacing ? info.pixelSpacing[1] : null,
    };
  });
}
