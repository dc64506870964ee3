// The research workspace in the browser, end to end on the real host: a researcher registers a
// small data set of real MRI images, installs a second model, scores the data set with both
// models, and sees the comparison table, the significance tests and the plots; then registers a
// small DICOM data set (pydicom's test files) and exports a de-identified copy of it.
// The second model is the shipped model with its calibration temperature set to 1 (an honest
// variant with different probabilities, not an independently trained network).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';
import { ADMIN, firstRunSetup, signIn, signOut } from './viewer-helpers';
import { copyMriSubset, makeUncalibratedVariant, shippedModelDir } from '../electron/testing/research';

const RESEARCHER = { username: 'scientist1', password: 'research-passphrase-0042' };
const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

let host: ServedHost;
let browser: Browser;
let page: Page;
let problems: string[];
let tmp: string;
let datasetDir: string;
let variantDir: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-research-e2e-'));
  const models = path.join(tmp, 'models');
  fs.cpSync(shippedModelDir(), path.join(models, 'tumornet'), { recursive: true });
  variantDir = makeUncalibratedVariant(path.join(tmp, 'incoming'));
  datasetDir = copyMriSubset(path.join(tmp, 'mri-small'), 8);
  host = await startServe({ env: { TUMORPREDICT_MODELS: models } });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  problems = watchConsole(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function nonBlankPixels(testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d')!;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n;
  });
}

describe('research workspace in the browser', () => {
  it('an admin creates a researcher account', async () => {
    await page.goto(host.url);
    await firstRunSetup(page);
    await page.locator('#new-username').waitFor();
    await page.fill('#new-username', RESEARCHER.username);
    await page.fill('#new-display-name', 'Dr Scientist');
    await page.selectOption('#new-role', 'researcher');
    await page.fill('#new-password', RESEARCHER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByTestId('users-table').getByText(RESEARCHER.username, { exact: true }).waitFor();
    await signOut(page);
    await signIn(page, RESEARCHER);
    expect(ADMIN.username).not.toBe(RESEARCHER.username);
  }, 120_000);

  it('registers a data set and sees its class counts, hash and thumbnails', async () => {
    await page.getByRole('heading', { name: 'Research', level: 1 }).waitFor();
    await page.getByLabel('Folder or CSV path').fill(datasetDir);
    await page.getByLabel('Data set name').fill('mri-small');
    await page.getByRole('button', { name: 'Register' }).click();
    const row = page.getByTestId('datasets').getByRole('row', { name: /mri-small/ });
    await row.waitFor({ timeout: 60_000 });
    await expect(row.textContent()).resolves.toMatch(/glioma 8, meningioma 8, notumor 8, pituitary 8/);
    await page.getByTestId('thumbnails').locator('img').first().waitFor();
    expect(await page.getByTestId('thumbnails').locator('img').count()).toBe(8);
  }, 120_000);

  it('installs a second model beside the shipped one', async () => {
    await page.getByTestId('models').getByRole('row', { name: /tumornet/ }).first().waitFor();
    await page.getByLabel('Model folder path').fill(variantDir);
    await page.getByRole('button', { name: 'Install' }).click();
    const row = page.getByTestId('models').getByRole('row', { name: /tumornet-t1/ });
    await row.waitFor({ timeout: 60_000 });
    await expect(row.textContent()).resolves.toMatch(/verified/);
  }, 120_000);

  it('scores the data set with both models, with progress, to done', async () => {
    await page.getByRole('button', { name: 'Score' }).click();
    const runs = page.getByTestId('runs').locator('tbody tr');
    await expect.poll(() => runs.count(), { timeout: 30_000 }).toBe(2);
    await expect
      .poll(async () => (await page.getByTestId('runs').locator('tbody tr[data-status="done"]').count()), { timeout: 120_000, interval: 500 })
      .toBe(2);
    await expect(page.getByTestId('runs').textContent()).resolves.toMatch(/32\/32/);
  }, 180_000);

  it('compares the two runs: table, significance tests and plots drawn', async () => {
    const boxes = page.getByTestId('runs').getByRole('checkbox');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.getByRole('button', { name: 'Compare selected runs' }).click();
    await page.getByTestId('comparison').waitFor({ timeout: 60_000 });
    const table = await page.getByTestId('comparison-table').textContent();
    for (const m of ['Accuracy', 'Macro F1', 'Macro AUC', 'ECE (10 bins)', 'glioma: recall', 'Throughput (images/s)']) expect(table).toContain(m);
    await expect(page.getByTestId('significance').textContent()).resolves.toMatch(/McNemar .* p = .*bootstrap/s);
    for (const id of ['roc-a', 'roc-b', 'reliability-chart', 'f1-chart', 'confusion-a', 'confusion-b']) {
      await page.getByTestId(id).waitFor();
      expect(await nonBlankPixels(id), `${id} has drawn pixels`).toBeGreaterThan(500);
    }
    // The HTML report downloads as a file with its plots.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export HTML report' }).click()]);
    const file = path.join(tmp, 'report.html');
    await download.saveAs(file);
    const html = fs.readFileSync(file, 'utf8');
    expect((html.match(/<svg /g) ?? []).length).toBe(6);
    expect(html).not.toMatch(/<script/i);
    expect(problems).toEqual([]);
    // For a look at the page when working on it: TP_RESEARCH_SCREENSHOT=/tmp/research.png
    if (process.env.TP_RESEARCH_SCREENSHOT) {
      await page.setViewportSize({ width: 1400, height: 3600 });
      await page.getByTestId('comparison').screenshot({ path: process.env.TP_RESEARCH_SCREENSHOT });
    }
  }, 120_000);

  it('registers a DICOM data set and exports a de-identified copy of it to a new folder', async () => {
    await page.setViewportSize({ width: 1400, height: 1000 });
    const src = path.join(tmp, 'dicom-small');
    fs.mkdirSync(path.join(src, 'mr'), { recursive: true });
    for (const f of ['MR_small.dcm', 'CT_small.dcm']) fs.copyFileSync(path.join(PYDICOM_FILES, f), path.join(src, 'mr', f));
    await page.getByLabel('Folder or CSV path').fill(src);
    await page.getByLabel('Data set name').fill('dicom-small');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByTestId('datasets').getByRole('row', { name: /dicom-small/ }).waitFor({ timeout: 60_000 });
    // The export is offered on a DICOM data set (the new one is selected after registering).
    const form = page.getByTestId('deid-export');
    await form.waitFor();
    const dest = path.join(tmp, 'deid-copy');
    await form.getByLabel('Destination folder').fill(dest);
    await form.getByRole('button', { name: 'Export de-identified copy' }).click();
    const result = form.getByTestId('deid-export-result');
    await result.waitFor({ timeout: 60_000 });
    await expect(result.textContent()).resolves.toBe(`2 files written to ${dest}.`);
    const files = fs.readdirSync(path.join(dest, 'mr')).sort();
    expect(files).toEqual(['000000.dcm', '000001.dcm']);
    for (const f of files) {
      const bytes = fs.readFileSync(path.join(dest, 'mr', f)).toString('latin1');
      expect(bytes).not.toContain('CompressedSamples');
      expect(bytes).toContain('DICM');
    }
    // The same folder again: it is no longer empty, and the page says so.
    await form.getByRole('button', { name: 'Export de-identified copy' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(/is not empty; choose a new or empty folder/);
    expect(fs.readdirSync(path.join(dest, 'mr'))).toHaveLength(2);
    // A folder data set of PNGs offers no de-identified export (its images carry no headers).
    await page.getByTestId('datasets').getByRole('button', { name: 'mri-small' }).click();
    await page.getByTestId('thumbnails').getByRole('img').first().waitFor();
    expect(await page.getByTestId('deid-export').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);

  it('an admin activates the second model for clinical use and retires the first', async () => {
    await signOut(page);
    await signIn(page, ADMIN);
    await page.getByRole('tab', { name: 'Models' }).click();
    const registry = page.getByTestId('model-registry');
    await registry.locator('tr[data-model-id="tumornet"][data-status="active"]').waitFor();
    await registry.locator('tr[data-model-id="tumornet-t1"]').getByRole('button', { name: 'Activate' }).click();
    await registry.locator('tr[data-model-id="tumornet-t1"][data-status="active"]').waitFor();
    await registry.locator('tr[data-model-id="tumornet"][data-status="research"]').waitFor();
    // The active model offers no Retire button; the other one does.
    expect(await registry.locator('tr[data-model-id="tumornet-t1"]').getByRole('button', { name: 'Retire' }).count()).toBe(0);
    await registry.locator('tr[data-model-id="tumornet"]').getByRole('button', { name: 'Retire' }).click();
    await registry.locator('tr[data-model-id="tumornet"][data-status="retired"]').waitFor();
    expect(problems).toEqual([]);
  }, 120_000);
});
