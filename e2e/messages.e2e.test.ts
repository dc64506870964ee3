// Messages end to end in Debian's Chromium against the real headless host: the patient asks
// about their signed report from My results; the radiologist sees the unread conversation in the
// inbox, opens it and replies with Ctrl+Enter; the patient's open page picks the reply up by
// itself (polling). Markup in a body is shown as the characters typed, never as HTML.
// The accounts and the signed report are made beforehand through the same composition root and
// handler table on the host's data folder (patient.e2e.test.ts covers doing that in the browser),
// which keeps this test to the messages.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import type { PatientMatch, Report, StudySummary } from '../electron/contract';
import { resolveConfig } from '../electron/services/config';
import { defaultDemoFolder } from '../electron/services/dicom';
import { createWorkstation, type Workstation } from '../electron/ipc/compose';
import { createConnection } from '../electron/ipc/handler-table';
import { channelCaller } from '../electron/ipc/test-calls';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';
import { RADIOLOGIST, signIn } from './viewer-helpers';

const DB_PASSPHRASE = 'e2e messages database passphrase';
const PATIENT = { username: 'msg.patient', password: 'patient-passphrase-0042' };
const QUESTION = 'What does the <b>bold</b> word in my report mean?\nThank you.';
const REPLY = 'It means we want to see you again in three months.';

let host: ServedHost;
let browser: Browser;
let patient: Page;
let rad: Page;
let problems: { patient: string[]; radiologist: string[] };
let signed: Report;

/** Admin, radiologist (Dr Reader), a patient account linked to the demo glioma patient, and that patient's signed report. */
async function seed(dataDir: string): Promise<void> {
  let ws: Workstation | null = null;
  const { ok } = channelCaller(() => ws!);
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: dataDir, keySource: 'passphrase', passphrase: DB_PASSPHRASE }));
  try {
    const admin = createConnection('host');
    await ok(admin, 'auth.createFirstAdmin', { username: 'itadmin', displayName: 'Admin', password: 'admin-passphrase-0042' });
    await ok(admin, 'users.create', { username: RADIOLOGIST.username, displayName: 'Dr Reader', role: 'radiologist', password: RADIOLOGIST.password });
    await ws.services.dicom.importPaths([defaultDemoFolder()], { actor: 'test' });
    const { patients } = await ok<{ patients: PatientMatch[] }>(admin, 'patients.search', { query: 'DEMO-GLIOMA' });
    await ok(admin, 'users.create', { username: PATIENT.username, displayName: 'Glioma Patient', role: 'patient', patientId: patients[0]!.id, password: PATIENT.password });
    const reader = createConnection('host');
    await ok(reader, 'auth.login', RADIOLOGIST);
    const { rows } = await ok<{ rows: StudySummary[] }>(reader, 'studies.list', { search: 'DEMO-GLIOMA' });
    const draft = await ok<Report>(reader, 'reports.open', { studyId: rows[0]!.studyId });
    const saved = await ok<Report>(reader, 'reports.saveDraft', { reportId: draft.id, baseRevision: draft.revision, sections: { impression: 'Findings to discuss in clinic.' } });
    signed = await ok<Report>(reader, 'reports.sign', { reportId: draft.id, baseRevision: saved.revision, password: RADIOLOGIST.password });
  } finally {
    await ws.close();
  }
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-messages-'));
  await seed(dataDir);
  host = await startServe({ dataDir, env: { TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: DB_PASSPHRASE } });
  browser = await launchBrowser();
  patient = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  rad = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
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

describe('a patient and the care team exchange messages', () => {
  it('the patient asks about their report from My results', async () => {
    await signIn(patient, PATIENT);
    await patient.getByTestId('patient-result').first().waitFor();
    await patient.getByRole('button', { name: 'Ask your doctor about this' }).click();
    await patient.getByRole('heading', { name: 'Messages', level: 1 }).waitFor();
    await expect(nav(patient, 'Messages').getAttribute('aria-current')).resolves.toBe('page');
    await patient.getByTestId('messages-empty').waitFor();
    // The report is preselected in the picker.
    const picker = patient.getByLabel('Ask about this report');
    await expect(picker.inputValue()).resolves.toBe(signed.id);
    await expect(picker.locator('option:checked').innerText()).resolves.toBe('Scan of 1 January 2024, signed by Dr Reader');

    const box = patient.getByLabel('Write to your care team');
    const send = patient.getByRole('button', { name: 'Send', exact: true });
    await expect(send.isDisabled()).resolves.toBe(true);
    await box.fill(QUESTION);
    await expect(patient.getByTestId('message-count').innerText()).resolves.toMatch(new RegExp(`^${QUESTION.length} / 4000 characters`));
    await send.click();
    const mine = patient.getByTestId('message');
    await mine.first().waitFor();
    await expect(mine.count()).resolves.toBe(1);
    await expect(mine.first().getByTestId('message-body').innerText()).resolves.toBe(QUESTION);
    await expect(mine.first().getByTestId('message-report').innerText()).resolves.toBe('About the report on the scan of 1 January 2024');
    await expect(mine.first().getByTestId('message-read-state').innerText()).resolves.toMatch(/Not read yet/);
    // Shown as text: no <b> element was made from it.
    await expect(patient.getByTestId('message-list').locator('b').count()).resolves.toBe(0);
    await expect(box.inputValue()).resolves.toBe('');
  });

  it('the radiologist sees the unread conversation, opens it and replies with Ctrl+Enter', async () => {
    await signIn(rad, RADIOLOGIST);
    await nav(rad, 'Messages').click();
    const item = rad.getByRole('button', { name: 'DEMO, GLIOMA (DEMO-GLIOMA), 1 unread' });
    await item.waitFor();
    await expect(item.getAttribute('class')).resolves.toMatch(/\bunread\b/);
    await expect(item.innerText()).resolves.toMatch(/What does the <b>bold<\/b> word/);
    await item.click();
    await expect(rad.getByTestId('thread-title').innerText()).resolves.toBe('DEMO, GLIOMA (DEMO-GLIOMA)');
    const first = rad.getByTestId('message').first();
    await expect(first.getByTestId('message-body').innerText()).resolves.toBe(QUESTION);
    await expect(rad.getByTestId('message-list').locator('b').count()).resolves.toBe(0);
    // Opening it marked it read: the inbox row is no longer unread.
    await rad.getByRole('button', { name: 'DEMO, GLIOMA (DEMO-GLIOMA)', exact: true }).waitFor();

    const box = rad.getByLabel('Reply to DEMO, GLIOMA');
    await box.fill(REPLY);
    await box.press('Control+Enter');
    await expect.poll(() => rad.getByTestId('message').count()).toBe(2);
    const reply = rad.getByTestId('message').nth(1);
    await expect(reply.getAttribute('data-mine')).resolves.toBe('true');
    await expect(reply.getByTestId('message-body').innerText()).resolves.toBe(REPLY);
    await expect(box.inputValue()).resolves.toBe('');
  });

  it("the patient's open page shows the reply, signed by the radiologist, without reloading", async () => {
    const messages = patient.getByTestId('message');
    await expect.poll(() => messages.count(), { timeout: 20_000, interval: 500 }).toBe(2);
    const reply = messages.nth(1);
    await expect(reply.getByTestId('message-body').innerText()).resolves.toBe(REPLY);
    await expect(reply.innerText()).resolves.toMatch(/^Dr Reader \(care team\)/);
    await expect(reply.getAttribute('data-mine')).resolves.toBe('false');
    // The patient's question now shows it was read.
    await expect(messages.first().getByTestId('message-read-state').innerText()).resolves.toMatch(/Read by the care team/);
  });

  it('showed no console errors and no CSP violations', () => {
    expect(problems).toEqual({ patient: [], radiologist: [] });
  });
});
