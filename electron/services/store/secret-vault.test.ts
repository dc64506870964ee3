// The secret vault: in passphrase mode secrets are kept in the database, encrypted again under a
// key derived from the database key, and no keychain is asked; in keychain mode a keychain error
// names its real cause (a locked collection, tried against a real gnome-keyring in its own D-Bus
// session) in the message and in the log.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkstationError } from '../../contract';
import { appRoot } from '../config';
import { createSecretVault, createStoreSecretVault, type SecretVault } from './secret-vault';
import { createStore, type Store } from './store';
import type { TextKeychain } from './keys';

let dir: string;
let store: Store;
let vault: SecretVault;

/** A keychain that fails the test if it is ever asked (passphrase mode must not need one). */
const noKeychain: TextKeychain = {
  loadError: 'no keychain on this host',
  get: () => Promise.reject(new Error('the keychain was asked in passphrase mode')),
  put: () => Promise.reject(new Error('the keychain was asked in passphrase mode')),
  remove: () => Promise.reject(new Error('the keychain was asked in passphrase mode')),
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-vault-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: 'vault test passphrase' });
  vault = createSecretVault({ dataFolder: dir, mode: () => store.status().keySource, db: () => store.db(), key: () => store.key(), keychain: noKeychain });
}, 60_000);

afterAll(() => {
  store?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('passphrase mode: secrets in the database', () => {
  it('keeps, reads back, replaces and removes a secret without any keychain', async () => {
    expect(vault.holder()).toBe('database');
    expect(vault.statement()).toMatch(/encrypted in the workstation database/);
    expect(await vault.get('dicomweb', 'hospital server password')).toBeNull();
    await vault.set('dicomweb', 'pacs-password-1', 'hospital server password');
    expect(await vault.get('dicomweb', 'hospital server password')).toBe('pacs-password-1');
    await vault.set('dicomweb', 'pacs-password-2', 'hospital server password');
    expect(await vault.get('dicomweb', 'hospital server password')).toBe('pacs-password-2');
    await vault.remove('dicomweb', 'hospital server password');
    expect(await vault.get('dicomweb', 'hospital server password')).toBeNull();
  });

  it('stores only ciphertext, bound to the secret name; a moved or changed row is refused with a sentence', async () => {
    await vault.set('dicomweb', 'pacs-password-3', 'hospital server password');
    await vault.set('site-key', 'site-secret-xyz', 'site key');
    const rows = store.db().prepare('SELECT name, nonce, ciphertext, tag FROM secrets').all() as { name: string; nonce: Buffer; ciphertext: Buffer; tag: Buffer }[];
    expect(rows.map((r) => r.name).sort()).toEqual(['dicomweb', 'site-key']);
    for (const r of rows) expect(r.ciphertext.toString('latin1')).not.toMatch(/pacs-password|site-secret/);
    // The name is the GCM additional data: a row copied under another name does not decrypt.
    const site = rows.find((r) => r.name === 'site-key')!;
    store.db().prepare('UPDATE secrets SET nonce = ?, ciphertext = ?, tag = ? WHERE name = ?').run(site.nonce, site.ciphertext, site.tag, 'dicomweb');
    await expect(vault.get('dicomweb', 'hospital server password')).rejects.toThrow(/cannot be decrypted.*Enter it again/);
    // The other secret is unaffected.
    expect(await vault.get('site-key', 'site key')).toBe('site-secret-xyz');
  });

  it('is out of reach while the database is locked, and back after the passphrase', async () => {
    await vault.set('dicomweb', 'pacs-password-4', 'hospital server password');
    store.close();
    const locked = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: null });
    const lockedVault = createStoreSecretVault(locked);
    const err = await lockedVault.get('dicomweb', 'hospital server password').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkstationError);
    expect((err as WorkstationError).message).toMatch(/locked/);
    await locked.usePassphrase('vault test passphrase');
    expect(await createStoreSecretVault(locked).get('dicomweb', 'hospital server password')).toBe('pacs-password-4');
    store = locked;
  });
});

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd: appRoot(), timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('keychain mode: errors name the real cause', () => {
  it('a locked collection says "Cannot create an item in a locked collection", in the message and the log', async () => {
    const missing = ['dbus-run-session', 'gnome-keyring-daemon', 'gdbus'].filter((b) => !fs.existsSync(`/usr/bin/${b}`));
    expect(missing, `install dbus, gnome-keyring and libglib2.0-bin for this test`).toEqual([]);
    const child = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-vault-locked-'));
    const keyring = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-keyring-locked-'));
    const script = [
      // One foreground daemon, waited for over D-Bus (scripts/test-keyring.sh says why).
      '. scripts/test-keyring.sh && tp_keyring_start locked-test || exit 1',
      `exec node --import tsx electron/testing/keychain-locked-child.ts "${child}"`,
    ].join('; ');
    const r = await run('dbus-run-session', ['--', 'bash', '-c', script], { ...process.env, XDG_DATA_HOME: keyring, DISPLAY: '' });
    fs.rmSync(keyring, { recursive: true, force: true });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { message: string; code: string; log: string };
    fs.rmSync(child, { recursive: true, force: true });
    expect(out.code).toBe('UNAVAILABLE');
    expect(out.message).toContain('Cannot create an item in a locked collection');
    expect(out.message).toMatch(/hospital server password/);
    expect(out.message).toMatch(/Unlock the keyring/);
    expect(out.log).toContain('Cannot create an item in a locked collection');
    expect(out.log).not.toContain('a-password');
  });
});
