// Builds a DICOM Segmentation (binary SEG) from the model's tumor mask, one frame per source
// image, each frame referencing its source SOP instance, in the source study.
import { WorkstationError } from '../../contract';
import { dicomDateTime, newUid, writePart10, type NaturalDataset } from '../dicom-objects';

export const SEG_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';

/** What the SEG needs to know about each source image (from the instance index or its header). */
export interface SegSourceImage {
  sopClassUid: string;
  sopInstanceUid: string;
  rows: number;
  columns: number;
  imagePositionPatient?: number[] | null;
  imageOrientationPatient?: number[] | null;
  pixelSpacing?: number[] | null;
  sliceThickness?: number | null;
  spacingBetweenSlices?: number | null;
  /** 1-based frame of a multi-frame source image (ReferencedFrameNumber); absent for single-frame sources. */
  referencedFrameNumber?: number;
}

export interface SegSourceStudy {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string | null;
  /** The source's Position Reference Indicator (Frame of Reference module, Type 2). */
  positionReferenceIndicator?: string | null;
  patientName?: string | null;
  patientId?: string | null;
  patientBirthDate?: string | null;
  patientSex?: string | null;
  studyDate?: string | null;
  studyTime?: string | null;
  studyId?: string | null;
  accessionNumber?: string | null;
  referringPhysicianName?: string | null;
}

export interface SegInput {
  study: SegSourceStudy;
  /** Source images in frame order; masks[i] belongs to images[i]. */
  images: SegSourceImage[];
  /** One mask per image, rows*columns bytes, non-zero = tumor. */
  masks: Uint8Array[];
  model: { id: string; version: string };
  segmentLabel?: string;
  seriesNumber?: number;
  /** Enhanced General Equipment: the device's serial number (Type 1). */
  deviceSerialNumber?: string;
  institutionName?: string;
  /** Fixed UIDs (tests); new ones otherwise. */
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
}

/** Packs frames of 0/1 pixels into bits, first pixel in the lowest bit, frames back to back (PS3.5 8.1.1). */
export function packBits(masks: Uint8Array[]): Uint8Array {
  const total = masks.reduce((n, m) => n + m.length, 0);
  const out = new Uint8Array(Math.ceil(total / 8) + (Math.ceil(total / 8) % 2));
  let bit = 0;
  for (const m of masks) {
    for (let i = 0; i < m.length; i++, bit++) if (m[i]) out[bit >> 3]! |= 1 << (bit & 7);
  }
  return out;
}

export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3]! >> (i & 7)) & 1;
  return out;
}

/** The Patient and General Study module attributes of a derived object, copied from its source study. */
export function patientStudyModules(study: SegSourceStudy): NaturalDataset {
  return {
    StudyInstanceUID: study.studyInstanceUid,
    PatientName: study.patientName ?? '',
    PatientID: study.patientId ?? '',
    PatientBirthDate: study.patientBirthDate ?? '',
    PatientSex: study.patientSex ?? '',
    StudyDate: study.studyDate ?? '',
    StudyTime: study.studyTime ?? '',
    StudyID: study.studyId ?? '',
    AccessionNumber: study.accessionNumber ?? '',
    ReferringPhysicianName: study.referringPhysicianName ?? '',
  };
}

const code = (value: string, scheme: string, meaning: string) => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });

/** The slice normal of an orientation (row x column direction cosines). */
function normalOf(o: number[]): [number, number, number] {
  const [a, b, c, d, e, f] = o as [number, number, number, number, number, number];
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

const sameVector = (a: readonly number[] | null | undefined, b: readonly number[] | null | undefined): boolean =>
  !!a && !!b && a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) < 1e-4);

/**
 * A binary SEG (PS3.3 A.51) from one mask per source frame. With a complete source geometry
 * (Frame of Reference, and pixel spacing, orientation and position for every frame) the SEG
 * carries the same Frame of Reference, Pixel Measures and Plane Orientation (shared when all
 * frames agree) and a Plane Position per frame, and is indexed on Referenced Segment Number and
 * Image Position (Patient). Without it (a source that does not say where its pixels are) the SEG
 * has no Frame of Reference and no plane functional groups, and is indexed on Referenced Segment
 * Number and In-Stack Position: it then claims no geometry the source lacks.
 */
export function buildSegmentation(input: SegInput): { bytes: Buffer; sopInstanceUid: string; seriesInstanceUid: string } {
  const { study, images, masks } = input;
  if (!images.length || images.length !== masks.length) {
    throw new WorkstationError('INVALID_INPUT', 'A segmentation needs one mask per source image.');
  }
  const rows = images[0]!.rows;
  const columns = images[0]!.columns;
  images.forEach((img, i) => {
    if (img.rows !== rows || img.columns !== columns) throw new WorkstationError('INVALID_INPUT', 'All source images of a segmentation must have the same size.');
    if (masks[i]!.length !== rows * columns) throw new WorkstationError('INVALID_INPUT', `Mask ${i + 1} has ${masks[i]!.length} pixels; its image has ${rows * columns}.`);
  });
  const sopInstanceUid = input.sopInstanceUid ?? newUid();
  const seriesInstanceUid = input.seriesInstanceUid ?? newUid();
  const dimensionOrganizationUid = input.sopInstanceUid ? `${input.sopInstanceUid}.1` : newUid();
  const { date, time } = dicomDateTime();
  const first = images[0]!;

  const geometry =
    !!study.frameOfReferenceUid &&
    images.every((img) => img.pixelSpacing && img.pixelSpacing.length >= 2 && img.imageOrientationPatient?.length === 6 && img.imagePositionPatient?.length === 3);
  const sameOrientation = geometry && images.every((img) => sameVector(img.imageOrientationPatient, first.imageOrientationPatient));
  const sameSpacing = geometry && images.every((img) => sameVector(img.pixelSpacing, first.pixelSpacing) && (img.sliceThickness ?? null) === (first.sliceThickness ?? null));
  const pixelMeasures = (img: SegSourceImage): Record<string, unknown> => ({
    PixelSpacing: img.pixelSpacing!.slice(0, 2),
    // Type 1C with the spacing; the source's own value, else its slice spacing, else 1 mm.
    SliceThickness: img.sliceThickness ?? img.spacingBetweenSlices ?? 1,
    ...(img.spacingBetweenSlices ? { SpacingBetweenSlices: img.spacingBetweenSlices } : {}),
  });

  // The second dimension: the frame's place along the slice normal (1 = first plane), so frames
  // of one segment at one position share an index and a reader can sort them without geometry.
  const planeIndex: number[] = images.map((_, i) => i + 1);
  if (geometry) {
    const n = normalOf(first.imageOrientationPatient!);
    const along = images.map((img) => Number((img.imagePositionPatient![0]! * n[0] + img.imagePositionPatient![1]! * n[1] + img.imagePositionPatient![2]! * n[2]).toFixed(3)));
    const rank = new Map([...new Set(along)].sort((a, b) => a - b).map((v, i) => [v, i + 1]));
    along.forEach((v, i) => (planeIndex[i] = rank.get(v)!));
  }
  const dimensionIndex = [
    { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'Segment Number' },
    geometry
      ? { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'Image Position (Patient)' }
      : { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00209057, FunctionalGroupPointer: 0x00209111, DimensionDescriptionLabel: 'In-Stack Position Number' },
  ];

  const shared: Record<string, unknown> = {};
  if (geometry && sameSpacing) shared.PixelMeasuresSequence = [pixelMeasures(first)];
  if (geometry && sameOrientation) shared.PlaneOrientationSequence = [{ ImageOrientationPatient: first.imageOrientationPatient }];

  const ds: NaturalDataset = {
    // UTF-8 (ISO_IR 192): names and report text are not limited to ASCII ("mm²", accents).
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SEG_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    ...patientStudyModules(study),
    // General Series + Segmentation Series.
    SeriesInstanceUID: seriesInstanceUid,
    Modality: 'SEG',
    SeriesNumber: input.seriesNumber ?? 9001,
    SeriesDescription: 'AI tumor segmentation (not for diagnostic use)',
    ...(geometry ? { FrameOfReferenceUID: study.frameOfReferenceUid, PositionReferenceIndicator: study.positionReferenceIndicator ?? '' } : {}),
    // General Equipment + Enhanced General Equipment (all Type 1 in the latter).
    Manufacturer: 'TumorPredict Workstation',
    ...(input.institutionName ? { InstitutionName: input.institutionName } : {}),
    ManufacturerModelName: input.model.id,
    DeviceSerialNumber: input.deviceSerialNumber ?? `TPW-${input.model.id}`.slice(0, 64),
    SoftwareVersions: input.model.version,
    // General Image + Segmentation Image. Patient Orientation (Type 2C) is due when the frames
    // have no plane orientation; empty, as nothing else is known.
    InstanceNumber: 1,
    ...(geometry ? {} : { PatientOrientation: '' }),
    ContentDate: date,
    ContentTime: time,
    ContentLabel: 'TUMOR',
    ContentDescription: 'Tumor region from the AI model; not a medical device',
    ContentCreatorName: 'TumorPredict^AI',
    ImageType: ['DERIVED', 'PRIMARY'],
    SegmentationType: 'BINARY',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: rows,
    Columns: columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    BurnedInAnnotation: 'NO',
    // Multi-frame Functional Groups + Multi-frame Dimension.
    NumberOfFrames: images.length,
    ContentQualification: 'RESEARCH',
    DimensionOrganizationType: '3D',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: dimensionIndex,
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: input.segmentLabel ?? 'Tumor',
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: `${input.model.id} ${input.model.version}`,
        // CID 7150 Morphologically Abnormal Structure and CID 7151/7159 Neoplasm (DICOM PS3.16).
        SegmentedPropertyCategoryCodeSequence: [code('49755003', 'SCT', 'Morphologically Abnormal Structure')],
        SegmentedPropertyTypeCodeSequence: [code('108369006', 'SCT', 'Neoplasm')],
        RecommendedDisplayCIELabValue: [45000, 52000, 42000],
      },
    ],
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: images.map((img, i) => ({
      DerivationImageSequence: [
        {
          SourceImageSequence: [
            {
              ReferencedSOPClassUID: img.sopClassUid,
              ReferencedSOPInstanceUID: img.sopInstanceUid,
              ...(img.referencedFrameNumber ? { ReferencedFrameNumber: img.referencedFrameNumber } : {}),
              PurposeOfReferenceCodeSequence: [code('121322', 'DCM', 'Source image for image processing operation')],
            },
          ],
          DerivationCodeSequence: [code('113076', 'DCM', 'Segmentation')],
        },
      ],
      FrameContentSequence: [geometry ? { DimensionIndexValues: [1, planeIndex[i]!] } : { DimensionIndexValues: [1, i + 1], StackID: '1', InStackPositionNumber: i + 1 }],
      ...(geometry ? { PlanePositionSequence: [{ ImagePositionPatient: img.imagePositionPatient }] } : {}),
      ...(geometry && !sameOrientation ? { PlaneOrientationSequence: [{ ImageOrientationPatient: img.imageOrientationPatient }] } : {}),
      ...(geometry && !sameSpacing ? { PixelMeasuresSequence: [pixelMeasures(img)] } : {}),
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }],
    })),
    // Common Instance Reference: the source series and instances.
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: study.seriesInstanceUid,
        // Once per source instance: the frames of a multi-frame source share one.
        ReferencedInstanceSequence: [...new Map(images.map((img) => [img.sopInstanceUid, { ReferencedSOPClassUID: img.sopClassUid, ReferencedSOPInstanceUID: img.sopInstanceUid }])).values()],
      },
    ],
    PixelData: [packBits(masks).buffer],
    _vrMap: { PixelData: 'OB' },
  };
  return { bytes: writePart10(ds), sopInstanceUid, seriesInstanceUid };
}
