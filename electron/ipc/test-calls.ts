// Test support for the integration tests that drive the real composition root: a channel call
// through the handler table as a transport makes it (reply flattened for assertions), and a
// connection signed in with a password. The workstation is passed as a getter because tests
// close and re-create it on the same data folder.
import { expect } from 'vitest';
import type { EventEnvelope } from '../contract';
import type { Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';

export interface Reply {
  ok: boolean;
  code?: string;
  message?: string;
  result?: unknown;
}

export interface ChannelCaller {
  /** The reply as { ok, result } or { ok: false, code, message }. */
  call(conn: Connection, channel: string, payload: unknown): Promise<Reply>;
  /** The result, after asserting the call succeeded (the failure names the channel and why). */
  ok<T>(conn: Connection, channel: string, payload: unknown): Promise<T>;
  /** A new host connection signed in with auth.login; events sent to it go to `emit`. */
  signIn(username: string, password: string, emit?: (e: EventEnvelope) => void): Promise<Connection>;
}

export function channelCaller(ws: () => Workstation): ChannelCaller {
  const call = async (conn: Connection, channel: string, payload: unknown): Promise<Reply> => {
    const reply = await ws().table.dispatch(conn, { id: 1, channel, payload });
    return reply.ok ? { ok: true, result: reply.result } : { ok: false, code: reply.error.code, message: reply.error.message };
  };
  const ok = async <T>(conn: Connection, channel: string, payload: unknown): Promise<T> => {
    const r = await call(conn, channel, payload);
    expect(r.ok, `${channel}: ${r.message}`).toBe(true);
    return r.result as T;
  };
  return {
    call,
    ok,
    async signIn(username, password, emit) {
      const conn = createConnection('host', emit);
      await ok(conn, 'auth.login', { username, password });
      return conn;
    },
  };
}
