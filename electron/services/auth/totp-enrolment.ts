// Enrolling and removing the TOTP second factor of one's own account: a pending secret shown as a
// QR code, confirmed by a first code; turning it off needs the password (under the lockout).
import { WorkstationError } from '../../contract';
import type { AuthContext, Session } from './context';
import type { SignIn } from './sign-in';
import { newTotpSecret, totpEnrolment, totpStep } from './totp';

export interface TotpEnrolment {
  begin(session: Session): Promise<{ secret: string; uri: string; qrDataUrl: string }>;
  confirm(session: Session, code: string): void;
  disable(session: Session, password: string): Promise<void>;
}

export function createTotpEnrolment(ctx: AuthContext, signIn: SignIn): TotpEnrolment {
  const { db, iso, now, write, mustRow } = ctx;
  return {
    async begin(session) {
      const r = mustRow(session.userId);
      if (r.totp_secret) throw new WorkstationError('CONFLICT', 'Two-step sign-in is already on for your account; turn it off first to enrol a new authenticator.');
      const secret = newTotpSecret();
      db().prepare('UPDATE users SET totp_pending_secret = ?, updated_at = ? WHERE id = ?').run(secret, iso(), r.id);
      write({ actorId: r.id, actor: r.username, action: 'auth.totpBegin', objectType: 'user', objectId: r.id, outcome: 'success' });
      const { uri, qrDataUrl } = await totpEnrolment(secret, r.username);
      return { secret, uri, qrDataUrl };
    },

    confirm(session, code) {
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

    disable(session, password) {
      return signIn.exclusive(session.userId, async () => {
        const r = await signIn.checkOwnPassword(session.userId, password, 'auth.totpDisable', 'Your password is not right; two-step sign-in stays on.');
        const conn = db();
        conn.transaction(() => {
          conn.prepare('UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL, updated_at = ? WHERE id = ?').run(iso(), r.id);
          write({ actorId: r.id, actor: r.username, action: 'auth.totpDisable', objectType: 'user', objectId: r.id, outcome: 'success' });
        })();
      });
    },
  };
}
