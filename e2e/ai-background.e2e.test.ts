// Background scoring in the browser: the real host, the renderer build, Debian's Chromium and the
// shipped model. The admin's Settings show "Score studies in the background as they arrive" on by
// default; a glioma series imported through the worklist's upload is scored with nobody opening
// it, and its AI cell says so in words (queued or scoring first, then the finding), with the
// not-a-medical-device notice on the page.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { AI_NOTICE } from '../electron/contract';
import { openWorkstation, type OpenWorkstation } from './harness';
import { writeGliomaSeries } from './fixtures/glioma-series';
import { RADIOLOGIST, createRadiologist, signIn, signOut } from './viewer-helpers';

let ws: OpenWorkstation;
let page: Page;
let problems: string[];
let fixtureDir: string;
let files: string[];

beforeAll(async () => {
  fixtureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-background-'));
  files = writeGliomaSeries(fixtureDir);
  ws = await openWorkstation();
  ({ page, problems } = ws);
  await createRadiologist(page);
});

afterAll(async () => {
  await ws?.close();
  if (fixtureDir) fs.rmSync(fixtureDir, { recursive: true, force: true });
});

describe('background scoring in the browser', () => {
  it('the admin setting is on by default', async () => {
    await page.getByRole('tab', { name: 'Settings' }).click();
    const box = page.getByLabel('Score studies in the background as they arrive');
    await box.waitFor();
    expect(await box.isChecked()).toBe(true);
    await signOut(page);
    await signIn(page, RADIOLOGIST);
  });

  it('a study imported in the worklist is shown scored without being opened', async () => {
    await page.getByRole('button', { name: /^Worklist/ }).click();
    await page.getByTestId('import-files').setInputFiles(files);
    await page.getByText(`Imported ${files.length} image(s)`).waitFor({ timeout: 60_000 });
    await page.getByTestId('worklist-search').fill('TEST-GLIOMA');
    const cell = page.getByTestId('worklist-table').locator('tbody tr', { hasText: 'TEST, GLIOMA SERIES' }).getByTestId('ai-status-cell');
    await cell.waitFor();
    // Queued or being scored at first (the demo studies are ahead of it), never "Not run".
    expect(await cell.innerText()).toMatch(/^(Queued|Scoring…|Glioma >?\d+\.\d%)$/);
    await expect.poll(() => cell.innerText(), { timeout: 300_000, interval: 500 }).toMatch(/^Glioma >?\d+\.\d%$/);
    expect(await cell.getAttribute('aria-label')).toMatch(/^AI: scored, Glioma >?\d+\.\d%$/);
    await expect(page.getByText(AI_NOTICE, { exact: false }).first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(os.tmpdir(), 'tp-ai-background-worklist.png') });
    // The viewer was never opened: the worklist page is still the one on screen.
    expect(await page.getByTestId('viewport').count()).toBe(0);
  }, 360_000);

  it('showed no console errors and no CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
