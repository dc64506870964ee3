// The report's Comprehensive SR (TID 1500 Imaging Measurement Report): the AI finding as a
// volumetric measurement group (TID 1411) referencing the SEG segment and its source series, the
// radiologist's measurements as planar groups (TID 1410/1501) with their image regions, the
// report's sections and addenda as text, the verifying observer with an identifier and the
// hospital, names in PN form, and a Predecessor Documents Sequence for each amended version.
import { AI_NOTICE, type ReportAiFinding } from '../../../contract';
import { dicomDateTime, writePart10, type Dataset } from '../../dicom-objects';
import { patientStudyModules, personName, type DicomStudyInfo, type EvidenceImage } from './study-info';

export const COMPREHENSIVE_SR_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.88.33';
export const SEG_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';

export interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}
export const code = (value: string, scheme: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });

/** The local scheme of the workstation's account names (the verifying observer's identifier). */
export const USER_SCHEME = '99TPWUSR';

/**
 * The codes the SR uses, in one place (tests read them back). DCM, LN, UCUM and UMLS codes and
 * the SCT codes marked "PS3.16" are as the DICOM standard's PS3.16 (Content Mapping Resource)
 * lists them in its context groups; they were looked up in pydicom 2.3's tables generated from
 * PS3.16 (/usr/lib/python3/dist-packages/pydicom/sr/_concepts_dict.py, and
 * github.com/pydicom/pydicom-data-sr sr/tables/_concepts_SCT.py).
 */
export const CODES = {
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  english: code('en-US', 'RFC5646', 'English (United States)'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  person: code('121006', 'DCM', 'Person'),
  device: code('121007', 'DCM', 'Device'),
  personObserverName: code('121008', 'DCM', 'Person Observer Name'),
  personObserverOrganization: code('121009', 'DCM', "Person Observer's Organization Name"),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  // CID 646 (PS3.16): LOINC's "Brain MRI".
  mriBrain: code('24590-2', 'LN', 'Brain MRI'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  findingSite: code('363698007', 'SCT', 'Finding Site'),
  brain: code('12738006', 'SCT', 'Brain'),
  referencedSegment: code('121191', 'DCM', 'Referenced Segment'),
  sourceSeriesForSegmentation: code('121232', 'DCM', 'Source series for segmentation'),
  sourceOfMeasurement: code('121112', 'DCM', 'Source of Measurement'),
  imageRegion: code('111030', 'DCM', 'Image Region'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  // CID 7469 / 12304 (PS3.16).
  area: code('42798000', 'SCT', 'Area'),
  volume: code('118565006', 'SCT', 'Volume'),
  length: code('410668003', 'SCT', 'Length'),
  angle: code('1483009', 'SCT', 'Angle'),
  mean: code('373098007', 'SCT', 'Mean'),
  standardDeviation: code('386136009', 'SCT', 'Standard Deviation'),
  minimum: code('255605001', 'SCT', 'Minimum'),
  maximum: code('56851009', 'SCT', 'Maximum'),
  mrSignalIntensity: code('110852', 'DCM', 'MR signal intensity'),
  probability: code('122157', 'DCM', 'Probability'),
  mm: code('mm', 'UCUM', 'millimeter'),
  mm2: code('mm2', 'UCUM', 'square millimeter'),
  mm3: code('mm3', 'UCUM', 'cubic millimeter'),
  degree: code('deg', 'UCUM', 'Degree'),
  ratio: code('{ratio}', 'UCUM', 'ratio'),
  noUnits: code('1', 'UCUM', 'no units'),
  pixels: code('{pixels}', 'UCUM', 'pixels'),
  squarePixels: code('{square pixels}', 'UCUM', 'square pixels'),
  qualitativeEvaluations: code('C0034375', 'UMLS', 'Qualitative Evaluations'),
  // CID 7001 Diagnostic Imaging Report Headings (PS3.16) for the report's sections.
  clinicalInformation: code('55752-0', 'LN', 'Clinical Information'),
  procedureDescription: code('55111-9', 'LN', 'Current Procedure Descriptions'),
  findings: code('121070', 'DCM', 'Findings'),
  impressions: code('121072', 'DCM', 'Impressions'),
  recommendations: code('121074', 'DCM', 'Recommendations'),
  addendum: code('55107-7', 'LN', 'Addendum'),
  comment: code('121106', 'DCM', 'Comment'),
} as const;

/**
 * The model's classes as SNOMED CT findings. Not in PS3.16's context groups, so looked up:
 * - 393564001 Glioma: SNOMED CT as listed by the MR-RATE disease ontology mapping ("SNOMED CT:
 *   393564001 (Glioma)") and neoplasm code lists; the meningioma concept below is its sibling
 *   of the same 2003 batch.
 * - 393566004 Meningioma (disorder): SNOMED CT October 2025 International Edition release notes
 *   (SNOMED International), "The disorder concept 393566004 |Meningioma (disorder)| has been
 *   reactivated".
 * - 254956000 Pituitary adenoma (disorder): the Human Phenotype Ontology's HP:0002893 "Pituitary
 *   adenoma" cross-reference SNOMEDCT_US:254956000 (rgd.mcw.edu term browser).
 * - 17621005 Normal: PS3.16 (CID 222, 7159), for the "no tumor" class.
 * "Not recognised" has no code: the finding is then said in text only.
 */
export const FINDING_CODES: Record<string, Code> = {
  glioma: code('393564001', 'SCT', 'Glioma'),
  meningioma: code('393566004', 'SCT', 'Meningioma'),
  pituitary: code('254956000', 'SCT', 'Pituitary adenoma'),
  notumor: code('17621005', 'SCT', 'Normal'),
};

export interface SrImageRef {
  seriesInstanceUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based, for a multi-frame source. */
  referencedFrameNumber?: number;
}

/** One radiologist measurement as the SR writes it (resolved from a ReportMeasurement). */
export interface SrMeasurement {
  trackingUid: string;
  label: string;
  kind: 'length' | 'ellipse' | 'freehand' | 'angle' | 'probe';
  points: readonly (readonly [number, number])[];
  value: number;
  unit: 'mm' | 'px' | 'mm²' | 'px²' | '°' | '';
  stats: { mean: number; sd: number; min: number; max: number; pixels: number } | null;
  image: SrImageRef;
}

export interface SrSegmentRef {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  segmentNumber: number;
  /** The series the segmentation was made from. */
  sourceSeriesInstanceUid: string;
}

export interface SrInput {
  study: DicomStudyInfo;
  /** The AI finding (null when there is none or the radiologist rejected it). */
  finding: ReportAiFinding | null;
  /** The key image (evidence) the finding was measured on, when known. */
  keyImage: EvidenceImage | null;
  /** The SEG of the finding's mask, when one is sent with the report. */
  segment?: SrSegmentRef | null;
  /** The report's sections as written (empty ones are left out). */
  sections: { clinicalInformation: string; technique: string; findings: string; impression: string; recommendation: string };
  addenda?: { seq: number; text: string; signedByName: string; signedAt: string }[];
  measurements?: SrMeasurement[];
  /** A sentence for the AI decision (rejected with its reason, accepted, none). */
  aiDecisionText?: string | null;
  /**
   * Who verified the content, in order (the signer, then each addendum's signer): empty for an
   * unsigned report, whose SR is then UNVERIFIED. `id` is the account name, `name` the display name.
   */
  verifiers: { name: string; id: string; at: string; organization: string }[];
  institutionName?: string | null;
  /** The moment the content was made (the signature time for a signed report). */
  contentAt: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  instanceNumber?: number;
  /** A stable UID for the device (the model), so all its reports name the same observer. */
  deviceUid: string;
  /** The SR version this one amends (Predecessor Documents Sequence). */
  predecessor?: { sopInstanceUid: string; seriesInstanceUid: string } | null;
}

type Item = Record<string, unknown>;
const item = (rel: string, valueType: string, concept: Code, value: Item): Item => ({ RelationshipType: rel, ValueType: valueType, ConceptNameCodeSequence: [concept], ...value });
// TEXT is UT: long section texts are kept whole (UT holds up to 2^32-2 bytes).
const text = (rel: string, concept: Code, t: string): Item => item(rel, 'TEXT', concept, { TextValue: t });
const codeItem = (rel: string, concept: Code, value: Code): Item => item(rel, 'CODE', concept, { ConceptCodeSequence: [value] });
const uidItem = (rel: string, concept: Code, uid: string): Item => item(rel, 'UIDREF', concept, { UID: uid });
const num = (rel: string, concept: Code, value: number, unit: Code, children?: Item[]): Item =>
  item(rel, 'NUM', concept, { MeasuredValueSequence: [{ NumericValue: Number(value.toPrecision(8)), MeasurementUnitsCodeSequence: [unit] }], ...(children?.length ? { ContentSequence: children } : {}) });
const sopRef = (r: SrImageRef): Item => ({ ReferencedSOPClassUID: r.sopClassUid, ReferencedSOPInstanceUID: r.sopInstanceUid, ...(r.referencedFrameNumber ? { ReferencedFrameNumber: r.referencedFrameNumber } : {}) });
const image = (rel: string, concept: Code, r: SrImageRef): Item => item(rel, 'IMAGE', concept, { ReferencedSOPSequence: [sopRef(r)] });
const container = (rel: string, concept: Code, children: Item[]): Item => item(rel, 'CONTAINER', concept, { ContinuityOfContent: 'SEPARATE', ...(children.length ? { ContentSequence: children } : {}) });

const UNITS: Record<SrMeasurement['unit'], Code> = { mm: CODES.mm, px: CODES.pixels, 'mm²': CODES.mm2, 'px²': CODES.squarePixels, '°': CODES.degree, '': CODES.noUnits };
const CONCEPTS: Record<SrMeasurement['kind'], Code> = { length: CODES.length, ellipse: CODES.area, freehand: CODES.area, angle: CODES.angle, probe: CODES.mrSignalIntensity };
const KIND_TEXT: Record<SrMeasurement['kind'], string> = { length: 'Length', ellipse: 'Ellipse area', freehand: 'Freehand area', angle: 'Angle', probe: 'Probe' };

/** SCOORD graphic data (column, row pairs): an ellipse from its box's two corners as major then minor axis end points. */
function scoord(m: SrMeasurement): { GraphicType: string; GraphicData: number[] } {
  const flat = (pts: readonly (readonly [number, number])[]): number[] => pts.flatMap(([x, y]) => [Number(x.toFixed(3)), Number(y.toFixed(3))]);
  if (m.kind === 'ellipse') {
    const [[x1, y1], [x2, y2]] = m.points as [[number, number], [number, number]];
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    const rx = Math.abs(x2 - x1) / 2;
    const ry = Math.abs(y2 - y1) / 2;
    const axes: [number, number][] = rx >= ry ? [[cx - rx, cy], [cx + rx, cy], [cx, cy - ry], [cx, cy + ry]] : [[cx, cy - ry], [cx, cy + ry], [cx - rx, cy], [cx + rx, cy]];
    return { GraphicType: 'ELLIPSE', GraphicData: flat(axes) };
  }
  // SR SCOORD has no POLYGON: a closed POLYLINE (last point = first) is the outline (PS3.3 C.18.6.1.2).
  if (m.kind === 'freehand') return { GraphicType: 'POLYLINE', GraphicData: flat([...m.points, m.points[0]!]) };
  if (m.kind === 'probe') return { GraphicType: 'POINT', GraphicData: flat(m.points.slice(0, 1)) };
  return { GraphicType: 'POLYLINE', GraphicData: flat(m.points) };
}

function measurementGroup(m: SrMeasurement, n: number): Item {
  const region = (rel: string, concept: Code): Item => item(rel, 'SCOORD', concept, { ...scoord(m), ContentSequence: [image('SELECTED FROM', CODES.sourceOfMeasurement, m.image)] });
  const area = m.kind === 'ellipse' || m.kind === 'freehand';
  const children: Item[] = [
    text('HAS OBS CONTEXT', CODES.trackingIdentifier, m.label.trim() || `${KIND_TEXT[m.kind]} ${n}`),
    uidItem('HAS OBS CONTEXT', CODES.trackingUid, m.trackingUid),
  ];
  // TID 1410: the region is part of the group and the figures derive from it; TID 1501: a
  // length, angle or probe value is inferred from its own spatial coordinates.
  if (area) children.push(region('CONTAINS', CODES.imageRegion));
  children.push(num('CONTAINS', CONCEPTS[m.kind], m.value, UNITS[m.unit], area ? [] : [region('INFERRED FROM', CODES.imageRegion)]));
  if (m.stats && area) {
    children.push(
      num('CONTAINS', CODES.mean, m.stats.mean, CODES.noUnits),
      num('CONTAINS', CODES.standardDeviation, m.stats.sd, CODES.noUnits),
      num('CONTAINS', CODES.minimum, m.stats.min, CODES.noUnits),
      num('CONTAINS', CODES.maximum, m.stats.max, CODES.noUnits),
    );
  }
  return container('CONTAINS', CODES.measurementGroup, children);
}

export function buildReportSr(input: SrInput): Buffer {
  const { date, time } = dicomDateTime(input.contentAt);
  const f = input.finding;
  const v = input.verifiers.at(-1) ?? null;
  const organization = v?.organization ?? input.institutionName ?? null;
  // TID 1002 (person) when verified, TID 1004 (device) for the AI's measurements.
  const observer: Item[] = [];
  if (v) {
    observer.push(codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.person), item('HAS OBS CONTEXT', 'PNAME', CODES.personObserverName, { PersonName: personName(v.name) }));
    if (organization) observer.push(text('HAS OBS CONTEXT', CODES.personObserverOrganization, organization));
  }
  if (f) {
    observer.push(
      codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
      uidItem('HAS OBS CONTEXT', CODES.deviceObserverUid, input.deviceUid),
      text('HAS OBS CONTEXT', CODES.deviceObserverName, f.modelId),
      text('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, 'TumorPredict Workstation'),
      text('HAS OBS CONTEXT', CODES.deviceObserverModelName, `${f.modelId} ${f.modelVersion}`),
    );
  }

  const keyRef: SrImageRef | null = input.keyImage
    ? { seriesInstanceUid: input.keyImage.seriesInstanceUid, sopClassUid: input.keyImage.sopClassUid, sopInstanceUid: input.keyImage.sopInstanceUid, ...(input.keyImage.referencedFrameNumber ? { referencedFrameNumber: input.keyImage.referencedFrameNumber } : {}) }
    : null;
  const measurements = input.measurements ?? [];
  const groups: Item[] = [];
  if (f) {
    const algo = [text('HAS CONCEPT MOD', CODES.algorithmName, f.modelId), text('HAS CONCEPT MOD', CODES.algorithmVersion, f.modelVersion)];
    const onKey = keyRef ? [image('INFERRED FROM', CODES.sourceOfMeasurement, keyRef)] : [];
    const finding = FINDING_CODES[f.label];
    const ai: Item[] = [
      text('HAS OBS CONTEXT', CODES.trackingIdentifier, 'Tumor (AI finding)'),
      // The SR series' UID plus a component: the same tumor across the report's SR versions.
      uidItem('HAS OBS CONTEXT', CODES.trackingUid, `${input.seriesInstanceUid}.1`),
      ...(finding ? [codeItem('CONTAINS', CODES.finding, finding)] : []),
      codeItem('HAS CONCEPT MOD', CODES.findingSite, CODES.brain),
    ];
    // TID 1411: the segment the volume is measured on, and the series it was made from.
    if (input.segment) {
      ai.push(
        item('CONTAINS', 'IMAGE', CODES.referencedSegment, {
          ReferencedSOPSequence: [{ ReferencedSOPClassUID: SEG_SOP_CLASS_UID, ReferencedSOPInstanceUID: input.segment.sopInstanceUid, ReferencedSegmentNumber: input.segment.segmentNumber }],
        }),
        uidItem('CONTAINS', CODES.sourceSeriesForSegmentation, input.segment.sourceSeriesInstanceUid),
      );
    }
    if (f.areaMm2 !== null) ai.push(num('CONTAINS', CODES.area, f.areaMm2, CODES.mm2, [...algo, ...onKey]));
    else if (f.areaPx > 0) ai.push(num('CONTAINS', CODES.area, f.areaPx, CODES.squarePixels, [...algo, ...onKey]));
    if (f.volumeMm3 !== null) ai.push(num('CONTAINS', CODES.volume, f.volumeMm3, CODES.mm3, algo));
    ai.push(num('CONTAINS', CODES.probability, f.probability, CODES.ratio, algo));
    groups.push(container('CONTAINS', CODES.measurementGroup, ai));
  }
  measurements.forEach((m, i) => groups.push(measurementGroup(m, i + 1)));

  // The Image Library lists every image the tree cites.
  const cited = new Map<string, SrImageRef>();
  if (keyRef) cited.set(`${keyRef.sopInstanceUid}:${keyRef.referencedFrameNumber ?? 0}`, keyRef);
  for (const m of measurements) cited.set(`${m.image.sopInstanceUid}:${m.image.referencedFrameNumber ?? 0}`, m.image);

  const s = input.sections;
  const qualitative: Item[] = [
    ...(s.clinicalInformation.trim() ? [text('CONTAINS', CODES.clinicalInformation, s.clinicalInformation)] : []),
    ...(s.technique.trim() ? [text('CONTAINS', CODES.procedureDescription, s.technique)] : []),
    ...(s.findings.trim() ? [text('CONTAINS', CODES.findings, s.findings)] : []),
    text('CONTAINS', CODES.impressions, s.impression.trim() || '(no impression)'),
    ...(s.recommendation.trim() ? [text('CONTAINS', CODES.recommendations, s.recommendation)] : []),
    ...(input.addenda ?? []).map((a) => text('CONTAINS', CODES.addendum, `Addendum ${a.seq}, signed by ${a.signedByName} at ${a.signedAt}: ${a.text}`)),
    ...(input.aiDecisionText ? [text('CONTAINS', CODES.comment, input.aiDecisionText)] : []),
    text('CONTAINS', CODES.comment, AI_NOTICE),
  ];

  const content: Item[] = [
    codeItem('HAS CONCEPT MOD', CODES.language, CODES.english),
    ...observer,
    codeItem('HAS CONCEPT MOD', CODES.procedureReported, CODES.mriBrain),
    // TID 1600/1601: library entries are IMAGE items without a concept name.
    container('CONTAINS', CODES.imageLibrary, [container('CONTAINS', CODES.imageLibraryGroup, [...cited.values()].map((r) => ({ RelationshipType: 'CONTAINS', ValueType: 'IMAGE', ReferencedSOPSequence: [sopRef(r)] })))]),
    container('CONTAINS', CODES.imagingMeasurements, groups),
    container('CONTAINS', CODES.qualitativeEvaluations, qualitative),
  ];

  // Every instance the content cites, by series (the SEG too), as Current Requested Procedure Evidence.
  const bySeries = new Map<string, Map<string, Item>>();
  const cite = (series: string, sopClassUid: string, sopInstanceUid: string): void => {
    const m = bySeries.get(series) ?? new Map<string, Item>();
    m.set(sopInstanceUid, { ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid });
    bySeries.set(series, m);
  };
  for (const r of cited.values()) cite(r.seriesInstanceUid, r.sopClassUid, r.sopInstanceUid);
  if (input.segment) cite(input.segment.seriesInstanceUid, SEG_SOP_CLASS_UID, input.segment.sopInstanceUid);
  const evidence = bySeries.size
    ? [{ StudyInstanceUID: input.study.studyInstanceUid, ReferencedSeriesSequence: [...bySeries].map(([series, refs]) => ({ SeriesInstanceUID: series, ReferencedSOPSequence: [...refs.values()] })) }]
    : [];

  const ds: Dataset = {
    // UTF-8 (ISO_IR 192): names and report text are not limited to ASCII ("mm²", accents).
    SpecificCharacterSet: 'ISO_IR 192',
    ...patientStudyModules(input.study),
    SOPClassUID: COMPREHENSIVE_SR_SOP_CLASS_UID,
    SOPInstanceUID: input.sopInstanceUid,
    SeriesInstanceUID: input.seriesInstanceUid,
    Modality: 'SR',
    SeriesNumber: 9101,
    InstanceNumber: input.instanceNumber ?? 1,
    Manufacturer: 'TumorPredict Workstation',
    ...(input.institutionName ? { InstitutionName: input.institutionName } : {}),
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
      ? {
          VerifyingObserverSequence: input.verifiers.map((o) => ({
            VerifyingObserverName: personName(o.name),
            VerifyingObserverIdentificationCodeSequence: [code(o.id.slice(0, 16), USER_SCHEME, o.name.slice(0, 64))],
            VerifyingOrganization: o.organization.slice(0, 64),
            VerificationDateTime: dicomDateTime(o.at).dateTime,
          })),
          // The local scheme of the observer's identifier, declared as PS3.3 C.12.1.1.2 asks.
          CodingSchemeIdentificationSequence: [{ CodingSchemeDesignator: USER_SCHEME, CodingSchemeName: 'TumorPredict Workstation user accounts', CodingSchemeResponsibleOrganization: v.organization }],
        }
      : {}),
    ...(input.predecessor
      ? {
          PredecessorDocumentsSequence: [
            {
              StudyInstanceUID: input.study.studyInstanceUid,
              ReferencedSeriesSequence: [{ SeriesInstanceUID: input.predecessor.seriesInstanceUid, ReferencedSOPSequence: [{ ReferencedSOPClassUID: COMPREHENSIVE_SR_SOP_CLASS_UID, ReferencedSOPInstanceUID: input.predecessor.sopInstanceUid }] }],
            },
          ],
        }
      : {}),
    PerformedProcedureCodeSequence: [CODES.mriBrain],
    CurrentRequestedProcedureEvidenceSequence: evidence,
    ContentSequence: content,
    _vrMap: {},
  };
  return writePart10(ds);
}
