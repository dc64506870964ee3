// Type declarations for the parts of cornerstone-core, cornerstone-tools, cornerstone-math and
// hammerjs the viewer uses (the packages ship no types).
declare module 'cornerstone-core' {
  export interface CsImage {
    imageId: string;
    minPixelValue: number;
    maxPixelValue: number;
    slope: number;
    intercept: number;
    windowCenter: number;
    windowWidth: number;
    getPixelData(): ArrayLike<number>;
    rows: number;
    columns: number;
    height: number;
    width: number;
    color: boolean;
    rgba?: boolean;
    columnPixelSpacing?: number | undefined;
    rowPixelSpacing?: number | undefined;
    invert: boolean;
    sizeInBytes: number;
  }
  export interface Viewport {
    scale: number;
    translation: { x: number; y: number };
    voi: { windowWidth: number; windowCenter: number };
    invert: boolean;
    pixelReplication: boolean;
    rotation: number;
    hflip: boolean;
    vflip: boolean;
  }
  export interface EnabledElement {
    element: HTMLElement;
    image?: CsImage;
    viewport?: Viewport;
    canvas: HTMLCanvasElement;
  }
  export interface ImageRenderedEventDetail {
    element: HTMLElement;
    image: CsImage;
    viewport: Viewport;
    canvasContext: CanvasRenderingContext2D;
    enabledElement: EnabledElement;
  }
  export const EVENTS: { IMAGE_RENDERED: string; NEW_IMAGE: string; IMAGE_LOADED: string };
  export function enable(element: HTMLElement, options?: Record<string, unknown>): void;
  export function disable(element: HTMLElement): void;
  export function displayImage(element: HTMLElement, image: CsImage, viewport?: Partial<Viewport>): void;
  export function loadAndCacheImage(imageId: string): Promise<CsImage>;
  export function loadImage(imageId: string): Promise<CsImage>;
  export function registerImageLoader(scheme: string, loader: (imageId: string) => { promise: Promise<CsImage>; cancelFn?: () => void }): void;
  export function getViewport(element: HTMLElement): Viewport | undefined;
  export function setViewport(element: HTMLElement, viewport: Partial<Viewport>): void;
  export function reset(element: HTMLElement): void;
  export function resize(element: HTMLElement, forceFitToWindow?: boolean): void;
  export function fitToWindow(element: HTMLElement): void;
  export function updateImage(element: HTMLElement, invalidated?: boolean): void;
  export function getEnabledElement(element: HTMLElement): EnabledElement;
  export function pixelToCanvas(element: HTMLElement, pt: { x: number; y: number }): { x: number; y: number };
  export function canvasToPixel(element: HTMLElement, pt: { x: number; y: number }): { x: number; y: number };
  export function setToPixelCoordinateSystem(enabledElement: EnabledElement, context: CanvasRenderingContext2D, scale?: number): void;
  export const imageCache: { purgeCache(): void; setMaximumSizeBytes(n: number): void };
  export const metaData: { addProvider(provider: (type: string, imageId: string) => unknown, priority?: number): void };
}

declare module 'cornerstone-tools' {
  export const external: { cornerstone: unknown; cornerstoneMath: unknown; Hammer: unknown };
  export function init(config?: Record<string, unknown>): void;
  export function addToolForElement(element: HTMLElement, tool: unknown, props?: Record<string, unknown>): void;
  export function setToolActiveForElement(element: HTMLElement, name: string, options?: Record<string, unknown>): void;
  export function setToolPassiveForElement(element: HTMLElement, name: string, options?: Record<string, unknown>): void;
  export function setToolEnabledForElement(element: HTMLElement, name: string, options?: Record<string, unknown>): void;
  export function addStackStateManager(element: HTMLElement, types: string[]): void;
  export function addToolState(element: HTMLElement, type: string, data: unknown): void;
  export function getToolState(element: HTMLElement, type: string): { data: unknown[] } | undefined;
  export function clearToolState(element: HTMLElement, type: string): void;
  export function removeToolState(element: HTMLElement, type: string, data: unknown): void;
  export const globalImageIdSpecificToolStateManager: { restoreToolState(state: unknown): void; saveToolState(): Record<string, unknown> };
  export const WwwcTool: unknown;
  export const PanTool: unknown;
  export const ZoomTool: unknown;
  export const StackScrollMouseWheelTool: unknown;
  export const LengthTool: unknown;
  export const EllipticalRoiTool: unknown;
  export const RectangleRoiTool: unknown;
  export const FreehandRoiTool: unknown;
  export const AngleTool: unknown;
  export const ProbeTool: unknown;
  export const EVENTS: Record<string, string>;
}

declare module 'cornerstone-math';
declare module 'hammerjs';
