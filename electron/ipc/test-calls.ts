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
  /**
   * On a new workstation: the first admin (TEST_ADMIN) and a radiologist (TEST_RADIOLOGIST), both
   * signed in; the radiologist's events go to `emitToRadiologist`.
   */
  adminAndRadiologist(emitToRadiologist?: (e: EventEnvelope) => void): Promise<{ admin: Connection; rad: Connection }>;
}

export const TEST_ADMIN = { username: 'admin1', displayName: 'Admin', password: 'admin-password-0042' } as const;
export const TEST_RADIOLOGIST = { username: 'rad1', displayName: 'Dr Rad', role: 'radiologist', password: 'rad-password-00042' } as const;

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
  const signIn = async (username: string, password: string, emit?: (e: EventEnvelope) => void): Promise<Connection> => {
    const conn = createConnection('host', emit);
    await ok(conn, 'auth.login', { username, password });
    return conn;
  };
  return {
    call,
    ok,
    signIn,
    async adminAndRadiologist(emitToRadiologist) {
      const admin = createConnection('host');
      await ok(admin, 'auth.createFirstAdmin', TEST_ADMIN);
      await ok(admin, 'users.create', TEST_RADIOLOGIST);
      return { admin, rad: await signIn(TEST_RADIOLOGIST.username, TEST_RADIOLOGIST.password, emitToRadiologist) };
    },
  };
}
