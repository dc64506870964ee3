// The patient's and the doctor's loop end to end in Debian's Chromium against the real headless
// host, with the real import, model and reports: the admin allows uploads from patient accounts
// (Administration > Patient pages); the patient sends a DICOM folder (whose files name someone
// else) and a JPEG and sees "Received, awaiting review"; the radiologist, on the Reviews page in
// another window, sees the Pending count and the bell rise without reloading, rejects the folder
// with a reason and approves the JPEG, then signs its report; the patient's bell rises and they
// see both outcomes and the new result; an urgent message reaches the radiologist's bell. Every
// new control is checked to be reachable with Tab and to show its focus.
// Accounts are made beforehand through the composition root (patient.e2e.test.ts makes them in
// the browser); isolation between patients is tested through the handler table in
// electron/ipc/patient-loop.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { DEFAULT_EMERGENCY_TEXT, DONT_WAIT_SENTENCE, PRELIMINARY_NOTICE, type PatientMatch } from '../electron/contract';
import { resolveConfig } from '../electron/services/config';
import { DEFAULT_LIMITS, decodeFrame, defaultDemoFolder, parseDicomFile } from '../electron/services/dicom';
import { createWorkstation, type Workstation } from '../electron/ipc/compose';
import { createConnection } from '../electron/ipc/handler-table';
import { channelCaller } from '../electron/ipc/test-calls';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';
import { ADMIN, RADIOLOGIST, signIn } from './viewer-helpers';

const DB_PASSPHRASE = 'e2e patient loop database passphrase';
const PATIENT = { username: 'loop.patient', password: 'patient-passphrase-0042' };
const REASON = 'These images belong to another person. Please bring your own CD to the clinic.';

let host: ServedHost;
let browser: Browser;
let patient: Page;
let rad: Page;
let problems: { patient: string[]; radiologist: string[] };
let files: { folder: string; jpeg: string };
/** Controls covered by each keyboard sweep, by page. */
const swept: Record<string, number> = {};

async function seed(dataDir: string): Promise<void> {
  let ws: Workstation | null = null;
  const { ok } = channelCaller(() => ws!);
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: dataDir, keySource: 'passphrase', passphrase: DB_PASSPHRASE }));
  try {
    const admin = createConnection('host');
    await ok(admin, 'auth.createFirstAdmin', { username: ADMIN.username, displayName: 'Admin', password: ADMIN.password });
    await ok(admin, 'users.create', { username: RADIOLOGIST.username, displayName: 'Dr Reader', role: 'radiologist', password: RADIOLOGIST.password });
    await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
    const { patients } = await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: 'DEMO-GLIOMA' });
    await ok(admin, 'users.create', { username: PATIENT.username, displayName: 'Glioma Patient', role: 'patient', patientId: patients[0]!.id, password: PATIENT.password });
  } finally {
    await ws.close();
  }
}

/** A DICOM folder of three slices of the demo volume (their files say Patient ID DEMO-VOLUME), and a JPEG "photo" of the glioma slice. */
async function makeFiles(dir: string): Promise<{ folder: string; jpeg: string }> {
  const folder = path.join(dir, 'MRI-CD');
  fs.mkdirSync(folder, { recursive: true });
  for (const f of ['t1-volume-10.dcm', 't1-volume-11.dcm', 't1-volume-12.dcm']) fs.copyFileSync(path.join(defaultDemoFolder(), f), path.join(folder, f));
  const parsed = parseDicomFile(fs.readFileSync(path.join(defaultDemoFolder(), 'glioma-1.dcm')), DEFAULT_LIMITS);
  const frame = await decodeFrame(parsed, 0);
  let min = Infinity;
  let max = -Infinity;
  for (const v of frame.pixels) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const data = Buffer.alloc(frame.rows * frame.columns * 4);
  for (let i = 0; i < frame.rows * frame.columns; i++) {
    const v = Math.round((255 * (frame.pixels[i * frame.samplesPerPixel]! - min)) / Math.max(1, max - min));
    data.set([v, v, v, 255], i * 4);
  }
  const jpegFile = path.join(dir, 'photo-of-my-scan.jpg');
  fs.writeFileSync(jpegFile, jpeg.encode({ width: frame.columns, height: frame.rows, data }, 92).data);
  return { folder, jpeg: jpegFile };
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-loop-'));
  await seed(dataDir);
  files = await makeFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-loop-files-')));
  host = await startServe({ dataDir, env: { TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: DB_PASSPHRASE } });
  browser = await launchBrowser();
  patient = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  rad = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  problems = { patient: watchConsole(patient), radiologist: watchConsole(rad) };
  await patient.goto(host.url);
  await rad.goto(await host.newUrl()); // each address admits one browser once
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  if (host) fs.rmSync(host.dataDir, { recursive: true, force: true });
});

const nav = (page: Page, label: string): Locator => page.getByRole('navigation', { name: 'Main navigation' }).getByRole('button', { name: label, exact: true });
const bellCount = async (page: Page): Promise<number> => Number(await page.getByTestId('bell-count').innerText());

/** Presses Tab until `target` has the focus (at most `max` times); then checks it shows a focus outline. */
async function reachByTab(page: Page, target: Locator, max = 80): Promise<void> {
  const handle = await target.elementHandle();
  if (!handle) throw new Error('the control is not on the page');
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await handle.evaluate((el) => el === document.activeElement || el.contains(document.activeElement))) {
      const outline = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const s = getComputedStyle(el);
        const box = el.closest('label') ? getComputedStyle(el.closest('label')!) : null;
        return { style: s.outlineStyle, width: s.outlineWidth, labelStyle: box?.outlineStyle ?? 'none', visible: el.matches(':focus-visible') };
      });
      expect(outline.visible, 'focus is visible').toBe(true);
      expect(outline.style !== 'none' || outline.labelStyle !== 'none', `a focus outline (${JSON.stringify(outline)})`).toBe(true);
      return;
    }
  }
  throw new Error(`Tab did not reach the control in ${max} presses`);
}

interface Swept {
  /** Controls on the page that Tab never reached: "tag testid/name". */
  unreached: string[];
  /** Controls that took the focus without a visible focus indicator. */
  unmarked: string[];
  controls: number;
}

/**
 * Every control a person can use in `scope` (links, buttons, fields, anything with a tabindex;
 * not disabled or hidden ones; one radio per group, as Tab reaches a group once) is reached by
 * pressing Tab from the top of the page, and shows a focus indicator when it has the focus: an
 * outline on it, or on the label it sits in (the file pickers), that it does not have unfocused.
 */
async function sweepByTab(page: Page, scope = '#app-main'): Promise<Swept> {
  const expected = await page.evaluate((sel) => {
    const root = document.querySelector(sel);
    if (!root) throw new Error(`no ${sel} on the page`);
    for (const old of document.querySelectorAll<HTMLElement>('[data-sweep]')) delete old.dataset.sweep;
    const out: { key: string; group: string; label: string }[] = [];
    let n = 0;
    for (const el of root.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, summary, [tabindex]')) {
      if (el.closest('[inert]') || el.matches(':disabled') || el.getAttribute('tabindex') === '-1') continue;
      if (el instanceof HTMLInputElement && el.type === 'hidden') continue;
      // Not drawn: hidden, or inside a closed <details> (its content stays in the layout tree).
      if (!el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) continue;
      const closed = el.closest('details:not([open])');
      if (closed && !(el.closest('summary') && el.closest('summary')!.parentElement === closed)) continue;
      const key = `k${n++}`;
      el.dataset.sweep = key;
      const group = el instanceof HTMLInputElement && el.type === 'radio' && el.name ? `radio:${el.name}` : key;
      const name = el.dataset.testid ?? el.getAttribute('aria-label') ?? el.id ?? '';
      out.push({ key, group, label: `${el.tagName.toLowerCase()} ${name || (el.textContent ?? '').trim().slice(0, 40)}`.trim() });
    }
    return out;
  }, scope);
  // How each control looks without the focus: an outline it always has is no focus indicator.
  const outlinedUnfocused = new Set(
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      return [...document.querySelectorAll<HTMLElement>('[data-sweep]')].filter((el) => getComputedStyle(el).outlineStyle !== 'none' || (el.closest('label') && getComputedStyle(el.closest('label')!).outlineStyle !== 'none')).map((el) => el.dataset.sweep!);
    }),
  );
  const reached = new Map<string, boolean>();
  const groups = new Set(expected.map((e) => e.group));
  const seenGroups = new Set<string>();
  for (let i = 0; i < expected.length * 2 + 60 && seenGroups.size < groups.size; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || !el.dataset.sweep) return null;
      const s = getComputedStyle(el);
      const label = el.closest('label');
      const outlined = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (label !== null && getComputedStyle(label).outlineStyle !== 'none');
      return { key: el.dataset.sweep, outlined, how: `focus-visible ${el.matches(':focus-visible')}, outline ${s.outlineStyle} ${s.outlineWidth}` };
    });
    if (!at) continue;
    const marked = at.outlined && !outlinedUnfocused.has(at.key);
    if (!marked && process.env.TP_SWEEP_DEBUG) {
      console.log(`unmarked ${at.key}: ${at.how}`);
      await page.screenshot({ path: path.join(os.tmpdir(), `tp-sweep-${at.key}.png`) });
    }
    reached.set(at.key, (reached.get(at.key) ?? true) && marked);
    seenGroups.add(expected.find((e) => e.key === at.key)!.group);
  }
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  return {
    unreached: expected.filter((e) => !seenGroups.has(e.group)).map((e) => e.label),
    unmarked: expected.filter((e) => reached.get(e.key) === false).map((e) => e.label),
    controls: expected.length,
  };
}

/** Sweeps the page and expects every control reached and marked; returns how many there were. */
async function everyControlByTab(page: Page, what: string, scope?: string): Promise<number> {
  const swept = await sweepByTab(page, scope);
  expect({ what, unreached: swept.unreached, unmarked: swept.unmarked }).toEqual({ what, unreached: [], unmarked: [] });
  expect(swept.controls, `${what}: controls found`).toBeGreaterThan(0);
  return swept.controls;
}

describe('the patient and the doctor, end to end', () => {
  it('the admin allows uploads from patient accounts on the Patient pages tab', async () => {
    await signIn(rad, ADMIN);
    await rad.getByRole('tab', { name: 'Patient pages' }).click();
    const box = rad.getByTestId('set-patient-uploads');
    await box.waitFor();
    await expect(box.isChecked()).resolves.toBe(false);
    await expect(rad.getByTestId('set-before-review-received').isChecked()).resolves.toBe(true);
    await reachByTab(rad, box);
    await rad.keyboard.press('Space');
    await rad.getByTestId('save-patient-pages').click();
    await rad.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    await rad.getByRole('button', { name: 'Sign out' }).click();
    await rad.locator('#login-username').waitFor();
  });

  it('the radiologist waits on the Reviews page with nothing pending', async () => {
    await signIn(rad, RADIOLOGIST);
    await nav(rad, 'Reviews').click();
    await expect.poll(() => rad.getByTestId('reviews-count-pending').innerText()).toBe('0');
    await expect(bellCount(rad)).resolves.toBe(0);
    // The bell is announced: a live region with the count, the button named with it.
    await expect(rad.getByTestId('bell-live').getAttribute('aria-live')).resolves.toBe('polite');
    await expect(rad.getByTestId('bell-button').getAttribute('aria-label')).resolves.toBe('Notifications: none unread');
  });

  it('the patient sends a DICOM folder and a JPEG and sees "Received, awaiting review"', async () => {
    await signIn(patient, PATIENT);
    await nav(patient, 'Send images').click();
    const folderInput = patient.getByTestId('upload-folder');
    await folderInput.waitFor();
    await reachByTab(patient, folderInput);
    await folderInput.setInputFiles(files.folder);
    await expect(patient.getByTestId('upload-chosen').innerText()).resolves.toMatch(/3 files chosen/);
    await reachByTab(patient, patient.getByTestId('upload-send'));
    await patient.keyboard.press('Enter');
    await expect.poll(() => patient.getByTestId('upload-done').innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/Sent: 3 of 3 files received for review/);

    await patient.getByTestId('upload-files').setInputFiles(files.jpeg);
    await patient.getByTestId('upload-send').click();
    await expect.poll(() => patient.getByTestId('upload-done').innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/Sent: 1 of 1 file received for review/);

    const cards = patient.getByTestId('my-upload');
    await expect.poll(() => cards.count()).toBe(2);
    for (const text of await cards.allInnerTexts()) {
      expect(text).toMatch(/^Received, awaiting review/);
      // The default setting shows no AI result before a doctor has looked.
      expect(text).not.toContain(PRELIMINARY_NOTICE);
    }
    await expect(patient.getByTestId('my-upload-preliminary').count()).resolves.toBe(0);
    swept['Send images (patient), two uploads listed'] = await everyControlByTab(patient, 'Send images');
  });

  it('the radiologist sees the Pending count and the bell rise, live', async () => {
    await expect.poll(() => rad.getByTestId('reviews-count-pending').innerText(), { timeout: 30_000 }).toBe('2');
    await expect.poll(() => bellCount(rad)).toBe(2);
    await expect(rad.getByTestId('bell-live').innerText()).resolves.toMatch(/New notification: New images to review\. 2 unread\./);
    await expect(rad.getByTestId('bell-button').getAttribute('aria-label')).resolves.toBe('Notifications: 2 unread');
    // The bell opens a list of what arrived, with no patient data in it; Escape returns to the bell.
    await reachByTab(rad, rad.getByTestId('bell-button'));
    await rad.keyboard.press('Enter');
    const list = rad.getByTestId('notification-list');
    await list.waitFor();
    const listText = await list.innerText();
    expect(listText).toMatch(/New images to review/);
    expect(listText).not.toMatch(/GLIOMA|Glioma Patient|loop\.patient/);
    await rad.keyboard.press('Escape');
    await expect(rad.getByTestId('notification-panel').count()).resolves.toBe(0);
    await expect(rad.getByTestId('bell-button').evaluate((el) => el === document.activeElement)).resolves.toBe(true);
  });

  it('every control of the Reviews page, with a pending item open, is reached by Tab and shows its focus', async () => {
    await rad.getByTestId('review-row').first().click();
    await rad.getByTestId('review-reason').waitFor();
    // With the consultation-room form open, so its patient search is swept too.
    await rad.getByText('Add images for a patient (consultation room)').click();
    await rad.locator('#review-add-patient-search').waitFor();
    swept['Reviews (radiologist), a pending item open'] = await everyControlByTab(rad, 'Reviews');
  });

  it('rejects the folder, whose files name another Patient ID, with a reason for the patient', async () => {
    const rows = rad.getByTestId('review-row');
    await expect.poll(() => rows.count()).toBe(2);
    // Oldest first: the folder.
    const first = rows.first();
    await reachByTab(rad, first);
    await rad.keyboard.press('Enter');
    const detail = rad.getByTestId('review-detail');
    await detail.waitFor();
    await expect(detail.innerText()).resolves.toMatch(/DEMO, GLIOMA \(DEMO-GLIOMA\)/);
    await expect(rad.getByTestId('review-mismatch').innerText()).resolves.toMatch(/The files name Patient ID DEMO-VOLUME, but they were filed under DEMO, GLIOMA \(Patient ID DEMO-GLIOMA\)/);
    await rad.getByTestId('review-reject').click();
    await expect(rad.getByTestId('review-error').innerText()).resolves.toMatch(/Write the reason the patient will read/);
    await rad.getByTestId('review-reason').fill(REASON);
    await reachByTab(rad, rad.getByTestId('review-reject'));
    await rad.keyboard.press('Enter');
    await expect.poll(() => rad.getByTestId('review-state').innerText()).toMatch(/^Rejected by Dr Reader/);
    await expect.poll(() => rad.getByTestId('reviews-count-pending').innerText()).toBe('1');
    await expect(rad.getByTestId('reviews-count-rejected').innerText()).resolves.toBe('1');
  });

  it('opens the JPEG in the viewer, approves it and signs its report as usual', async () => {
    const row = rad.getByTestId('review-row').first();
    await expect.poll(() => row.innerText(), { timeout: 120_000 }).not.toMatch(/running|not run/);
    await row.click();
    const detail = rad.getByTestId('review-detail');
    await expect.poll(() => detail.innerText()).toMatch(/Pictures \(PNG\/JPEG\): 1 of 1 used/);
    await expect(rad.getByTestId('review-ai').innerText()).resolves.toMatch(/Not a medical device/);
    await expect(rad.getByTestId('review-mismatch').count()).resolves.toBe(0);
    await rad.getByTestId('review-open-viewer').click();
    await rad.getByTestId('viewport').waitFor({ timeout: 60_000 });
    await nav(rad, 'Reviews').click();
    await rad.getByTestId('review-row').first().click();
    await rad.getByTestId('review-approve').click();
    // Approving opens the report draft of that study, to sign as today.
    const editor = rad.getByTestId('report-editor');
    await editor.waitFor({ timeout: 30_000 });
    await expect(editor.getAttribute('data-status')).resolves.toBe('draft');
    const accept = rad.getByRole('button', { name: 'Accept AI finding' });
    if (await accept.count()) {
      await accept.click();
      await expect.poll(() => rad.getByTestId('ai-finding').innerText()).toMatch(/decision: accepted/);
    }
    await rad.getByRole('button', { name: 'Sign report' }).click();
    // The electronic signature asks for the radiologist's password again.
    await rad.locator('#sign-password').fill(RADIOLOGIST.password);
    await rad.getByTestId('sign-confirm').click();
    await rad.getByTestId('locked-banner').waitFor({ timeout: 30_000 });
    await expect(editor.getAttribute('data-status')).resolves.toBe('final');
    // Both were reviewed: the radiologist's "new images" notifications are read.
    await expect.poll(() => bellCount(rad)).toBe(0);
  });

  it("the patient's bell rises and they see both outcomes and the new result", async () => {
    await expect.poll(() => bellCount(patient), { timeout: 30_000 }).toBe(3);
    await expect(patient.getByTestId('bell-live').innerText()).resolves.toMatch(/New notification: A new result is ready\. 3 unread\./);
    const cards = patient.getByTestId('my-upload');
    await expect.poll(async () => (await cards.allInnerTexts()).map((t) => t.split('\n')[0])).toEqual(['Reviewed: your report is ready', 'Reviewed: these images could not be used']);
    await expect(cards.nth(1).innerText()).resolves.toContain(`"${REASON}"`);
    await expect(cards.nth(1).innerText()).resolves.toMatch(/Dr Reader looked at these images on \d{1,2} \w+ \d{4}/);
    // The bell's list leads to My results for the signed report.
    await patient.getByTestId('bell-button').click();
    await patient.getByTestId('notification-item').filter({ hasText: 'A new result is ready' }).click();
    await patient.getByRole('heading', { name: 'My results', level: 1 }).waitFor();
    await expect.poll(() => bellCount(patient)).toBe(2);
    const result = patient.getByTestId('patient-result');
    await expect.poll(() => result.count()).toBe(1);
    await expect(patient.getByTestId('patient-whose').innerText()).resolves.toMatch(/Name\s+DEMO, GLIOMA\s+Born\s+1 January 1970\s+Patient ID\s+DEMO-GLIOMA/);
    await patient.emulateMedia({ media: 'print' });
    try {
      await expect(patient.getByTestId('patient-whose').isVisible()).resolves.toBe(true);
      await expect(patient.getByTestId('bell-button').isVisible()).resolves.toBe(false);
    } finally {
      await patient.emulateMedia({ media: 'screen' });
    }
    swept['My results (patient), one signed result'] = await everyControlByTab(patient, 'My results');
    await patient.getByTestId('bell-button').click();
    await patient.getByTestId('notification-list').waitFor();
    swept['Notification list (patient)'] = await everyControlByTab(patient, 'Notification list', '[data-testid="notification-panel"]');
    await patient.keyboard.press('Escape');
  });

  it('an urgent message reaches the radiologist\'s bell and tops the inbox in red', async () => {
    await nav(patient, 'Messages').click();
    const urgent = patient.getByTestId('message-urgent');
    await urgent.waitFor();
    await reachByTab(patient, urgent);
    await patient.keyboard.press('Space');
    await expect(patient.getByTestId('urgent-warning').innerText()).resolves.toContain(DONT_WAIT_SENTENCE);
    await patient.getByTestId('message-text').fill('My headaches got much worse since yesterday.');
    await patient.getByRole('button', { name: 'Send', exact: true }).click();
    await expect.poll(() => patient.getByTestId('message').count()).toBe(1);
    await expect(patient.getByTestId('message').first().innerText()).resolves.toMatch(/^Urgent/);

    await expect.poll(() => bellCount(rad), { timeout: 30_000 }).toBe(1);
    await expect(rad.getByTestId('bell-live').innerText()).resolves.toMatch(/New notification: Urgent message from a patient\./);
    await expect(rad.getByTestId('messages-badge').innerText()).resolves.toBe('1');
    await rad.getByTestId('bell-button').click();
    await rad.getByTestId('notification-item').filter({ hasText: 'Urgent message from a patient' }).click();
    const item = rad.getByTestId('inbox-item').first();
    await item.waitFor();
    await expect(item.getAttribute('data-urgent')).resolves.toBe('true');
    const color = await item.locator('.inbox-name').evaluate((el) => getComputedStyle(el).color);
    expect(color).toBe('rgb(255, 123, 114)');
    await rad.getByTestId('thread-title').waitFor();
    await expect.poll(() => bellCount(rad)).toBe(0);
  });

  it('the emergency page says what to do, and the health tips are there with their sources', async () => {
    await nav(patient, 'Emergency').click();
    await expect(patient.getByTestId('emergency-text').innerText()).resolves.toBe(DEFAULT_EMERGENCY_TEXT);
    await expect(patient.getByTestId('emergency-card').innerText()).resolves.toContain(DONT_WAIT_SENTENCE);
    await nav(patient, 'Health tips').click();
    await expect.poll(() => patient.getByTestId('health-tip').count()).toBe(4);
    await expect(patient.getByTestId('health-tip').first().innerText()).resolves.toMatch(/Sources:[\s\S]*NHS: MRI scan/);
    await nav(patient, 'My care team').click();
    await patient.getByTestId('care-team-empty').waitFor();
  });

  it('every control of the other new pages is reached by Tab and shows its focus', async () => {
    // Each page is swept once its data is there (the element named), so its controls are drawn.
    for (const [label, ready] of [['Messages', 'message'], ['Emergency', 'emergency-text'], ['Health tips', 'health-tip'], ['My care team', 'care-team-empty']] as const) {
      await nav(patient, label).click();
      await patient.getByTestId(ready).first().waitFor();
      swept[`${label} (patient)`] = await everyControlByTab(patient, label);
    }
    await rad.getByRole('button', { name: 'Sign out' }).click();
    await signIn(rad, ADMIN);
    for (const [tab, ready] of [['Users', 'user-patient'], ['Audit log', 'audit-table'], ['Settings', 'settings-form'], ['Patient pages', 'tips-table']] as const) {
      await rad.getByRole('tab', { name: tab }).click();
      await (ready === 'settings-form' ? rad.getByRole('form', { name: 'Settings' }) : rad.getByTestId(ready).first()).waitFor();
      if (tab === 'Audit log') {
        // The patient's own steps read as words too, with the recorded name kept as the tooltip.
        const table = rad.getByTestId('audit-table');
        await table.getByText('Patient read their results').first().waitFor();
        await expect(table.innerText()).resolves.not.toContain('report.patientSummary');
        await expect(table.getByText('Patient read their results').first().getAttribute('title')).resolves.toBe('report.patientSummary');
      }
      if (tab === 'Patient pages') {
        await rad.getByRole('button', { name: 'Edit "What happens during an MRI scan"' }).click();
        await rad.getByTestId('tip-preview').waitFor();
      }
      swept[`Administration > ${tab}${tab === 'Patient pages' ? ', a tip open in the editor' : ''}`] = await everyControlByTab(rad, tab);
    }
    // The figures for the notes: how many controls each sweep covered.
    console.log(`keyboard sweep: ${JSON.stringify(swept)}`);
  });

  it('showed no console errors and no CSP violations', () => {
    expect(problems).toEqual({ patient: [], radiologist: [] });
  });
});
