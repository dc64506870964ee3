// DICOMweb search for the Hospital server page: QIDO-RS at study level with the page's keys
// (patient name, patient ID, accession number, study date range, modality), read into the same
// shape as a DIMSE C-FIND answer.
import type { PacsQuery, PacsStudy } from '../../contract';
import { tagString, tagValue, type DicomJson, type DicomWebClient } from './dicomweb-client';
import { isDicomUid } from './pull';

export type FoundStudy = Omit<PacsStudy, 'local'>;

const T = {
  studyUid: '0020000D',
  patientName: '00100010',
  patientId: '00100020',
  accession: '00080050',
  studyDate: '00080020',
  description: '00081030',
  modalities: '00080061',
  instances: '00201208',
} as const;

/** A PN value as words: the alphabetic group, components joined by spaces. */
const personName = (ds: DicomJson): string => (tagString(ds, T.patientName) ?? '').replace(/\^+$/, '').replace(/\^/g, ' ').trim();

export async function searchStudies(client: DicomWebClient, q: PacsQuery, signal?: AbortSignal): Promise<{ studies: FoundStudy[]; truncated: boolean }> {
  const date = q.dateFrom || q.dateTo ? `${q.dateFrom ?? ''}-${q.dateTo ?? ''}` : undefined;
  const page = await client.qido(
    '/studies',
    {
      PatientName: q.patientName || undefined,
      PatientID: q.patientId || undefined,
      AccessionNumber: q.accessionNumber || undefined,
      StudyDate: date,
      ModalitiesInStudy: q.modality || undefined,
      // Study Description is not among the attributes a QIDO-RS study search returns by default
      // (Modalities in Study and Number of Study Related Instances are). One tag only: the client
      // encodes a comma as %2C, and Orthanc 1.x then ignores the whole list.
      includefield: T.description,
      // One more than asked: tells whether there were more.
      limit: q.limit + 1,
    },
    signal,
  );
  const studies: FoundStudy[] = [];
  for (const ds of page) {
    const uid = tagString(ds, T.studyUid);
    // A UID that is not one never reaches a later request path.
    if (!uid || !isDicomUid(uid)) continue;
    const mods = ds[T.modalities]?.Value ?? [];
    const n = Number(tagValue(ds, T.instances));
    studies.push({
      studyInstanceUid: uid,
      patientName: personName(ds),
      patientId: tagString(ds, T.patientId) ?? '',
      accessionNumber: tagString(ds, T.accession) ?? '',
      studyDate: tagString(ds, T.studyDate) ?? '',
      studyDescription: tagString(ds, T.description) ?? '',
      modalities: mods.map(String).filter(Boolean),
      instances: tagValue(ds, T.instances) !== undefined && Number.isFinite(n) ? n : null,
    });
  }
  return { studies: studies.slice(0, q.limit), truncated: studies.length > q.limit };
}
