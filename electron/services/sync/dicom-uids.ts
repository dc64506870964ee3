// Reads the identifying UIDs (SOP Instance, SOP Class, Study, Series) of a Part 10 file without
// decoding pixels: what the outbox and the pull need to know which instance a file is.
import dicomParser from 'dicom-parser';

export interface DicomUids {
  sopInstanceUid: string | null;
  sopClassUid: string | null;
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
}

const clean = (v: string | undefined): string | null => {
  const s = v?.replace(/\0/g, '').trim();
  return s ? s : null;
};

export function dicomUids(bytes: Uint8Array): DicomUids {
  try {
    const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
    return {
      sopInstanceUid: clean(ds.string('x00080018')) ?? clean(ds.string('x00020003')),
      sopClassUid: clean(ds.string('x00080016')) ?? clean(ds.string('x00020002')),
      studyInstanceUid: clean(ds.string('x0020000d')),
      seriesInstanceUid: clean(ds.string('x0020000e')),
    };
  } catch {
    return { sopInstanceUid: null, sopClassUid: null, studyInstanceUid: null, seriesInstanceUid: null };
  }
}

