// Minimal Comprehensive SR and Encapsulated PDF objects for the push tests and the bench, until
// the reports issue produces the real ones; also source-image metadata read from a real file.
import { WorkstationError } from '../../contract';
import { dicomDateTime, newUid, readPart10, writePart10, type NaturalDataset } from '../../services/dicom-objects';
import { patientStudyModules, type SegSourceImage, type SegSourceStudy } from '../../services/sync/seg';

export const COMPREHENSIVE_SR_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.88.33';
export const ENCAPSULATED_PDF_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.104.1';

const code = (value: string, scheme: string, meaning: string) => ({ CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning });

/** A small Comprehensive SR: a finding text and the class, UNVERIFIED unless a verifier is given. */
export function buildMinimalSr(study: SegSourceStudy, finding: { className: string; probability: number; verifiedBy?: string }): { bytes: Buffer; sopInstanceUid: string } {
  const sopInstanceUid = newUid();
  const { date, time } = dicomDateTime();
  const ds: NaturalDataset = {
    ...patientStudyModules(study),
    SOPClassUID: COMPREHENSIVE_SR_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    SeriesInstanceUID: newUid(),
    Modality: 'SR',
    SeriesNumber: 9002,
    InstanceNumber: 1,
    Manufacturer: 'TumorPredict Workstation',
    ContentDate: date,
    ContentTime: time,
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [code('126000', 'DCM', 'Imaging Measurement Report')],
    ContinuityOfContent: 'SEPARATE',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: finding.verifiedBy ? 'VERIFIED' : 'UNVERIFIED',
    ...(finding.verifiedBy ? { VerifyingObserverSequence: [{ VerifyingObserverName: finding.verifiedBy, VerifyingOrganization: 'TumorPredict', VerificationDateTime: `${date}${time}` }] } : {}),
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      {
        RelationshipType: 'CONTAINS',
        ValueType: 'TEXT',
        ConceptNameCodeSequence: [code('121071', 'DCM', 'Finding')],
        TextValue: `AI classification: ${finding.className} (p=${finding.probability.toFixed(3)}). Not a medical device.`,
      },
    ],
  };
  return { bytes: writePart10(ds), sopInstanceUid };
}

/** An Encapsulated PDF object around the given PDF bytes. */
export function buildEncapsulatedPdf(study: SegSourceStudy, pdf: Buffer, title: string): { bytes: Buffer; sopInstanceUid: string } {
  if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new WorkstationError('INVALID_INPUT', 'The report to encapsulate is not a PDF file.');
  const sopInstanceUid = newUid();
  const { date, time } = dicomDateTime();
  // The value must have even length: pad with one NUL as PS3.3 allows.
  const doc = pdf.length % 2 ? Buffer.concat([pdf, Buffer.from([0])]) : pdf;
  const ds: NaturalDataset = {
    ...patientStudyModules(study),
    SOPClassUID: ENCAPSULATED_PDF_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    SeriesInstanceUID: newUid(),
    Modality: 'DOC',
    SeriesNumber: 9003,
    InstanceNumber: 1,
    Manufacturer: 'TumorPredict Workstation',
    ContentDate: date,
    ContentTime: time,
    AcquisitionDateTime: `${date}${time}`,
    ConversionType: 'WSD',
    BurnedInAnnotation: 'YES',
    DocumentTitle: title,
    ConceptNameCodeSequence: [code('18748-4', 'LN', 'Diagnostic imaging report')],
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocument: doc.buffer.slice(doc.byteOffset, doc.byteOffset + doc.byteLength),
    EncapsulatedDocumentLength: pdf.length,
    _vrMap: { EncapsulatedDocument: 'OB' },
  };
  return { bytes: writePart10(ds), sopInstanceUid };
}

/** A one-page PDF with a line of text (hand-written objects with a correct xref table). */
export function tinyPdf(text: string): Buffer {
  const safe = text.replace(/[()\\]/g, ' ').slice(0, 200);
  const stream = `BT /F1 14 Tf 50 750 Td (${safe}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** Study and image metadata of a real source file, for building a SEG that references it. */
export function sourceOf(bytes: Uint8Array): { study: SegSourceStudy; image: SegSourceImage } {
  const ds = readPart10(bytes);
  const s = (k: string): string | null => {
    const v = ds[k];
    if (v === undefined || v === null || v === '') return null;
    if (Array.isArray(v)) return v.length ? (typeof v[0] === 'object' ? String((v[0] as { Alphabetic?: string }).Alphabetic ?? '') : String(v[0])) : null;
    return String(v);
  };
  const nums = (k: string): number[] | null => {
    const v = ds[k];
    if (v === undefined || v === null) return null;
    return (Array.isArray(v) ? v : [v]).map(Number);
  };
  return {
    study: {
      studyInstanceUid: s('StudyInstanceUID')!,
      seriesInstanceUid: s('SeriesInstanceUID')!,
      frameOfReferenceUid: s('FrameOfReferenceUID'),
      patientName: s('PatientName'),
      patientId: s('PatientID'),
      patientBirthDate: s('PatientBirthDate'),
      patientSex: s('PatientSex'),
      studyDate: s('StudyDate'),
      studyTime: s('StudyTime'),
      studyId: s('StudyID'),
      accessionNumber: s('AccessionNumber'),
      referringPhysicianName: s('ReferringPhysicianName'),
    },
    image: {
      sopClassUid: s('SOPClassUID')!,
      sopInstanceUid: s('SOPInstanceUID')!,
      rows: Number(ds.Rows),
      columns: Number(ds.Columns),
      imagePositionPatient: nums('ImagePositionPatient'),
      imageOrientationPatient: nums('ImageOrientationPatient'),
      pixelSpacing: nums('PixelSpacing'),
      sliceThickness: ds.SliceThickness === undefined ? null : Number(ds.SliceThickness),
    },
  };
}
