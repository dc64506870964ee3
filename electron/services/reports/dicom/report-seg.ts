// The signed report's DICOM SEG: the model's stored tumor masks of the finding's series, one frame
// per image with tumor, each referencing its source instance from the DICOM index (and, for a
// multi-frame source, the source frame).
import { WorkstationError, decodeMaskRuns, type ReportAiFinding, type StudyDetail } from '../../../contract';
import { buildSegmentation, type SegSourceImage } from '../../sync';
import { isTumorLabel, type AiSource } from '../ai-finding';
import { patientStudyModules, type DicomStudyInfo } from './study-info';

/** The geometry of a stored image's frames, read from its file (see services/dicom/geometry.ts). */
export interface SourceImageGeometry {
  frameOfReferenceUid: string | null;
  positionReferenceIndicator: string | null;
  frames: { position: [number, number, number] | null; orientation: number[] | null; pixelSpacing: [number, number] | null; sliceThickness: number | null; spacingBetweenSlices: number | null }[];
}

/** What the SEG needs from the DICOM side: the study's series and instances (the DICOM index). */
export interface StudyImages {
  study(studyId: string): StudyDetail;
  /** Each frame's geometry from the file (absent: the index's one position per instance is used). */
  geometry?(instanceId: string): SourceImageGeometry;
}

export interface ReportSegInput {
  ai: AiSource;
  images: StudyImages;
  studyId: string;
  /** The finding the report was made from (the report row's ai_finding). */
  finding: ReportAiFinding;
  study: DicomStudyInfo;
  seriesInstanceUid: string;
  sopInstanceUid?: string;
  institutionName?: string;
}

const refuse = (reason: string, cause?: unknown): WorkstationError =>
  new WorkstationError('CONFLICT', `The AI tumor segmentation (DICOM SEG) for the hospital server could not be made: ${reason} The report was not signed. Run the AI on the study again, or reject the AI finding to sign without it.`, { cause });

/**
 * The SEG of the report's finding, or null when there is nothing to send (not a tumor class, or
 * no image of the finding's series has a non-empty mask). Throws a WorkstationError when a SEG is
 * due but cannot be made faithfully: the caller then refuses the signature.
 */
export function buildReportSeg(input: ReportSegInput): { bytes: Buffer; sopInstanceUid: string; sourceSeriesInstanceUid: string } | null {
  const { ai, images, finding } = input;
  if (!isTumorLabel(finding.label)) return null;
  const result = ai.studyResult(input.studyId);
  // The masks sent must be those of the result the report describes, not of a later run.
  if (result.status !== 'done' || !result.model || result.model.id !== finding.modelId || result.model.version !== finding.modelVersion) {
    throw refuse(
      result.status === 'done'
        ? `the stored AI result comes from another model (${result.model?.id ?? 'none'} ${result.model?.version ?? ''}) than the one this report was made from (${finding.modelId} ${finding.modelVersion}).`
        : `the AI result of the study is not available (its run is ${result.status}).`,
    );
  }
  const withTumor = result.instances.filter((i) => i.seriesId === finding.seriesId && i.hasMask && i.areaPx > 0);
  if (!withTumor.length) return null;

  const detail = images.study(input.studyId);
  const geometryCache = new Map<string, SourceImageGeometry | null>();
  const geometryOf = (instanceId: string): SourceImageGeometry | null => {
    if (!images.geometry) return null;
    if (!geometryCache.has(instanceId)) geometryCache.set(instanceId, images.geometry(instanceId));
    return geometryCache.get(instanceId)!;
  };
  const series = detail.series.find((s) => s.seriesId === finding.seriesId);
  const byId = new Map((series?.instances ?? []).map((i) => [i.instanceId, i]));
  const frames = withTumor.map((r) => {
    const src = byId.get(r.instanceId);
    if (!series || !src) throw refuse('a source image of the tumor mask is no longer in the workstation.', new Error(`instance ${r.instanceId} not in series ${finding.seriesId}`));
    if (!src.sopClassUid) throw refuse('a source image has no SOP Class UID, so the segmentation cannot reference it.', new Error(`instance ${r.instanceId}`));
    let mask;
    try {
      mask = ai.mask(r.instanceId, r.frame);
    } catch (err) {
      throw refuse(err instanceof WorkstationError ? err.message : 'a stored tumor mask cannot be read.', err);
    }
    if (mask.width !== src.columns || mask.height !== src.rows) {
      throw refuse(`a stored tumor mask is ${mask.width} x ${mask.height} pixels but its image is ${src.columns} x ${src.rows}.`, new Error(`instance ${r.instanceId}`));
    }
    const multiFrame = src.frames > 1;
    // The file's own per-frame geometry (enhanced images keep it in functional groups); without
    // it the index holds one position per instance, frame 1's at best, so a multi-frame source's
    // frames then go without one rather than all claiming the same plane.
    const g = geometryOf(src.instanceId)?.frames[r.frame] ?? null;
    const image: SegSourceImage = {
      sopClassUid: src.sopClassUid,
      sopInstanceUid: src.sopInstanceUid,
      rows: src.rows,
      columns: src.columns,
      imagePositionPatient: g ? g.position : multiFrame ? null : src.imagePosition,
      imageOrientationPatient: g ? g.orientation : src.imageOrientation,
      pixelSpacing: g ? g.pixelSpacing : src.pixelSpacing,
      sliceThickness: g ? g.sliceThickness : src.sliceThickness,
      spacingBetweenSlices: g?.spacingBetweenSlices ?? null,
      ...(multiFrame ? { referencedFrameNumber: r.frame + 1 } : {}),
    };
    return { src, frame: r.frame, image, mask: decodeMaskRuns(mask.runs, mask.width, mask.height) };
  });
  // The Frame of Reference the geometry belongs to: the file's, else the series' in the index.
  const sourceGeometry = frames.length ? geometryOf(frames[0]!.src.instanceId) : null;
  // Frames in slice order: instance number, then frame, then position along the slice normal.
  frames.sort((a, b) => (a.src.instanceNumber ?? 0) - (b.src.instanceNumber ?? 0) || a.frame - b.frame || (a.src.imagePosition?.[2] ?? 0) - (b.src.imagePosition?.[2] ?? 0));

  const m = patientStudyModules(input.study);
  try {
    const seg = buildSegmentation({
      study: {
        studyInstanceUid: input.study.studyInstanceUid,
        seriesInstanceUid: series!.seriesInstanceUid,
        patientName: String(m.PatientName),
        patientId: String(m.PatientID),
        patientBirthDate: String(m.PatientBirthDate),
        patientSex: String(m.PatientSex),
        studyDate: String(m.StudyDate),
        studyTime: String(m.StudyTime),
        accessionNumber: String(m.AccessionNumber),
        referringPhysicianName: String(m.ReferringPhysicianName),
        // The source series' Frame of Reference, so the mask registers on the images in a PACS.
        frameOfReferenceUid: sourceGeometry?.frameOfReferenceUid ?? series!.frameOfReferenceUid,
        positionReferenceIndicator: sourceGeometry?.positionReferenceIndicator ?? null,
      },
      images: frames.map((f) => f.image),
      masks: frames.map((f) => f.mask),
      model: { id: result.model.id, version: result.model.version },
      segmentLabel: finding.labelText,
      seriesInstanceUid: input.seriesInstanceUid,
      ...(input.institutionName ? { institutionName: input.institutionName } : {}),
      ...(input.sopInstanceUid ? { sopInstanceUid: input.sopInstanceUid } : {}),
    });
    return { bytes: seg.bytes, sopInstanceUid: seg.sopInstanceUid, sourceSeriesInstanceUid: series!.seriesInstanceUid };
  } catch (err) {
    throw refuse(err instanceof WorkstationError ? err.message : 'the DICOM writer failed.', err);
  }
}
