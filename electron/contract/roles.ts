// The four roles of the workstation. Who may call what is in permissions.ts, in one table.
import { z } from 'zod';

export const ROLES = ['admin', 'radiologist', 'researcher', 'patient'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'IT administrator',
  radiologist: 'Radiologist',
  researcher: 'Researcher',
  patient: 'Patient',
};
