// Account administration: list, create, change role or details, lock/unlock, reset codes and
// ending a user's sessions. Admin only (see permissions.ts).
import { z } from 'zod';
import { channel } from './channel';
import { roleSchema } from './roles';
import { displayNameSchema, passwordSchema, userSchema, usernameSchema } from './auth';

export const resetCodeSchema = z.object({
  /** Shown once to the admin, who passes it to the user; only its hash is stored. */
  code: z.string(),
  expiresAt: z.string(),
});
export type ResetCode = z.infer<typeof resetCodeSchema>;

const idRequest = z.object({ id: z.string().min(1).max(64) }).strict();

/** The patient record a patient account is linked to, as the users table shows it. */
export const linkedPatientSchema = z.object({ displayName: z.string(), dicomPatientId: z.string().nullable(), birthDate: z.string().nullable() });
export type LinkedPatient = z.infer<typeof linkedPatientSchema>;

export const usersChannels = {
  'users.list': channel({
    summary: 'List user accounts, with the patient record each patient account is linked to',
    request: z.object({}).strict(),
    response: z.object({ users: z.array(userSchema), patients: z.record(z.string(), linkedPatientSchema).default({}) }),
  }),
  'users.create': channel({
    summary: 'Create a user account (without a password, a one-time code lets the user set it)',
    request: z
      .object({
        username: usernameSchema,
        displayName: displayNameSchema,
        role: roleSchema,
        /** Required for the patient role, refused for the others. */
        patientId: z.string().min(1).max(64).nullable().optional(),
        password: passwordSchema.optional(),
      })
      .strict(),
    response: z.object({ user: userSchema, resetCode: resetCodeSchema.nullable() }),
  }),
  'users.update': channel({
    summary: "Change a user's role, display name or patient link, or turn off their TOTP",
    request: z
      .object({
        id: z.string().min(1).max(64),
        role: roleSchema.optional(),
        displayName: displayNameSchema.optional(),
        patientId: z.string().min(1).max(64).nullable().optional(),
        disableTotp: z.literal(true).optional(),
      })
      .strict(),
    response: z.object({ user: userSchema }),
  }),
  'users.lock': channel({ summary: 'Lock an account and end its sessions', request: idRequest, response: z.object({ user: userSchema }) }),
  'users.unlock': channel({ summary: 'Unlock an account (admin lock and failed-sign-in lockout)', request: idRequest, response: z.object({ user: userSchema }) }),
  'users.issueResetCode': channel({ summary: 'Issue a one-time, time-limited password reset code', request: idRequest, response: resetCodeSchema }),
  'users.forceLogout': channel({ summary: "End all of a user's sessions", request: idRequest, response: z.object({ sessionsEnded: z.number().int() }) }),
};
