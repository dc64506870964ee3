import { describe, expect, it } from 'vitest';
import { CHANNEL_NAMES, MAX_REQUEST_BYTES, PERMISSIONS, ROLES, WorkstationError, type ReplyEnvelope } from '../contract';
import { createLogger } from '../services/log';
import { createConnection, createHandlerTable, type Handlers, type Session } from './handler-table';

// A table over real contract channels with handlers that record calls. Sessions come from a
// fixed map: this tests the table's checks, not the accounts service (which has its own tests).
const sessionsByToken = new Map<string, Session>(
  ROLES.map((role) => [`token-${role}`, { userId: `u-${role}`, username: role, role, patientId: role === 'patient' ? 'p1' : null }]),
);

function makeTable(overrides: Partial<Handlers> = {}) {
  const calls: string[] = [];
  const info = {
    appVersion: '1.0.0', nodeVersion: '20', electronVersion: null, platform: 'linux-x64', transport: 'cli' as const,
    dataFolder: '/tmp/x', runtimes: [], activeRuntime: null, gpu: { found: false, detail: '' }, keychain: { available: false, detail: '' },
    database: { encrypted: true, unlocked: true, keySource: 'keychain' as const, schemaVersion: 1 },
  };
  // Every other channel gets a handler that says it was reached; the table refuses to start
  // without a handler per channel.
  const reached = Object.fromEntries(
    CHANNEL_NAMES.map((name) => [
      name,
      () => {
        calls.push(name);
        throw new WorkstationError('CONFLICT', `reached the handler of ${name}`);
      },
    ]),
  );
  const handlers = {
    ...reached,
    'system.info': () => {
      calls.push('system.info');
      return info;
    },
    'system.health': () => {
      calls.push('system.health');
      return { status: 'ok' as const, version: '1', databaseUnlocked: true, setupRequired: false, problems: [] };
    },
    ...overrides,
  } as Handlers;
  const refused: string[] = [];
  const table = createHandlerTable({
    handlers,
    sessions: { resolve: (t) => sessionsByToken.get(t) ?? null },
    logger: createLogger({ level: 'error' }),
    onRefused: (r) => refused.push(`${r.channel}:${r.code}`),
  });
  return { table, calls, refused };
}

function connAs(role: string | null) {
  const c = createConnection('host');
  c.sessionToken = role ? `token-${role}` : null;
  return c;
}

function expectError(reply: ReplyEnvelope, code: string): void {
  expect(reply.ok).toBe(false);
  if (!reply.ok) {
    expect(reply.error.code).toBe(code);
    expect(reply.error.message.length).toBeGreaterThan(10);
  }
}

describe('handler table', () => {
  it('answers a public channel without a session', async () => {
    const { table } = makeTable();
    const reply = await table.dispatch(connAs(null), { id: 7, channel: 'system.health', payload: {} });
    expect(reply).toMatchObject({ id: 7, ok: true, result: { status: 'ok' } });
  });

  it('refuses an unknown channel with NOT_FOUND and runs nothing', async () => {
    const { table, calls, refused } = makeTable();
    expectError(await table.dispatch(connAs('admin'), { id: 1, channel: 'system.format', payload: {} }), 'NOT_FOUND');
    expect(calls).toEqual([]);
    expect(refused).toEqual(['system.format:NOT_FOUND']);
  });

  it('refuses a call without a session with UNAUTHENTICATED before looking at the payload', async () => {
    const { table, calls } = makeTable();
    expectError(await table.dispatch(connAs(null), { id: 1, channel: 'system.info', payload: { junk: 1 } }), 'UNAUTHENTICATED');
    expect(calls).toEqual([]);
  });

  it('treats an unknown or expired session token as no session', async () => {
    const { table } = makeTable();
    const c = createConnection('host');
    c.sessionToken = 'stale';
    expectError(await table.dispatch(c, { id: 1, channel: 'system.info', payload: {} }), 'UNAUTHENTICATED');
    expect(c.sessionToken).toBeNull();
  });

  it('refuses a role the permission matrix does not allow with FORBIDDEN', async () => {
    const { table, calls } = makeTable();
    expectError(await table.dispatch(connAs('patient'), { id: 1, channel: 'system.info', payload: {} }), 'FORBIDDEN');
    expect(calls).toEqual([]);
  });

  it('refuses a payload that fails its schema with INVALID_INPUT naming the field, not its value', async () => {
    const { table, calls } = makeTable();
    const reply = await table.dispatch(connAs('admin'), { id: 1, channel: 'system.info', payload: { secretValue: 'PLANTED-SECRET' } });
    expectError(reply, 'INVALID_INPUT');
    expect(JSON.stringify(reply)).not.toContain('PLANTED-SECRET');
    expect(calls).toEqual([]);
  });

  it('refuses an oversized payload with INVALID_INPUT', async () => {
    const { table } = makeTable();
    const big = { blob: 'x'.repeat(MAX_REQUEST_BYTES + 10) };
    expectError(await table.dispatch(connAs('admin'), { id: 1, channel: 'system.info', payload: big }), 'INVALID_INPUT');
  });

  it.each([null, 42, 'system.info', [], { channel: 'system.info' }, { id: -1, channel: 'x' }, { id: 1, channel: 5 }])(
    'refuses a malformed envelope %j with INVALID_INPUT',
    async (raw) => {
      const { table } = makeTable();
      expectError(await table.dispatch(connAs('admin'), raw), 'INVALID_INPUT');
    },
  );

  it('turns a crashing handler into INTERNAL with a reference, without leaking the cause', async () => {
    const { table } = makeTable({
      'system.health': () => {
        throw new Error('disk exploded at /secret/path');
      },
    });
    const reply = await table.dispatch(connAs(null), { id: 3, channel: 'system.health', payload: {} });
    expectError(reply, 'INTERNAL');
    expect(JSON.stringify(reply)).not.toContain('/secret/path');
  });

  it('refuses to return a reply that breaks the contract', async () => {
    const { table } = makeTable({ 'system.health': () => ({ status: 'fine' }) as never });
    expectError(await table.dispatch(connAs(null), { id: 3, channel: 'system.health', payload: {} }), 'INTERNAL');
  });

  it('enforces the permission matrix for every channel and every role', async () => {
    // Generated from the matrix: a new channel is covered as soon as it exists.
    const { table } = makeTable();
    for (const channelName of CHANNEL_NAMES) {
      const access = PERMISSIONS[channelName];
      for (const role of [null, ...ROLES]) {
        const reply = await table.dispatch(connAs(role), { id: 1, channel: channelName, payload: { __probe: true } });
        const allowed = access === 'public' || (role !== null && access.includes(role));
        // Allowed callers get past the session and role checks (to the schema check or the handler).
        if (allowed) expect(reply.ok ? 'ok' : reply.error.code, `${channelName} as ${role}`).toMatch(/^(ok|INVALID_INPUT|CONFLICT)$/);
        else expect(reply.ok ? 'ok' : reply.error.code, `${channelName} as ${role}`).toBe(role === null ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      }
    }
  });
});
