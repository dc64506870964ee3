// The lockout: failed attempts counted atomically in the database (one UPDATE ... RETURNING, so
// parallel guesses cannot all read the same old count), one password check in flight per account,
// and one answer for a locked account and for a name nobody has, so the lock tells nothing about
// which usernames exist.
import { WorkstationError } from '../../contract';
import type { AuthContext, UserRow } from './context';

/** The one message for every lock (after failed sign-ins, by an admin, or a name nobody has). */
export const LOCKED_MESSAGE = 'This account is locked for now, after too many failed sign-ins or by an administrator. Try again later, or ask an admin to unlock it.';
export const lockedError = (): WorkstationError => new WorkstationError('UNAUTHENTICATED', LOCKED_MESSAGE, { details: { locked: true } });
export const badCredentials = (): WorkstationError => new WorkstationError('UNAUTHENTICATED', 'The username or password is not right. Check them and try again.');

/** Names nobody has are tracked in memory only, and only this many of them (oldest forgotten first). */
const MAX_UNKNOWN_NAMES = 10_000;
/** Sign-ins waiting for one account beyond this are refused at once instead of queued. */
const MAX_QUEUED_PER_ACCOUNT = 16;

export interface Lockout {
  /** Runs fn with no other password check for the same account in flight (in this process). */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** True while the account is locked after failed attempts (the admin lock is separate). */
  isTemporarilyLocked(r: Pick<UserRow, 'locked_until'>): boolean;
  /**
   * Counts one failure atomically; locks the account when the count reaches the limit. A failure
   * while the account is already locked is audited but not counted (the lock is in place).
   * Returns true when this failure locked the account.
   */
  recordFailure(r: Pick<UserRow, 'id' | 'username'>, action: string, reason: string): boolean;
  /** Like recordFailure, for a name no account has; true when that name is now "locked". */
  recordUnknownFailure(username: string): boolean;
  isUnknownNameLocked(username: string): boolean;
}

export function createLockout(ctx: AuthContext): Lockout {
  const { db, settings, now, iso, write } = ctx;
  const queues = new Map<string, { tail: Promise<void>; waiting: number }>();
  const unknown = new Map<string, { failures: number; lockedUntil: number }>();
  const nameKey = (u: string): string => u.trim().toLowerCase();

  return {
    async exclusive(key, fn) {
      const q = queues.get(key) ?? { tail: Promise.resolve(), waiting: 0 };
      if (q.waiting >= MAX_QUEUED_PER_ACCOUNT) {
        throw new WorkstationError('UNAVAILABLE', 'Too many sign-ins for this account at once; wait a moment and try again.');
      }
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const before = q.tail;
      q.tail = before.then(() => mine);
      q.waiting++;
      queues.set(key, q);
      await before;
      try {
        return await fn();
      } finally {
        q.waiting--;
        if (q.waiting === 0) queues.delete(key);
        release();
      }
    },

    isTemporarilyLocked: (r) => r.locked_until !== null && Date.parse(r.locked_until) > now(),

    recordFailure(r, action, reason) {
      const s = settings.get();
      const t = iso();
      const until = iso(now() + s.lockoutMinutes * 60_000);
      const conn = db();
      return conn.transaction(() => {
        // Old values on the right-hand side: the increment and the lock decision are one statement.
        const row = conn
          .prepare(
            `UPDATE users SET
               failed_attempts = CASE WHEN failed_attempts + 1 >= @limit THEN 0 ELSE failed_attempts + 1 END,
               locked_until = CASE WHEN failed_attempts + 1 >= @limit THEN @until ELSE locked_until END,
               updated_at = @t
             WHERE id = @id AND (locked_until IS NULL OR locked_until <= @t)
             RETURNING failed_attempts AS attempts, locked_until AS lockedUntil`,
          )
          .get({ limit: s.lockoutAttempts, until, t, id: r.id }) as { attempts: number; lockedUntil: string | null } | undefined;
        write({ actorId: r.id, actor: r.username, action, objectType: 'user', objectId: r.id, outcome: 'failure', detail: { reason } });
        const locked = row !== undefined && row.attempts === 0 && row.lockedUntil === until;
        if (locked) write({ actorId: null, actor: 'system', action: 'auth.lockout', objectType: 'user', objectId: r.id, outcome: 'success', detail: { minutes: s.lockoutMinutes, attempts: s.lockoutAttempts } });
        return locked;
      }).immediate();
    },

    recordUnknownFailure(username) {
      const s = settings.get();
      const k = nameKey(username);
      const e = unknown.get(k) ?? { failures: 0, lockedUntil: 0 };
      if (e.lockedUntil > now()) return true;
      e.failures++;
      if (e.failures >= s.lockoutAttempts) {
        e.failures = 0;
        e.lockedUntil = now() + s.lockoutMinutes * 60_000;
      }
      unknown.delete(k); // re-insert: the map's order is the order of last use
      unknown.set(k, e);
      if (unknown.size > MAX_UNKNOWN_NAMES) unknown.delete(unknown.keys().next().value as string);
      return e.lockedUntil > now();
    },

    isUnknownNameLocked: (username) => (unknown.get(nameKey(username))?.lockedUntil ?? 0) > now(),
  };
}
