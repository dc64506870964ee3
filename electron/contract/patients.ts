// Patient records as the DICOM index knows them, for the admin who links a patient account to
// one: found by the hospital Patient ID or by name, never by our internal record id.
import { z } from 'zod';
import { channel } from './channel';

/** At most this many matches come back; a longer list means the admin should type more. */
export const MAX_PATIENT_MATCHES = 20;

export const patientMatchSchema = z.object({
  /** The internal record id: what users.create / users.update take as patientId. */
  id: z.string(),
  displayName: z.string(),
  /** The hospital Patient ID (DICOM PatientID), when the files gave one. */
  dicomPatientId: z.string().nullable(),
  /** DICOM date YYYYMMDD, when known. */
  birthDate: z.string().nullable(),
  studyCount: z.number().int(),
  /** The username(s) of the patient account(s) already linked to this record, or null. */
  linkedUsername: z.string().nullable(),
});
export type PatientMatch = z.infer<typeof patientMatchSchema>;

export const patientsChannels = {
  'patients.search': channel({
    summary: 'Find patient records by the hospital Patient ID (exact) or by name (part of it), to link a patient account',
    request: z.object({ query: z.string().trim().min(1).max(64) }).strict(),
    response: z.object({ patients: z.array(patientMatchSchema).max(MAX_PATIENT_MATCHES) }),
  }),
};
