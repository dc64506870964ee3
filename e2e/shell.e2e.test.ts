import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, startServe, watchConsole, type ServedHost } from './harness';

// The skeleton end to end: the real host, the real renderer build, Debian's Chromium.
let host: ServedHost;
let browser: Browser;

beforeAll(async () => {
  host = await startServe();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

describe('app shell in the browser', () => {
  it('refuses the page without the token', async () => {
    const page = await browser.newPage();
    const res = await page.goto(host.origin + '/');
    expect(res?.status()).toBe(401);
    await page.close();
  });

  it('opens with the token, drops it from the address bar and reaches the main process', async () => {
    const page = await browser.newPage();
    const problems = watchConsole(page);
    await page.goto(host.url);
    expect(page.url()).toBe(host.origin + '/');
    // The first screen depends on the database state; either way it came over the contract.
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    expect(await page.title()).toBe('TumorPredict Workstation');
    expect(problems).toEqual([]);
    await page.close();
  });
});
