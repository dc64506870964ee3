// The geometry of each frame of a stored image, as derived objects must repeat it: position,
// orientation, pixel spacing and slice thickness from the per-frame and shared functional groups
// of an enhanced (multi-frame) image, or from the top-level Image Plane attributes otherwise.
import type { DataSet } from 'dicom-parser';

export interface FrameGeometry {
  position: [number, number, number] | null;
  orientation: number[] | null;
  pixelSpacing: [number, number] | null;
  sliceThickness: number | null;
  spacingBetweenSlices: number | null;
}

export interface ImageGeometry {
  frameOfReferenceUid: string | null;
  positionReferenceIndicator: string | null;
  frames: FrameGeometry[];
}

function numbers(ds: DataSet | undefined, tag: string): number[] | null {
  const el = ds?.elements[tag];
  if (!ds || !el || el.length <= 0 || el.length > 1024) return null;
  const raw = Buffer.from(ds.byteArray.subarray(el.dataOffset, Math.min(el.dataOffset + el.length, ds.byteArray.length))).toString('latin1').replace(/\0+$/, '');
  const vals = raw.split('\\').map((v) => Number.parseFloat(v.trim()));
  return vals.length && vals.every((v) => Number.isFinite(v)) ? vals : null;
}

function text(ds: DataSet, tag: string): string | null {
  const v = ds.string(tag)?.trim();
  return v ? v : null;
}

const item = (ds: DataSet | undefined, seqTag: string, i = 0): DataSet | undefined => ds?.elements[seqTag]?.items?.[i]?.dataSet;

/** The geometry of one frame from a functional-groups item (per-frame or shared), null where it does not say. */
function fromGroups(groups: DataSet | undefined): FrameGeometry {
  const measures = item(groups, 'x00289110');
  const pos = numbers(item(groups, 'x00209113'), 'x00200032');
  const orient = numbers(item(groups, 'x00209116'), 'x00200037');
  const spacing = numbers(measures, 'x00280030');
  return {
    position: pos && pos.length === 3 ? [pos[0]!, pos[1]!, pos[2]!] : null,
    orientation: orient && orient.length === 6 ? orient : null,
    pixelSpacing: spacing && spacing.length >= 2 && spacing[0]! > 0 && spacing[1]! > 0 ? [spacing[0]!, spacing[1]!] : null,
    sliceThickness: numbers(measures, 'x00180050')?.[0] ?? null,
    spacingBetweenSlices: numbers(measures, 'x00180088')?.[0] ?? null,
  };
}

/** Per frame: the per-frame functional group, then the shared one, then the top-level attributes. */
export function imageGeometry(ds: DataSet, frames: number): ImageGeometry {
  const top = fromGroups(undefined);
  const pos = numbers(ds, 'x00200032');
  const orient = numbers(ds, 'x00200037');
  const spacing = numbers(ds, 'x00280030');
  top.position = pos && pos.length === 3 ? [pos[0]!, pos[1]!, pos[2]!] : null;
  top.orientation = orient && orient.length === 6 ? orient : null;
  top.pixelSpacing = spacing && spacing.length >= 2 && spacing[0]! > 0 && spacing[1]! > 0 ? [spacing[0]!, spacing[1]!] : null;
  top.sliceThickness = numbers(ds, 'x00180050')?.[0] ?? null;
  top.spacingBetweenSlices = numbers(ds, 'x00180088')?.[0] ?? null;
  const shared = fromGroups(item(ds, 'x52009229'));
  const out: FrameGeometry[] = [];
  for (let f = 0; f < frames; f++) {
    const own = fromGroups(item(ds, 'x52009230', f));
    out.push({
      // A multi-frame image's top-level position (if any) is frame 1's at best: not used for other frames.
      position: own.position ?? shared.position ?? (frames === 1 ? top.position : null),
      orientation: own.orientation ?? shared.orientation ?? top.orientation,
      pixelSpacing: own.pixelSpacing ?? shared.pixelSpacing ?? top.pixelSpacing,
      sliceThickness: own.sliceThickness ?? shared.sliceThickness ?? top.sliceThickness,
      spacingBetweenSlices: own.spacingBetweenSlices ?? shared.spacingBetweenSlices ?? top.spacingBetweenSlices,
    });
  }
  return { frameOfReferenceUid: text(ds, 'x00200052'), positionReferenceIndicator: text(ds, 'x00201040'), frames: out };
}
