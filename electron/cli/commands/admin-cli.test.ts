// The admin command line as IT scripts it, on a real encrypted data folder: user add (password
// on stdin, or a one-time code), list, set-role, lock/unlock, reset-code, audit verify/export
// and db backup/restore. Every change is an audit row naming cli:<os user>.
// Each start of the bin costs seconds on a loaded machine (see electron/testing/cli.ts): a test's
// timeout is a budget per start, and refusals that never open the database run side by side.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliTimeout, runBin, type BinResult } from '../../testing/cli';

let dir: string;
const env = { ...process.env, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: 'cli test passphrase' };

function tp(args: string[], input?: string): Promise<BinResult> {
  return runBin([...args, '--data', dir], { env, input });
}
const users = async (): Promise<{ username: string; role: string; adminLocked: boolean; hasPassword: boolean }[]> => JSON.parse((await tp(['user', 'list', '--json'])).out);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('tumorpredict user / audit / db', () => {
  it('adds users with a password from stdin or a one-time code, and lists them', async () => {
    const a = await tp(['user', 'add', 'itadmin', '--role', 'admin', '--name', 'IT Admin', '--password-stdin'], 'Cli-admin-pass-1\n');
    expect(a.err).toBe('');
    expect(a.status).toBe(0);
    const r = await tp(['user', 'add', 'rad1', '--role', 'radiologist']);
    expect(r.out).toMatch(/One-time code for rad1 to set a password: [A-Z0-9]{5}-[A-Z0-9]{5}/);
    expect(await users()).toMatchObject([
      { username: 'itadmin', role: 'admin', hasPassword: true },
      { username: 'rad1', role: 'radiologist', hasPassword: false },
    ]);
    // Three refusals; only the weak password reaches the database, so they run at once.
    const [bad, wizard, argvPassword] = await Promise.all([
      tp(['user', 'add', 'weak', '--role', 'researcher', '--password-stdin'], 'short\n'),
      tp(['user', 'add', 'x1', '--role', 'wizard']),
      // There is no argv flag that takes a password.
      tp(['user', 'add', 'x2', '--role', 'admin', '--password', 'Secret-in-argv-1']),
    ]);
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/does not meet the rules/);
    expect(wizard.err).toMatch(/Unknown role "wizard"/);
    expect(argvPassword.status).not.toBe(0);
    expect((await users()).map((u) => u.username)).toEqual(['itadmin', 'rad1']);
  }, cliTimeout(5));

  it('changes roles, locks, unlocks and issues reset codes', async () => {
    expect((await tp(['user', 'set-role', 'rad1', 'researcher'])).out).toMatch(/rad1 is now researcher/);
    expect((await tp(['user', 'lock', 'rad1'])).status).toBe(0);
    expect((await users()).find((u) => u.username === 'rad1')?.adminLocked).toBe(true);
    expect((await tp(['user', 'unlock', 'rad1'])).status).toBe(0);
    expect((await users()).find((u) => u.username === 'rad1')?.adminLocked).toBe(false);
    const code = JSON.parse((await tp(['user', 'reset-code', 'rad1', '--json'])).out) as { code: string; expiresAt: string };
    expect(code.code).toMatch(/^[A-Z0-9]{5}-[A-Z0-9]{5}$/);
    expect(Date.parse(code.expiresAt)).toBeGreaterThan(Date.now());
    expect((await tp(['user', 'lock', 'nobody'])).err).toMatch(/no user named "nobody"/);
  }, cliTimeout(7));

  it('verifies and exports the audit log, with cli:<os user> as the actor', async () => {
    const v = await tp(['audit', 'verify']);
    expect(v.out).toMatch(/Audit log intact/);
    expect(v.status).toBe(0);
    const csvFile = path.join(dir, '..', `${path.basename(dir)}-audit.csv`);
    expect((await tp(['audit', 'export', '--out', csvFile, '--action', 'users'])).status).toBe(0);
    const csv = fs.readFileSync(csvFile, 'utf8');
    fs.rmSync(csvFile);
    const me = os.userInfo().username;
    expect(csv).toContain(`"cli:${me}"`);
    for (const action of ['users.create', 'users.setRole', 'users.lock', 'users.unlock', 'users.issueResetCode']) expect(csv).toContain(`"${action}"`);
  }, cliTimeout(2));

  it('backs up while running and restores the same rows', async () => {
    const file = path.join(dir, 'backup-1.db');
    const b = await tp(['db', 'backup', file]);
    expect(b.out).toMatch(/Backup written and verified/);
    expect(fs.readFileSync(file).subarray(0, 15).toString('latin1')).not.toBe('SQLite format 3');
    expect((await tp(['db', 'backup', file])).err).toMatch(/already exists/);
    await tp(['user', 'add', 'after-backup', '--role', 'researcher']);
    expect((await users()).map((u) => u.username)).toContain('after-backup');
    const r = await tp(['db', 'restore', file]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/Restored/);
    expect((await users()).map((u) => u.username)).toEqual(['itadmin', 'rad1']);
    expect((await tp(['audit', 'verify'])).status).toBe(0);
    expect((await tp(['db', 'restore', path.join(dir, 'missing.db')])).err).toMatch(/does not exist/);
  }, cliTimeout(8));
});
