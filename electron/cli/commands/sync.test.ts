// `tumorpredict sync`: the real bin in a child process on a passphrase-mode data folder:
// configure (secret from stdin, never argv), status, and a connection test that fails at the
// step where nothing answers, with exit code 1.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const bin = path.join(root, 'bin', 'tumorpredict.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-sync-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args, '--data', dataDir], { cwd: root, env: { ...process.env, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: 'cli sync test passphrase' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
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
  });

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
  });

  it('refuses a bad auth type with a sentence', async () => {
    const r = await cli(['sync', 'configure', '--auth', 'kerberos']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--auth must be none, basic or bearer');
  });
});
