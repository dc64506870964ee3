// Accounts: the first admin, the admin's operations on users (create, role, lock and unlock,
// force logout) and a user's own password change. The workstation is never left without an
// unlocked admin; a new role or a new password ends the sessions opened before it.
import crypto from 'node:crypto';
import { WorkstationError, type PasswordRules, type ResetCode, type Role, type User } from '../../contract';
import type { Actor, AuthContext, Session, UserRow } from './context';
import { checkPasswordRules, hashPassword, rulesFrom } from './passwords';
import type { ResetCodes } from './reset-codes';
import type { Sessions } from './sessions';
import type { SignIn } from './sign-in';

export interface Accounts {
  adminExists(): boolean;
  passwordRules(): PasswordRules;
  createFirstAdmin(input: { username: string; displayName: string; password: string }, transport: string): Promise<{ user: User; token: string }>;
  getUser(id: string): User;
  findUserByUsername(username: string): User | null;
  changePassword(session: Session, currentPassword: string, newPassword: string, keepToken?: string | null): Promise<void>;
  listUsers(): User[];
  createUser(actor: Actor, input: { username: string; displayName: string; role: Role; patientId?: string | null | undefined; password?: string | undefined }): Promise<{ user: User; resetCode: ResetCode | null }>;
  updateUser(actor: Actor, id: string, patch: { role?: Role | undefined; displayName?: string | undefined; patientId?: string | null | undefined; disableTotp?: boolean | undefined }): User;
  lockUser(actor: Actor, id: string): User;
  unlockUser(actor: Actor, id: string): User;
  issueResetCode(actor: Actor, id: string): ResetCode;
  forceLogout(actor: Actor, id: string): number;
}

export function createAccounts(ctx: AuthContext, deps: { sessions: Sessions; signIn: SignIn; resetCodes: ResetCodes }): Accounts {
  const { db, settings, iso, write, mustRow, rowByName, toUser, logger } = ctx;
  const { sessions, signIn, resetCodes } = deps;

  const adminCount = (): number => (db().prepare(`SELECT count(*) AS n FROM users WHERE role = 'admin' AND admin_locked = 0`).get() as { n: number }).n;
  const taken = (username: string): WorkstationError => new WorkstationError('CONFLICT', `The username "${username}" is already taken.`, { details: { fields: ['username'] } });

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

  const insertUser = async (input: { username: string; displayName: string; role: Role; patientId: string | null; password: string | null }): Promise<UserRow> => {
    const id = crypto.randomUUID();
    const t = iso();
    const hashValue = input.password === null ? null : await hashPassword(input.password);
    try {
      db()
        .prepare('INSERT INTO users (id, username, display_name, role, patient_id, password_hash, password_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, input.username, input.displayName, input.role, input.patientId, hashValue, hashValue ? t : null, t, t);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw taken(input.username);
      throw err;
    }
    return mustRow(id);
  };

  const accounts: Accounts = {
    adminExists: () => (db().prepare(`SELECT 1 FROM users WHERE role = 'admin' LIMIT 1`).get() as unknown) !== undefined,
    passwordRules: () => rulesFrom(settings.get()),

    async createFirstAdmin(input, transport) {
      const closed = (): WorkstationError => new WorkstationError('CONFLICT', 'This workstation already has an admin account; first-run setup is closed. Sign in instead.');
      if (accounts.adminExists()) {
        write({ actorId: null, actor: 'anonymous', action: 'auth.createFirstAdmin', outcome: 'refused', detail: { reason: 'admin-exists' } });
        throw closed();
      }
      checkPasswordRules(input.password, accounts.passwordRules(), input.username);
      const hashValue = await hashPassword(input.password);
      const conn = db();
      const id = crypto.randomUUID();
      let token = '';
      // Check and insert under one write lock so two first-run screens cannot both create an admin.
      conn.transaction(() => {
        if (accounts.adminExists()) throw closed();
        const t = iso();
        try {
          conn.prepare(`INSERT INTO users (id, username, display_name, role, password_hash, password_changed_at, created_at, updated_at, last_login_at) VALUES (?, ?, ?, 'admin', ?, ?, ?, ?, ?)`).run(id, input.username, input.displayName, hashValue, t, t, t, t);
        } catch (err) {
          if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw taken(input.username);
          throw err;
        }
        write({ actorId: id, actor: input.username, action: 'auth.createFirstAdmin', objectType: 'user', objectId: id, outcome: 'success', detail: { role: 'admin' } });
        token = sessions.start(conn, id, transport);
        write({ actorId: id, actor: input.username, action: 'auth.login', objectType: 'user', objectId: id, outcome: 'success', detail: { transport, firstRun: true } });
      }).immediate();
      logger?.info('auth.first-admin-created', { userId: id });
      return { user: toUser(mustRow(id)), token };
    },

    getUser: (id) => toUser(mustRow(id)),
    findUserByUsername: (username) => {
      const r = rowByName(username);
      return r ? toUser(r) : null;
    },

    changePassword(session, currentPassword, newPassword, keepToken) {
      return signIn.exclusive(session.userId, async () => {
        const r = await signIn.checkOwnPassword(session.userId, currentPassword, 'auth.changePassword', 'Your current password is not right; the password was not changed.');
        checkPasswordRules(newPassword, accounts.passwordRules(), r.username);
        const h = await hashPassword(newPassword);
        const conn = db();
        conn.transaction(() => {
          conn.prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?').run(h, iso(), iso(), r.id);
          // Whoever signed in with the old password elsewhere is signed out; this session stays.
          const ended = sessions.endAll(r.id, keepToken ?? null);
          write({ actorId: r.id, actor: r.username, action: 'auth.changePassword', objectType: 'user', objectId: r.id, outcome: 'success', detail: { otherSessionsEnded: ended } });
        }).immediate();
      });
    },

    listUsers: () => (db().prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser),

    async createUser(actor, input) {
      const patientId = checkPatientLink(input.role, input.patientId);
      if (input.password !== undefined) checkPasswordRules(input.password, accounts.passwordRules(), input.username);
      const r = await insertUser({ username: input.username, displayName: input.displayName, role: input.role, patientId, password: input.password ?? null });
      write({ actorId: actor.id, actor: actor.name, action: 'users.create', objectType: 'user', objectId: r.id, outcome: 'success', detail: { role: r.role, withPassword: input.password !== undefined } });
      // Without a password the admin hands over a one-time code: the admin never knows the password.
      const resetCode = input.password === undefined ? resetCodes.issue(actor, r) : null;
      return { user: toUser(mustRow(r.id)), resetCode };
    },

    updateUser(actor, id, patch) {
      const r = mustRow(id);
      const role = patch.role ?? r.role;
      const patientId = checkPatientLink(role, patch.patientId !== undefined ? patch.patientId : role === r.role ? r.patient_id : null);
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
          sessions.endAll(id);
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
        const ended = sessions.endAll(id);
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

    issueResetCode: (actor, id) => resetCodes.issue(actor, mustRow(id)),

    forceLogout(actor, id) {
      mustRow(id);
      const conn = db();
      return conn.transaction(() => {
        const n = sessions.endAll(id);
        write({ actorId: actor.id, actor: actor.name, action: 'users.forceLogout', objectType: 'user', objectId: id, outcome: 'success', detail: { sessionsEnded: n } });
        return n;
      })();
    },
  };
  return accounts;
}
