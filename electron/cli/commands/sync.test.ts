// `tumorpredict sync`: the real bin in a child process on a passphrase-mode data folder:
// configure (secret from stdin, never argv), status, and a connection test that fails at the
// step where nothing answers, with exit code 1.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliTimeout, runBin } from '../../testing/cli';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-sync-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
const env = { ...process.env, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: 'cli sync test passphrase' };

/** One start of the bin (seconds on a loaded machine: each test's timeout is a budget per start). */
async function cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runBin([...args, '--data', dataDir], { env, input: stdin });
  return { code: r.status ?? -1, stdout: r.out, stderr: r.err };
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('tumorpredict sync', () => {
  it('reports an unconfigured server', async () => {
    const r = await cli(['sync', 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ configured: false, enabled: false, outbox: { waiting: 0 } });
  }, cliTimeout(1));

  it('configures the server and names the failing step of a connection test', async () => {
    const port = await closedPort();
    const set = await cli(['sync', 'configure', '--url', `http://127.0.0.1:${port}/dicom-web`, '--auth', 'none', '--interval', '60']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`http://127.0.0.1:${port}/dicom-web`);
    const t = await cli(['sync', 'test']);
    expect(t.code).toBe(1);
    expect(t.stdout).toContain('FAILED at connect');
    const now = await cli(['sync', 'now']);
    expect(now.code).toBe(1);
    expect(now.stderr).toContain('connection refused');
    const st = await cli(['sync', 'status']);
    expect(st.stdout).toContain('Last error: Nothing answers');
  }, cliTimeout(4));

  it('refuses a bad auth type with a sentence', async () => {
    const r = await cli(['sync', 'configure', '--auth', 'kerberos']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--auth must be none, basic or bearer');
  }, cliTimeout(1));
});
