// What every part of the auth service shares: the user row and its public form, row lookups,
// the clock, the audit writer and the token and code helpers. The parts (sign-in, sessions,
// accounts, reset codes, TOTP) each take this one context instead of reaching for globals.
import crypto from 'node:crypto';
import { WorkstationError, type Role, type User } from '../../contract';
import type { AuditLog, AuditEntry } from '../audit';
import type { SettingsService } from '../settings';
import type { Logger } from '../log';
import type { Db } from '../store';

export interface Session {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  readonly patientId: string | null;
}

/** Who does an admin operation: a signed-in admin, or the machine's local admin on the CLI. */
export interface Actor {
  id: string | null;
  name: string;
}

export interface AuthServiceDeps {
  db: () => Db;
  audit: AuditLog;
  settings: SettingsService;
  logger?: Logger;
  /** Clock, injectable so tests can move time (lockout, idle timeout, reset-code expiry, TOTP). */
  now?: () => number;
}

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  patient_id: string | null;
  password_hash: string | null;
  failed_attempts: number;
  locked_until: string | null;
  admin_locked: number;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_last_step: number | null;
  created_at: string;
  last_login_at: string | null;
}

export interface AuthContext {
  readonly db: () => Db;
  readonly settings: SettingsService;
  readonly logger: Logger | undefined;
  now(): number;
  iso(ms?: number): string;
  write(e: AuditEntry): void;
  rowById(id: string): UserRow | undefined;
  rowByName(username: string): UserRow | undefined;
  /** The row, or NOT_FOUND. */
  mustRow(id: string): UserRow;
  toUser(r: UserRow): User;
}

export const sha256 = (s: string): string => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
/** Session tokens: 32 random bytes. */
export const newToken = (): string => crypto.randomBytes(32).toString('base64url');

export function createAuthContext(deps: AuthServiceDeps): AuthContext {
  const { db, audit } = deps;
  const now = deps.now ?? (() => Date.now());
  const rowById = (id: string): UserRow | undefined => db().prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  return {
    db,
    settings: deps.settings,
    logger: deps.logger,
    now,
    iso: (ms = now()) => new Date(ms).toISOString(),
    write: (e) => {
      audit.append(e);
    },
    rowById,
    rowByName: (username) => db().prepare('SELECT * FROM users WHERE username = ?').get(username.trim()) as UserRow | undefined,
    mustRow: (id) => {
      const r = rowById(id);
      if (!r) throw new WorkstationError('NOT_FOUND', 'There is no user account with that id.');
      return r;
    },
    toUser: (r) => ({
      id: r.id,
      username: r.username,
      displayName: r.display_name,
      role: r.role,
      patientId: r.patient_id,
      adminLocked: r.admin_locked === 1,
      lockedUntil: r.locked_until && Date.parse(r.locked_until) > now() ? r.locked_until : null,
      totpEnabled: r.totp_secret !== null,
      hasPassword: r.password_hash !== null,
      createdAt: r.created_at,
      lastLoginAt: r.last_login_at,
    }),
  };
}
