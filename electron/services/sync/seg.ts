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
  /** 1-based frame of a multi-frame source image (ReferencedFrameNumber); absent for single-frame sources. */
  referencedFrameNumber?: number;
}

export interface SegSourceStudy {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string | null;
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
  const { date, time } = dicomDateTime();
  const first = images[0]!;
  const shared: Record<string, unknown> = {};
  if (first.pixelSpacing) shared.PixelMeasuresSequence = [{ PixelSpacing: first.pixelSpacing, SliceThickness: first.sliceThickness ?? 1 }];
  if (first.imageOrientationPatient) shared.PlaneOrientationSequence = [{ ImageOrientationPatient: first.imageOrientationPatient }];

  const ds: NaturalDataset = {
    SOPClassUID: SEG_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    ...patientStudyModules(study),
    SeriesInstanceUID: seriesInstanceUid,
    FrameOfReferenceUID: study.frameOfReferenceUid ?? newUid(),
    Modality: 'SEG',
    SeriesNumber: input.seriesNumber ?? 9001,
    SeriesDescription: 'AI tumor segmentation (not for diagnostic use)',
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    Manufacturer: 'TumorPredict Workstation',
    ManufacturerModelName: `${input.model.id}`,
    SoftwareVersions: input.model.version,
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
    NumberOfFrames: images.length,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: newUid() }],
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: input.segmentLabel ?? 'Tumor',
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: `${input.model.id} ${input.model.version}`,
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
      FrameContentSequence: [{ DimensionIndexValues: [1, i + 1] }],
      ...(img.imagePositionPatient ? { PlanePositionSequence: [{ ImagePositionPatient: img.imagePositionPatient }] } : {}),
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }],
    })),
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
