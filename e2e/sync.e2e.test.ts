// Hospital-server sync in Debian's Chromium against the real headless host and a real Orthanc:
// the admin sets up the server (a wrong password is named as such by "Test connection"), saves,
// and "Sync now" brings a study sent to Orthanc with dcmsend; the status bar shows the state.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';
import { firstRunSetup } from './viewer-helpers';
import { startOrthanc, type OrthancServer } from '../electron/testing/sync/orthanc';
import { makeMrStudy } from '../electron/testing/sync/study-factory';

let orthanc: OrthancServer;
let host: ServedHost;
let browser: Browser;
let page: Page;
let problems: string[];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-sync-'));

beforeAll(async () => {
  orthanc = await startOrthanc();
  host = await startServe();
  browser = await launchBrowser();
  page = await browser.newPage();
  problems = watchConsole(page);
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await orthanc?.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('hospital server in the browser', () => {
  it('the admin configures the server; Test connection names a wrong password', async () => {
    await page.goto(host.url);
    await page.getByRole('heading', { name: 'First-run setup' }).waitFor();
    await firstRunSetup(page);
    await page.getByTestId('sync-state').getByText('Hospital server: not configured').waitFor();

    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('button', { name: 'Administration' }).click();
    await page.getByRole('tab', { name: 'Hospital server' }).click();
    await page.getByTestId('server-settings').waitFor();
    await page.locator('#srv-url').fill(orthanc.dicomWebUrl);
    await page.locator('#srv-auth').selectOption('basic');
    await page.locator('#srv-user').fill(orthanc.username);
    await page.locator('#srv-secret').fill('not-the-password');
    // Orthanc listens on plain http here: until the insecure switch is saved, no password goes there.
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('connection-test').getByText(/not sent over plain http/).waitFor();
    // The admin turns on the switch the page offers for it, and saves it (an audited choice).
    await page.getByLabel(/Allow credentials over plain http/).check();
    await page.getByRole('button', { name: 'Save server settings' }).click();
    await page.getByText('Server settings saved.').waitFor();
    await page.locator('#srv-secret').fill('not-the-password');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('connection-test').waitFor();
    const failed = await page.getByTestId('connection-test').textContent();
    expect(failed).toContain('Failed at the sign-in (credentials) step');
    expect(failed).toContain('HTTP 401');

    await page.locator('#srv-secret').fill(orthanc.password);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByTestId('connection-test').getByText('Connection works').waitFor();
    await page.getByRole('button', { name: 'Save server settings' }).click();
    await page.getByText('Server settings saved.').waitFor();
    expect(await page.locator('#srv-secret').inputValue()).toBe('');
    await page.getByText(/\(stored (in the OS keychain|encrypted in the database) for this server; type to replace\)/).waitFor();
  });

  it('Sync now brings a study sent to Orthanc, and the status bar shows the sync', async () => {
    const study = makeMrStudy(path.join(scratch, 'modality'), 2);
    await orthanc.dcmsend(study.files);
    await page.getByTestId('sync-status-panel').getByRole('button', { name: 'Sync now' }).click();
    await page.getByText(/Sync done: 1 new studies \(2 images\)/).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('sync-error').textContent()).toBe('none');
    await page.getByTestId('sync-state').getByText(/Hospital server: synced \d/).waitFor({ timeout: 5_000 });
    // The status bar opens the same panel.
    await page.getByTestId('sync-state').click();
    await page.getByRole('dialog', { name: 'Hospital server sync' }).waitFor();
    expect(problems).toEqual([]);
  });
});
