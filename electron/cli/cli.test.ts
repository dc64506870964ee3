import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appRoot } from '../services/config';
import { cliTimeout, runBin } from '../testing/cli';

// Runs the real `tumorpredict` bin (as `npx tumorpredict` would) in a child process. A start costs
// seconds on a loaded machine: each test's timeout is a budget per start (electron/testing/cli.ts).
const root = appRoot();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-cli-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runBin(args, { env: { ...process.env, TUMORPREDICT_DATA: dataDir } });
  return { code: r.status ?? -1, stdout: r.out, stderr: r.err };
}

describe('tumorpredict command line', () => {
  it('is installed as a package bin', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.tumorpredict).toBe('bin/tumorpredict.js');
  });

  it('--help lists serve and doctor', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/serve/);
    expect(stdout).toMatch(/doctor/);
  }, cliTimeout(1));

  it('an unknown command exits 2 with a usage message', async () => {
    const { code, stderr } = await cli('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown command/i);
  }, cliTimeout(1));

  it('doctor prints an honest inventory of this machine', async () => {
    const { code, stdout } = await cli('doctor', '--data', dataDir);
    expect(code).toBe(0);
    expect(stdout).toContain(`Data folder  ${dataDir}`);
    expect(stdout).toMatch(/Node\.js\s+\d+\.\d+/);
    expect(stdout).toMatch(/tfjs-wasm\s+yes/);
    // The optional tfjs-node is installed without its libtensorflow download: say so, with the reason.
    expect(stdout).toMatch(/tfjs-node\s+no[\s\S]*libtensorflow/);
    expect(stdout).toMatch(/Keychain/);
    // What this machine has: no GPU here. On a GPU machine the line says yes with the driver.
    const gpu = fs.existsSync('/proc/driver/nvidia/version');
    expect(stdout).toMatch(gpu ? /GPU\s+yes/ : /GPU\s+no/);
  }, cliTimeout(1));

  it('doctor says which runtime is forced and by what: the --runtime flag, or TUMORPREDICT_RUNTIME', async () => {
    const byFlag = await cli('doctor', '--data', dataDir, '--runtime', 'tfjs-wasm');
    expect(byFlag.code).toBe(0);
    expect(byFlag.stdout).toMatch(/tfjs-wasm\s+yes\s+cpu <- in use/);
    expect(byFlag.stdout).toMatch(/Runtime\s+tfjs-wasm, forced by the --runtime flag \(wins over the stored setting: automatic\)/);
    const byEnv = await runBin(['doctor', '--json', '--data', dataDir], { env: { ...process.env, TUMORPREDICT_RUNTIME: 'tfjs-wasm' } });
    expect(byEnv.status).toBe(0);
    expect(JSON.parse(byEnv.out)).toMatchObject({ activeRuntime: 'tfjs-wasm', runtimeChoice: { wanted: 'tfjs-wasm', source: 'env' } });
    const auto = await cli('doctor', '--data', dataDir);
    expect(auto.stdout).toMatch(/Runtime\s+automatic \(the fastest available/);
  }, cliTimeout(3));

  it('doctor --json is system.info', async () => {
    const { stdout } = await cli('doctor', '--json', '--data', dataDir);
    const info = JSON.parse(stdout) as { dataFolder: string; runtimes: { name: string }[] };
    expect(info.dataFolder).toBe(dataDir);
    expect(info.runtimes.map((r) => r.name)).toEqual(['tfjs-node-gpu', 'onnxruntime-node', 'tfjs-node', 'tfjs-wasm']);
  }, cliTimeout(1));
});
