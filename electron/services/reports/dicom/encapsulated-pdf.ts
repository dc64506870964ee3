// The signed report's PDF as a DICOM Encapsulated PDF object in the report's study, ready for
// the outbox to send with STOW-RS.
import { WorkstationError } from '../../../contract';
import { dicomDateTime, writePart10, type Dataset } from '../../dicom-objects';
import { patientStudyModules, type DicomStudyInfo } from './study-info';
import { code } from './sr';

export const ENCAPSULATED_PDF_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.104.1';
export const DIAGNOSTIC_IMAGING_REPORT = code('18748-4', 'LN', 'Diagnostic imaging report');

export interface EncapsulatedPdfInput {
  study: DicomStudyInfo;
  pdf: Buffer;
  title: string;
  contentAt: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  instanceNumber: number;
  institutionName?: string | null;
}

export function buildEncapsulatedPdf(input: EncapsulatedPdfInput): Buffer {
  if (input.pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new WorkstationError('INTERNAL', 'The report to encapsulate is not a PDF file.');
  const { date, time, dateTime } = dicomDateTime(input.contentAt);
  // The element must have even length: one NUL pad, as PS3.3 C.24.2.1 allows; the true length
  // is EncapsulatedDocumentLength.
  const doc = input.pdf.length % 2 ? Buffer.concat([input.pdf, Buffer.from([0])]) : input.pdf;
  const ds: Dataset = {
    // UTF-8 (ISO_IR 192): names and report text are not limited to ASCII ("mm²", accents).
    SpecificCharacterSet: 'ISO_IR 192',
    ...patientStudyModules(input.study),
    SOPClassUID: ENCAPSULATED_PDF_SOP_CLASS_UID,
    SOPInstanceUID: input.sopInstanceUid,
    SeriesInstanceUID: input.seriesInstanceUid,
    Modality: 'DOC',
    SeriesNumber: 9102,
    InstanceNumber: input.instanceNumber,
    Manufacturer: 'TumorPredict Workstation',
    ...(input.institutionName ? { InstitutionName: input.institutionName } : {}),
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    ContentDate: date,
    ContentTime: time,
    AcquisitionDateTime: dateTime,
    ConversionType: 'SD',
    BurnedInAnnotation: 'YES',
    DocumentTitle: input.title.slice(0, 64),
    ConceptNameCodeSequence: [DIAGNOSTIC_IMAGING_REPORT],
    MIMETypeOfEncapsulatedDocument: 'application/pdf',
    EncapsulatedDocument: doc.buffer.slice(doc.byteOffset, doc.byteOffset + doc.byteLength),
    EncapsulatedDocumentLength: input.pdf.length,
    _vrMap: { EncapsulatedDocument: 'OB' },
  };
  return writePart10(ds);
}
