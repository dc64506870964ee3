// Shared steps of the viewer browser tests and the viewer bench: first-run setup and sign-in
// through the real auth screens, opening a study from the worklist, and pixel statistics of
// screenshots of the viewport canvas (decoded with pngjs).
import type { Locator, Page } from 'playwright-core';
import { PNG } from 'pngjs';

// Callbacks passed to waitForFunction run in the page; this tsconfig has no DOM lib.
declare const document: { querySelector(s: string): { getAttribute(n: string): string | null } | null; querySelectorAll(s: string): { length: number } };

/** Waits until the viewport's data attribute equals `value`. */
export async function waitForViewportAttr(page: Page, name: string, value: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(([n, v]) => document.querySelector('[data-testid="viewport"]')?.getAttribute(n!) === v, [name, value], { timeout });
}

/** Waits until the viewport's data attribute is no longer `value`. */
export async function waitForViewportAttrChange(page: Page, name: string, value: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(([n, v]) => document.querySelector('[data-testid="viewport"]')?.getAttribute(n!) !== v, [name, value], { timeout });
}

export const ADMIN = { username: 'itadmin', password: 'admin-passphrase-0042' };
export const RADIOLOGIST = { username: 'reader1', password: 'reader-passphrase-0042' };
const DB_PASSPHRASE = 'e2e database passphrase 0042';

/** Fills the first-run form (and the database passphrase in passphrase mode); lands signed in as admin. */
export async function firstRunSetup(page: Page): Promise<void> {
  await page.locator('#setup-username').waitFor({ timeout: 60_000 });
  await page.fill('#setup-username', ADMIN.username);
  await page.fill('#setup-password', ADMIN.password);
  await page.fill('#setup-password2', ADMIN.password);
  if (await page.locator('#setup-passphrase').count()) {
    await page.fill('#setup-passphrase', DB_PASSPHRASE);
    await page.fill('#setup-passphrase2', DB_PASSPHRASE);
  }
  await page.getByRole('button', { name: /create admin/i }).click();
  await page.getByTestId('signed-in-user').waitFor();
}

/** As the signed-in admin: creates the radiologist account through the Users panel. */
export async function createRadiologist(page: Page): Promise<void> {
  // The admin's first page need not be Administration (Federation comes first now): go there.
  await page.getByRole('button', { name: /^Administration/ }).click();
  await page.locator('#new-username').waitFor();
  await page.fill('#new-username', RADIOLOGIST.username);
  await page.fill('#new-display-name', 'Dr Reader');
  await page.selectOption('#new-role', 'radiologist');
  await page.fill('#new-password', RADIOLOGIST.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByTestId('users-table').getByText(RADIOLOGIST.username, { exact: true }).waitFor();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#login-username').waitFor();
}

export async function signIn(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.locator('#login-username').waitFor();
  await page.fill('#login-username', who.username);
  await page.fill('#login-password', who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-user').waitFor();
}

/** Searches the worklist and opens the only matching study with Enter (or a double-click). */
export async function openStudyFromWorklist(page: Page, search: string, how: 'enter' | 'dblclick' = 'enter'): Promise<void> {
  await page.getByRole('button', { name: /^Worklist/ }).click();
  const box = page.getByTestId('worklist-search');
  await box.fill(search);
  const rows = page.getByTestId('worklist-table').locator('tbody tr[data-study-id]');
  try {
    await page.waitForFunction(
      ({ n }) => document.querySelectorAll('[data-testid="worklist-table"] tbody tr[data-study-id]').length === n,
      { n: 1 },
      { timeout: 30_000 },
    );
  } catch (err) {
    const table = await page.getByTestId('worklist-table').innerText().catch(() => '(no table)');
    throw new Error(`The worklist search "${search}" did not narrow to one study. Table:\n${table}`, { cause: err });
  }
  if (how === 'dblclick') {
    await rows.first().dblclick();
    return;
  }
  await rows.first().focus();
  await page.keyboard.press('Enter');
}

/** Waits until the viewport shows `slice` (0-based) of the stack. */
export async function waitForSlice(page: Page, slice: number, timeout = 30_000): Promise<void> {
  await waitForViewportAttr(page, 'data-rendered-slice', String(slice), timeout);
}

export interface PixelStats {
  mean: number;
  std: number;
  nonBlack: number;
  /** Fraction of pixels whose red clearly dominates green and blue (the overlay fill). */
  reddish: number;
  /** Fraction of pixels that are saturated yellow (the overlay contour). */
  yellowish: number;
  pixels: Uint8Array;
}

/** Screenshot of the middle of the viewport (away from the corner text), decoded. */
export async function viewportPixels(page: Page, viewport: Locator): Promise<PixelStats> {
  const box = await viewport.boundingBox();
  if (!box) throw new Error('the viewport is not on screen');
  const clip = { x: box.x + box.width * 0.2, y: box.y + box.height * 0.15, width: box.width * 0.6, height: box.height * 0.7 };
  const png = PNG.sync.read(await page.screenshot({ clip }));
  const n = png.width * png.height;
  let sum = 0;
  let sum2 = 0;
  let nonBlack = 0;
  let reddish = 0;
  let yellowish = 0;
  const grey = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = png.data[4 * i]!;
    const g = png.data[4 * i + 1]!;
    const b = png.data[4 * i + 2]!;
    const y = (r + g + b) / 3;
    grey[i] = y;
    sum += y;
    sum2 += y * y;
    if (y > 20) nonBlack++;
    if (r > g + 60 && r > b + 60) reddish++;
    if (r > 180 && g > 150 && b < 90) yellowish++;
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), nonBlack: nonBlack / n, reddish: reddish / n, yellowish: yellowish / n, pixels: grey };
}

/** Mean absolute difference of two screenshots of the same clip. */
export function meanAbsDiff(a: PixelStats, b: PixelStats): number {
  const n = Math.min(a.pixels.length, b.pixels.length);
  let d = 0;
  for (let i = 0; i < n; i++) d += Math.abs(a.pixels[i]! - b.pixels[i]!);
  return d / n;
}
