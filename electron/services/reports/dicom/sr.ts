// The report's Comprehensive SR (TID 1500 Imaging Measurement Report): the AI finding, its area
// and volume, the model as the observer device, and the verification state of the report:
// UNVERIFIED until a radiologist signs, VERIFIED with the verifying observer after.
import { AI_NOTICE, type ReportAiFinding } from '../../../contract';
import { dicomDateTime, writePart10, type Dataset } from '../../dicom-objects';
import { patientStudyModules, type DicomStudyInfo, type EvidenceImage } from './study-info';

export const COMPREHENSIVE_SR_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.88.33';

export interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}
export const code = (value: string, scheme: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });

/** The codes the SR uses, in one place (tests read them back). */
export const CODES = {
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  english: code('en-US', 'RFC5646', 'English (United States)'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  mriBrain: code('816077007', 'SCT', 'Magnetic resonance imaging of brain'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  findingSite: code('363698007', 'SCT', 'Finding Site'),
  brain: code('12738006', 'SCT', 'Brain'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  area: code('42798000', 'SCT', 'Area'),
  volume: code('118565006', 'SCT', 'Volume'),
  mm2: code('mm2', 'UCUM', 'square millimeter'),
  mm3: code('mm3', 'UCUM', 'cubic millimeter'),
  qualitativeEvaluations: code('C0034375', 'UMLS', 'Qualitative Evaluations'),
  impression: code('121073', 'DCM', 'Impression'),
  // No verified SNOMED CT code is used for the model's classes: a private scheme (99 prefix, as
  // PS3.16 allows) names them, with the probability alongside.
  probability: code('AIPROB', '99TPW', 'Calibrated probability of finding'),
  ratio: code('1', 'UCUM', 'no units'),
} as const;

export const FINDING_CODES: Record<string, Code> = {
  glioma: code('GLIOMA', '99TPW', 'Glioma'),
  meningioma: code('MENINGIOMA', '99TPW', 'Meningioma'),
  pituitary: code('PITUITARY', '99TPW', 'Pituitary tumor'),
  notumor: code('NOTUMOR', '99TPW', 'No tumor'),
};
const findingCode = (label: string): Code => FINDING_CODES[label] ?? code('NOTRECOGNISED', '99TPW', 'Not recognised');

export interface SrInput {
  study: DicomStudyInfo;
  finding: ReportAiFinding | null;
  /** The key image (evidence) the finding was measured on, when known. */
  keyImage: EvidenceImage | null;
  impression: string;
  /** Present once the report is signed: the SR is then VERIFIED. */
  verifiedBy: { name: string; at: string; organization: string } | null;
  /** The moment the content was made (the signature time for a signed report). */
  contentAt: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** A stable UID for the device (the model), so all its reports name the same observer. */
  deviceUid: string;
}

const item = (rel: string, valueType: string, concept: Code, value: Record<string, unknown>): Record<string, unknown> => ({
  RelationshipType: rel,
  ValueType: valueType,
  ConceptNameCodeSequence: [concept],
  ...value,
});
const text = (rel: string, concept: Code, t: string) => item(rel, 'TEXT', concept, { TextValue: t.slice(0, 10_000) });
const codeItem = (rel: string, concept: Code, value: Code) => item(rel, 'CODE', concept, { ConceptCodeSequence: [value] });
const num = (concept: Code, value: number, unit: Code) =>
  item('CONTAINS', 'NUM', concept, { MeasuredValueSequence: [{ NumericValue: Number(value.toPrecision(8)), MeasurementUnitsCodeSequence: [unit] }] });

export function buildReportSr(input: SrInput): Buffer {
  const { date, time } = dicomDateTime(input.contentAt);
  const f = input.finding;
  const observer = f
    ? [
        codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
        item('HAS OBS CONTEXT', 'UIDREF', CODES.deviceObserverUid, { UID: input.deviceUid }),
        text('HAS OBS CONTEXT', CODES.deviceObserverName, f.modelId),
        text('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, 'TumorPredict Workstation'),
        text('HAS OBS CONTEXT', CODES.deviceObserverModelName, `${f.modelId} ${f.modelVersion}`),
      ]
    : [];
  // A multi-frame key image is cited with its frame, so a reader opens the key slice, not frame 1.
  const keyRef = input.keyImage
    ? {
        ReferencedSOPClassUID: input.keyImage.sopClassUid,
        ReferencedSOPInstanceUID: input.keyImage.sopInstanceUid,
        ...(input.keyImage.referencedFrameNumber ? { ReferencedFrameNumber: input.keyImage.referencedFrameNumber } : {}),
      }
    : null;
  const imageRef = keyRef ? item('CONTAINS', 'IMAGE', CODES.imageLibraryGroup, { ReferencedSOPSequence: [keyRef] }) : null;
  const measurements: Record<string, unknown>[] = [];
  if (f) {
    measurements.push(
      text('HAS OBS CONTEXT', CODES.trackingIdentifier, 'Tumor (AI finding)'),
      // The SR's own UID plus a component: unique, and at most 46 characters for 2.25 UIDs.
      item('HAS OBS CONTEXT', 'UIDREF', CODES.trackingUid, { UID: `${input.sopInstanceUid}.1` }),
      codeItem('CONTAINS', CODES.finding, findingCode(f.label)),
      codeItem('HAS CONCEPT MOD', CODES.findingSite, CODES.brain),
      num(CODES.probability, f.probability, CODES.ratio),
    );
    const algo = [text('HAS CONCEPT MOD', CODES.algorithmName, f.modelId), text('HAS CONCEPT MOD', CODES.algorithmVersion, f.modelVersion)];
    if (f.areaMm2 !== null) measurements.push({ ...num(CODES.area, f.areaMm2, CODES.mm2), ContentSequence: algo });
    if (f.volumeMm3 !== null) measurements.push({ ...num(CODES.volume, f.volumeMm3, CODES.mm3), ContentSequence: algo });
  }
  const content: Record<string, unknown>[] = [
    codeItem('HAS CONCEPT MOD', CODES.language, CODES.english),
    ...observer,
    codeItem('HAS CONCEPT MOD', CODES.procedureReported, CODES.mriBrain),
    item('CONTAINS', 'CONTAINER', CODES.imageLibrary, {
      ContinuityOfContent: 'SEPARATE',
      ContentSequence: [item('CONTAINS', 'CONTAINER', CODES.imageLibraryGroup, { ContinuityOfContent: 'SEPARATE', ...(imageRef ? { ContentSequence: [imageRef] } : {}) })],
    }),
    item('CONTAINS', 'CONTAINER', CODES.imagingMeasurements, {
      ContinuityOfContent: 'SEPARATE',
      ...(f ? { ContentSequence: [item('CONTAINS', 'CONTAINER', CODES.measurementGroup, { ContinuityOfContent: 'SEPARATE', ContentSequence: measurements })] } : {}),
    }),
    item('CONTAINS', 'CONTAINER', CODES.qualitativeEvaluations, {
      ContinuityOfContent: 'SEPARATE',
      ContentSequence: [text('CONTAINS', CODES.impression, input.impression || '(no impression)'), text('CONTAINS', code('121106', 'DCM', 'Comment'), AI_NOTICE)],
    }),
  ];

  const evidence = input.keyImage
    ? [
        {
          StudyInstanceUID: input.study.studyInstanceUid,
          ReferencedSeriesSequence: [{ SeriesInstanceUID: input.keyImage.seriesInstanceUid, ReferencedSOPSequence: [{ ReferencedSOPClassUID: input.keyImage.sopClassUid, ReferencedSOPInstanceUID: input.keyImage.sopInstanceUid }] }],
        },
      ]
    : [];
  const v = input.verifiedBy;
  const ds: Dataset = {
    ...patientStudyModules(input.study),
    SOPClassUID: COMPREHENSIVE_SR_SOP_CLASS_UID,
    SOPInstanceUID: input.sopInstanceUid,
    SeriesInstanceUID: input.seriesInstanceUid,
    Modality: 'SR',
    SeriesNumber: 9101,
    InstanceNumber: 1,
    Manufacturer: 'TumorPredict Workstation',
    ReferencedPerformedProcedureStepSequence: [],
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    ContentDate: date,
    ContentTime: time,
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [CODES.imagingMeasurementReport],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    CompletionFlag: 'COMPLETE',
    VerificationFlag: v ? 'VERIFIED' : 'UNVERIFIED',
    ...(v
      ? { VerifyingObserverSequence: [{ VerifyingObserverName: v.name, VerifyingObserverIdentificationCodeSequence: [], VerifyingOrganization: v.organization, VerificationDateTime: dicomDateTime(v.at).dateTime }] }
      : {}),
    PerformedProcedureCodeSequence: [CODES.mriBrain],
    CurrentRequestedProcedureEvidenceSequence: evidence,
    ContentSequence: content,
    _vrMap: {},
  };
  return writePart10(ds);
}
