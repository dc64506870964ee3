// The patient and study attributes every report object repeats (the Patient and General Study
// modules), and the key image the SR cites as evidence.
export interface DicomStudyInfo {
  studyInstanceUid: string;
  patientName: string;
  patientDicomId: string | null;
  patientBirthDate: string | null;
  patientSex: string | null;
  studyDate: string | null;
  studyTime: string | null;
  accessionNumber: string | null;
  referringPhysician: string | null;
}

export interface EvidenceImage {
  seriesInstanceUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based frame of a multi-frame source (DICOM ReferencedFrameNumber); absent for single-frame images. */
  referencedFrameNumber?: number;
}

export function patientStudyModules(s: DicomStudyInfo): Record<string, unknown> {
  return {
    // The index keeps names as "Family, Given" for display; DICOM wants Family^Given.
    PatientName: s.patientName.replace(/^([^,^]+),\s*/, '$1^'),
    PatientID: s.patientDicomId ?? '',
    PatientBirthDate: s.patientBirthDate ?? '',
    PatientSex: s.patientSex && ['M', 'F', 'O'].includes(s.patientSex) ? s.patientSex : '',
    StudyInstanceUID: s.studyInstanceUid,
    StudyDate: s.studyDate ?? '',
    StudyTime: s.studyTime ?? '',
    StudyID: '',
    AccessionNumber: s.accessionNumber ?? '',
    ReferringPhysicianName: s.referringPhysician ?? '',
  };
}
