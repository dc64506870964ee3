// The research workspace in the browser, end to end on the real host: a researcher picks a small
// data set of real MRI images (symlinked class folders) with the folder picker, sees its counts
// and thumbnails before registering it, installs two more models, scores the data set with all
// three, opens one run's page (metrics with intervals, hashes), clicks a confusion-matrix cell and
// sees exactly its images, opens one with its mask, then compares the three runs (three labelled
// lines of distinct colour and style, tests against a reference); then registers a small DICOM
// data set (pydicom's test files) and exports a de-identified copy of it.
// The other models are the shipped model with its calibration temperature set to 1 and to 3
// (honest variants with different probabilities, not independently trained networks).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';
import { ADMIN, firstRunSetup, signIn, signOut } from './viewer-helpers';
import { copyMriSubset, makeTemperatureVariant, makeUncalibratedVariant, shippedModelDir } from '../electron/testing/research';

const RESEARCHER = { username: 'scientist1', password: 'research-passphrase-0042' };
const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

let host: ServedHost;
let browser: Browser;
let page: Page;
let problems: string[];
let tmp: string;
let datasetDir: string;
let variantDir: string;
let variant3Dir: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-research-e2e-'));
  const models = path.join(tmp, 'models');
  fs.cpSync(shippedModelDir(), path.join(models, 'tumornet'), { recursive: true });
  variantDir = makeUncalibratedVariant(path.join(tmp, 'incoming'));
  variant3Dir = makeTemperatureVariant(path.join(tmp, 'incoming'), 'tumornet-t3', 3);
  // The data set as researchers assemble one without copying: class folders that are links.
  const real = copyMriSubset(path.join(tmp, 'mri-real'), 8);
  datasetDir = path.join(tmp, 'mri-small');
  fs.mkdirSync(datasetDir);
  for (const c of ['glioma', 'meningioma', 'notumor', 'pituitary']) fs.symlinkSync(path.join(real, c), path.join(datasetDir, c));
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
    // The admin's first page need not be Administration (Federation comes first): go there.
    await page.getByRole('button', { name: /^Administration/ }).click();
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

  it('picks a folder of linked class folders with the picker, sees its counts and thumbnails, and registers it', async () => {
    await page.getByRole('heading', { name: 'Research', level: 1 }).waitFor();
    // The picker opens where the path field points; the researcher goes up one level and back
    // down into the data set folder by clicking, then chooses it.
    await page.getByLabel('Folder or CSV file').fill(path.join(datasetDir, 'glioma'));
    await page.getByRole('button', { name: 'Browse…' }).click();
    const picker = page.getByTestId('folder-picker');
    await expect.poll(() => picker.getByTestId('picker-path').textContent()).toBe(path.join(datasetDir, 'glioma'));
    await picker.getByRole('button', { name: 'Up' }).click();
    await expect.poll(() => picker.getByTestId('picker-path').textContent()).toBe(datasetDir);
    await expect(picker.getByRole('list').textContent()).resolves.toMatch(/glioma \(link\).*meningioma \(link\)/);
    await picker.getByRole('button', { name: 'Up' }).click();
    await picker.getByRole('button', { name: /mri-small/ }).click();
    await expect.poll(() => picker.getByTestId('picker-path').textContent()).toBe(datasetDir);
    await picker.getByRole('button', { name: 'Choose this folder' }).click();
    await expect(page.getByLabel('Folder or CSV file').inputValue()).resolves.toBe(datasetDir);
    // Before registering: what it would register as, per class, with thumbnails.
    const preview = page.getByTestId('dataset-preview');
    await preview.waitFor({ timeout: 60_000 });
    await expect(preview.textContent()).resolves.toMatch(/Image folders \(one per class\).*32 items/);
    await expect(preview.getByTestId('preview-counts').textContent()).resolves.toMatch(/glioma8meningioma8notumor8pituitary8/);
    await expect.poll(() => preview.getByTestId('preview-thumbnails').locator('img').count()).toBe(16);
    expect((await page.getByTestId('datasets').locator('tbody tr').textContent()) ?? '').toMatch(/No data sets yet/);
    await page.getByLabel('Data set name').fill('mri-small');
    await page.getByRole('button', { name: 'Register' }).click();
    const row = page.getByTestId('datasets').getByRole('row', { name: /mri-small/ });
    await row.waitFor({ timeout: 60_000 });
    await expect(row.textContent()).resolves.toMatch(/glioma 8, meningioma 8, notumor 8, pituitary 8/);
    await page.getByTestId('thumbnails').locator('img').first().waitFor();
    expect(await page.getByTestId('thumbnails').locator('img').count()).toBe(8);
  }, 120_000);

  it('installs two more models beside the shipped one', async () => {
    await page.getByTestId('models').getByRole('row', { name: /tumornet/ }).first().waitFor();
    for (const [dir, id] of [
      [variantDir, 'tumornet-t1'],
      [variant3Dir, 'tumornet-t3'],
    ] as const) {
      await page.getByLabel('Model folder path').fill(dir);
      await page.getByRole('button', { name: 'Install' }).click();
      const row = page.getByTestId('models').getByRole('row', { name: new RegExp(`${id} `) });
      await row.waitFor({ timeout: 60_000 });
      await expect(row.textContent()).resolves.toMatch(/verified/);
    }
  }, 120_000);

  it('scores the data set with the three models, with progress, to done', async () => {
    await page.getByRole('button', { name: 'Score' }).click();
    const runs = page.getByTestId('runs').locator('tbody tr');
    await expect.poll(() => runs.count(), { timeout: 30_000 }).toBe(3);
    await expect
      .poll(async () => (await page.getByTestId('runs').locator('tbody tr[data-status="done"]').count()), { timeout: 180_000, interval: 500 })
      .toBe(3);
    await expect(page.getByTestId('runs').textContent()).resolves.toMatch(/32\/32/);
  }, 240_000);

  it("opens one run's page: metrics with intervals, hashes, throughput; a confusion cell shows exactly its images", async () => {
    const datasetHash = await page.getByTestId('datasets').getByRole('row', { name: /mri-small/ }).locator('code').getAttribute('title');
    await page.getByTestId('runs').locator('tr[data-model-id="tumornet"]').getByRole('button', { name: 'Open' }).click();
    const runPage = page.getByTestId('run-page');
    await runPage.getByTestId('run-summary').waitFor({ timeout: 60_000 });
    await expect(runPage.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(/^Run: tumornet \S+ · \S+ · mri-small$/);
    await expect(runPage.getByTestId('run-summary').textContent()).resolves.toMatch(/Accuracy\d+\.\d\d% \[\d+\.\d, \d+\.\d\] \(\d+ of 32\)/);
    await expect(runPage.getByTestId('per-class').textContent()).resolves.toMatch(/glioma8\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]/);
    await expect(runPage.getByTestId('dataset-hash').textContent()).resolves.toBe(datasetHash);
    await expect(runPage.getByTestId('model-hash').textContent()).resolves.toMatch(/^[0-9a-f]{64}$/);
    await expect(runPage.getByTestId('throughput').textContent()).resolves.toMatch(/^\d+\.\d images\/s/);
    for (const id of ['run-roc', 'run-reliability']) expect(await nonBlankPixels(id), `${id} has drawn pixels`).toBeGreaterThan(500);
    // A cell of the matrix: a mistake if the model made one, else the largest correct cell.
    const cells = runPage.getByTestId('confusion').locator('button.cell:not([disabled])');
    const all = await cells.evaluateAll((bs) => bs.map((b) => ({ truth: b.getAttribute('data-truth')!, pred: b.getAttribute('data-pred')!, n: Number(b.textContent) })));
    expect(all.reduce((a, c) => a + c.n, 0)).toBe(32);
    const cell = all.filter((c) => c.truth !== c.pred).sort((a, b) => b.n - a.n)[0] ?? all.sort((a, b) => b.n - a.n)[0]!;
    await runPage.getByTestId('confusion').locator(`button[data-truth="${cell.truth}"][data-pred="${cell.pred}"]`).click();
    const gallery = runPage.getByTestId('run-items');
    await expect.poll(() => gallery.getByTestId('items-total').textContent(), { timeout: 30_000 }).toBe(`(${cell.n})`);
    await expect.poll(() => gallery.getByTestId('run-item').count()).toBe(cell.n);
    const shown = await gallery.getByTestId('run-item').evaluateAll((lis) => lis.map((li) => ({ id: li.getAttribute('data-item-id')!, truth: li.getAttribute('data-truth'), pred: li.getAttribute('data-pred'), conf: Number(li.getAttribute('data-confidence')) })));
    for (const it of shown) {
      expect([it.truth, it.pred]).toEqual([cell.truth, cell.pred]);
      expect(it.id.startsWith(`${cell.truth}/`), it.id).toBe(true); // its class folder is its truth
      expect(fs.existsSync(path.join(datasetDir, it.id))).toBe(true);
    }
    expect(shown.map((s) => s.conf)).toEqual([...shown.map((s) => s.conf)].sort((a, b) => b - a));
    expect(await gallery.locator('img').count()).toBe(cell.n);
    // Lowest confidence first, then back.
    await gallery.getByLabel('Sort by').selectOption('confidence-asc');
    await expect.poll(async () => Number(await gallery.getByTestId('run-item').first().getAttribute('data-confidence'))).toBe(Math.min(...shown.map((s) => s.conf)));
    // The list exports as CSV, one row per image shown.
    const [download] = await Promise.all([page.waitForEvent('download'), gallery.getByRole('button', { name: 'Export list (CSV)' }).click()]);
    const csvFile = path.join(tmp, 'items.csv');
    await download.saveAs(csvFile);
    const lines = fs.readFileSync(csvFile, 'utf8').trim().split('\n');
    expect(lines[0]!.startsWith('item,truth,predicted,confidence,correct')).toBe(true);
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(shown.map((s) => s.id).sort());
    // One image opens with its mask; Escape closes it.
    await gallery.getByTestId('run-item').first().getByRole('button').click();
    const dialog = page.getByTestId('item-dialog');
    await dialog.getByTestId('item-image').waitFor({ timeout: 30_000 });
    await expect(dialog.getByRole('heading').textContent()).resolves.toBe([...shown].sort((a, b) => a.conf - b.conf)[0]!.id);
    await expect(dialog.textContent()).resolves.toMatch(new RegExp(`Truth ${cell.truth}, predicted ${cell.pred}`));
    if (['glioma', 'meningioma', 'pituitary'].includes(cell.pred)) await dialog.getByTestId('item-predicted-mask').waitFor();
    await expect(dialog.textContent()).resolves.toMatch(/not a medical device/i);
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);
    // A point of the reliability diagram (its keyboard twin, the bin button) opens that bin.
    const bin = runPage.locator('.bin-buttons button').first();
    const binCount = Number(/: (\d+) \(/.exec((await bin.textContent()) ?? '')![1]);
    await bin.click();
    await expect.poll(() => gallery.getByTestId('items-total').textContent(), { timeout: 30_000 }).toBe(`(${binCount})`);
    expect(problems).toEqual([]);
    if (process.env.TP_RESEARCH_SCREENSHOT) await page.screenshot({ path: process.env.TP_RESEARCH_SCREENSHOT.replace(/\.png$/, '-run.png'), fullPage: true });
    await page.getByRole('button', { name: '← Research' }).click();
    await page.getByRole('heading', { name: 'Research', level: 1 }).waitFor();
  }, 180_000);

  it('compares the three runs: three labelled lines of distinct colour and style, tests against a chosen reference', async () => {
    const boxes = page.getByTestId('runs').getByRole('checkbox');
    for (let i = 0; i < 3; i++) await boxes.nth(i).check();
    await page.getByRole('button', { name: 'Compare selected runs (3)' }).click();
    const cmp = page.getByTestId('comparison');
    await cmp.getByTestId('compare-legend').waitFor({ timeout: 60_000 });
    const legend = await cmp.getByTestId('compare-legend').locator('li').evaluateAll((lis) => lis.map((li) => ({ text: li.textContent ?? '', color: li.getAttribute('data-color')!, dash: li.getAttribute('data-dash')! })));
    expect(legend).toHaveLength(3);
    const models = legend.map((l) => /^(tumornet(?:-t\d)?) /.exec(l.text)?.[1]).sort();
    expect(models).toEqual(['tumornet', 'tumornet-t1', 'tumornet-t3']);
    for (const l of legend) expect(l.text).toMatch(/^tumornet\S* \S+ · \S+ · mri-small/);
    expect(new Set(legend.map((l) => l.color)).size).toBe(3);
    expect(new Set(legend.map((l) => l.dash)).size).toBe(3);
    expect(legend[0]!.text).toContain('(reference)');
    // Each run's line is on the ROC canvas, in its colour.
    await cmp.getByTestId('compare-roc').waitFor();
    if (process.env.TP_RESEARCH_SCREENSHOT) await cmp.getByTestId('compare-roc').screenshot({ path: process.env.TP_RESEARCH_SCREENSHOT.replace(/\.png$/, '-roc.png') });
    const perColour = await cmp.getByTestId('compare-roc').evaluate((c: HTMLCanvasElement, colours: string[]) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const rgb = colours.map((h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)]);
      const n = rgb.map(() => 0);
      for (let i = 0; i < d.length; i += 4) rgb.forEach((k, j) => { if (Math.abs(d[i]! - k[0]!) + Math.abs(d[i + 1]! - k[1]!) + Math.abs(d[i + 2]! - k[2]!) < 60 && d[i + 3]! > 200) n[j]!++; });
      return n;
    }, legend.map((l) => l.color));
    for (const [i, n] of perColour.entries()) expect(n, `pixels of ${legend[i]!.text}`).toBeGreaterThan(30);
    const table = await cmp.getByTestId('comparison-table').textContent();
    for (const m of ['Accuracy [95% CI]', 'Macro F1', 'Macro AUC [95% CI]', 'ECE (10 bins)', 'glioma: recall [95% CI]', 'Throughput (images/s)']) expect(table).toContain(m);
    await expect(cmp.getByTestId('significance').locator('tbody tr').count()).resolves.toBe(2);
    await expect(cmp.getByTestId('significance').textContent()).resolves.toMatch(/32.*pp.*exact|32.*pp.*discordant/s);
    for (const id of ['reliability-chart', 'f1-chart']) expect(await nonBlankPixels(id), `${id} has drawn pixels`).toBeGreaterThan(500);
    // Another reference: the tests are now against it.
    const option = cmp.getByLabel('Reference run for the paired tests').locator('option').nth(1);
    const [second, secondLabel] = [(await option.getAttribute('value'))!, (await option.textContent())!];
    await cmp.getByLabel('Reference run for the paired tests').selectOption(second);
    await expect.poll(() => cmp.getByTestId('significance').locator('caption').textContent(), { timeout: 30_000 }).toContain(secondLabel);
    await expect.poll(() => cmp.getByTestId('compare-legend').locator('li').first().textContent()).toContain(`${secondLabel} (reference)`);
    const [download] = await Promise.all([page.waitForEvent('download'), cmp.getByRole('button', { name: 'Export CSV' }).click()]);
    const file = path.join(tmp, 'comparison.csv');
    await download.saveAs(file);
    expect(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('run,'))).toHaveLength(3);
    expect(problems).toEqual([]);
    // For a look at the page when working on it: TP_RESEARCH_SCREENSHOT=/tmp/research.png
    if (process.env.TP_RESEARCH_SCREENSHOT) {
      await page.setViewportSize({ width: 1400, height: 3600 });
      await cmp.screenshot({ path: process.env.TP_RESEARCH_SCREENSHOT });
    }
  }, 120_000);

  it('registers a DICOM data set and exports a de-identified copy of it to a new folder', async () => {
    await page.setViewportSize({ width: 1400, height: 1000 });
    const src = path.join(tmp, 'dicom-small');
    fs.mkdirSync(path.join(src, 'mr'), { recursive: true });
    for (const f of ['MR_small.dcm', 'CT_small.dcm']) fs.copyFileSync(path.join(PYDICOM_FILES, f), path.join(src, 'mr', f));
    await page.getByLabel('Folder or CSV file').fill(src);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('dataset-preview').waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('dataset-preview').textContent()).resolves.toMatch(/DICOM files: 2 items/);
    await page.getByLabel('Data set name').fill('dicom-small');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByTestId('datasets').getByRole('row', { name: /dicom-small/ }).waitFor({ timeout: 60_000 });
    // The export is offered on a DICOM data set (the new one is selected after registering).
    const form = page.getByTestId('deid-export');
    await form.waitFor();
    const dest = path.join(tmp, 'deid-copy');
    await form.getByLabel('Destination folder').fill(dest);
    // The profile's options are explicit choices: dates removed, descriptions cleaned.
    await form.getByLabel('Dates in the copies').selectOption('remove');
    await form.getByLabel('Keep cleaned descriptions').check();
    if (process.env.TP_SCREENSHOTS) await form.screenshot({ path: path.join(process.env.TP_SCREENSHOTS, 'deid-export.png') });
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
      expect(execFileSync('dcmdump', ['+P', '0028,0303', '+P', '0012,0063', path.join(dest, 'mr', f)], { encoding: 'utf8' })).toMatch(/\[REMOVED\][\s\S]*Clean Descriptors|Clean Descriptors[\s\S]*\[REMOVED\]/);
    }
    // The same folder again: it is no longer empty, and the page says so.
    await form.getByRole('button', { name: 'Export de-identified copy' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(/is not empty; choose a new or empty folder/);
    expect(fs.readdirSync(path.join(dest, 'mr'))).toHaveLength(2);
    // A folder data set of PNGs offers no de-identified export (its images carry no headers).
    await page.getByTestId('datasets').getByRole('button', { name: 'mri-small' }).click();
    await page.getByTestId('datasets').locator('tr.selected').getByRole('button', { name: 'mri-small' }).waitFor();
    await expect.poll(() => page.getByTestId('deid-export').count()).toBe(0);
    await expect.poll(() => page.getByTestId('thumbnails').getByRole('img').count()).toBe(8);
    expect(problems).toEqual([]);
  }, 120_000);

  it('an admin activates the second model for clinical use and retires the first', async () => {
    await signOut(page);
    await signIn(page, ADMIN);
    await page.getByRole('button', { name: /^Administration/ }).click();
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
