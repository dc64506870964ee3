// A radiologist's follow-up read in the browser, end to end: the real host, the real renderer
// build, Debian's Chromium, a real follow-up pair (two visits of one made-up patient, derived from
// neighbouring figshare glioma slices) and the shipped model. The hanging protocol opens it 1x2
// (current left, prior right), linked scrolling moves both viewports (checked on screenshot
// pixels), a measurement is stored and found again after a reload, the tracking chart shows both
// visits' volumes and the change, and the bundled 24-slice volume says most slices could not be
// analysed. Rendering is checked on pixels, not only the DOM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { openWorkstation, type OpenWorkstation } from './harness';
import { FOLLOW_UP_PATIENT_ID, writeFollowUpPair } from './fixtures/glioma-series';
import { RADIOLOGIST, createRadiologist, meanAbsDiff, openStudyFromWorklist, signIn, signOut, viewportPixels } from './viewer-helpers';
void openStudyFromWorklist;

// Callbacks passed to waitForFunction run in the page; this tsconfig has no DOM lib.
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };

let ws: OpenWorkstation;
let page: Page;
let problems: string[];
let fixtureDir: string;
let pair: { prior: string[]; current: string[] };
const SHOTS = process.env.TP_E2E_SHOTS;

beforeAll(async () => {
  fixtureDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-followup-'));
  pair = writeFollowUpPair(fixtureDir);
  ws = await openWorkstation({ viewport: { width: 1600, height: 900 } });
  ({ page, problems } = ws);
  await createRadiologist(page);
  await signOut(page);
  await signIn(page, RADIOLOGIST);
});

afterAll(async () => {
  await ws?.close();
  if (fixtureDir) fs.rmSync(fixtureDir, { recursive: true, force: true });
});

const cell = (i: number): Locator => page.locator(`[data-testid="viewport"][data-viewport-index="${i}"]`);
const cellText = (i: number, testId: string): Promise<string> => page.locator(`[data-testid="viewport-cell"][data-viewport-index="${i}"]`).getByTestId(testId).innerText();
const attr = async (i: number, name: string): Promise<string | null> => cell(i).getAttribute(name);

async function waitForAttr(i: number, name: string, value: string, timeout = 60_000): Promise<void> {
  await page.waitForFunction(([sel, n, v]) => document.querySelector(sel!)?.getAttribute(n!) === v, [`[data-testid="viewport"][data-viewport-index="${i}"]`, name, value], { timeout });
}

/** The worklist finds both visits of the patient; the newest is the one read: open the July visit. */
async function openCurrentVisit(): Promise<void> {
  await page.getByRole('button', { name: /^Worklist/ }).click();
  await page.getByTestId('worklist-search').fill(FOLLOW_UP_PATIENT_ID);
  await expect.poll(() => page.getByTestId('worklist-table').locator('tbody tr[data-study-id]').count()).toBe(2);
  await page.getByTestId('worklist-table').locator('tbody tr[data-study-id]', { hasText: '2024-07-10' }).dblclick();
}

async function shot(name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** The pixels of the whole canvas of viewport i, decoded. */
async function canvasPixels(i: number): Promise<{ data: Buffer; width: number; height: number }> {
  const png = PNG.sync.read(await cell(i).screenshot());
  return { data: png.data, width: png.width, height: png.height };
}

describe('a follow-up read', () => {
  it('imports a follow-up pair; the hanging protocol opens it 1x2, current left and prior right', async () => {
    await page.getByTestId('import-files').setInputFiles([...pair.prior, ...pair.current]);
    await page.getByText(`Imported ${pair.prior.length + pair.current.length} image(s)`).waitFor({ timeout: 60_000 });
    await openCurrentVisit();
    await page.getByTestId('viewport-grid').and(page.locator('[data-layout="1x2"]')).waitFor({ timeout: 60_000 });
    await waitForAttr(0, 'data-rendered-slice', '0');
    await waitForAttr(1, 'data-rendered-slice', '0');
    await expect(cellText(0, 'study-label')).resolves.toBe('Current');
    await expect(cellText(1, 'study-label')).resolves.toBe('Prior 2024-01-10');
    await expect(page.getByTestId('layout-note').innerText()).resolves.toMatch(/current left, prior 2024-01-10 right \(same description and geometry\)/);
    // Different visits have different Frames of Reference: linked by index, and the screen says so.
    await expect(page.getByTestId('link-note').innerText()).resolves.toMatch(/linked by slice index/i);
    await expect(page.getByTestId('priors').innerText()).resolves.toMatch(/2024-01-10/);
    for (const i of [0, 1]) {
      const px = await viewportPixels(page, cell(i));
      expect(px.nonBlack).toBeGreaterThan(0.2);
    }
    await shot('follow-up-1x2');
  });

  it('scrolls both viewports together when linked, checked on their pixels', async () => {
    await page.getByTestId('overlay-toggle').uncheck().catch(() => {});
    await waitForAttr(0, 'data-rendered-slice', '0');
    const left0 = await viewportPixels(page, cell(0));
    const right0 = await viewportPixels(page, cell(1));
    await cell(0).focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await waitForAttr(0, 'data-rendered-slice', '3');
    await waitForAttr(1, 'data-rendered-slice', '3');
    await expect(cellText(0, 'slice-indicator')).resolves.toMatch(/Image 4 \/ 8/);
    await expect(cellText(1, 'slice-indicator')).resolves.toMatch(/Image 4 \/ 8/);
    const left3 = await viewportPixels(page, cell(0));
    const right3 = await viewportPixels(page, cell(1));
    // Both canvases show other slices now, not only the indicators.
    expect(meanAbsDiff(left0, left3)).toBeGreaterThan(1);
    expect(meanAbsDiff(right0, right3)).toBeGreaterThan(1);
    // The mouse wheel over the prior moves the current one too.
    const box = (await cell(1).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    await waitForAttr(1, 'data-rendered-slice', '4');
    await waitForAttr(0, 'data-rendered-slice', '4');
    // Unlinked, only the active viewport moves.
    await page.keyboard.press('n');
    await expect(page.getByTestId('link-note').innerText()).resolves.toMatch(/not linked/);
    await cell(0).focus();
    await page.keyboard.press('ArrowUp');
    await waitForAttr(0, 'data-rendered-slice', '3');
    const right4 = await viewportPixels(page, cell(1));
    await page.waitForTimeout(300);
    expect(await attr(1, 'data-rendered-slice')).toBe('4');
    expect(meanAbsDiff(right4, await viewportPixels(page, cell(1)))).toBeLessThan(0.5);
    await page.keyboard.press('n');
    await shot('follow-up-linked');
  });

  it('measures a length with the mouse, keeps it across a reload, and shows it again on its image', async () => {
    await cell(0).focus();
    await page.keyboard.press('Home');
    await waitForAttr(0, 'data-rendered-slice', '0');
    await page.keyboard.press('l');
    const box = (await cell(0).boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.65, box.y + box.height * 0.5, { steps: 8 });
    await page.mouse.up();
    const row = page.getByTestId('measurement-row').first();
    await row.waitFor({ timeout: 30_000 });
    const text = await row.innerText();
    const mm = Number(/Length ([\d.]+) mm/.exec(text)?.[1]);
    // 30% of the viewport's width at the fitted zoom of a 251 mm field of view.
    expect(mm).toBeGreaterThan(20);
    expect(mm).toBeLessThan(200);
    await expect(row.innerText()).resolves.toMatch(/series 1 \(Derived axial T1 post-contrast \(test fixture\)\), image 1/);
    await waitForAttr(0, 'data-measurements-drawn', '1');

    // A keyboard measurement on the same image: Enter, arrows, Enter, arrows, Enter.
    await page.keyboard.press('Escape');
    await page.keyboard.press('v');
    await cell(0).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('measurement-row').count()).toBe(2);
    await expect(page.getByTestId('measurement-row').nth(1).innerText()).resolves.toMatch(/^Probe \d+/);
    await waitForAttr(0, 'data-measurements-drawn', '2');
    await page.keyboard.press('w');

    // A reload is a new connection, and the host ends a session with its connection: sign in again.
    await page.reload();
    await signIn(page, RADIOLOGIST);
    await openCurrentVisit();
    await waitForAttr(0, 'data-rendered-slice', '0');
    await expect.poll(() => page.getByTestId('measurement-row').count(), { timeout: 30_000 }).toBe(2);
    await expect(page.getByTestId('measurement-row').first().innerText()).resolves.toContain(`Length ${mm.toFixed(1)} mm`);
    // Drawn on its image again, in the measurement colour (green for one's own).
    await waitForAttr(0, 'data-measurements-drawn', '2');
    const px = await canvasPixels(0);
    let green = 0;
    for (let i = 0; i < px.width * px.height; i++) {
      const [r, g, b] = [px.data[4 * i]!, px.data[4 * i + 1]!, px.data[4 * i + 2]!];
      if (g > 180 && r < 160 && b < 160 && g > r + 40) green++;
    }
    expect(green).toBeGreaterThan(50);
    await shot('follow-up-measured');
  });

  it('shows the tumor over time: both visits\' volumes, the change in percent, and the radiologist\'s length', async () => {
    const tracking = page.getByTestId('tracking');
    // Both studies get their AI result (the prior is scored when it is shown), then the chart.
    await expect.poll(() => page.getByTestId('tracking-volume').allInnerTexts(), { timeout: 240_000 }).toEqual([expect.stringMatching(/^[\d.]+ (cm³|mm³)$/), expect.stringMatching(/^[\d.]+ (cm³|mm³)$/)]);
    const volumes = await page.getByTestId('tracking-volume').allInnerTexts();
    const rows = await page.getByTestId('tracking-row').allInnerTexts();
    expect(rows[0]).toMatch(/^2024-01-10/);
    expect(rows[1]).toMatch(/^2024-07-10 \(this study\)/);
    const change = await page.getByTestId('tracking-change-prior').innerText();
    expect(change).toMatch(new RegExp(`Volume ${volumes[0]!.replace('.', '\\.')} → ${volumes[1]!.replace('.', '\\.')} \\([+−]\\d+%\\) since 2024-01-10`));
    // The percentage is the one the two volumes give.
    const v = volumes.map((t) => Number.parseFloat(t) * (t.endsWith('cm³') ? 1000 : 1));
    const pct = Number(/\(([+−])(\d+)%\)/.exec(change)!.slice(1).join('').replace('−', '-'));
    expect(Math.abs(pct - ((v[1]! - v[0]!) / v[0]!) * 100)).toBeLessThan(1.5);
    await expect(tracking.innerText()).resolves.toMatch(/Not a medical device/);
    // The radiologist's length beside the AI's, on the current visit.
    expect(rows[1]).toMatch(/\d+\.\d mm \(longest of 2\)/);
    // The chart is drawn: the canvas has the volume line's colour on it.
    const png = PNG.sync.read(await page.getByTestId('tracking-chart').screenshot());
    let line = 0;
    for (let i = 0; i < png.width * png.height; i++) if (png.data[4 * i]! > 200 && png.data[4 * i + 1]! > 120 && png.data[4 * i + 1]! < 180 && png.data[4 * i + 2]! < 150) line++;
    expect(line).toBeGreaterThan(20);
    await shot('follow-up-tracking');
  });

  it('lays out 2x2 and takes a series dragged from the strip into a viewport', async () => {
    await page.keyboard.press('Shift+4');
    await page.getByTestId('viewport-grid').and(page.locator('[data-layout="2x2"]')).waitFor();
    await waitForAttr(2, 'data-rendered-slice', '0');
    await waitForAttr(3, 'data-rendered-slice', '0');
    // Drag the prior's series from the strip onto viewport 3.
    const priorThumb = page.getByTestId('series-thumb').nth(1);
    await priorThumb.dragTo(page.locator('[data-testid="viewport-cell"][data-viewport-index="2"]'));
    await expect.poll(() => cellText(2, 'study-label')).toBe('Prior 2024-01-10');
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-rendered-slice') !== null, '[data-testid="viewport"][data-viewport-index="2"]');
    const px = await viewportPixels(page, cell(2));
    expect(px.nonBlack).toBeGreaterThan(0.2);
    await shot('follow-up-2x2');
    await page.keyboard.press('Shift+2');
    await page.getByTestId('viewport-grid').and(page.locator('[data-layout="1x2"]')).waitFor();
  });

  it('browses the DICOM tags of the image on screen, read-only, and closes with Escape', async () => {
    await cell(0).focus();
    await page.keyboard.press('t');
    const dialog = page.getByTestId('tag-browser');
    await dialog.waitFor();
    await dialog.getByTestId('tag-row').first().waitFor();
    await expect(dialog.locator('[data-tag="(0010,0010)"]').innerText()).resolves.toMatch(/PatientName\s+PN\s+TEST\^FOLLOW\^UP/);
    await expect(dialog.locator('[data-tag="(0028,0030)"]').innerText()).resolves.toMatch(/PixelSpacing\s+DS\s+0\.98\\0\.98/);
    // The derivation description is long: collapsed until asked for.
    const long = dialog.locator('[data-tag="(0008,2111)"] details');
    await expect(long.getAttribute('open')).resolves.toBeNull();
    await page.getByLabel('Filter by tag, name or value').fill('spacing');
    await expect.poll(() => dialog.getByTestId('tag-row').count()).toBeLessThan(5);
    await shot('follow-up-tags');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('opens the report of the study from the viewer', async () => {
    await page.getByTestId('open-report').click();
    await page.getByTestId('report-editor').waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('report-editor').innerText()).resolves.toMatch(/TEST, FOLLOW UP · 20240710/);
    // The draft as a radiologist writes it: side, size in mm, series and image, the change since the prior.
    const findings = await page.getByTestId('section-findings').inputValue();
    expect(findings).toMatch(/^Location: ((left|right) hemisphere|midline)(, (anterior|posterior|central))?; key slice series 1 \(Derived axial T1 post-contrast \(test fixture\)\), image \d\.$/m);
    expect(findings).toMatch(/^Size: \d+ x \d+ mm \(largest diameter and its perpendicular on that slice\); area [\d.]+ mm²; estimated volume [\d.]+ cm³ over \d slices\.$/m);
    expect(findings).toMatch(/^AI change since the prior study: Volume [\d.]+ cm³ → [\d.]+ cm³ \([+−]\d+%\) since 2024-01-10\.$/m);
    expect(findings).toMatch(/^Radiologist measurements: Length [\d.]+ mm \(series 1 .*image 1\); Probe \d+/m);
    expect(findings).not.toMatch(/% across|pixels/);
    // The editor shows the tumor over time and the study's measurements beside the text.
    const editor = page.getByTestId('report-editor');
    await expect.poll(() => editor.getByTestId('tracking-volume').count()).toBe(2);
    await expect(editor.getByTestId('report-measurements').innerText()).resolves.toMatch(/Length [\d.]+ mm/);
    await shot('follow-up-report');
  });
});

afterAll(() => {
  expect(problems).toEqual([]);
});

