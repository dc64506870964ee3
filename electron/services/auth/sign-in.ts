// Sign-in and every other check of a user's own password (identity confirmation for signing,
// password change, turning TOTP off): one password check in flight per account, the lock
// re-checked after the slow hash, failures counted atomically, and a TOTP step claimed with a
// conditional UPDATE so one code signs in once however many requests carry it.
import crypto from 'node:crypto';
import { WorkstationError, type Role, type User } from '../../contract';
import type { AuthContext, Session, UserRow } from './context';
import { badCredentials, lockedError, type Lockout } from './lockout';
import { hashPassword, needsRehash, verifyPassword } from './passwords';
import type { Sessions } from './sessions';
import { totpStep } from './totp';

export type LoginResult = { status: 'ok'; user: User; token: string } | { status: 'totp-required' };

/** What auth.confirmIdentity returns: who confirmed, how, and when (ISO). */
export interface IdentityConfirmation {
  userId: string;
  username: string;
  displayName: string;
  role: Role;
  method: 'password' | 'password+totp';
  at: string;
}

export interface SignIn {
  login(input: { username: string; password: string; totpCode?: string | undefined }, transport: string): Promise<LoginResult>;
  confirmIdentity(session: Session, input: { password: string; totpCode?: string | undefined }): Promise<IdentityConfirmation>;
  /**
   * Checks the signed-in user's own password under the same lockout (inside exclusive()), for
   * changing the password or turning TOTP off. Returns the row as read after the hash.
   */
  checkOwnPassword(userId: string, password: string, action: string, wrongMessage: string): Promise<UserRow>;
  exclusive<T>(userId: string, fn: () => Promise<T>): Promise<T>;
}

/** A hash to verify against when the username is unknown, so a miss takes as long as a hit. */
let dummyHash: Promise<string> | null = null;

const totpWrong = (): WorkstationError =>
  new WorkstationError('UNAUTHENTICATED', 'The authenticator code is not right (or was already used). Enter the current code from your authenticator app.', { details: { totpRequired: true, reason: 'bad-totp' } });

export function createSignIn(ctx: AuthContext, lockout: Lockout, sessions: Sessions): SignIn {
  const { db, iso, now, write, rowById, rowByName, toUser } = ctx;

  const refuseLocked = (r: UserRow, action: string): never => {
    write({ actorId: r.id, actor: r.username, action, objectType: 'user', objectId: r.id, outcome: 'refused', detail: { reason: r.admin_locked ? 'admin-locked' : 'locked-out' } });
    throw lockedError();
  };

  /**
   * The password check itself: refuses a temporarily locked account before hashing, verifies,
   * counts a wrong password, then re-reads the row: a lock or a new password that arrived while
   * the hash ran (another process, an admin) wins over this check.
   */
  async function verifyAgainstRow(id: string, password: string, action: string, onWrong: () => WorkstationError): Promise<UserRow> {
    const r = rowById(id);
    if (!r || !r.password_hash) throw onWrong();
    if (lockout.isTemporarilyLocked(r)) refuseLocked(r, action);
    const ok = await verifyPassword(r.password_hash, password);
    if (!ok) {
      lockout.recordFailure(r, action, 'bad-password');
      throw onWrong();
    }
    const after = rowById(id);
    if (!after || after.password_hash !== r.password_hash) {
      write({ actorId: r.id, actor: r.username, action, objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason: 'password-changed' } });
      throw onWrong();
    }
    if (after.admin_locked || lockout.isTemporarilyLocked(after)) refuseLocked(after, action);
    return after;
  }

  /** Claims the TOTP step (never one at or before the last used), resets the failure count. False when the account changed meanwhile. */
  const claimSuccess = (r: UserRow, step: number | null): 'ok' | 'replayed' | 'locked' => {
    const conn = db();
    const t = iso();
    if (step !== null) {
      const claimed = conn.prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?)').run(step, r.id, step).changes;
      if (claimed !== 1) return 'replayed';
    }
    const ok = conn
      .prepare('UPDATE users SET failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE id = ? AND admin_locked = 0 AND (locked_until IS NULL OR locked_until <= ?) AND password_hash = ?')
      .run(t, r.id, t, r.password_hash).changes;
    return ok === 1 ? 'ok' : 'locked';
  };

  const signIn: SignIn = {
    exclusive: (userId, fn) => lockout.exclusive(`user:${userId}`, fn),

    async login(input, transport) {
      const found = rowByName(input.username);
      if (!found || !found.password_hash) {
        return lockout.exclusive(`name:${input.username.trim().toLowerCase()}`, async () => {
          dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'));
          const wasLocked = lockout.isUnknownNameLocked(input.username);
          if (!wasLocked) await verifyPassword(await dummyHash, input.password);
          write({ actorId: found?.id ?? null, actor: found?.username ?? 'anonymous', action: 'auth.login', objectType: 'user', objectId: found?.id ?? null, outcome: wasLocked ? 'refused' : 'failure', detail: { reason: found ? 'no-password-set' : 'unknown-user' } });
          if (wasLocked) throw lockedError();
          lockout.recordUnknownFailure(input.username);
          throw badCredentials();
        });
      }
      return signIn.exclusive(found.id, async () => {
        const r = await verifyAgainstRow(found.id, input.password, 'auth.login', badCredentials);
        let step: number | null = null;
        if (r.totp_secret) {
          if (!input.totpCode) return { status: 'totp-required' as const };
          step = totpStep(r.totp_secret, input.totpCode, now());
          if (step === null) {
            lockout.recordFailure(r, 'auth.login', 'bad-totp');
            throw totpWrong();
          }
        }
        const conn = db();
        let token = '';
        const outcome = conn.transaction(() => {
          const claimed = claimSuccess(r, step);
          if (claimed !== 'ok') return claimed;
          const t = iso();
          conn.prepare('UPDATE users SET last_login_at = ? WHERE id = ?').run(t, r.id);
          token = sessions.start(conn, r.id, transport);
          write({ actorId: r.id, actor: r.username, action: 'auth.login', objectType: 'user', objectId: r.id, outcome: 'success', detail: { transport, totp: r.totp_secret !== null } });
          return 'ok' as const;
        }).immediate();
        if (outcome === 'replayed') {
          lockout.recordFailure(r, 'auth.login', 'totp-replayed');
          throw totpWrong();
        }
        if (outcome === 'locked') refuseLocked(rowById(r.id) ?? r, 'auth.login');
        if (needsRehash(r.password_hash!)) {
          const h = await hashPassword(input.password);
          db().prepare('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?').run(h, r.id, r.password_hash);
        }
        return { status: 'ok' as const, user: toUser(ctx.mustRow(r.id)), token };
      });
    },

    confirmIdentity(session, input) {
      return signIn.exclusive(session.userId, async () => {
        const wrong = (): WorkstationError => new WorkstationError('UNAUTHENTICATED', 'Your password is not right; your identity was not confirmed.', { details: { reason: 'bad-password' } });
        const r = await verifyAgainstRow(session.userId, input.password, 'auth.confirmIdentity', wrong);
        let step: number | null = null;
        if (r.totp_secret) {
          if (!input.totpCode) {
            throw new WorkstationError('UNAUTHENTICATED', 'Enter the current code from your authenticator app as well to confirm it is you.', { details: { totpRequired: true, reason: 'totp-required' } });
          }
          step = totpStep(r.totp_secret, input.totpCode, now());
          if (step === null) {
            lockout.recordFailure(r, 'auth.confirmIdentity', 'bad-totp');
            throw totpWrong();
          }
        }
        const at = iso();
        const conn = db();
        const outcome = conn.transaction(() => {
          const claimed = claimSuccess(r, step);
          if (claimed === 'ok') write({ actorId: r.id, actor: r.username, action: 'auth.confirmIdentity', objectType: 'user', objectId: r.id, outcome: 'success', detail: { totp: step !== null } });
          return claimed;
        }).immediate();
        if (outcome === 'replayed') {
          lockout.recordFailure(r, 'auth.confirmIdentity', 'totp-replayed');
          throw totpWrong();
        }
        if (outcome === 'locked') refuseLocked(rowById(r.id) ?? r, 'auth.confirmIdentity');
        return { userId: r.id, username: r.username, displayName: r.display_name, role: r.role, method: step !== null ? 'password+totp' : 'password', at };
      });
    },

    checkOwnPassword(userId, password, action, wrongMessage) {
      return verifyAgainstRow(userId, password, action, () => new WorkstationError('UNAUTHENTICATED', wrongMessage, { details: { reason: 'bad-password' } }));
    },
  };
  return signIn;
}
