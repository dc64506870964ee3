// Sessions: only the token's sha256 is stored; a session ends after the idle minutes the admin
// set, after its absolute lifetime however busy it is, at logout, and when the account is
// locked, its role changes or its password changes (the other sessions of the account).
import type { Role } from '../../contract';
import type { Db } from '../store';
import { newToken, sha256, type AuthContext, type Session } from './context';

export interface Sessions {
  /** Starts a session inside the caller's transaction; returns the token. */
  start(conn: Db, userId: string, transport: string): string;
  resolve(token: string): Session | null;
  logout(token: string): void;
  /** Ends every session of the account, or every one but the session of keepToken. */
  endAll(userId: string, keepToken?: string | null): number;
}

export function createSessions(ctx: AuthContext): Sessions {
  const { db, settings, now, iso, write } = ctx;

  // Read at most every few seconds: resolve runs on every call.
  let cache: { at: number; idle: number; maxHours: number } | null = null;
  const limits = (): { idle: number; maxHours: number } => {
    if (!cache || now() - cache.at > 5_000 || now() < cache.at) {
      const s = settings.get();
      cache = { at: now(), idle: s.sessionIdleMinutes, maxHours: s.sessionMaxHours };
    }
    return cache;
  };

  return {
    start(conn, userId, transport) {
      const token = newToken();
      const t = iso();
      conn.prepare('INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, transport) VALUES (?, ?, ?, ?, ?)').run(sha256(token), userId, t, t, transport);
      // Sessions past either limit are dead anyway; drop them so the table does not grow.
      const { idle, maxHours } = limits();
      conn.prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?').run(iso(now() - idle * 60_000), iso(now() - maxHours * 3_600_000));
      return token;
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
        .prepare('SELECT s.created_at, s.last_seen_at, u.id, u.username, u.role, u.patient_id, u.admin_locked FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?')
        .get(th) as { created_at: string; last_seen_at: string; id: string; username: string; role: Role; patient_id: string | null; admin_locked: number } | undefined;
      if (!row) return null;
      const { idle, maxHours } = limits();
      const last = Date.parse(row.last_seen_at);
      const idleOut = now() - last > idle * 60_000;
      const tooOld = now() - Date.parse(row.created_at) > maxHours * 3_600_000;
      if (row.admin_locked || idleOut || tooOld) {
        conn.transaction(() => {
          conn.prepare('DELETE FROM sessions WHERE token_hash = ?').run(th);
          if (!row.admin_locked) {
            write({ actorId: row.id, actor: row.username, action: 'auth.sessionExpired', objectType: 'user', objectId: row.id, outcome: 'success', detail: tooOld ? { maxHours } : { idleMinutes: idle } });
          }
        })();
        return null;
      }
      // Touch at most every few seconds: a burst of calls costs one write, not one each.
      if (now() - last > 5_000 || now() < last) conn.prepare('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?').run(iso(), th);
      return { userId: row.id, username: row.username, role: row.role, patientId: row.role === 'patient' ? row.patient_id : null };
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

    endAll(userId, keepToken) {
      if (keepToken) return db().prepare('DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?').run(userId, sha256(keepToken)).changes;
      return db().prepare('DELETE FROM sessions WHERE user_id = ?').run(userId).changes;
    },
  };
}
