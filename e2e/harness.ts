// Browser-test harness: starts the real headless host (`tumorpredict serve`) in a child
// process on a fresh data folder and drives Debian's Chromium with playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { firstRunSetup } from './viewer-helpers';

export const ROOT = path.resolve(import.meta.dirname, '..');
export const CHROMIUM = process.env.TP_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

export interface ServedHost {
  /** The first address; it admits one browser (context) once. */
  url: string;
  /** A new single-use address from the running host (as an admin gets one: SIGUSR1), for another browser context. */
  newUrl(): Promise<string>;
  origin: string;
  dataDir: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export async function startServe(options: { dataDir?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<ServedHost> {
  if (!fs.existsSync(path.join(ROOT, 'dist/renderer/index.html'))) {
    throw new Error('The renderer is not built: run `npm run build:renderer` (npm test does this first).');
  }
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tp-e2e-'));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/tumorpredict.js'), 'serve', '--data', dataDir, ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d) => (out += String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 60 s:\n${out}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
  });
  const printed = (): string[] => out.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/g) ?? [];
  return {
    url,
    async newUrl() {
      const before = printed().length;
      child.kill('SIGUSR1');
      for (let i = 0; printed().length === before; i++) {
        if (child.exitCode !== null || i > 3000) throw new Error(`serve printed no new address:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return printed().at(-1)!;
    },
    origin: new URL(url).origin,
    dataDir,
    process: child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium (browser tests drive Debian's Chromium).`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/** Collects console errors and CSP violations so a test can require there were none. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
    // CSP violations are named as such, whatever level the browser logs them at.
    if (/Content Security Policy/i.test(msg.text())) problems.push('CSP: ' + msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

/** A served workstation with a browser page on it, past the first-run set-up (signed in as the admin). */
export interface OpenWorkstation {
  host: ServedHost;
  browser: Browser;
  page: Page;
  /** Console errors and CSP violations seen so far (see watchConsole). */
  problems: string[];
  /** Closes the browser and stops the host. */
  close(): Promise<void>;
}

/**
 * The set-up most browser tests share: start the host, launch Chromium, open a page (1400x900
 * unless given), watch its console, load the app and create the first admin.
 */
export async function openWorkstation(options: { serve?: Parameters<typeof startServe>[0]; viewport?: { width: number; height: number } } = {}): Promise<OpenWorkstation> {
  const host = await startServe(options.serve);
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1400, height: 900 }, acceptDownloads: true });
    const problems = watchConsole(page);
    await page.goto(host.url);
    await firstRunSetup(page);
    const opened = browser;
    return {
      host,
      browser: opened,
      page,
      problems,
      async close() {
        await opened.close();
        await host.stop();
      },
    };
  } catch (e) {
    await browser?.close();
    await host.stop();
    throw e;
  }
}
