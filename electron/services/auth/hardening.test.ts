// The attacks of the security review (issue 12) against sign-in, on a real encrypted store:
// parallel guesses against the lockout, a replayed TOTP code raced with itself, reset-code
// guessing, lock messages that would tell which usernames exist, session lifetimes, and the
// identity check that signs reports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../store';
import { createAuditLog, type AuditLog } from '../audit';
import { createSettingsService, type SettingsService } from '../settings';
import { createAuthService, type AuthService } from './auth-service';
import { totpCode } from './totp';

let dir: string;
let store: Store;
let audit: AuditLog;
let settings: SettingsService;
let auth: AuthService;
let clock = Date.parse('2026-03-01T08:00:00Z');
const cli = { id: null, name: 'cli:test' };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-auth-hard-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: 'hardening test passphrase' });
  audit = createAuditLog(() => store.db());
  settings = createSettingsService(() => store.db());
  auth = createAuthService({ db: () => store.db(), audit, settings, now: () => clock });
  await auth.createFirstAdmin({ username: 'root', displayName: 'Root', password: 'Admin-password-1' }, 'cli');
  settings.update({ lockoutAttempts: 5, lockoutMinutes: 15 }, 'test');
});
afterAll(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  clock += 24 * 3_600_000; // a day later: every lockout and session of an earlier test is over
});

const errorOf = async (p: Promise<unknown>): Promise<{ code?: string; message: string; details?: Record<string, unknown> }> => {
  try {
    await p;
  } catch (e) {
    return e as { code?: string; message: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a refusal');
};

async function account(username: string, password: string, role: 'radiologist' | 'researcher' = 'radiologist'): Promise<string> {
  return (await auth.createUser(cli, { username, displayName: username, role, password })).user.id;
}

describe('sign-in under attack', () => {
  it('lockout holds against 30 parallel wrong guesses: the right password is refused after them', async () => {
    await account('parallel', 'Gold-fish-pw-001');
    const guesses = Array.from({ length: 30 }, (_, i) => auth.login({ username: 'parallel', password: `wrong-guess-${i}` }, 'host'));
    const outcomes = await Promise.allSettled(guesses);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    await expect(auth.login({ username: 'parallel', password: 'Gold-fish-pw-001' }, 'host')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', details: { locked: true } });
    const lockouts = store.db().prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'auth.lockout' AND object_id = (SELECT id FROM users WHERE username = 'parallel')`).get() as { n: number };
    expect(lockouts.n).toBeGreaterThanOrEqual(1);
  });

  it('the right password raced with wrong guesses never signs in once the lock is reached', async () => {
    await account('racer', 'Blue-sky-pw-0001');
    // Four wrong guesses and then the right one, all sent at once; then more wrong ones.
    const wrong = Array.from({ length: 5 }, (_, i) => auth.login({ username: 'racer', password: `nope-${i}` }, 'host'));
    const right = auth.login({ username: 'racer', password: 'Blue-sky-pw-0001' }, 'host');
    await Promise.allSettled([...wrong, right]);
    // Five failures were checked before the right one (one sign-in in flight per account), so it is refused.
    await expect(right).rejects.toMatchObject({ details: { locked: true } });
  });

  it('a TOTP code sent twice at once signs in only once', async () => {
    const id = await account('totprace', 'Green-leaf-pw-01');
    const session = auth.resolve(((await auth.login({ username: 'totprace', password: 'Green-leaf-pw-01' }, 'host')) as { token: string }).token)!;
    const { secret } = await auth.totpBegin(session);
    auth.totpConfirm(session, totpCode(secret, clock));
    clock += 90_000;
    const code = totpCode(secret, clock);
    const both = await Promise.allSettled([1, 2].map(() => auth.login({ username: 'totprace', password: 'Green-leaf-pw-01', totpCode: code }, 'host')));
    expect(both.filter((o) => o.status === 'fulfilled').length).toBe(1);
    expect(((both.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason as Error).message).toMatch(/already used/);
    expect(store.db().prepare(`SELECT count(*) AS n FROM audit_log WHERE object_id = ? AND action = 'auth.login' AND outcome = 'success' AND detail LIKE '%"totp":true%'`).get(id)).toEqual({ n: 1 });
  });

  it('lock messages do not tell which usernames exist', async () => {
    await account('existing', 'Quiet-moon-pw-01');
    const lockedId = await account('adminlocked', 'Red-stone-pw-001');
    auth.lockUser(cli, lockedId);
    // First wrong guess: the same answer for an account, an admin-locked account and a name nobody has.
    const first = await Promise.all(['existing', 'adminlocked', 'nobody-here'].map((u) => errorOf(auth.login({ username: u, password: 'a-wrong-guess' }, 'host'))));
    expect(new Set(first.map((e) => e.message)).size).toBe(1);
    expect(first.every((e) => e.details?.locked === undefined)).toBe(true);
    // After as many guesses as lock an account, an unknown name answers like a locked account.
    for (let i = 0; i < 5; i++) {
      await errorOf(auth.login({ username: 'existing', password: `wrong-${i}` }, 'host'));
      await errorOf(auth.login({ username: 'nobody-here', password: `wrong-${i}` }, 'host'));
    }
    const [real, ghost] = await Promise.all(['existing', 'nobody-here'].map((u) => errorOf(auth.login({ username: u, password: 'yet-another-guess' }, 'host'))));
    expect(real!.details).toMatchObject({ locked: true });
    expect(ghost!.message).toBe(real!.message);
    expect(ghost!.details).toEqual(real!.details);
  });

  it('wrong reset codes are counted: after as many as lock an account, even the right code is refused', async () => {
    const { user, resetCode } = await auth.createUser(cli, { username: 'resetguess', displayName: 'R', role: 'researcher' });
    for (let i = 0; i < 8; i++) {
      await expect(auth.redeemResetCode({ username: 'resetguess', code: `AAAAA-AAAA${i}`, newPassword: 'Guessed-pw-0001' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    await expect(auth.redeemResetCode({ username: 'resetguess', code: resetCode!.code, newPassword: 'Guessed-pw-0001' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(auth.getUser(user.id).hasPassword).toBe(false);
    // A new code from an admin works.
    const fresh = auth.issueResetCode(cli, user.id);
    await auth.redeemResetCode({ username: 'resetguess', code: fresh.code, newPassword: 'Guessed-pw-0001' });
    expect(auth.getUser(user.id).hasPassword).toBe(true);
  });
});

describe('sessions', () => {
  it('a session has an absolute lifetime, however busy it is', async () => {
    settings.update({ sessionIdleMinutes: 30 }, 'test');
    await account('busy', 'Long-river-pw-01');
    const { token } = (await auth.login({ username: 'busy', password: 'Long-river-pw-01' }, 'host')) as { token: string };
    // A call every 20 minutes for 13 hours: the idle limit never fires, the absolute one (12 h) does.
    let alive = 0;
    for (let m = 20; m <= 13 * 60; m += 20) {
      clock += 20 * 60_000;
      if (auth.resolve(token)) alive = m;
      else break;
    }
    expect(alive).toBeGreaterThan(11 * 60);
    expect(alive).toBeLessThan(13 * 60);
    settings.update({ sessionIdleMinutes: 15 }, 'test');
  });

  it('changing a password ends the account\'s other sessions and keeps this one', async () => {
    await account('changer', 'Old-bridge-pw-01');
    const a = ((await auth.login({ username: 'changer', password: 'Old-bridge-pw-01' }, 'host')) as { token: string }).token;
    const b = ((await auth.login({ username: 'changer', password: 'Old-bridge-pw-01' }, 'electron')) as { token: string }).token;
    await auth.changePassword(auth.resolve(a)!, 'Old-bridge-pw-01', 'New-bridge-pw-02', a);
    expect(auth.resolve(a)).not.toBeNull();
    expect(auth.resolve(b)).toBeNull();
  });
});

describe('auth.confirmIdentity (the signature of a report)', () => {
  it('confirms the password; wrong ones count toward the sign-in lockout', async () => {
    const id = await account('signer', 'Signing-key-pw-1');
    const session = auth.resolve(((await auth.login({ username: 'signer', password: 'Signing-key-pw-1' }, 'host')) as { token: string }).token)!;
    await expect(auth.confirmIdentity(session, { password: 'Signing-key-pw-1' })).resolves.toMatchObject({ userId: id, username: 'signer', displayName: 'signer', role: 'radiologist', method: 'password' });
    for (let i = 0; i < 4; i++) await expect(auth.confirmIdentity(session, { password: `bad-${i}` })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'bad-password' } });
    // The fifth wrong one is a sign-in failure like the others: the account locks.
    await expect(auth.login({ username: 'signer', password: 'still-wrong' }, 'host')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(auth.confirmIdentity(session, { password: 'Signing-key-pw-1' })).rejects.toMatchObject({ details: { locked: true } });
    await expect(auth.login({ username: 'signer', password: 'Signing-key-pw-1' }, 'host')).rejects.toMatchObject({ details: { locked: true } });
    const rows = store.db().prepare(`SELECT action || ':' || outcome AS a FROM audit_log WHERE object_id = ? AND action = 'auth.confirmIdentity' ORDER BY id`).all(id) as { a: string }[];
    expect(rows.map((r) => r.a)).toEqual(['auth.confirmIdentity:success', ...Array(4).fill('auth.confirmIdentity:failure'), 'auth.confirmIdentity:refused']);
  });

  it('asks for the TOTP code when enrolled, and a code confirms once', async () => {
    await account('signer2', 'Signing-key-pw-2');
    const session = auth.resolve(((await auth.login({ username: 'signer2', password: 'Signing-key-pw-2' }, 'host')) as { token: string }).token)!;
    const { secret } = await auth.totpBegin(session);
    auth.totpConfirm(session, totpCode(secret, clock));
    clock += 90_000;
    await expect(auth.confirmIdentity(session, { password: 'Signing-key-pw-2' })).rejects.toMatchObject({ details: { totpRequired: true, reason: 'totp-required' } });
    const code = totpCode(secret, clock);
    await expect(auth.confirmIdentity(session, { password: 'Signing-key-pw-2', totpCode: code })).resolves.toMatchObject({ method: 'password+totp' });
    await expect(auth.confirmIdentity(session, { password: 'Signing-key-pw-2', totpCode: code })).rejects.toMatchObject({ details: { reason: 'bad-totp' } });
  });
});
