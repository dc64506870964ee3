// Live events to a user's open windows: the handler table tells this which user each connection
// is signed in as (at every call), and a service's change for a user (a new notification) is
// pushed to each of that user's connections over the existing event channel. A connection that
// signed out, or signed in as someone else since, gets nothing.
import type { EventEnvelope, Role } from '../contract';
import type { Connection, Session } from './handler-table';

export interface LiveEvents {
  /** Records who `connection` is signed in as now (null: nobody). */
  seen(connection: Connection, session: Session | null): void;
  /** Emits to every live connection of `userId`; returns how many got it. */
  toUser(userId: string, event: EventEnvelope): number;
  /** Emits to every live connection signed in with `role` (events that carry ids, never patient data). */
  toRole(role: Role, event: EventEnvelope): number;
}

export function createLiveEvents(): LiveEvents {
  const byConnection = new Map<string, { connection: Connection; userId: string; role: Role; token: string }>();
  const send = (match: (entry: { userId: string; role: Role }) => boolean, event: EventEnvelope): number => {
    let sent = 0;
    for (const [id, entry] of byConnection) {
      // Signed out, closed (the transports clear the token) or signed in again as another session.
      if (entry.connection.sessionToken !== entry.token) {
        byConnection.delete(id);
        continue;
      }
      if (!match(entry)) continue;
      try {
        entry.connection.emit(event);
        sent++;
      } catch {
        byConnection.delete(id);
      }
    }
    return sent;
  };
  return {
    seen(connection, session) {
      if (!session || !connection.sessionToken) {
        byConnection.delete(connection.id);
        return;
      }
      byConnection.set(connection.id, { connection, userId: session.userId, role: session.role, token: connection.sessionToken });
    },
    toUser: (userId, event) => send((e) => e.userId === userId, event),
    toRole: (role, event) => send((e) => e.role === role, event),
  };
}
