// The Hospital server page in Debian's Chromium against the real headless host and a real Orthanc
// as the PACS: the admin sets up DIMSE on the Administration page (receiver, AE title, port, the
// PACS; Test connection is a real C-ECHO), the radiologist searches by patient name, retrieves a
// study by C-MOVE with the progress shown, sees that the AI ran, opens it in the viewer, and finds
// it in the worklist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openWorkstation, type OpenWorkstation } from './harness';
import { RADIOLOGIST, createRadiologist, signIn, signOut } from './viewer-helpers';
import { freePort, startOrthanc, type OrthancServer } from '../electron/testing/sync/orthanc';
import { makeMrStudy } from '../electron/testing/sync/study-factory';

const AE = 'TPE2EWS';
const COUNT = 60;
let orthanc: OrthancServer;
let ws: OpenWorkstation;
let page: Page;
let problems: string[];
let scpPort: number;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-pacs-'));
const shots = process.env.TP_SCREENSHOTS ?? scratch;

beforeAll(async () => {
  scpPort = await freePort();
  orthanc = await startOrthanc({ modalities: { workstation: { aeTitle: AE, host: '127.0.0.1', port: scpPort } } });
  const other = makeMrStudy(path.join(scratch, 'other'), 2, { patientName: 'Other^Patient', patientId: 'E2E-OTHER', accessionNumber: 'ACC-E2E-0' });
  const study = makeMrStudy(path.join(scratch, 'study'), COUNT, { patientName: 'Hospital^Hanna', patientId: 'E2E-PACS-1', accessionNumber: 'ACC-E2E-1', studyDescription: 'MRI brain with contrast' });
  await orthanc.dcmsend([...other.files, ...study.files]);
  ws = await openWorkstation();
  ({ page, problems } = ws);
}, 240_000);

afterAll(async () => {
  await ws?.close();
  await orthanc?.dispose();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main navigation' }).getByRole('button', { name: new RegExp(`^${name}`) });

describe('DIMSE settings and the Hospital server page', () => {
  it('the admin turns the receiver on, enters the PACS, and Test connection answers with a C-ECHO', async () => {
    await nav(page, 'Administration').click();
    await page.getByRole('tab', { name: 'DIMSE' }).click();
    const form = page.getByTestId('dimse-settings');
    await form.waitFor();
    await form.getByTestId('dimse-listening').getByText('Not listening (the receiver is off).').waitFor();
    await form.getByLabel('Receive studies by DIMSE (C-STORE receiver on)').check();
    await page.locator('#dimse-ae').fill(AE);
    await page.locator('#dimse-port').fill(String(scpPort));
    await page.locator('#dimse-bind').selectOption('127.0.0.1');
    await form.getByLabel('Search and retrieve from a PACS by DIMSE').check();
    await page.locator('#dimse-pacs-ae').fill(orthanc.aet);
    await page.locator('#dimse-pacs-host').fill('127.0.0.1');
    await page.locator('#dimse-pacs-port').fill(String(orthanc.dicomPort));
    // The test uses the saved settings: it waits for Save.
    expect(await form.getByRole('button', { name: 'Test connection (C-ECHO)' }).isDisabled()).toBe(true);
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByTestId('dimse-listening').getByText(`Listening as ${AE} on 127.0.0.1:${scpPort}.`, { exact: false }).waitFor();
    await form.getByRole('button', { name: 'Test connection (C-ECHO)' }).click();
    await form.getByTestId('dimse-echo').getByText(`The PACS ${orthanc.aet} at 127.0.0.1:${orthanc.dicomPort} answered the C-ECHO.`).waitFor({ timeout: 30_000 });
    // The status bar names the PACS (the DICOMweb sync is not configured here): it said "not configured" before.
    await page.getByTestId('sync-state').filter({ hasText: `Hospital server: ${orthanc.aet} at 127.0.0.1:${orthanc.dicomPort} (DIMSE)` }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(shots, 'dimse-settings.png'), fullPage: true });

    await page.getByRole('tab', { name: 'Users' }).click();
    await createRadiologist(page);
    await signOut(page);
    await signIn(page, RADIOLOGIST);
  }, 120_000);

  it('the radiologist searches by name, retrieves with progress, sees the AI ran, opens it in the viewer, and finds it in the worklist', async () => {
    await nav(page, 'Hospital server').click();
    await page.getByRole('heading', { name: 'Hospital server', level: 1 }).waitFor();
    await page.getByTestId('pacs-transport').getByText('DIMSE (C-FIND to search, C-MOVE to retrieve)').waitFor();
    expect(await page.getByTestId('pacs-source').textContent()).toContain(`${orthanc.aet} at 127.0.0.1:${orthanc.dicomPort}`);
    expect(await page.getByTestId('sync-state').textContent()).toBe(`Hospital server: ${orthanc.aet} at 127.0.0.1:${orthanc.dicomPort} (DIMSE)`);

    // Keyboard only: the name field, then Enter submits the search.
    await page.getByLabel('Patient name').fill('hospital');
    await page.getByLabel('Patient name').press('Enter');
    const table = page.getByTestId('pacs-results');
    await table.waitFor({ timeout: 30_000 });
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(1);
    const row = rows.first();
    expect(await row.locator('td').allTextContents()).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), 'Hospital Hanna', 'E2E-PACS-1', 'ACC-E2E-1', 'MRI brain with contrast', 'MR', String(COUNT), 'No', 'Retrieve']);

    // Every progress text the page shows is recorded (the transfer may be quick).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __pacsProgress: string[] }).__pacsProgress = seen;
      new MutationObserver(() => {
        const t = document.querySelector('[data-testid="pacs-progress"]')?.textContent;
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await row.getByRole('button', { name: /^Retrieve: Hospital Hanna/ }).click();
    await page.getByTestId('pacs-retrieval').getByRole('button', { name: 'Cancel retrieve' }).waitFor();
    const outcome = page.getByTestId('pacs-outcome');
    await outcome.waitFor({ timeout: 180_000 });
    expect(await outcome.textContent()).toContain(`${COUNT} image(s) arrived.`);
    // The finding of the run the retrieve started (not the background queue's state).
    const aiText = await page.getByTestId('pacs-ai').textContent();
    expect(aiText).toMatch(/^AI: analysed — \S/);
    expect(aiText).not.toMatch(/queued|no finding stored/i);
    await outcome.getByText('Not a medical device.', { exact: false }).waitFor();
    const progress = await page.evaluate(() => (window as unknown as { __pacsProgress: string[] }).__pacsProgress);
    // The C-MOVE's sub-operation counts were shown while it ran: completed rising, remaining falling.
    const counts = progress.map((t) => /(\d+) completed, (\d+) remaining, (\d+) failed/.exec(t)).filter((m) => !!m).map((m) => [Number(m[1]), Number(m[2])]);
    expect(counts.length, progress.join(' | ')).toBeGreaterThan(0);
    expect(counts.every(([c, r]) => c! + r! === COUNT)).toBe(true);
    expect(await row.locator('td').nth(7).textContent()).toBe('Yes');
    await page.screenshot({ path: path.join(shots, 'hospital-server.png'), fullPage: true });

    await outcome.getByRole('button', { name: 'Open in viewer' }).click();
    await page.getByTestId('viewport').waitFor({ timeout: 60_000 });
    await nav(page, 'Worklist').click();
    await page.getByTestId('worklist-search').fill('E2E-PACS-1');
    const listed = page.getByTestId('worklist-table').locator('tbody tr[data-study-id]');
    // The search applies after a pause: wait for the list to narrow to the one study.
    await expect.poll(() => listed.count(), { timeout: 30_000 }).toBe(1);
    expect(await listed.first().textContent()).toContain('Hospital');
    expect(problems).toEqual([]);
  }, 300_000);
});
