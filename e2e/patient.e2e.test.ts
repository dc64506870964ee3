// The patient's side end to end in Debian's Chromium against the real headless host: a
// radiologist signs the demo glioma case; the admin creates a patient account and links it by
// finding the demo patient by name (no internal record id typed anywhere); the patient signs in
// to the consultation-room view, where only their results are, in plain language, with the
// not-a-medical-device notice, and a print layout without the app frame.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { AI_NOTICE, pagesFor } from '../electron/contract';
import { openWorkstation, type OpenWorkstation } from './harness';
import { ADMIN, RADIOLOGIST, createRadiologist, openStudyFromWorklist, signIn, signOut } from './viewer-helpers';

const PATIENT = { username: 'glioma.patient', password: 'patient-passphrase-0042' };
/** An account made as a researcher, then turned into a patient account of a patient without a signed report. */
const OTHER = { username: 'other.patient', password: 'other-passphrase-00042' };

let ws: OpenWorkstation;
let page: Page;
let problems: string[];

beforeAll(async () => {
  ws = await openWorkstation();
  ({ page, problems } = ws);
  await createRadiologist(page);
  await signOut(page);
});

afterAll(async () => {
  await ws?.close();
});

const navBar = (): Locator => page.getByRole('navigation', { name: 'Main navigation' });
const nav = (label: string): Locator => navBar().getByRole('button', { name: label, exact: true });

describe('a patient sees their signed result', () => {
  it('a radiologist signs the demo glioma case from the accepted AI finding', async () => {
    await signIn(page, RADIOLOGIST);
    await openStudyFromWorklist(page, 'DEMO-GLIOMA');
    await page.getByTestId('ai-study-finding').waitFor({ timeout: 60_000 });
    await nav('Reports').click();
    await page.getByRole('button', { name: 'Report the study open in the viewer' }).click();
    await page.getByTestId('report-editor').waitFor();
    await page.getByRole('button', { name: 'Accept AI finding' }).click();
    await expect.poll(() => page.getByTestId('ai-finding').innerText()).toMatch(/decision: accepted/);
    await page.getByRole('button', { name: 'Sign report' }).click();
    // The signature asks for the radiologist's password again.
    await page.locator('#sign-password').fill(RADIOLOGIST.password);
    await page.getByTestId('sign-confirm').click();
    await page.getByTestId('locked-banner').waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('report-editor').getAttribute('data-status')).resolves.toBe('final');
    await signOut(page);
  });

  it('the admin finds the demo patient by name and links a new patient account to it', async () => {
    await signIn(page, ADMIN);
    await page.locator('#new-username').waitFor();
    await page.fill('#new-username', PATIENT.username);
    await page.fill('#new-display-name', 'Glioma Patient');
    await page.selectOption('#new-role', 'patient');
    // Creating without a record is refused in the form, before any request.
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByTestId('users-error').innerText()).resolves.toBe('Find and choose the patient record this account is for.');

    await page.getByRole('searchbox', { name: 'Find patient (hospital Patient ID or name)' }).fill('glioma');
    await page.keyboard.press('Enter');
    const matches = page.getByTestId('new-patient-matches');
    await matches.waitFor();
    const rows = matches.locator('tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().innerText()).resolves.toMatch(/DEMO, GLIOMA\s+DEMO-GLIOMA\s+1970-01-01\s+1\s+–/);
    await page.getByRole('button', { name: 'Choose DEMO, GLIOMA (Patient ID DEMO-GLIOMA, born 1970-01-01)' }).click();
    await expect(page.getByTestId('new-patient-chosen').innerText()).resolves.toMatch(/Linked patient record: DEMO, GLIOMA \(Patient ID DEMO-GLIOMA, born 1970-01-01\)/);

    await page.fill('#new-password', PATIENT.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByTestId('users-table').getByText(PATIENT.username, { exact: true }).waitFor();
    await expect(page.getByTestId('users-error').count()).resolves.toBe(0);
    // The search now names the account the record is linked to.
    await page.selectOption('#new-role', 'patient');
    await page.getByRole('searchbox', { name: 'Find patient (hospital Patient ID or name)' }).fill('DEMO-GLIOMA');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await expect.poll(() => matches.locator('tbody tr').first().innerText()).toMatch(new RegExp(`DEMO-GLIOMA[\\s\\S]*${PATIENT.username.replace('.', '\\.')}`));
  });

  it('changing an account to the patient role asks for its record the same way', async () => {
    await page.selectOption('#new-role', 'researcher');
    await page.fill('#new-username', OTHER.username);
    await page.fill('#new-display-name', 'Other Patient');
    await page.fill('#new-password', OTHER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByTestId('users-table').getByText(OTHER.username, { exact: true }).waitFor();
    await page.getByLabel(`Role of ${OTHER.username}`).selectOption('patient');
    const row = page.getByTestId('link-patient-row');
    await row.waitFor();
    // Nothing changes until a record is chosen.
    await expect(page.getByLabel(`Role of ${OTHER.username}`).inputValue()).resolves.toBe('researcher');
    await expect(row.getByRole('button', { name: 'Link patient record' }).isDisabled()).resolves.toBe(true);
    await row.getByRole('searchbox', { name: 'Find patient (hospital Patient ID or name)' }).fill('demo-notumor');
    await page.keyboard.press('Enter');
    await row.getByRole('button', { name: /^Choose DEMO, NOTUMOR \(Patient ID DEMO-NOTUMOR,/ }).click();
    await row.getByRole('button', { name: 'Link patient record' }).click();
    await expect.poll(() => page.getByLabel(`Role of ${OTHER.username}`).inputValue()).toBe('patient');
    await expect(page.getByRole('status').filter({ hasText: `${OTHER.username} is now Patient, linked to DEMO, NOTUMOR` }).count()).resolves.toBe(1);
    await expect(page.getByTestId('link-patient-row').count()).resolves.toBe(0);
    await signOut(page);
  });

  it('the patient sees only My results, with the signed summary and the AI notice', async () => {
    await signIn(page, PATIENT);
    await page.getByRole('heading', { name: 'My results', level: 1 }).waitFor();
    const labels = await navBar().getByRole('button').allInnerTexts();
    expect(labels).toEqual(pagesFor('patient').map((p) => p.label));
    expect(labels[0]).toBe('My results');
    for (const clinical of ['Worklist', 'Viewer', 'Reports', 'Research', 'Administration']) expect(labels).not.toContain(clinical);
    await expect(nav('My results').getAttribute('aria-current')).resolves.toBe('page');

    const results = page.getByTestId('patient-result');
    await results.first().waitFor();
    await expect(results.count()).resolves.toBe(1);
    const text = await results.first().innerText();
    expect(text).toMatch(/^Your brain scan showed a finding your doctor will discuss with you/);
    expect(text).toMatch(/Scan date\s+1 January 2024/);
    expect(text).toMatch(/Signed by\s+Dr Reader/);
    expect(text).toMatch(/Signed on\s+\d{1,2} \w+ \d{4} at \d\d:\d\d/);
    expect(text).toMatch(/A glioma is a growth/);
    await results.first().getByTestId('patient-ai-notice').getByText(AI_NOTICE).waitFor({ state: 'visible' });
    await expect(results.first().getAttribute('aria-labelledby')).resolves.toMatch(/^result-/);
    await expect(page.getByRole('article', { name: 'Your brain scan showed a finding your doctor will discuss with you' }).count()).resolves.toBe(1);
    await expect(page.getByTestId('patient-empty').count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: 'Print' }).isEnabled()).resolves.toBe(true);
  });

  it('prints the results without the app frame', async () => {
    await page.emulateMedia({ media: 'print' });
    try {
      await expect(navBar().isVisible()).resolves.toBe(false);
      await expect(page.locator('.app-header').isVisible()).resolves.toBe(false);
      await expect(page.getByRole('button', { name: 'Print' }).isVisible()).resolves.toBe(false);
      await expect(page.getByTestId('patient-result').isVisible()).resolves.toBe(true);
      await expect(page.getByTestId('patient-ai-notice').isVisible()).resolves.toBe(true);
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
    await expect(navBar().isVisible()).resolves.toBe(true);
  });

  it('another patient sees the empty state, not the first patient\'s result', async () => {
    await signOut(page);
    await signIn(page, OTHER);
    await expect(page.getByTestId('patient-empty').innerText()).resolves.toBe('No signed results yet. Your doctor will tell you when a report is ready.');
    await expect(page.getByTestId('patient-result').count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: 'Print' }).isDisabled()).resolves.toBe(true);
  });

  it('showed no console errors and no CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
