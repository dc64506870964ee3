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

const PREFIXES = /^(dr|prof|mr|mrs|ms|mx|miss|sir|dame)\.?$/i;
const SUFFIXES = /^(jr|sr|ii|iii|iv|md|phd|mbbs|mbchb|frcr|frcp|frcs|dm|do)\.?$/i;

/**
 * A display name in DICOM PN form, Family^Given^Middle^Prefix^Suffix (PS3.5 6.2): "Dr. Ada Rad"
 * becomes "Rad^Ada^^Dr.", "Reader, Ada" becomes "Reader^Ada". A value already in PN form is kept.
 * Trailing empty components are dropped, as PS3.5 asks.
 */
export function personName(display: string): string {
  const s = display.trim().replace(/\s+/g, ' ');
  if (!s || s.includes('^')) return s.slice(0, 64 * 5);
  const prefix: string[] = [];
  const suffix: string[] = [];
  let family = '';
  let given: string[] = [];
  if (s.includes(',')) {
    const [fam, ...rest] = s.split(',');
    family = fam!.trim();
    const words = rest.join(' ').trim().split(' ').filter(Boolean);
    while (words.length && PREFIXES.test(words[0]!)) prefix.push(words.shift()!);
    while (words.length && SUFFIXES.test(words[words.length - 1]!)) suffix.unshift(words.pop()!);
    given = words;
  } else {
    const words = s.split(' ');
    while (words.length > 1 && PREFIXES.test(words[0]!)) prefix.push(words.shift()!);
    while (words.length > 1 && SUFFIXES.test(words[words.length - 1]!.replace(/,$/, ''))) suffix.unshift(words.pop()!.replace(/,$/, ''));
    family = words.pop() ?? '';
    given = words;
  }
  const parts = [family, given[0] ?? '', given.slice(1).join(' '), prefix.join(' '), suffix.join(' ')].map((p) => p.slice(0, 64));
  while (parts.length > 1 && !parts[parts.length - 1]) parts.pop();
  return parts.join('^');
}

export function patientStudyModules(s: DicomStudyInfo): Record<string, unknown> {
  return {
    // The index keeps names as "Family, Given" for display; DICOM wants Family^Given.
    PatientName: personName(s.patientName),
    PatientID: s.patientDicomId ?? '',
    PatientBirthDate: s.patientBirthDate ?? '',
    PatientSex: s.patientSex && ['M', 'F', 'O'].includes(s.patientSex) ? s.patientSex : '',
    StudyInstanceUID: s.studyInstanceUid,
    StudyDate: s.studyDate ?? '',
    StudyTime: s.studyTime ?? '',
    StudyID: '',
    AccessionNumber: s.accessionNumber ?? '',
    ReferringPhysicianName: personName(s.referringPhysician ?? ''),
  };
}
