// A three-site federation run from the app: two real headless hosts in Chromium (the coordinating
// site and the site "north"), the coordinator's HTTPS service (`tumorpredict federation serve`) on
// loopback, and two more sites run by the command line. In the browser the coordinator's admin
// sets up, registers north's key and hands over its enrolment; north's admin creates its identity
// and enrols; north's researcher trains the head (progress bar) and uploads the weights; the round
// closes on its quorum and is gated; the admin reads the gate's checks and the per-round plot,
// sees a tampered package refused with its reason, approves the candidate for clinical use, and
// views the global model's information.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, ROOT, startServe, watchConsole, type ServedHost } from './harness';
import { firstRunSetup, signIn, signOut } from './viewer-helpers';
import { makeFeatureModel } from '../electron/testing/federated-model';
import { freePort, mriSplit, shippedVersion, takePerClass, writeClassFolder } from '../electron/testing/federation';

const RESEARCHER = { username: 'northscience', password: 'north-research-pass-0042' };
const DB_PASSPHRASE = 'e2e database passphrase 0042';
/** The shipped model's version (1.0.0 until the next one lands). */
const VERSION = shippedVersion();
const V = VERSION.replace(/[.+]/g, '\\$&');

let tmp: string;
let port: number;
let coordHost: ServedHost;
let northHost: ServedHost;
let fedServe: ChildProcess | null = null;
let browser: Browser;
let pc: Page;
let pn: Page;
const problems: string[][] = [];

const dataOf = (name: string): string => path.join(tmp, name, 'data');
const envOf = (name: string): Record<string, string> => ({ TUMORPREDICT_MODELS: path.join(tmp, name, 'models'), TUMORPREDICT_PASSPHRASE: DB_PASSPHRASE });

function cli(name: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tumorpredict.js'), ...args, '--data', dataOf(name)], { cwd: ROOT, env: { ...process.env, ...envOf(name) } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`tumorpredict ${args.join(' ')} (${name}) exited ${code}: ${err}`))));
  });
}

async function nonBlank(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n;
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-federation-e2e-'));
  for (const n of ['coordinator', 'north', 'south', 'west']) makeFeatureModel(path.join(tmp, n, 'models'));
  const val = mriSplit('val');
  const train = [...mriSplit('train'), ...mriSplit('cal')];
  writeClassFolder(path.join(tmp, 'reference'), takePerClass(val, { glioma: 25, meningioma: 25, notumor: 25, pituitary: 25 }));
  ['north', 'south', 'west'].forEach((s, i) => writeClassFolder(path.join(tmp, `${s}-images`), takePerClass(train, { glioma: 15, meningioma: 15, notumor: 15, pituitary: 15 }, { glioma: 15 * i, meningioma: 15 * i, notumor: 15 * i, pituitary: 15 * i })));
  port = await freePort();
  [coordHost, northHost] = await Promise.all([startServe({ dataDir: dataOf('coordinator'), env: envOf('coordinator') }), startServe({ dataDir: dataOf('north'), env: envOf('north') })]);
  browser = await launchBrowser();
  pc = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  pn = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  problems.push(watchConsole(pc), watchConsole(pn));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (fedServe && fedServe.exitCode === null) {
    const exited = new Promise((r) => fedServe!.once('exit', r));
    fedServe.kill('SIGTERM');
    await exited;
  }
  await coordHost?.stop();
  await northHost?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function federationPage(page: Page): Promise<void> {
  await page.getByRole('button', { name: /^Federation/ }).click();
  await page.getByRole('heading', { name: 'Federation', level: 1 }).waitFor();
}

/** Leaves the page and comes back: it reads the federation afresh (a reload would end the session). */
async function refreshFederation(page: Page): Promise<void> {
  await page.getByRole('button', { name: /^Administration/ }).click();
  await page.getByRole('heading', { name: 'Administration', level: 1 }).waitFor();
  await federationPage(page);
}

describe('a federation from the app', () => {
  it('the coordinating admin sets up the federation on a reference set and the HTTPS service starts', async () => {
    await pc.goto(coordHost.url);
    await firstRunSetup(pc);
    await cli('coordinator', 'dataset', 'add', path.join(tmp, 'reference'), '--name', 'reference-set');
    await federationPage(pc);
    await pc.getByLabel('Reference data set').selectOption({ label: 'reference-set (100)' });
    await pc.getByLabel('Address sites use').fill(`https://127.0.0.1:${port}`);
    await pc.getByRole('button', { name: 'Coordinate a federation' }).click();
    await expect.poll(() => pc.getByTestId('coordinator').textContent(), { timeout: 60_000 }).toMatch(new RegExp(`reference-set \\(\\d+ images, never trained on\\).*tumornet ${V} \\(round 0\\)`));
    fedServe = spawn(process.execPath, [path.join(ROOT, 'bin', 'tumorpredict.js'), 'federation', 'serve', '--data', dataOf('coordinator')], { cwd: ROOT, env: { ...process.env, ...envOf('coordinator') }, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`federation serve printed no address: ${out}`)), 120_000);
      fedServe!.stdout!.on('data', (d) => {
        out += String(d);
        if (out.includes(`https://127.0.0.1:${port}`)) {
          clearTimeout(t);
          resolve();
        }
      });
      fedServe!.stderr!.on('data', (d) => (out += String(d)));
    });
  }, 240_000);

  it("north's admin makes its identity; the coordinator registers its key and north enrols with the enrolment text", async () => {
    await pn.goto(northHost.url);
    await firstRunSetup(pn);
    await pn.getByRole('button', { name: /^Administration/ }).click();
    await pn.locator('#new-username').waitFor();
    await pn.fill('#new-username', RESEARCHER.username);
    await pn.fill('#new-display-name', 'North Scientist');
    await pn.selectOption('#new-role', 'researcher');
    await pn.fill('#new-password', RESEARCHER.password);
    await pn.getByRole('button', { name: 'Create account' }).click();
    await pn.getByTestId('users-table').getByText(RESEARCHER.username, { exact: true }).waitFor();
    await federationPage(pn);
    await pn.getByLabel('Site id').fill('north');
    await pn.getByRole('button', { name: 'Create site identity' }).click();
    const key = (await pn.getByTestId('site-public-key').textContent({ timeout: 30_000 }))!.trim();
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    await pc.getByLabel('New site id').fill('north');
    await pc.getByLabel('Site name').fill('North hospital');
    await pc.getByLabel('Site public key').fill(key);
    await pc.getByRole('button', { name: 'Register site' }).click();
    const enrolment = await pc.getByLabel('Enrolment for north').inputValue({ timeout: 30_000 });
    expect(JSON.parse(enrolment)).toMatchObject({ siteId: 'north', coordinatorUrl: `https://127.0.0.1:${port}` });

    await pn.getByLabel('Enrolment from the coordinator').fill(enrolment);
    await pn.getByRole('button', { name: 'Enrol' }).click();
    await expect.poll(() => pn.getByTestId('site-identity').textContent(), { timeout: 30_000 }).toContain(`https://127.0.0.1:${port}`);
  }, 180_000);

  it('two more sites join from the command line; the admin opens round 1 with a quorum of three', async () => {
    await Promise.all(
      ['south', 'west'].map(async (s) => {
        const key = /public key .*: ([A-Za-z0-9+/]{43}=)/.exec(await cli(s, 'federation', 'site', 'create', s))![1]!;
        const file = path.join(tmp, `${s}.enrolment.json`);
        await cli('coordinator', 'federation', 'register-site', s, '--public-key', key, '--out', file);
        await cli(s, 'federation', 'enrol', file);
      }),
    );
    await refreshFederation(pc);
    await expect.poll(() => pc.getByTestId('sites').locator('tbody tr').count(), { timeout: 30_000 }).toBe(3);
    await pc.getByLabel('Quorum').fill('3');
    await pc.getByRole('button', { name: 'Open round' }).click();
    await pc.getByTestId('rounds').locator('tr[data-round="1"][data-state="open"]').waitFor({ timeout: 30_000 });
  }, 300_000);

  it("north's researcher trains the head with a progress bar and uploads the weights; the other two upload from the CLI", async () => {
    await cli('north', 'dataset', 'add', path.join(tmp, 'north-images'), '--name', 'north-local');
    await signOut(pn);
    await signIn(pn, RESEARCHER);
    await federationPage(pn);
    await pn.getByLabel('Data set to train on').selectOption({ label: 'north-local (60 items)' });
    await pn.getByLabel('Epochs').fill('3');
    await pn.getByLabel('Learning rate').fill('0.001');
    await pn.getByRole('button', { name: 'Train and build package' }).click();
    await pn.getByTestId('training-progress').waitFor({ timeout: 60_000 });
    await expect.poll(() => pn.getByTestId('training-result').textContent().catch(() => ''), { timeout: 120_000 }).toMatch(/Package for round 1: \d+ images/);
    await pn.getByTestId('outbox').getByRole('button', { name: 'Upload weights' }).click();
    await pn.getByTestId('outbox').locator('tr[data-status="accepted"]').waitFor({ timeout: 60_000 });
    await Promise.all(
      ['south', 'west'].map(async (s) => {
        const ds = JSON.parse(await cli(s, 'dataset', 'add', path.join(tmp, `${s}-images`), '--name', s, '--json')) as { id: string };
        const pkg = JSON.parse(await cli(s, 'federation', 'train', ds.id, '--epochs', '3', '--lr', '0.001', '--upload', '--json')) as { status: string };
        expect(pkg.status).toBe('accepted');
      }),
    );
  }, 400_000);

  it('the quorum closed the round: the admin sees the gate, the plot and a refused package with its reason, and approves for clinical use', async () => {
    // A package handed over as a file (a byte changed) after the round closed: refused with the reason.
    const exported = JSON.parse(await cli('north', 'federation', 'status', '--json')) as { outbox: { id: string }[] };
    const file = path.join(tmp, 'north.zip');
    await cli('north', 'federation', 'export', exported.outbox[0]!.id, file);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 40]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    await refreshFederation(pc);
    await pc.getByTestId('rounds').locator('tr[data-round="1"][data-state="candidate"]').waitFor({ timeout: 60_000 });
    await pc.getByLabel('Import a package file').setInputFiles(file);
    // Whatever it trips over first (the closed round here), the row says why, in words.
    await expect.poll(() => pc.getByTestId('refused').textContent(), { timeout: 30_000 }).toMatch(/north1file.{20,}/);
    await pc.getByTestId('rounds').getByRole('button', { name: '1', exact: true }).click();
    const checks = await pc.getByTestId('gate-checks').textContent();
    expect(checks).toMatch(/Pass — overall accuracy: .*Pass — paired test: McNemar.*recall glioma/s);
    expect(await nonBlank(pc, 'rounds-chart')).toBeGreaterThan(500);
    await pc.screenshot({ path: path.join(os.tmpdir(), 'tp-federation-page.png'), fullPage: true });
    await pc.getByLabel('Approve also activates for clinical use').check();
    await pc.getByTestId('rounds').getByRole('button', { name: 'Approve' }).click();
    await pc.getByTestId('rounds').locator('tr[data-round="1"][data-state="approved"]').waitFor({ timeout: 60_000 });
    await expect(pc.getByTestId('rounds').locator('tr[data-round="1"]').textContent()).resolves.toContain(`tumornet-fed1 ${VERSION}-fed.1`);
    await pc.getByRole('button', { name: 'View global model info' }).click();
    await expect.poll(() => pc.getByTestId('global-model').textContent(), { timeout: 30_000 }).toMatch(new RegExp(`tumornet-fed1 ${V}-fed\\.1 \\(active for clinical use\\).*Round1.*Parenttumornet ${V}.*Merged fromfedavg: north`, 's'));
    const models = await cli('coordinator', 'model', 'list');
    expect(models).toMatch(new RegExp(`tumornet-fed1\\t${V}-fed\\.1\\tactive\\tverified`));
    for (const p of problems) expect(p).toEqual([]);
  }, 300_000);
});
