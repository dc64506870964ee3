// One-time reset codes issued by an admin (the desktop form of "forgot password"): stored only
// as a hash, expiring, replaced by a newer one, and guess-proof: every wrong code counts against
// the account's live codes (a code dies after as many wrong tries as lock an account) and
// toward the account's lockout.
import crypto from 'node:crypto';
import { WorkstationError, type ResetCode } from '../../contract';
import { sha256, type Actor, type AuthContext, type UserRow } from './context';
import type { Lockout } from './lockout';
import { checkPasswordRules, hashPassword, rulesFrom } from './passwords';
import type { Sessions } from './sessions';

/** Reset codes: 10 characters from a 32-letter alphabet without look-alikes (50 bits), shown as XXXXX-XXXXX. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'.padEnd(32, 'L').slice(0, 32);
function newResetCode(): string {
  const bytes = crypto.randomBytes(10);
  let s = '';
  for (const b of bytes) s += CODE_ALPHABET[b & 31];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}
const normaliseCode = (c: string): string => c.toUpperCase().replace(/[^A-Z0-9]/g, '');

export interface ResetCodes {
  issue(actor: Actor, user: UserRow): ResetCode;
  redeem(input: { username: string; code: string; newPassword: string }): Promise<void>;
}

export function createResetCodes(ctx: AuthContext, lockout: Lockout, sessions: Sessions): ResetCodes {
  const { db, settings, now, iso, write, rowByName } = ctx;
  return {
    issue(actor, user) {
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
    },

    async redeem(input) {
      const invalid = (): WorkstationError =>
        new WorkstationError('UNAUTHENTICATED', 'That reset code is not valid for this username: it may be mistyped, expired or already used. Ask an admin for a new code.');
      const found = rowByName(input.username);
      if (!found) {
        write({ actorId: null, actor: 'anonymous', action: 'auth.redeemResetCode', outcome: 'failure', detail: { reason: 'unknown-user' } });
        lockout.recordUnknownFailure(input.username);
        throw invalid();
      }
      await lockout.exclusive(`user:${found.id}`, async () => {
        const r = ctx.mustRow(found.id);
        if (r.admin_locked) {
          write({ actorId: r.id, actor: r.username, action: 'auth.redeemResetCode', objectType: 'user', objectId: r.id, outcome: 'refused', detail: { reason: 'admin-locked' } });
          throw invalid();
        }
        const limit = settings.get().lockoutAttempts;
        const conn = db();
        const codeRow = conn
          .prepare('SELECT id, expires_at, used_at, failed_attempts FROM reset_codes WHERE user_id = ? AND code_hash = ?')
          .get(r.id, sha256(normaliseCode(input.code))) as { id: string; expires_at: string; used_at: string | null; failed_attempts: number } | undefined;
        const reason = !codeRow ? 'wrong-code' : codeRow.used_at ? 'already-used' : Date.parse(codeRow.expires_at) <= now() ? 'expired' : codeRow.failed_attempts >= limit ? 'too-many-wrong-codes' : null;
        if (reason) {
          if (reason === 'wrong-code') {
            // A wrong code cannot tell which live code it was aimed at: it counts against all of them.
            conn.prepare('UPDATE reset_codes SET failed_attempts = failed_attempts + 1 WHERE user_id = ? AND used_at IS NULL').run(r.id);
            lockout.recordFailure(r, 'auth.redeemResetCode', reason);
          } else {
            write({ actorId: r.id, actor: r.username, action: 'auth.redeemResetCode', objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason } });
          }
          throw invalid();
        }
        checkPasswordRules(input.newPassword, rulesFrom(settings.get()), r.username);
        const h = await hashPassword(input.newPassword);
        conn.transaction(() => {
          // Claimed under the write lock: of two redemptions racing, exactly one changes the password.
          const claimed = conn.prepare('UPDATE reset_codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND failed_attempts < ?').run(iso(), codeRow!.id, limit).changes;
          if (claimed !== 1) throw invalid();
          conn.prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE id = ?').run(h, iso(), iso(), r.id);
          sessions.endAll(r.id);
          write({ actorId: r.id, actor: r.username, action: 'auth.redeemResetCode', objectType: 'user', objectId: r.id, outcome: 'success' });
        }).immediate();
      });
    },
  };
}
