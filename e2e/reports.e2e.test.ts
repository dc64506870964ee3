// Reports end to end in Debian's Chromium against the real headless host: a radiologist opens
// the bundled demo glioma case (the shipped model runs on open), starts its report from the AI
// finding, accepts it, edits the impression (autosaved, still there after a reload), signs, and
// finds the report locked with its content hash, an addendum and a PDF export.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { AI_NOTICE } from '../electron/contract';
import { openWorkstation, type OpenWorkstation } from './harness';
import { RADIOLOGIST, createRadiologist, openStudyFromWorklist, signIn, signOut } from './viewer-helpers';

let ws: OpenWorkstation;
let page: Page;
let problems: string[];

/** The class of a section whose AI text nobody has reviewed (not origin-ai-accepted or -edited). */
const AI_CLASS = /(^|\s)origin-ai(\s|$)/;
const IMPRESSION = 'Left-sided intra-axial mass in keeping with glioma. Reviewed by the reader; compare with prior imaging.';
const ADDENDUM = 'Addendum: case discussed at the tumour board; recommendation stands.';

beforeAll(async () => {
  ws = await openWorkstation();
  ({ page, problems } = ws);
  await createRadiologist(page);
  await signOut(page);
  await signIn(page, RADIOLOGIST);
});

afterAll(async () => {
  await ws?.close();
});

const nav = (label: string): Locator => page.getByRole('navigation', { name: 'Main navigation' }).getByRole('button', { name: label, exact: true });
const editor = (): Locator => page.getByTestId('report-editor');
const section = (key: string): Locator => page.getByTestId(`section-${key}`);
const impressionBox = (): Locator => page.getByRole('textbox', { name: 'Impression', exact: true });
const sectionBox = (key: string): Locator => page.locator('.report-section', { has: page.getByTestId(`section-${key}`) });

async function tabCount(filter: 'pending' | 'all' | 'approved' | 'rejected'): Promise<number> {
  const text = await page.getByTestId(`tab-${filter}`).locator('.count').innerText();
  return Number(text.trim());
}

let countsBefore: { pending: number; approved: number; all: number };

describe('reporting the demo glioma case in the browser', () => {
  it('opens the demo glioma case and the model finds a glioma', async () => {
    await openStudyFromWorklist(page, 'DEMO-GLIOMA');
    // The report is filled from the stored AI result, so the run has to finish first.
    await page.getByTestId('ai-study-finding').waitFor({ timeout: 120_000 });
    await expect(page.getByTestId('ai-study-finding').innerText()).resolves.toMatch(/Glioma >?\d+\.\d%/);
  });

  it('the dashboard lists the case as pending and the study in the viewer can be reported', async () => {
    await nav('Reports').click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    await page.getByTestId('tab-pending').locator('.count').waitFor();
    countsBefore = { pending: await tabCount('pending'), approved: await tabCount('approved'), all: await tabCount('all') };
    expect(countsBefore.approved).toBe(0);
    expect(countsBefore.pending).toBe(countsBefore.all);
    expect(countsBefore.pending).toBeGreaterThan(0);
    const row = page.getByTestId('report-row').filter({ hasText: 'DEMO, GLIOMA' });
    // The class in words, and a probability below 1 never rounded up to 100%.
    await expect(row.innerText()).resolves.toMatch(/DEMO-GLIOMA[\s\S]*\tGlioma >?\d+%\t[\s\S]*not started/);
    await expect(row.getByTestId('report-row-ai').innerText()).resolves.not.toMatch(/100%|glioma/);
    await page.getByRole('button', { name: 'Report the study open in the viewer' }).click();
    await editor().waitFor();
  });

  it('the draft opens pre-filled with AI text marked as AI: class, probability, model and version', async () => {
    await expect(editor().getAttribute('data-status')).resolves.toBe('draft');
    await expect(page.getByTestId('report-status').innerText()).resolves.toBe('draft');
    const finding = page.getByTestId('ai-finding');
    await expect(finding.innerText()).resolves.toMatch(/AI finding: Glioma, calibrated probability >?\d+\.\d%.*model tumornet \S+ · decision: pending/);
    // The disclosure is on screen, not only in the DOM.
    await finding.getByText(AI_NOTICE).waitFor({ state: 'visible' });

    for (const key of ['findings', 'impression']) {
      await expect(sectionBox(key).getAttribute('class')).resolves.toMatch(AI_CLASS);
      await expect(page.getByTestId(`origin-${key}`).innerText()).resolves.toBe('AI text – not reviewed');
      // The tag is the field's accessible description; its name stays the section's.
      await expect(section(key).getAttribute('aria-describedby')).resolves.toBe(`origin-${key}`);
    }
    await expect(impressionBox().getAttribute('id')).resolves.toBe('section-impression');
    const findings = await section('findings').inputValue();
    expect(findings).toMatch(/^AI classification: Glioma \(calibrated probability \d+\.\d%\)\./);
    expect(findings).toMatch(/Model tumornet \S+ \(\S+\)\. Not a medical device\./);
    await expect(section('impression').inputValue()).resolves.toMatch(/^Findings suggest glioma/);
    // Sections the AI did not write carry no AI tag.
    await expect(page.getByTestId('origin-technique').count()).resolves.toBe(0);
    await expect(section('technique').getAttribute('aria-describedby')).resolves.toBeNull();
    await expect(section('technique').inputValue()).resolves.toMatch(/MR of the brain/);
    await expect(section('impression').isEditable()).resolves.toBe(true);
  });

  it('signing needs the AI text reviewed first', async () => {
    await page.getByRole('button', { name: 'Sign report' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    await expect(alert.innerText()).resolves.toMatch(/still contains AI text you have not reviewed/);
    await expect(page.getByTestId('report-status').innerText()).resolves.toBe('draft');
    await expect(page.getByTestId('locked-banner').count()).resolves.toBe(0);
  });

  it('accepting the AI finding (Alt+Shift+Y) clears the AI marking', async () => {
    await expect(page.getByRole('button', { name: 'Accept AI finding' }).getAttribute('title')).resolves.toMatch(/Alt\+Shift\+Y/);
    await page.keyboard.press('Alt+Shift+Y');
    await expect.poll(() => page.getByTestId('ai-finding').innerText()).toMatch(/decision: accepted/);
    for (const key of ['findings', 'impression']) {
      await expect(sectionBox(key).getAttribute('class')).resolves.not.toMatch(AI_CLASS);
      await expect(sectionBox(key).getAttribute('class')).resolves.toMatch(/(^|\s)origin-ai-accepted(\s|$)/);
      await expect(page.getByTestId(`origin-${key}`).innerText()).resolves.toBe('AI text – accepted');
    }
    await expect(page.getByText('AI text – not reviewed').count()).resolves.toBe(0);
    // The error of the refused sign is gone.
    await expect(page.getByRole('alert').count()).resolves.toBe(0);
  });

  it('the edited impression is autosaved and is there after a reload', async () => {
    await impressionBox().fill(IMPRESSION);
    // No blur: the debounced autosave alone stores it.
    await expect.poll(() => page.getByTestId('save-state').innerText(), { timeout: 10_000 }).toBe('All changes saved');

    await page.reload();
    // A reload is a new connection, and the host ends a session with its connection: sign in again.
    await signIn(page, RADIOLOGIST);
    await nav('Reports').click();
    const row = page.getByTestId('report-row').filter({ hasText: 'DEMO, GLIOMA' });
    await expect(row.innerText()).resolves.toMatch(/draft/);
    await row.dblclick();
    await editor().waitFor();
    await expect(section('impression').inputValue()).resolves.toBe(IMPRESSION);
    await expect(sectionBox('impression').getAttribute('class')).resolves.toMatch(/(^|\s)origin-ai-edited(\s|$)/);
    await expect(page.getByTestId('origin-impression').innerText()).resolves.toBe('AI text – edited');
    // Accepted AI text stays accepted across the reload.
    await expect(page.getByTestId('origin-findings').innerText()).resolves.toBe('AI text – accepted');
    await expect(page.getByTestId('ai-finding').innerText()).resolves.toMatch(/decision: accepted/);
  });

  it('signing (Alt+Shift+Enter) makes the report final, signed, hashed and locked', async () => {
    await expect(page.getByRole('button', { name: 'Sign report' }).getAttribute('title')).resolves.toMatch(/Alt\+Shift\+Enter/);
    await page.keyboard.press('Alt+Shift+Enter');
    // The signature dialog shows what will be signed and what the signature means, and asks for the password again.
    const dialog = page.getByRole('dialog', { name: 'Sign the report' });
    await dialog.waitFor();
    await expect(dialog.getByTestId('sign-meaning').innerText()).resolves.toMatch(/Final report, signed by Dr Reader/);
    await expect(dialog.getByTestId('sign-content').innerText()).resolves.toContain(IMPRESSION);
    await expect(dialog.getByTestId('sign-ai-decision').innerText()).resolves.toMatch(/AI finding accepted: Glioma/);
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('sign-password');
    await page.keyboard.type('not-my-password');
    await page.keyboard.press('Enter');
    await expect(dialog.getByTestId('sign-error').innerText()).resolves.toMatch(/password is not right/);
    await expect(page.getByTestId('report-status').innerText()).resolves.toBe('draft');
    await page.locator('#sign-password').fill(RADIOLOGIST.password);
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    const banner = page.getByTestId('locked-banner');
    await banner.waitFor({ timeout: 30_000 });
    await expect(editor().getAttribute('data-status')).resolves.toBe('final');
    await expect(page.getByTestId('report-status').innerText()).resolves.toBe('final');
    await expect(banner.innerText()).resolves.toMatch(/^Signed by Dr Reader on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\. Locked; content hash [0-9a-f]{16}…$/);

    // Nothing in the signed content can be edited any more.
    for (const key of ['clinicalInformation', 'technique', 'findings', 'impression', 'recommendation']) {
      await expect(section(key).isEditable(), key).resolves.toBe(false);
    }
    await section('impression').focus();
    await page.keyboard.type(' extra words');
    await expect(section('impression').inputValue()).resolves.toBe(IMPRESSION);
    for (const name of ['Accept AI finding', 'Reject AI finding', 'Sign report', 'Mark preliminary']) {
      await expect(page.getByRole('button', { name }).count(), name).resolves.toBe(0);
    }
    await expect(page.getByTestId('save-state').count()).resolves.toBe(0);
    await page.getByTestId('ai-finding').getByText(AI_NOTICE).waitFor({ state: 'visible' });
  });

  it('an addendum is added with its own signature and date', async () => {
    const add = page.getByRole('button', { name: /add addendum/i });
    await expect(add.count()).resolves.toBe(1);
    await expect(add.isDisabled()).resolves.toBe(true);
    await page.getByLabel('New addendum').fill(ADDENDUM);
    await add.click();
    const dialog = page.getByRole('dialog', { name: 'Sign addendum 1' });
    await expect(dialog.getByTestId('sign-meaning').innerText()).resolves.toMatch(/Addendum, signed by Dr Reader/);
    await expect(dialog.getByTestId('sign-addendum-text').innerText()).resolves.toBe(ADDENDUM);
    await page.locator('#sign-password').fill(RADIOLOGIST.password);
    await dialog.getByRole('button', { name: 'Sign addendum' }).click();
    const addendum = page.getByTestId('addendum');
    await addendum.waitFor({ timeout: 30_000 });
    await expect(addendum.count()).resolves.toBe(1);
    await expect(addendum.innerText()).resolves.toMatch(new RegExp(`${ADDENDUM}[\\s\\S]*Addendum 1, signed by Dr Reader on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC`));
    await expect(page.getByLabel('New addendum').inputValue()).resolves.toBe('');
    // The report itself stays as signed.
    await expect(page.getByTestId('report-status').innerText()).resolves.toBe('final');
    await expect(section('impression').inputValue()).resolves.toBe(IMPRESSION);
  });

  it('exports the signed report as a PDF', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByRole('button', { name: 'Export PDF' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^report-2024-01-01-[0-9a-f]{8}\.pdf$/);
    const file = await download.path();
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(bytes.length).toBeGreaterThan(1000);
    await expect(page.getByRole('alert').count()).resolves.toBe(0);
  });

  it('the dashboard counts move from pending to approved', async () => {
    await page.getByRole('button', { name: '← Dashboard' }).click();
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    await expect.poll(() => tabCount('approved')).toBe(countsBefore.approved + 1);
    await expect(tabCount('pending')).resolves.toBe(countsBefore.pending - 1);
    await expect(tabCount('all')).resolves.toBe(countsBefore.all);
    await expect(page.getByTestId('report-row').filter({ hasText: 'DEMO, GLIOMA' }).count()).resolves.toBe(0);
    await page.getByTestId('tab-approved').click();
    const rows = page.getByTestId('report-row');
    await expect.poll(() => rows.count()).toBe(1);
    await expect(rows.first().innerText()).resolves.toMatch(/DEMO, GLIOMA[\s\S]*final/);
  });

  it('showed no console errors and no CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
