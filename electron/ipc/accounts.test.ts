// The accounts API through the real composition root and handler table: every channel x every
// role matches the permission matrix (generated from it, so a new channel without a rule
// fails), refusals are audited, and after a session of use no marker string planted in
// passwords, names, tokens or codes appears anywhere in the data folder or its logs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_NAMES, CHANNELS, PERMISSIONS, ROLES, type Role } from '../contract';
import { resolveConfig } from '../services/config';
import { totpCode } from '../services/auth';
import { createWorkstation, type Workstation } from './compose';
import { createConnection, type Connection } from './handler-table';
import { channelCaller } from './test-calls';

const MARKER = 'ZQXMARKER7731';
let dir: string;
let ws: Workstation;
const conns = {} as Record<Role, Connection>;
const secrets: string[] = [];

const { call } = channelCaller(() => ws);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-accounts-'));
  ws = await createWorkstation(resolveConfig({ transport: 'host', dataFolder: dir, keySource: 'passphrase', passphrase: `db-pass-${MARKER}` }));
  const admin = createConnection('host');
  const setup = await call(admin, 'auth.createFirstAdmin', { username: 'admin1', displayName: `Admin ${MARKER}`, password: `pw-admin-${MARKER}` });
  expect(setup).toMatchObject({ ok: true });
  expect(admin.sessionToken).toBeTruthy();
  secrets.push(admin.sessionToken!);
  conns.admin = admin;
  ws.services.store.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('pat-1', ?, 'now')`).run(`Patient ${MARKER}`);
  for (const role of ROLES.filter((r) => r !== 'admin')) {
    const created = await call(admin, 'users.create', { username: `${role}1`, displayName: `${role} ${MARKER}`, role, password: `pw-${role}-${MARKER}`, ...(role === 'patient' ? { patientId: 'pat-1' } : {}) });
    expect(created, role).toMatchObject({ ok: true });
    const c = createConnection('host');
    expect(await call(c, 'auth.login', { username: `${role}1`, password: `pw-${role}-${MARKER}` })).toMatchObject({ ok: true });
    secrets.push(c.sessionToken!);
    conns[role] = c;
  }
});
afterAll(async () => {
  await ws?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('permission matrix, every channel x every role', () => {
  it('has a rule for every channel', () => {
    for (const name of Object.keys(CHANNELS)) expect(PERMISSIONS, name).toHaveProperty(name);
  });

  // A payload no request schema accepts: an allowed call gets past the role check and fails
  // validation (INVALID_INPUT), a refused one stops at the check, so nothing runs either way.
  const NOT_A_REQUEST = 12345;
  for (const channel of CHANNEL_NAMES) {
    const access = PERMISSIONS[channel];
    it(`${channel}: ${access === 'public' ? 'public' : access.join(', ')}`, async () => {
      const anon = await call(createConnection('host'), channel, NOT_A_REQUEST);
      expect(anon.code, 'anonymous').toBe(access === 'public' ? 'INVALID_INPUT' : 'UNAUTHENTICATED');
      for (const role of ROLES) {
        const r = await call(conns[role], channel, NOT_A_REQUEST);
        const allowed = access === 'public' || access.includes(role);
        expect(r.code, `${role} on ${channel}`).toBe(allowed ? 'INVALID_INPUT' : 'FORBIDDEN');
      }
    });
  }

  it('audits refusals by the table', () => {
    const rows = ws.services.store.db().prepare(`SELECT actor, outcome, detail FROM audit_log WHERE action = 'users.list' AND outcome = 'refused'`).all() as { actor: string; detail: string }[];
    expect(rows.map((r) => r.actor).sort()).toEqual(['anonymous', 'patient1', 'radiologist1', 'researcher1']);
  });
});

describe('a session of use', () => {
  it('runs the admin flows through the API', async () => {
    const admin = conns.admin;
    const list = (await call(admin, 'users.list', {})).result as { users: { id: string; username: string }[] };
    const rad = list.users.find((u) => u.username === 'radiologist1')!;
    const code = (await call(admin, 'users.issueResetCode', { id: rad.id })).result as { code: string };
    secrets.push(code.code);
    expect(await call(createConnection('host'), 'auth.redeemResetCode', { username: 'radiologist1', code: code.code, newPassword: `new-pw-${MARKER}` })).toMatchObject({ ok: true });
    // Redeeming ended the old session.
    expect((await call(conns.radiologist, 'auth.me', {})).code).toBe('UNAUTHENTICATED');
    const c = createConnection('host');
    await call(c, 'auth.login', { username: 'radiologist1', password: `new-pw-${MARKER}` });
    const totp = (await call(c, 'auth.totpBegin', {})).result as { secret: string };
    secrets.push(totp.secret);
    expect(await call(c, 'auth.totpConfirm', { code: totpCode(totp.secret, Date.now()) })).toMatchObject({ ok: true });
    expect((await call(c, 'auth.me', {})).result).toMatchObject({ user: { username: 'radiologist1', totpEnabled: true } });
    // Failed sign-ins with the marker as username and as password.
    expect((await call(createConnection('host'), 'auth.login', { username: `user${MARKER}`, password: `pw-${MARKER}` })).code).toBe('UNAUTHENTICATED');
    expect((await call(createConnection('host'), 'auth.login', { username: 'admin1', password: `wrong-${MARKER}` })).code).toBe('UNAUTHENTICATED');
    expect((await call(admin, 'users.forceLogout', { id: rad.id })).result).toEqual({ sessionsEnded: 1 });
    expect((await call(c, 'auth.me', {})).code).toBe('UNAUTHENTICATED');
    expect((await call(admin, 'settings.update', { lockoutAttempts: 4 })).result).toMatchObject({ lockoutAttempts: 4 });
    const verify = (await call(admin, 'audit.verify', {})).result as { ok: boolean; checked: number };
    expect(verify.ok).toBe(true);
    const csv = (await call(admin, 'audit.exportCsv', { action: 'auth.login' })).result as { csv: string; rows: number };
    expect(csv.rows).toBeGreaterThan(4);
    const page = (await call(admin, 'audit.list', { outcome: 'failure', limit: 5 })).result as { rows: unknown[]; total: number };
    expect(page.total).toBeGreaterThanOrEqual(2);
    expect(await call(admin, 'auth.logout', {})).toMatchObject({ ok: true });
    expect((await call(admin, 'users.list', {})).code).toBe('UNAUTHENTICATED');
    secrets.push(ws.services.store.key().toString('hex'));
  });

  it('leaves no marker, password, token, code, TOTP secret or key in the data folder or logs', async () => {
    await ws.close();
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dir);
    expect(files.some((f) => f.endsWith('workstation.log'))).toBe(true);
    expect(files.some((f) => f.endsWith('workstation.db'))).toBe(true);
    const needles = [MARKER, ...secrets];
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const n of needles) {
        expect(bytes.includes(n), `${path.relative(dir, f)} holds ${n === MARKER ? 'the marker' : 'a secret'}`).toBe(false);
        expect(bytes.includes(Buffer.from(n, 'utf16le')), `${path.relative(dir, f)} (utf16)`).toBe(false);
      }
    }
  });
});

describe('passphrase mode through the API (no keychain, no passphrase given at start)', () => {
  it('first-run setup chooses the passphrase; later starts wait locked until it is entered', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-passphrase-'));
    const config = resolveConfig({ transport: 'host', dataFolder: d, keySource: 'passphrase', passphrase: null });
    try {
      let w = await createWorkstation(config);
      const c = createConnection('host');
      const call2 = async (conn: Connection, channel: string, payload: unknown) => w.table.dispatch(conn, { id: 1, channel, payload });
      expect(w.services.system.health()).toMatchObject({ status: 'degraded', setupRequired: true, databaseUnlocked: false });
      expect(await call2(c, 'auth.setupStatus', {})).toMatchObject({ ok: true, result: { needsPassphrase: 'create', keySource: 'passphrase', adminExists: false } });
      const noPass = await call2(c, 'auth.createFirstAdmin', { username: 'admin1', displayName: 'A', password: 'Admin-password-9' });
      expect(noPass).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
      expect(fs.existsSync(path.join(d, 'workstation.db'))).toBe(false);
      expect(await call2(c, 'auth.createFirstAdmin', { username: 'admin1', displayName: 'A', password: 'Admin-password-9', passphrase: 'the chosen db passphrase' })).toMatchObject({ ok: true });
      expect(w.services.system.info().database).toMatchObject({ unlocked: true, encrypted: true, keySource: 'passphrase' });
      await w.close();

      w = await createWorkstation(config);
      const c2 = createConnection('host');
      expect(w.services.system.health()).toMatchObject({ databaseUnlocked: false, setupRequired: false });
      expect(w.services.system.health().problems.join(' ')).toMatch(/locked: it is in passphrase mode/);
      expect(await call2(c2, 'auth.login', { username: 'admin1', password: 'Admin-password-9' })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(await call2(c2, 'auth.unlockDatabase', { passphrase: 'a wrong passphrase' })).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED' } });
      expect(await call2(c2, 'auth.unlockDatabase', { passphrase: 'the chosen db passphrase' })).toMatchObject({ ok: true });
      expect(await call2(c2, 'auth.login', { username: 'admin1', password: 'Admin-password-9' })).toMatchObject({ ok: true, result: { totpRequired: false } });
      expect(await call2(c2, 'auth.createFirstAdmin', { username: 'admin2', displayName: 'B', password: 'Admin-password-9' })).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
      await w.close();
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
