// Bench suite "viewer": time from opening a study in the worklist (Enter) to its first complete
// view in the real browser against the real host: a 1x1 layout (a series without priors) and the
// 1x2 follow-up layout the hanging protocol opens (current and prior, both rendered), in one run,
// next to a baseline measured in the same run: the raw studies.get + images.frame round trip.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, startServe } from '../../../e2e/harness';
import { writeFollowUpPair, writeGliomaSeries } from '../../../e2e/fixtures/glioma-series';
import { RADIOLOGIST, createRadiologist, firstRunSetup, openStudyFromWorklist, signIn, signOut, waitForSlice } from '../../../e2e/viewer-helpers';
import { appRoot } from '../../services/config';
import type { BenchSuite } from './types';

const DEMO_FOLDER = path.join(appRoot(), 'build', 'demo', 'study');

// The baseline's callback runs in the page; this tsconfig has no DOM lib.
declare const location: { host: string };
declare const document: { querySelectorAll(s: string): { length: number } };

interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

function summarise(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  const r = (v: number): number => Math.round(v * 10) / 10;
  return { n: s.length, median: r(q(0.5)), p95: r(q(0.95)), min: r(s[0]!), max: r(s[s.length - 1]!) };
}

interface OpenTiming {
  /** Enter in the worklist to the first image on the canvas. */
  total: number;
  /** Enter to the viewer mounted (React page switch). */
  mount: number;
  /** Mount to studies.get answered. */
  study: number;
  /** studies.get answered to the first frame fetched and decoded (images.frame + base64). */
  image: number;
  /** Frame ready to cornerstone's first rendered canvas. */
  render: number;
}

/**
 * Opens the study through the worklist (Enter) and reads the viewer's timing marks, up to the
 * first image (1x1) or every viewport of the layout rendered (1x2: tp:layout-rendered).
 */
async function timedOpen(page: Page, search: string, layout: '1x1' | '1x2' = '1x1'): Promise<OpenTiming> {
  const last = layout === '1x1' ? 'tp:first-image' : 'tp:layout-rendered';
  // Marks of the previous open must not count for this one.
  await page.evaluate(() => performance.clearMarks());
  await openStudyFromWorklist(page, search);
  await waitForSlice(page, 0, 60_000);
  await page.waitForFunction((name) => performance.getEntriesByName(name).length > 0 && document.querySelectorAll('[data-testid="viewport"]').length > 0, last, { timeout: 60_000 });
  const names = [...MARKS, last];
  const marks = await page.evaluate((n) => n.map((x) => performance.getEntriesByName(x).at(-1)?.startTime ?? null), names);
  if (marks.some((m) => m === null)) throw new Error(`the viewer did not record its timing marks (${names.join(', ')})`);
  const [open, mount, study, image, , done] = marks as number[];
  const cells = await page.evaluate(() => document.querySelectorAll('[data-testid="viewport"]').length);
  if (cells !== (layout === '1x1' ? 1 : 2)) throw new Error(`expected a ${layout} layout, the viewer shows ${cells} viewport(s)`);
  return { total: done! - open!, mount: mount! - open!, study: study! - mount!, image: image! - study!, render: done! - image! };
}

const MARKS = ['tp:open-study', 'tp:viewer-mount', 'tp:study-loaded', 'tp:image-loaded', 'tp:first-image'];

/**
 * The baseline: a second WebSocket from the same page (the host cookie admits it), signed in as
 * the radiologist, times studies.get + images.frame of the first image, and images.frame alone.
 */
async function rawRoundTrips(page: Page, search: string, n: number): Promise<{ studyPlusFrame: number[]; frameOnly: number[] }> {
  // tsx (esbuild keepNames) wraps named functions in __name(); the page has no such helper.
  await page.evaluate('globalThis.__name = globalThis.__name || ((f) => f)');
  return page.evaluate(
    async ({ search, n, who }) => {
      const ws = new WebSocket(`ws://${location.host}/api`);
      await new Promise((res, rej) => {
        ws.onopen = res;
        ws.onerror = rej;
      });
      let id = 1;
      const pending = new Map<number, (v: { ok: boolean; result?: unknown; error?: { message: string } }) => void>();
      ws.onmessage = (m) => {
        const d = JSON.parse(String(m.data)) as { id?: number; ok: boolean };
        if (typeof d.id === 'number') pending.get(d.id)?.(d);
      };
      const call = (channel: string, payload: unknown): Promise<unknown> =>
        new Promise((res, rej) => {
          const my = id++;
          pending.set(my, (r) => (r.ok ? res(r.result) : rej(new Error(r.error?.message))));
          ws.send(JSON.stringify({ id: my, channel, payload }));
        });
      await call('auth.login', who);
      const list = (await call('studies.list', { search })) as { rows: { studyId: string }[] };
      const studyId = list.rows[0]!.studyId;
      const studyPlusFrame: number[] = [];
      const frameOnly: number[] = [];
      let firstInstance = '';
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const detail = (await call('studies.get', { studyId })) as { series: { instances: { instanceId: string; instanceNumber: number | null }[] }[] };
        const inst = [...detail.series[0]!.instances].sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0))[0]!;
        firstInstance = inst.instanceId;
        const f = (await call('images.frame', { instanceId: inst.instanceId, frame: 0 })) as { data: string };
        // Decode the base64 as the viewer's loader must, so the baseline differs only by rendering.
        atob(f.data);
        studyPlusFrame.push(performance.now() - t0);
      }
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const f = (await call('images.frame', { instanceId: firstInstance, frame: 0 })) as { data: string };
        atob(f.data);
        frameOnly.push(performance.now() - t0);
      }
      ws.close();
      return { studyPlusFrame, frameOnly };
    },
    { search, n, who: RADIOLOGIST },
  );
}

export const viewerBench: BenchSuite = {
  name: 'viewer',
  description: 'Time from opening a study to its first rendered image in Chromium, vs the raw studies.get + images.frame round trip',
  async run(ctx) {
    const opens = ctx.quick ? 3 : 12;
    const files = writeGliomaSeries(path.join(ctx.workDir, 'glioma'));
    const pair = writeFollowUpPair(path.join(ctx.workDir, 'follow-up'));
    const host = await startServe({ dataDir: path.join(ctx.workDir, 'data') });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(host.url);
      await firstRunSetup(page);
      await createRadiologist(page);
      await signOut(page);
      await signIn(page, RADIOLOGIST);
      // The demo volume is imported on first run in keychain mode; upload it too so the bench
      // also runs in passphrase mode (a copy already stored counts as a duplicate).
      const demo = fs.readdirSync(DEMO_FOLDER).filter((f) => f.startsWith('t1-volume-')).map((f) => path.join(DEMO_FOLDER, f));
      if (demo.length === 0) throw new Error(`${DEMO_FOLDER} has no t1-volume-*.dcm: run node --import tsx build/demo/make-demo-study.ts`);
      await page.getByTestId('import-files').setInputFiles([...files, ...demo, ...pair.prior, ...pair.current]);
      await page.getByText(/Imported \d+ image\(s\)/).waitFor({ timeout: 120_000 });

      const figures: Record<string, unknown> = { browser: 'Debian Chromium (headless, software rendering)', opens };
      // 1x1: the glioma series (its patient has no other study); 1x2: the follow-up's current
      // study (accession TEST-FU-2), which the hanging protocol opens beside its prior.
      for (const [label, search, layout] of [
        ['gliomaSeries256', 'TEST-GLIOMA-1', '1x1'],
        ['followUp1x2', 'TEST-FU-2', '1x2'],
        ['demoVolume', 'DEMO-VOLUME', '1x1'],
      ] as const) {
        // The first open of a study is cold (decoder workers and cornerstone start); reported on its own.
        // It also starts the AI run, which the loop below waits for so it does not disturb the figures.
        const first = await timedOpen(page, search, layout);
        const firstOpen = first.total;
        await page.getByTestId('ai-study-finding').or(page.getByText('The AI could not run')).first().waitFor({ timeout: 300_000 });
        // The 1x2 layout also scores the prior when it is shown: let that finish too.
        if (layout === '1x2') await page.getByTestId('tracking-volume').nth(1).waitFor({ timeout: 300_000 }).catch(() => {});
        const times: OpenTiming[] = [];
        for (let i = 0; i < opens; i++) times.push(await timedOpen(page, search, layout));
        const raw = await rawRoundTrips(page, search, opens);
        const open = summarise(times.map((t) => t.total));
        const parts = Object.fromEntries((['mount', 'study', 'image', 'render'] as const).map((k) => [k, summarise(times.map((t) => t[k])).median]));
        const base = summarise(raw.studyPlusFrame);
        const frame = summarise(raw.frameOnly);
        figures[label] = {
          layout,
          firstOpenColdMs: Math.round(firstOpen),
          firstOpenPartsMs: Object.fromEntries(Object.entries(first).map(([k, v]) => [k, Math.round(v)])),
          openToFirstImageMs: open,
          medianPartsMs: parts,
          baselineStudyGetPlusFrameMs: base,
          baselineFrameOnlyMs: frame,
          renderOverheadMedianMs: Math.round((open.median - base.median) * 10) / 10,
        };
        ctx.log(
          `${label} (${layout}): open→${layout === '1x1' ? 'first image' : 'both viewports rendered'} median ${open.median} ms (p95 ${open.p95}) over ${open.n} opens; ` +
            `baseline studies.get+images.frame median ${base.median} ms (p95 ${base.p95}); images.frame alone median ${frame.median} ms (p95 ${frame.p95}); ` +
            `first open (cold) ${Math.round(firstOpen)} ms ${JSON.stringify(first, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}; median parts ${JSON.stringify(parts)}`,
        );
      }
      // The 1x2 figure against the 1x1 one of the same series size (8 slices, 256x256), same run.
      const one = (figures.gliomaSeries256 as { openToFirstImageMs: Summary }).openToFirstImageMs.median;
      const two = (figures.followUp1x2 as { openToFirstImageMs: Summary }).openToFirstImageMs.median;
      figures.layout1x2Vs1x1 = { median1x1Ms: one, median1x2Ms: two, ratio: Math.round((two / one) * 100) / 100 };
      ctx.log(`1x2 follow-up vs 1x1: median ${two} ms vs ${one} ms (${(two / one).toFixed(2)}x)`);
      return figures;
    } finally {
      await browser.close();
      await host.stop();
    }
  },
};
