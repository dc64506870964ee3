// Keychain mode against the real OS keychain (gnome-keyring on the session D-Bus; scripts/test.sh
// starts one). Without a keychain these tests fail, saying what to install: they never skip.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from './store';
import { KEYCHAIN_SERVICE, keychainAccount, loadKeychain } from './keys';
import { SQLITE_PLAIN_HEADER } from './database';

const keychain = loadKeychain();
const dirs: string[] = [];
const accounts: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-keychain-'));
  dirs.push(d);
  return d;
}
async function open(dataFolder: string, keySource: 'auto' | 'keychain' = 'keychain'): Promise<Store> {
  const s = await createStore({ dataFolder, keySource, passphrase: null });
  accounts.push(keychainAccount(dataFolder));
  return s;
}
const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Called first in every test, so a missing keychain fails each test with what to install (never a skip). */
async function requireKeychain(): Promise<void> {
  const st = await keychain.status();
  if (!st.available) {
    throw new Error(
      `The OS keychain is not available, so the keychain tests cannot run: ${st.detail}\n` +
        'Install dbus, gnome-keyring and libsecret-1-dev, build keytar (node scripts/ensure-native.mjs), and run the tests through `npm test` ' +
        "(or: dbus-run-session -- bash -c 'export XDG_DATA_HOME=$(mktemp -d); . scripts/test-keyring.sh && tp_keyring_start pw && npx vitest run ...').",
    );
  }
}
afterAll(async () => {
  for (const a of accounts) await keychain.remove(a).catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('keychain mode (real gnome-keyring)', () => {
  it('makes a 32-byte key on first run, keeps it in the keychain, and reopens with it', async () => {
    await requireKeychain();
    const dir = tmp();
    const s = await open(dir, 'auto');
    expect(s.status()).toMatchObject({ unlocked: true, keySource: 'keychain', encrypted: true });
    expect(s.status().modeStatement).toMatch(/Keychain mode/);
    s.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('p1', 'KEYCHAIN-MARKER', 'now')`).run();
    s.close();
    const key = await keychain.get(keychainAccount(dir));
    expect(key?.length).toBe(32);
    const bytes = fs.readFileSync(s.dbPath);
    expect(bytes.subarray(0, 16).equals(SQLITE_PLAIN_HEADER)).toBe(false);
    expect(bytes.includes('KEYCHAIN-MARKER')).toBe(false);
    expect(bytes.includes(key!)).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'key-params.json'), 'utf8')).not.toContain(key!.toString('hex'));
    const again = await open(dir);
    expect(again.db().prepare('SELECT display_name FROM patients').get()).toEqual({ display_name: 'KEYCHAIN-MARKER' });
    again.close();
  });

  it('two data folders get two different keychain entries and keys', async () => {
    await requireKeychain();
    const a = tmp();
    const b = tmp();
    (await open(a)).close();
    (await open(b)).close();
    expect(keychainAccount(a)).not.toBe(keychainAccount(b));
    const ka = await keychain.get(keychainAccount(a));
    const kb = await keychain.get(keychainAccount(b));
    expect(ka && kb && !ka.equals(kb)).toBe(true);
  });

  it('a missing keychain entry gives a clear error and never an empty new database over the old', async () => {
    await requireKeychain();
    const dir = tmp();
    const s = await open(dir);
    s.db().prepare(`INSERT INTO patients (id, display_name, created_at) VALUES ('p1', 'x', 'now')`).run();
    s.close();
    const before = sha(s.dbPath);
    const key = await keychain.get(keychainAccount(dir));
    await keychain.remove(keychainAccount(dir));
    const again = await open(dir);
    expect(again.isOpen()).toBe(false);
    expect(again.status().problem).toMatch(/keychain has no database key for this data folder.*No new database was created/s);
    expect(() => again.db()).toThrow(/keychain has no database key/);
    expect(sha(s.dbPath)).toBe(before);
    // The keychain was not given a fresh key either.
    expect(await keychain.get(keychainAccount(dir))).toBeNull();
    await keychain.put(keychainAccount(dir), key!);
    const restored = await open(dir);
    expect(restored.db().prepare('SELECT count(*) AS n FROM patients').get()).toEqual({ n: 1 });
    restored.close();
  });

  it('a wrong key in the keychain fails clearly and leaves the file as it was', async () => {
    await requireKeychain();
    const dir = tmp();
    (await open(dir)).close();
    const before = sha(path.join(dir, 'workstation.db'));
    await keychain.put(keychainAccount(dir), crypto.randomBytes(32));
    const again = await open(dir);
    expect(again.isOpen()).toBe(false);
    expect(again.status().problem).toMatch(/key in the OS keychain does not open this database/);
    expect(sha(path.join(dir, 'workstation.db'))).toBe(before);
  });

  it('uses the service name and an account derived from the real path of the folder', async () => {
    await requireKeychain();
    const dir = tmp();
    const link = dir + '-link';
    fs.symlinkSync(dir, link);
    dirs.push(link);
    expect(keychainAccount(link)).toBe(keychainAccount(dir));
    expect(keychainAccount(dir)).toBe(crypto.createHash('sha256').update(fs.realpathSync(dir)).digest('hex'));
    expect(KEYCHAIN_SERVICE).toBe('TumorPredict Workstation');
  });
});
