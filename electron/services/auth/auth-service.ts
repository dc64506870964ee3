// Accounts, sign-in and sessions: first admin, login with lockout and TOTP, idle-expiring
// sessions (only the token's sha256 is stored), password rules, admin reset codes, and the
// admin operations on users. Every account event writes an audit row.
import crypto from 'node:crypto';
import { WorkstationError, type PasswordRules, type ResetCode, type Role, type User } from '../../contract';
import type { AuditLog, AuditEntry } from '../audit';
import type { SettingsService } from '../settings';
import type { Logger } from '../log';
import type { Db } from '../store';
import { checkPasswordRules, hashPassword, needsRehash, rulesFrom, verifyPassword } from './passwords';
import { newTotpSecret, totpEnrolment, totpStep } from './totp';

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

interface UserRow {
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

export type LoginResult = { status: 'ok'; user: User; token: string } | { status: 'totp-required' };

const sha256 = (s: string): string => crypto.createHash('sha256').update(s, 'utf8').digest('hex');
/** Session tokens: 32 random bytes. */
const newToken = (): string => crypto.randomBytes(32).toString('base64url');
/** Reset codes: 10 characters from a 32-letter alphabet without look-alikes (50 bits), shown as XXXXX-XXXXX. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'.padEnd(32, 'L').slice(0, 32);
function newResetCode(): string {
  const bytes = crypto.randomBytes(10);
  let s = '';
  for (const b of bytes) s += CODE_ALPHABET[b & 31];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}
const normaliseCode = (c: string): string => c.toUpperCase().replace(/[^A-Z0-9]/g, '');

/** A hash to verify against when the username is unknown, so a miss takes as long as a hit. */
let dummyHash: Promise<string> | null = null;

export interface AuthService {
  adminExists(): boolean;
  passwordRules(): PasswordRules;
  createFirstAdmin(input: { username: string; displayName: string; password: string }, transport: string): Promise<{ user: User; token: string }>;
  login(input: { username: string; password: string; totpCode?: string | undefined }, transport: string): Promise<LoginResult>;
  logout(token: string): void;
  resolve(token: string): Session | null;
  getUser(id: string): User;
  changePassword(session: Session, currentPassword: string, newPassword: string): Promise<void>;
  redeemResetCode(input: { username: string; code: string; newPassword: string }): Promise<void>;
  totpBegin(session: Session): Promise<{ secret: string; uri: string; qrDataUrl: string }>;
  totpConfirm(session: Session, code: string): void;
  totpDisable(session: Session, password: string): Promise<void>;
  listUsers(): User[];
  createUser(actor: Actor, input: { username: string; displayName: string; role: Role; patientId?: string | null | undefined; password?: string | undefined }): Promise<{ user: User; resetCode: ResetCode | null }>;
  updateUser(actor: Actor, id: string, patch: { role?: Role | undefined; displayName?: string | undefined; patientId?: string | null | undefined; disableTotp?: boolean | undefined }): User;
  lockUser(actor: Actor, id: string): User;
  unlockUser(actor: Actor, id: string): User;
  issueResetCode(actor: Actor, id: string): ResetCode;
  forceLogout(actor: Actor, id: string): number;
  findUserByUsername(username: string): User | null;
}

export function createAuthService(deps: AuthServiceDeps): AuthService {
  const { db, audit, settings, logger } = deps;
  const now = deps.now ?? (() => Date.now());
  const iso = (ms = now()): string => new Date(ms).toISOString();

  const toUser = (r: UserRow): User => ({
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
  });

  const rowById = (id: string): UserRow | undefined => db().prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
  const rowByName = (username: string): UserRow | undefined => db().prepare('SELECT * FROM users WHERE username = ?').get(username.trim()) as UserRow | undefined;
  const mustRow = (id: string): UserRow => {
    const r = rowById(id);
    if (!r) throw new WorkstationError('NOT_FOUND', 'There is no user account with that id.');
    return r;
  };
  const write = (e: AuditEntry): void => {
    audit.append(e);
  };
  const adminCount = (): number => (db().prepare(`SELECT count(*) AS n FROM users WHERE role = 'admin' AND admin_locked = 0`).get() as { n: number }).n;

  const checkPatientLink = (role: Role, patientId: string | null | undefined): string | null => {
    if (role === 'patient') {
      if (!patientId) throw new WorkstationError('INVALID_INPUT', 'A patient account must be linked to a patient record.', { details: { fields: ['patientId'] } });
      const p = db().prepare('SELECT 1 FROM patients WHERE id = ?').get(patientId);
      if (!p) throw new WorkstationError('NOT_FOUND', 'There is no patient record with that id to link the account to.', { details: { fields: ['patientId'] } });
      return patientId;
    }
    if (patientId) throw new WorkstationError('INVALID_INPUT', 'Only a patient account can be linked to a patient record.', { details: { fields: ['patientId'] } });
    return null;
  };

  const startSession = (userId: string, transport: string): string => {
    const token = newToken();
    const t = iso();
    db().prepare('INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, transport) VALUES (?, ?, ?, ?, ?)').run(sha256(token), userId, t, t, transport);
    return token;
  };

  const endSessions = (userId: string): number => db().prepare('DELETE FROM sessions WHERE user_id = ?').run(userId).changes;

  const insertUser = async (input: { username: string; displayName: string; role: Role; patientId: string | null; password: string | null }): Promise<UserRow> => {
    const id = crypto.randomUUID();
    const t = iso();
    const hashValue = input.password === null ? null : await hashPassword(input.password);
    try {
      db()
        .prepare('INSERT INTO users (id, username, display_name, role, patient_id, password_hash, password_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, input.username, input.displayName, input.role, input.patientId, hashValue, hashValue ? t : null, t, t);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new WorkstationError('CONFLICT', `The username "${input.username}" is already taken.`, { details: { fields: ['username'] } });
      }
      throw err;
    }
    return mustRow(id);
  };

  const makeResetCode = (actor: Actor, user: UserRow): ResetCode => {
    const code = newResetCode();
    const lifetime = settings.get().resetCodeMinutes;
    const expiresAt = iso(now() + lifetime * 60_000);
    const conn = db();
    conn.transaction(() => {
      // A new code replaces any earlier unused one.
      conn.prepare('UPDATE reset_codes SET used_at = ? WHERE user_id = ? AND used_at IS NULL').run(iso(), user.id);
      conn.prepare('INSERT INTO reset_codes (id, user_id, code_hash, issued_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)').run(crypto.randomUUID(), user.id, sha256(normaliseCode(code)), actor.name, iso(), expiresAt);
      write({ actorId: actor.id, actor: actor.name, action: 'users.issueResetCode', objectType: 'user', objectId: user.id, outcome: 'success', detail: { minutes: lifetime } });
    })();
    return { code, expiresAt };
  };

  const isLocked = (r: UserRow): string | null => {
    if (r.admin_locked) return 'This account is locked by an administrator. Ask an admin to unlock it.';
    if (r.locked_until && Date.parse(r.locked_until) > now()) {
      const mins = Math.ceil((Date.parse(r.locked_until) - now()) / 60_000);
      return `This account is locked after too many failed sign-ins; try again in ${mins} minute${mins === 1 ? '' : 's'}, or ask an admin to unlock it.`;
    }
    return null;
  };

  const recordFailure = (r: UserRow, reason: string): void => {
    const s = settings.get();
    const conn = db();
    conn.transaction(() => {
      const attempts = r.failed_attempts + 1;
      if (attempts >= s.lockoutAttempts) {
        conn.prepare('UPDATE users SET failed_attempts = 0, locked_until = ?, updated_at = ? WHERE id = ?').run(iso(now() + s.lockoutMinutes * 60_000), iso(), r.id);
        write({ actorId: r.id, actor: r.username, action: 'auth.login', objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason } });
        write({ actorId: null, actor: 'system', action: 'auth.lockout', objectType: 'user', objectId: r.id, outcome: 'success', detail: { minutes: s.lockoutMinutes, attempts } });
      } else {
        conn.prepare('UPDATE users SET failed_attempts = ?, updated_at = ? WHERE id = ?').run(attempts, iso(), r.id);
        write({ actorId: r.id, actor: r.username, action: 'auth.login', objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason } });
      }
    })();
  };

  const badCredentials = (): WorkstationError => new WorkstationError('UNAUTHENTICATED', 'The username or password is not right. Check them and try again.');

  let settingsCache: { at: number; idle: number } | null = null;
  const idleMinutes = (): number => {
    if (!settingsCache || now() - settingsCache.at > 5_000 || now() < settingsCache.at) settingsCache = { at: now(), idle: settings.get().sessionIdleMinutes };
    return settingsCache.idle;
  };

  const service: AuthService = {
    adminExists: () => (db().prepare(`SELECT 1 FROM users WHERE role = 'admin' LIMIT 1`).get() as unknown) !== undefined,
    passwordRules: () => rulesFrom(settings.get()),

    async createFirstAdmin(input, transport) {
      if (service.adminExists()) {
        write({ actorId: null, actor: 'anonymous', action: 'auth.createFirstAdmin', outcome: 'refused', detail: { reason: 'admin-exists' } });
        throw new WorkstationError('CONFLICT', 'This workstation already has an admin account; first-run setup is closed. Sign in instead.');
      }
      checkPasswordRules(input.password, service.passwordRules(), input.username);
      const hashValue = await hashPassword(input.password);
      const conn = db();
      const id = crypto.randomUUID();
      // Check and insert under one write lock so two first-run screens cannot both create an admin.
      conn.transaction(() => {
        if (service.adminExists()) throw new WorkstationError('CONFLICT', 'This workstation already has an admin account; first-run setup is closed. Sign in instead.');
        const t = iso();
        try {
          conn.prepare(`INSERT INTO users (id, username, display_name, role, password_hash, password_changed_at, created_at, updated_at, last_login_at) VALUES (?, ?, ?, 'admin', ?, ?, ?, ?, ?)`).run(id, input.username, input.displayName, hashValue, t, t, t, t);
        } catch (err) {
          if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new WorkstationError('CONFLICT', `The username "${input.username}" is already taken.`);
          throw err;
        }
        write({ actorId: id, actor: input.username, action: 'auth.createFirstAdmin', objectType: 'user', objectId: id, outcome: 'success', detail: { role: 'admin' } });
      }).immediate();
      const token = startSession(id, transport);
      write({ actorId: id, actor: input.username, action: 'auth.login', objectType: 'user', objectId: id, outcome: 'success', detail: { transport, firstRun: true } });
      logger?.info('auth.first-admin-created', { userId: id });
      return { user: toUser(mustRow(id)), token };
    },

    async login(input, transport) {
      const r = rowByName(input.username);
      if (!r || !r.password_hash) {
        dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'));
        await verifyPassword(await dummyHash, input.password);
        write({ actorId: r?.id ?? null, actor: r?.username ?? 'anonymous', action: 'auth.login', objectType: 'user', objectId: r?.id ?? null, outcome: 'failure', detail: { reason: r ? 'no-password-set' : 'unknown-user' } });
        throw badCredentials();
      }
      const locked = isLocked(r);
      if (locked) {
        write({ actorId: r.id, actor: r.username, action: 'auth.login', objectType: 'user', objectId: r.id, outcome: 'refused', detail: { reason: r.admin_locked ? 'admin-locked' : 'locked-out' } });
        throw new WorkstationError('UNAUTHENTICATED', locked, { details: { locked: true, lockedUntil: r.admin_locked ? null : r.locked_until } });
      }
      if (!(await verifyPassword(r.password_hash, input.password))) {
        recordFailure(r, 'bad-password');
        throw badCredentials();
      }
      if (r.totp_secret) {
        if (!input.totpCode) return { status: 'totp-required' };
        const step = totpStep(r.totp_secret, input.totpCode, now());
        if (step === null || (r.totp_last_step !== null && step <= r.totp_last_step)) {
          recordFailure(r, step === null ? 'bad-totp' : 'totp-replayed');
          throw new WorkstationError('UNAUTHENTICATED', 'The authenticator code is not right (or was already used). Enter the current code from your authenticator app.', { details: { totpRequired: true } });
        }
        db().prepare('UPDATE users SET totp_last_step = ? WHERE id = ?').run(step, r.id);
      }
      const conn = db();
      const token = newToken();
      conn.transaction(() => {
        const t = iso();
        conn.prepare('UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = ?, updated_at = ? WHERE id = ?').run(t, t, r.id);
        conn.prepare('INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, transport) VALUES (?, ?, ?, ?, ?)').run(sha256(token), r.id, t, t, transport);
        // Sessions idle past the limit are dead anyway; drop them so the table does not grow.
        conn.prepare('DELETE FROM sessions WHERE last_seen_at < ?').run(iso(now() - idleMinutes() * 60_000));
        write({ actorId: r.id, actor: r.username, action: 'auth.login', objectType: 'user', objectId: r.id, outcome: 'success', detail: { transport, totp: r.totp_secret !== null } });
      })();
      if (needsRehash(r.password_hash)) {
        const h = await hashPassword(input.password);
        db().prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(h, r.id);
      }
      return { status: 'ok', user: toUser(mustRow(r.id)), token };
    },

    logout(token) {
      const conn = db();
      const row = conn.prepare('SELECT s.user_id, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?').get(sha256(token)) as { user_id: string; username: string } | undefined;
      if (!row) return;
      conn.transaction(() => {
        conn.prepare('DELETE FROM sessions WHERE token_hash = ?').run(sha256(token));
        write({ actorId: row.user_id, actor: row.username, action: 'auth.logout', objectType: 'user', objectId: row.user_id, outcome: 'success' });
      })();
    },

    resolve(token) {
      let conn: Db;
      try {
        conn = db();
      } catch {
        return null; // database locked: nobody is signed in
      }
      const th = sha256(token);
      const row = conn
        .prepare('SELECT s.last_seen_at, u.id, u.username, u.role, u.patient_id, u.admin_locked FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?')
        .get(th) as { last_seen_at: string; id: string; username: string; role: Role; patient_id: string | null; admin_locked: number } | undefined;
      if (!row) return null;
      const idleMs = idleMinutes() * 60_000;
      const last = Date.parse(row.last_seen_at);
      if (row.admin_locked || now() - last > idleMs) {
        conn.transaction(() => {
          conn.prepare('DELETE FROM sessions WHERE token_hash = ?').run(th);
          if (!row.admin_locked) write({ actorId: row.id, actor: row.username, action: 'auth.sessionExpired', objectType: 'user', objectId: row.id, outcome: 'success', detail: { idleMinutes: idleMinutes() } });
        })();
        return null;
      }
      // Touch at most every few seconds: a burst of calls costs one write, not one each.
      if (now() - last > 5_000 || now() < last) conn.prepare('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?').run(iso(), th);
      return { userId: row.id, username: row.username, role: row.role, patientId: row.role === 'patient' ? row.patient_id : null };
    },

    getUser: (id) => toUser(mustRow(id)),
    findUserByUsername: (username) => {
      const r = rowByName(username);
      return r ? toUser(r) : null;
    },

    async changePassword(session, currentPassword, newPassword) {
      const r = mustRow(session.userId);
      if (!r.password_hash || !(await verifyPassword(r.password_hash, currentPassword))) {
        write({ actorId: r.id, actor: r.username, action: 'auth.changePassword', objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason: 'bad-password' } });
        throw new WorkstationError('UNAUTHENTICATED', 'Your current password is not right; the password was not changed.');
      }
      checkPasswordRules(newPassword, service.passwordRules(), r.username);
      const h = await hashPassword(newPassword);
      const conn = db();
      conn.transaction(() => {
        conn.prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?').run(h, iso(), iso(), r.id);
        write({ actorId: r.id, actor: r.username, action: 'auth.changePassword', objectType: 'user', objectId: r.id, outcome: 'success' });
      })();
    },

    async redeemResetCode(input) {
      const r = rowByName(input.username);
      const invalid = new WorkstationError('UNAUTHENTICATED', 'That reset code is not valid for this username: it may be mistyped, expired or already used. Ask an admin for a new code.');
      if (!r) {
        write({ actorId: null, actor: 'anonymous', action: 'auth.redeemResetCode', outcome: 'failure', detail: { reason: 'unknown-user' } });
        throw invalid;
      }
      if (r.admin_locked) {
        write({ actorId: r.id, actor: r.username, action: 'auth.redeemResetCode', objectType: 'user', objectId: r.id, outcome: 'refused', detail: { reason: 'admin-locked' } });
        throw new WorkstationError('UNAUTHENTICATED', 'This account is locked by an administrator. Ask an admin to unlock it.');
      }
      const codeRow = db()
        .prepare('SELECT id, expires_at, used_at FROM reset_codes WHERE user_id = ? AND code_hash = ?')
        .get(r.id, sha256(normaliseCode(input.code))) as { id: string; expires_at: string; used_at: string | null } | undefined;
      if (!codeRow || codeRow.used_at !== null || Date.parse(codeRow.expires_at) <= now()) {
        const reason = !codeRow ? 'wrong-code' : codeRow.used_at ? 'already-used' : 'expired';
        // A wrong code counts like a wrong password, so codes cannot be guessed online.
        if (reason === 'wrong-code' && !isLocked(r)) recordFailureFor(r);
        write({ actorId: r.id, actor: r.username, action: 'auth.redeemResetCode', objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason } });
        throw invalid;
      }
      checkPasswordRules(input.newPassword, service.passwordRules(), r.username);
      const h = await hashPassword(input.newPassword);
      const conn = db();
      conn.transaction(() => {
        // Claimed under the write lock: of two redemptions racing, exactly one changes the password.
        const claimed = conn.prepare('UPDATE reset_codes SET used_at = ? WHERE id = ? AND used_at IS NULL').run(iso(), codeRow.id).changes;
        if (claimed !== 1) throw invalid;
        conn.prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE id = ?').run(h, iso(), iso(), r.id);
        endSessions(r.id);
        write({ actorId: r.id, actor: r.username, action: 'auth.redeemResetCode', objectType: 'user', objectId: r.id, outcome: 'success' });
      }).immediate();
    },

    async totpBegin(session) {
      const r = mustRow(session.userId);
      if (r.totp_secret) throw new WorkstationError('CONFLICT', 'Two-step sign-in is already on for your account; turn it off first to enrol a new authenticator.');
      const secret = newTotpSecret();
      db().prepare('UPDATE users SET totp_pending_secret = ?, updated_at = ? WHERE id = ?').run(secret, iso(), r.id);
      write({ actorId: r.id, actor: r.username, action: 'auth.totpBegin', objectType: 'user', objectId: r.id, outcome: 'success' });
      const { uri, qrDataUrl } = await totpEnrolment(secret, r.username);
      return { secret, uri, qrDataUrl };
    },

    totpConfirm(session, code) {
      const r = mustRow(session.userId);
      if (!r.totp_pending_secret) throw new WorkstationError('CONFLICT', 'Start enrolment first (scan the QR code), then enter the code it shows.');
      const step = totpStep(r.totp_pending_secret, code, now());
      if (step === null) {
        write({ actorId: r.id, actor: r.username, action: 'auth.totpConfirm', objectType: 'user', objectId: r.id, outcome: 'failure' });
        throw new WorkstationError('INVALID_INPUT', 'That code does not match; check the time on your phone and enter the current code.', { details: { fields: ['code'] } });
      }
      const conn = db();
      conn.transaction(() => {
        conn.prepare('UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = ?, updated_at = ? WHERE id = ?').run(step, iso(), r.id);
        write({ actorId: r.id, actor: r.username, action: 'auth.totpConfirm', objectType: 'user', objectId: r.id, outcome: 'success' });
      })();
    },

    async totpDisable(session, password) {
      const r = mustRow(session.userId);
      if (!r.password_hash || !(await verifyPassword(r.password_hash, password))) {
        write({ actorId: r.id, actor: r.username, action: 'auth.totpDisable', objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason: 'bad-password' } });
        throw new WorkstationError('UNAUTHENTICATED', 'Your password is not right; two-step sign-in stays on.');
      }
      const conn = db();
      conn.transaction(() => {
        conn.prepare('UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL, updated_at = ? WHERE id = ?').run(iso(), r.id);
        write({ actorId: r.id, actor: r.username, action: 'auth.totpDisable', objectType: 'user', objectId: r.id, outcome: 'success' });
      })();
    },

    listUsers: () => (db().prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser),

    async createUser(actor, input) {
      const patientId = checkPatientLink(input.role, input.patientId);
      if (input.password !== undefined) checkPasswordRules(input.password, service.passwordRules(), input.username);
      const r = await insertUser({ username: input.username, displayName: input.displayName, role: input.role, patientId, password: input.password ?? null });
      write({ actorId: actor.id, actor: actor.name, action: 'users.create', objectType: 'user', objectId: r.id, outcome: 'success', detail: { role: r.role, withPassword: input.password !== undefined } });
      // Without a password the admin hands over a one-time code: the admin never knows the password.
      const resetCode = input.password === undefined ? makeResetCode(actor, r) : null;
      return { user: toUser(mustRow(r.id)), resetCode };
    },

    updateUser(actor, id, patch) {
      const r = mustRow(id);
      const role = patch.role ?? r.role;
      const patientId = checkPatientLink(role, patch.patientId !== undefined ? patch.patientId : role === r.role ? r.patient_id : role === 'patient' ? null : null);
      if (r.role === 'admin' && role !== 'admin' && !r.admin_locked && adminCount() <= 1) {
        throw new WorkstationError('CONFLICT', 'This is the last admin account; make another admin first, so the workstation is never left without one.');
      }
      const conn = db();
      conn.transaction(() => {
        conn
          .prepare('UPDATE users SET role = ?, display_name = ?, patient_id = ?, totp_secret = CASE WHEN ? THEN NULL ELSE totp_secret END, totp_last_step = CASE WHEN ? THEN NULL ELSE totp_last_step END, updated_at = ? WHERE id = ?')
          .run(role, patch.displayName ?? r.display_name, patientId, patch.disableTotp ? 1 : 0, patch.disableTotp ? 1 : 0, iso(), id);
        if (role !== r.role) {
          // A new role takes effect at the next sign-in, never inside a session opened under the old one.
          endSessions(id);
          write({ actorId: actor.id, actor: actor.name, action: 'users.setRole', objectType: 'user', objectId: id, outcome: 'success', detail: { from: r.role, to: role } });
        }
        const fields = [patch.displayName !== undefined && patch.displayName !== r.display_name ? 'displayName' : null, patientId !== r.patient_id ? 'patientId' : null, patch.disableTotp && r.totp_secret ? 'totp' : null].filter(Boolean);
        if (fields.length) write({ actorId: actor.id, actor: actor.name, action: 'users.update', objectType: 'user', objectId: id, outcome: 'success', detail: { fields: fields.join(',') } });
      })();
      return toUser(mustRow(id));
    },

    lockUser(actor, id) {
      const r = mustRow(id);
      if (r.role === 'admin' && !r.admin_locked && adminCount() <= 1) {
        throw new WorkstationError('CONFLICT', 'This is the last unlocked admin account; locking it would leave nobody able to administer the workstation.');
      }
      const conn = db();
      conn.transaction(() => {
        conn.prepare('UPDATE users SET admin_locked = 1, updated_at = ? WHERE id = ?').run(iso(), id);
        const ended = endSessions(id);
        write({ actorId: actor.id, actor: actor.name, action: 'users.lock', objectType: 'user', objectId: id, outcome: 'success', detail: { sessionsEnded: ended } });
      })();
      return toUser(mustRow(id));
    },

    unlockUser(actor, id) {
      mustRow(id);
      const conn = db();
      conn.transaction(() => {
        conn.prepare('UPDATE users SET admin_locked = 0, failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE id = ?').run(iso(), id);
        write({ actorId: actor.id, actor: actor.name, action: 'users.unlock', objectType: 'user', objectId: id, outcome: 'success' });
      })();
      return toUser(mustRow(id));
    },

    issueResetCode(actor, id) {
      return makeResetCode(actor, mustRow(id));
    },

    forceLogout(actor, id) {
      mustRow(id);
      const conn = db();
      return conn.transaction(() => {
        const n = endSessions(id);
        write({ actorId: actor.id, actor: actor.name, action: 'users.forceLogout', objectType: 'user', objectId: id, outcome: 'success', detail: { sessionsEnded: n } });
        return n;
      })();
    },
  };

  function recordFailureFor(r: UserRow): void {
    const s = settings.get();
    const attempts = r.failed_attempts + 1;
    if (attempts >= s.lockoutAttempts) {
      db().prepare('UPDATE users SET failed_attempts = 0, locked_until = ? WHERE id = ?').run(iso(now() + s.lockoutMinutes * 60_000), r.id);
      write({ actorId: null, actor: 'system', action: 'auth.lockout', objectType: 'user', objectId: r.id, outcome: 'success', detail: { minutes: s.lockoutMinutes, attempts } });
    } else {
      db().prepare('UPDATE users SET failed_attempts = ? WHERE id = ?').run(attempts, r.id);
    }
  }

  return service;
}
