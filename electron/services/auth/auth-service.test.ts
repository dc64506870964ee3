// Accounts on a real encrypted store with a movable clock: first admin once, lockout and unlock,
// reset codes that expire and work once, TOTP (RFC 6238 vector and enrolment), idle sessions,
// password rules, patient links and the audit rows all of this writes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as OTPAuth from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../store';
import { createAuditLog, type AuditLog } from '../audit';
import { createSettingsService, type SettingsService } from '../settings';
import { createAuthService, type AuthService } from './auth-service';
import { totpCode, totpStep } from './totp';
import { verifyPassword } from './passwords';

const ADMIN_PW = 'Admin-password-1';
let dir: string;
let store: Store;
let audit: AuditLog;
let settings: SettingsService;
let auth: AuthService;
let clock = Date.parse('2026-01-01T12:00:00Z');
const cli = { id: null, name: 'cli:test' };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-auth-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: 'auth test passphrase' });
  audit = createAuditLog(() => store.db());
  settings = createSettingsService(() => store.db());
  auth = createAuthService({ db: () => store.db(), audit, settings, now: () => clock });
});
afterAll(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  clock += 3_600_000; // every test starts an hour later: no leftovers from earlier lockouts
});

const actions = (objectId: string): string[] => (store.db().prepare("SELECT action || ':' || outcome AS a FROM audit_log WHERE object_id = ? ORDER BY id").all(objectId) as { a: string }[]).map((r) => r.a);

describe('auth service', () => {
  it('creates the first admin only once, and no account exists before', async () => {
    expect(auth.adminExists()).toBe(false);
    expect(auth.listUsers()).toEqual([]);
    await expect(auth.createFirstAdmin({ username: 'root', displayName: 'R', password: 'short' }, 'cli')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const { user, token } = await auth.createFirstAdmin({ username: 'root', displayName: 'Root Admin', password: ADMIN_PW }, 'cli');
    expect(user.role).toBe('admin');
    expect(auth.resolve(token)).toMatchObject({ username: 'root', role: 'admin', patientId: null });
    await expect(auth.createFirstAdmin({ username: 'second', displayName: 'S', password: ADMIN_PW }, 'cli')).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(actions(user.id)).toEqual(['auth.createFirstAdmin:success', 'auth.login:success']);
    // Only the hash is stored: argon2id with the stated parameters.
    const row = store.db().prepare('SELECT password_hash FROM users WHERE id = ?').get(user.id) as { password_hash: string };
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=1\$/);
    expect(await verifyPassword(row.password_hash, ADMIN_PW)).toBe(true);
  });

  it('logs in and out; the session token is stored only as its sha256', async () => {
    const r = await auth.login({ username: 'ROOT', password: ADMIN_PW }, 'host');
    expect(r.status).toBe('ok');
    const token = (r as { token: string }).token;
    expect(Buffer.from(token, 'base64url').length).toBe(32);
    const stored = store.db().prepare('SELECT token_hash FROM sessions').all() as { token_hash: string }[];
    expect(stored.some((s) => s.token_hash === token)).toBe(false);
    expect(auth.resolve(token)?.username).toBe('root');
    auth.logout(token);
    expect(auth.resolve(token)).toBeNull();
  });

  it('ends a session after the idle minutes the admin set, and keeps a busy one alive', async () => {
    settings.update({ sessionIdleMinutes: 10 }, 'test');
    const { token } = (await auth.login({ username: 'root', password: ADMIN_PW }, 'host')) as { token: string };
    clock += 9 * 60_000;
    expect(auth.resolve(token)).not.toBeNull(); // touched: the idle clock restarts
    clock += 9 * 60_000;
    expect(auth.resolve(token)).not.toBeNull();
    clock += 11 * 60_000;
    expect(auth.resolve(token)).toBeNull();
    settings.update({ sessionIdleMinutes: 15 }, 'test');
  });

  it('locks an account after N failed sign-ins for M minutes; an admin can unlock it sooner', async () => {
    settings.update({ lockoutAttempts: 3, lockoutMinutes: 20 }, 'test');
    const { user } = await auth.createUser(cli, { username: 'rad1', displayName: 'Dr One', role: 'radiologist', password: 'Radiologist-pw-1' });
    for (let i = 0; i < 3; i++) await expect(auth.login({ username: 'rad1', password: 'wrong password!' }, 'host')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    // Now even the right password is refused, with a message that says what to do.
    await expect(auth.login({ username: 'rad1', password: 'Radiologist-pw-1' }, 'host')).rejects.toMatchObject({ message: expect.stringMatching(/locked for now, after too many failed sign-ins/), details: { locked: true } });
    expect(auth.getUser(user.id).lockedUntil).not.toBeNull();
    clock += 21 * 60_000;
    expect((await auth.login({ username: 'rad1', password: 'Radiologist-pw-1' }, 'host')).status).toBe('ok');
    for (let i = 0; i < 3; i++) await expect(auth.login({ username: 'rad1', password: 'wrong password!' }, 'host')).rejects.toThrow();
    await expect(auth.login({ username: 'rad1', password: 'Radiologist-pw-1' }, 'host')).rejects.toThrow(/locked/);
    auth.unlockUser(cli, user.id);
    expect((await auth.login({ username: 'rad1', password: 'Radiologist-pw-1' }, 'host')).status).toBe('ok');
    const a = actions(user.id);
    expect(a.filter((x) => x === 'auth.login:failure').length).toBe(6);
    expect(a).toContain('auth.lockout:success');
    expect(a).toContain('auth.login:refused');
    expect(a).toContain('users.unlock:success');
  });

  it('admin lock refuses sign-in and ends sessions; unlock restores it', async () => {
    const { user } = await auth.createUser(cli, { username: 'res1', displayName: 'Researcher', role: 'researcher', password: 'Researcher-pw-1' });
    const { token } = (await auth.login({ username: 'res1', password: 'Researcher-pw-1' }, 'host')) as { token: string };
    auth.lockUser(cli, user.id);
    expect(auth.resolve(token)).toBeNull();
    await expect(auth.login({ username: 'res1', password: 'Researcher-pw-1' }, 'host')).rejects.toMatchObject({ details: { locked: true } });
    auth.unlockUser(cli, user.id);
    expect((await auth.login({ username: 'res1', password: 'Researcher-pw-1' }, 'host')).status).toBe('ok');
  });

  it('reset codes work once, expire, and a newer code replaces an older one', async () => {
    settings.update({ resetCodeMinutes: 30 }, 'test');
    const { user, resetCode } = await auth.createUser(cli, { username: 'newbie', displayName: 'New', role: 'researcher' });
    expect(resetCode).not.toBeNull();
    expect(user.hasPassword).toBe(false);
    // The code is stored only as a hash.
    expect(JSON.stringify(store.db().prepare('SELECT * FROM reset_codes').all())).not.toContain(resetCode!.code);
    await auth.redeemResetCode({ username: 'newbie', code: resetCode!.code.toLowerCase(), newPassword: 'Fresh-password-1' });
    expect((await auth.login({ username: 'newbie', password: 'Fresh-password-1' }, 'host')).status).toBe('ok');
    await expect(auth.redeemResetCode({ username: 'newbie', code: resetCode!.code, newPassword: 'Another-password-2' })).rejects.toThrow(/mistyped, expired or already used/);

    const late = auth.issueResetCode(cli, user.id);
    clock += 31 * 60_000;
    await expect(auth.redeemResetCode({ username: 'newbie', code: late.code, newPassword: 'Another-password-2' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    const older = auth.issueResetCode(cli, user.id);
    const newer = auth.issueResetCode(cli, user.id);
    await expect(auth.redeemResetCode({ username: 'newbie', code: older.code, newPassword: 'Another-password-2' })).rejects.toThrow();
    await expect(auth.redeemResetCode({ username: 'newbie', code: newer.code, newPassword: 'x' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await auth.redeemResetCode({ username: 'newbie', code: newer.code, newPassword: 'Another-password-2' });
    expect((await auth.login({ username: 'newbie', password: 'Another-password-2' }, 'host')).status).toBe('ok');
    const a = actions(user.id);
    expect(a.filter((x) => x === 'users.issueResetCode:success').length).toBe(4);
    expect(a.filter((x) => x === 'auth.redeemResetCode:success').length).toBe(2);
    expect(a).toContain('auth.redeemResetCode:failure');
  });

  it('TOTP matches the RFC 6238 test vector (SHA-1, T=59 s)', () => {
    const secret = OTPAuth.Secret.fromUTF8('12345678901234567890').base32;
    // RFC 6238 Appendix B: 94287082 for T=59 with 8 digits; the last 6 digits are the 6-digit code.
    expect(totpCode(secret, 59_000)).toBe('287082');
    expect(totpCode(secret, 1_111_111_109_000)).toBe('081804');
    expect(totpStep(secret, '287082', 59_000)).toBe(1);
    expect(totpStep(secret, '287082', 59_000 + 30_000)).toBe(1); // one step of drift is accepted
    expect(totpStep(secret, '287082', 59_000 + 90_000)).toBeNull();
  });

  it('enrols TOTP with a QR code, then demands the code at sign-in and refuses a replayed one', async () => {
    const { user } = await auth.createUser(cli, { username: 'totpuser', displayName: 'T', role: 'radiologist', password: 'Totp-user-pw-1' });
    const session = auth.resolve(((await auth.login({ username: 'totpuser', password: 'Totp-user-pw-1' }, 'host')) as { token: string }).token)!;
    const begin = await auth.totpBegin(session);
    expect(begin.uri).toMatch(/^otpauth:\/\/totp\/TumorPredict%20Workstation:totpuser\?.*secret=/);
    expect(begin.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(() => auth.totpConfirm(session, '000000' === totpCode(begin.secret, clock) ? '111111' : '000000')).toThrow(/does not match/);
    auth.totpConfirm(session, totpCode(begin.secret, clock));
    expect(auth.getUser(user.id).totpEnabled).toBe(true);

    clock += 60_000;
    expect(await auth.login({ username: 'totpuser', password: 'Totp-user-pw-1' }, 'host')).toEqual({ status: 'totp-required' });
    const code = totpCode(begin.secret, clock);
    expect((await auth.login({ username: 'totpuser', password: 'Totp-user-pw-1', totpCode: code }, 'host')).status).toBe('ok');
    await expect(auth.login({ username: 'totpuser', password: 'Totp-user-pw-1', totpCode: code }, 'host')).rejects.toThrow(/already used/);
    await expect(auth.totpDisable(session, 'wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await auth.totpDisable(session, 'Totp-user-pw-1');
    expect((await auth.login({ username: 'totpuser', password: 'Totp-user-pw-1' }, 'host')).status).toBe('ok');
  });

  it('applies the password rules an admin set', async () => {
    settings.update({ passwordMinLength: 14, passwordRequireDigit: true, passwordRequireSymbol: true }, 'test');
    await expect(auth.createUser(cli, { username: 'weak', displayName: 'W', role: 'researcher', password: 'abcdefghijklmnop' })).rejects.toThrow(/it needs a digit and a symbol\.$/);
    await expect(auth.createUser(cli, { username: 'weak', displayName: 'W', role: 'researcher', password: 'weak-1234567890' })).rejects.toThrow(/^The new password does not meet the rules: it must not contain the username\.$/);
    await expect(auth.createUser(cli, { username: 'strong', displayName: 'S', role: 'researcher', password: 'abcdefghijk-12' })).resolves.toBeTruthy();
    settings.update({ passwordMinLength: 12, passwordRequireDigit: false, passwordRequireSymbol: false }, 'test');
  });

  it('links a patient account to exactly one patient record, and only patient accounts', async () => {
    store.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('pat-1', 'P', 'now')`).run();
    await expect(auth.createUser(cli, { username: 'pat', displayName: 'P', role: 'patient', password: 'Consult-pw-123' })).rejects.toThrow(/must be linked/);
    await expect(auth.createUser(cli, { username: 'pat', displayName: 'P', role: 'patient', patientId: 'nope', password: 'Consult-pw-123' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(auth.createUser(cli, { username: 'rad9', displayName: 'R', role: 'radiologist', patientId: 'pat-1', password: 'Consult-pw-123' })).rejects.toThrow(/Only a patient account/);
    const { user } = await auth.createUser(cli, { username: 'pat', displayName: 'P', role: 'patient', patientId: 'pat-1', password: 'Consult-pw-123' });
    const { token } = (await auth.login({ username: 'pat', password: 'Consult-pw-123' }, 'host')) as { token: string };
    expect(auth.resolve(token)).toEqual({ userId: user.id, username: 'pat', role: 'patient', patientId: 'pat-1' });
  });

  it('a role change ends the sessions opened under the old role and is audited', async () => {
    const { user } = await auth.createUser(cli, { username: 'mover', displayName: 'M', role: 'researcher', password: 'Shifting-pw-01' });
    const { token } = (await auth.login({ username: 'mover', password: 'Shifting-pw-01' }, 'host')) as { token: string };
    auth.updateUser(cli, user.id, { role: 'radiologist' });
    expect(auth.resolve(token)).toBeNull();
    expect(actions(user.id)).toContain('users.setRole:success');
    expect(store.db().prepare(`SELECT detail FROM audit_log WHERE action = 'users.setRole' AND object_id = ?`).get(user.id)).toEqual({ detail: '{"from":"researcher","to":"radiologist"}' });
  });

  it('never leaves the workstation without an unlocked admin', () => {
    const root = auth.findUserByUsername('root')!;
    expect(() => auth.lockUser(cli, root.id)).toThrow(/last unlocked admin/);
    expect(() => auth.updateUser(cli, root.id, { role: 'researcher' })).toThrow(/last admin/);
  });

  it('unknown users fail like wrong passwords, and the chain stays intact', async () => {
    await expect(auth.login({ username: 'nobody', password: 'whatever-123' }, 'host')).rejects.toThrow(/username or password is not right/);
    expect(audit.verify().ok).toBe(true);
  });
});
