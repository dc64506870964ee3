// A headless host in passphrase mode on a machine with no OS keychain (no D-Bus session answers)
// joins the hospital the normal way, from the UI: the admin enters the server's https address,
// the hospital CA and the password, which is kept encrypted in the database (the page says so),
// and "Sync now" brings a study sent to a real Orthanc (behind TLS) into the worklist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';
import { firstRunSetup } from './viewer-helpers';
import { startOrthanc, type OrthancServer } from '../electron/testing/sync/orthanc';
import { makeSelfSignedCert, startFaultProxy, type FaultProxy } from '../electron/testing/sync/fault-proxy';
import { makeMrStudy } from '../electron/testing/sync/study-factory';

let orthanc: OrthancServer;
let tls: FaultProxy;
let cert: { key: string; cert: string };
let host: ServedHost;
let browser: Browser;
let page: Page;
let problems: string[];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-nokeychain-'));

beforeAll(async () => {
  orthanc = await startOrthanc();
  cert = makeSelfSignedCert(scratch);
  tls = await startFaultProxy(orthanc.dicomWebUrl, { tls: cert });
  // No keychain: the session bus address points nowhere, as on a server without a desktop session.
  host = await startServe({ env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(scratch, 'no-such-bus')}`, TUMORPREDICT_KEY_SOURCE: 'auto' } });
  browser = await launchBrowser();
  page = await browser.newPage();
  problems = watchConsole(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await tls?.close();
  await orthanc?.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('passphrase mode without a keychain', () => {
  it('first-run setup asks for the database passphrase (no keychain answered)', async () => {
    await page.goto(host.url);
    await page.getByRole('heading', { name: 'First-run setup' }).waitFor();
    await page.locator('#setup-passphrase').waitFor();
    await firstRunSetup(page);
    expect(JSON.parse(fs.readFileSync(path.join(host.dataDir, 'key-params.json'), 'utf8'))).toMatchObject({ mode: 'passphrase' });
  });

  it('the admin saves the hospital server with its password; the page says it is kept in the database', async () => {
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('button', { name: 'Administration' }).click();
    await page.getByRole('tab', { name: 'Hospital server' }).click();
    await page.getByTestId('server-settings').waitFor();
    await page.locator('#srv-url').fill(tls.url);
    await page.locator('#srv-auth').selectOption('basic');
    await page.locator('#srv-user').fill(orthanc.username);
    await page.locator('#srv-secret').fill(orthanc.password);
    await page.locator('#srv-ca').fill(cert.cert);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('connection-test').getByText('Connection works').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Save server settings' }).click();
    await page.getByText('Server settings saved.').waitFor();
    await page.getByText('(stored encrypted in the database for this server; type to replace)').waitFor();
    expect(await page.getByTestId('secret-store').textContent()).toMatch(/kept encrypted in the workstation database/);
    // A stored password is used again without being typed: the test connection passes with the field empty.
    expect(await page.locator('#srv-secret').inputValue()).toBe('');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('connection-test').getByText('Connection works').waitFor({ timeout: 30_000 });
    // Nothing in the data folder holds the password in the clear.
    for (const f of fs.readdirSync(host.dataDir, { recursive: true }) as string[]) {
      const file = path.join(host.dataDir, f);
      if (fs.statSync(file).isFile()) expect(fs.readFileSync(file).includes(Buffer.from(orthanc.password)), f).toBe(false);
    }
  });

  it('Sync now brings a study sent to Orthanc (2 images imported)', async () => {
    const study = makeMrStudy(path.join(scratch, 'modality'), 2);
    await orthanc.dcmsend(study.files);
    await page.getByTestId('sync-status-panel').getByRole('button', { name: 'Sync now' }).click();
    await page.getByText(/Sync done: 1 new studies \(2 images\)/).waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('sync-error').textContent()).toBe('none');
    // The requests carried the password to the TLS front of Orthanc, never anywhere else.
    expect(tls.hits.filter((h) => h.path.includes('/studies')).length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});
