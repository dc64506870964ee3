// Sign-in and the signed-in user's own account: first-run setup, database unlock (passphrase
// mode), login/logout, password change, reset-code redemption and the TOTP second factor.
import { z } from 'zod';
import { channel } from './channel';
import { roleSchema } from './roles';

export const usernameSchema = z
  .string()
  .trim()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash or underscore, starting with a letter or digit');
export const displayNameSchema = z.string().trim().min(1).max(200);
/** Passwords are checked against the admin's rules by the service; this only bounds the size. */
export const passwordSchema = z.string().min(1).max(256);
export const totpCodeSchema = z.string().trim().regex(/^\d{6}$/, 'six digits');

export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  role: roleSchema,
  patientId: z.string().nullable(),
  /** Locked by an admin until unlocked. */
  adminLocked: z.boolean(),
  /** Locked after failed sign-ins until this time (ISO), or null. */
  lockedUntil: z.string().nullable(),
  totpEnabled: z.boolean(),
  hasPassword: z.boolean(),
  createdAt: z.string(),
  lastLoginAt: z.string().nullable(),
});
export type User = z.infer<typeof userSchema>;

export const passwordRulesSchema = z.object({
  minLength: z.number().int(),
  requireUpper: z.boolean(),
  requireLower: z.boolean(),
  requireDigit: z.boolean(),
  requireSymbol: z.boolean(),
});
export type PasswordRules = z.infer<typeof passwordRulesSchema>;

export const setupStatusSchema = z.object({
  databaseUnlocked: z.boolean(),
  /** What the database waits for: a passphrase to create it (first run) or to unlock it. */
  needsPassphrase: z.enum(['create', 'unlock']).nullable(),
  keySource: z.enum(['keychain', 'passphrase']).nullable(),
  /** One sentence saying how the database key is kept. */
  modeStatement: z.string(),
  /** True once an admin account exists; first-run setup is offered only while false. */
  adminExists: z.boolean(),
  problem: z.string().nullable(),
  passwordRules: passwordRulesSchema,
  minPassphraseLength: z.number().int(),
});
export type SetupStatus = z.infer<typeof setupStatusSchema>;

const okSchema = z.object({ ok: z.literal(true) });

export const authChannels = {
  'auth.setupStatus': channel({
    summary: 'Whether first-run setup or a database passphrase is needed',
    request: z.object({}).strict(),
    response: setupStatusSchema,
  }),
  'auth.unlockDatabase': channel({
    summary: 'Unlock the database with its passphrase (passphrase mode)',
    request: z.object({ passphrase: z.string().min(1).max(1024) }).strict(),
    response: okSchema,
  }),
  'auth.createFirstAdmin': channel({
    summary: 'Create the first admin account (only while no admin exists) and sign in',
    request: z
      .object({
        username: usernameSchema,
        displayName: displayNameSchema,
        password: passwordSchema,
        /** Passphrase mode, first run only: the database passphrase. */
        passphrase: z.string().min(1).max(1024).optional(),
      })
      .strict(),
    response: z.object({ user: userSchema }),
  }),
  'auth.login': channel({
    summary: 'Sign in with username and password (and TOTP code when enrolled)',
    request: z.object({ username: z.string().trim().min(1).max(64), password: passwordSchema, totpCode: totpCodeSchema.optional() }).strict(),
    response: z.object({
      /** The signed-in user, or null when a TOTP code is needed: call again with totpCode. */
      user: userSchema.nullable(),
      totpRequired: z.boolean(),
    }),
  }),
  'auth.logout': channel({
    summary: 'Sign out this connection',
    request: z.object({}).strict(),
    response: okSchema,
  }),
  'auth.me': channel({
    summary: 'The signed-in user and the idle timeout',
    request: z.object({}).strict(),
    response: z.object({ user: userSchema, idleMinutes: z.number().int(), passwordRules: passwordRulesSchema }),
  }),
  'auth.changePassword': channel({
    summary: 'Change your own password',
    request: z.object({ currentPassword: passwordSchema, newPassword: passwordSchema }).strict(),
    response: okSchema,
  }),
  'auth.redeemResetCode': channel({
    summary: 'Set a new password with a one-time reset code from an admin',
    request: z.object({ username: z.string().trim().min(1).max(64), code: z.string().trim().min(1).max(64), newPassword: passwordSchema }).strict(),
    response: okSchema,
  }),
  'auth.totpBegin': channel({
    summary: 'Start enrolling a TOTP second factor (secret and QR code)',
    request: z.object({}).strict(),
    response: z.object({ secret: z.string(), uri: z.string(), qrDataUrl: z.string() }),
  }),
  'auth.totpConfirm': channel({
    summary: 'Finish TOTP enrolment with a code from the authenticator app',
    request: z.object({ code: totpCodeSchema }).strict(),
    response: z.object({ totpEnabled: z.literal(true) }),
  }),
  'auth.totpDisable': channel({
    summary: 'Turn off your TOTP second factor (needs your password)',
    request: z.object({ password: passwordSchema }).strict(),
    response: z.object({ totpEnabled: z.literal(false) }),
  }),
};
