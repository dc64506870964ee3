// Handlers for the patients.* channels: finding the patient record a patient account is linked
// to. The DICOM service owns the patients table (its imports create the rows); which accounts
// are linked to a record is the auth service's, so the two are joined here.
import type { Handlers } from '../handler-table';
import type { Services } from '../workstation-types';
import { sessionOf } from './auth';

export function patientsHandlers(services: Pick<Services, 'dicom' | 'auth'>): Pick<Handlers, 'patients.search'> {
  const { dicom, auth } = services;
  return {
    'patients.search': (req, ctx) => {
      const s = sessionOf(ctx.session);
      const found = dicom.searchPatients(req.query, { actor: s.username, actorId: s.userId });
      // Which accounts a record is linked to is the admin's business (account management).
      if (s.role !== 'admin') return { patients: found.map((p) => ({ ...p, linkedUsername: null })) };
      const linked = new Map<string, string[]>();
      for (const u of auth.listUsers()) {
        if (u.patientId) linked.set(u.patientId, [...(linked.get(u.patientId) ?? []), u.username]);
      }
      return { patients: found.map((p) => ({ ...p, linkedUsername: linked.get(p.id)?.join(', ') ?? null })) };
    },
  };
}
