// A three-site federation run from the command line, every step a real `tumorpredict` process:
// the coordinator registers its reference set, sets up, serves HTTPS on loopback and registers the
// sites' keys; each site makes its identity, enrols from the enrolment file, registers its data
// and trains with --upload; the quorum closes the round, the gate passes, and the admin approves
// the candidate with --activate: the registry lists the new version as the active clinical model.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../../services/config';
import { makeFeatureModel } from '../../testing/federated-model';
import { freePort, mriSplit, shippedVersion, takePerClass, writeClassFolder } from '../../testing/federation';

const SITES = ['north', 'south', 'west'] as const;
/** The shipped model's version (1.0.0 until the next one lands), as a regular expression. */
const V = shippedVersion().replace(/[.+]/g, '\\$&');
let root: string;
let serve: ChildProcess | null = null;

function env(name: string): NodeJS.ProcessEnv {
  return { ...process.env, TUMORPREDICT_MODELS: path.join(root, name, 'models'), TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: `federation cli passphrase ${name}` };
}

function cli(name: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), ...args, '--data', path.join(root, name, 'data')], { cwd: appRoot(), env: env(name) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function ok(name: string, ...args: string[]): Promise<string> {
  const r = await cli(name, ...args);
  expect(r.code, `${name}: tumorpredict ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-federation-cli-'));
  for (const n of ['coordinator', ...SITES]) makeFeatureModel(path.join(root, n, 'models'));
  const val = mriSplit('val');
  const train = [...mriSplit('train'), ...mriSplit('cal')];
  writeClassFolder(path.join(root, 'reference'), takePerClass(val, { glioma: 25, meningioma: 25, notumor: 25, pituitary: 25 }));
  SITES.forEach((s, i) => writeClassFolder(path.join(root, `${s}-images`), takePerClass(train, { glioma: 15, meningioma: 15, notumor: 15, pituitary: 15 }, { glioma: 15 * i, meningioma: 15 * i, notumor: 15 * i, pituitary: 15 * i })));
});

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const exited = new Promise((r) => serve!.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
  }
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('tumorpredict federation, three sites', () => {
  it('runs a round from the command line to an approved, active new model version', async () => {
    const port = await freePort();
    const ref = JSON.parse(await ok('coordinator', 'dataset', 'add', path.join(root, 'reference'), '--name', 'reference', '--json')) as { id: string };
    expect(await ok('coordinator', 'federation', 'setup', '--reference', ref.id, '--url', `https://127.0.0.1:${port}`)).toMatch(new RegExp(`Coordinating from tumornet ${V}; reference set reference \\(\\d+ images\\); certificate sha256 [0-9A-F:]{95}`));
    serve = spawn(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), 'federation', 'serve', '--data', path.join(root, 'coordinator', 'data')], { cwd: appRoot(), env: env('coordinator'), stdio: ['ignore', 'pipe', 'pipe'] });
    let served = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve printed no address: ${served}`)), 120_000);
      serve!.stdout!.on('data', (d) => {
        served += String(d);
        if (served.includes(`https://127.0.0.1:${port}`)) {
          clearTimeout(t);
          resolve();
        }
      });
      serve!.stderr!.on('data', (d) => (served += String(d)));
    });

    await Promise.all(
      SITES.map(async (s) => {
        const made = await ok(s, 'federation', 'site', 'create', s);
        const key = /public key .*: ([A-Za-z0-9+/]{43}=)/.exec(made)![1]!;
        const enrolment = path.join(root, `${s}.enrolment.json`);
        await ok('coordinator', 'federation', 'register-site', s, '--public-key', key, '--out', enrolment);
        expect((fs.statSync(enrolment).mode & 0o777).toString(8)).toBe('600');
        expect(await ok(s, 'federation', 'enrol', enrolment)).toMatch(new RegExp(`Site ${s} enrolled with https://127.0.0.1:${port}`));
      }),
    );
    // Registering one site twice is refused with a reason, not a second token.
    const again = await cli('coordinator', 'federation', 'register-site', 'north', '--public-key', 'A'.repeat(43) + '=');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/registered already/);

    expect(await ok('coordinator', 'federation', 'round', 'open', '--rule', 'fedavg', '--quorum', '3')).toMatch(new RegExp(`Round 1: open, parent tumornet ${V}, rule fedavg`));
    const packages = await Promise.all(
      SITES.map(async (s) => {
        const ds = JSON.parse(await ok(s, 'dataset', 'add', path.join(root, `${s}-images`), '--name', s, '--json')) as { id: string };
        return JSON.parse(await ok(s, 'federation', 'train', ds.id, '--epochs', '3', '--lr', '0.001', '--upload', '--json')) as { status: string; samples: number; round: number };
      }),
    );
    for (const p of packages) expect(p).toMatchObject({ status: 'accepted', round: 1 });

    const shown = await ok('coordinator', 'federation', 'round', 'show', '1');
    expect(shown, shown).toMatch(/Round 1: candidate, .* 3 accepted, 0 refused; gate passed/);
    expect(shown).toMatch(/pass overall accuracy: /);
    const approved = await ok('coordinator', 'federation', 'round', 'approve', '1', '--activate');
    expect(approved).toMatch(new RegExp(`Round 1: approved, .*; model tumornet-fed1 ${V}-fed\\.1`));
    const models = await ok('coordinator', 'model', 'list');
    expect(models).toMatch(new RegExp(`tumornet-fed1\\t${V}-fed\\.1\\tactive\\tverified`));
    expect(models).toMatch(new RegExp(`tumornet\\t${V}\\tresearch\\tverified`));

    // A site pulls it; the status shows the round at the coordinator.
    expect(await ok('north', 'federation', 'pull')).toMatch(/Installed tumornet-fed1/);
    const status = JSON.parse(await ok('coordinator', 'federation', 'status', '--json')) as { rounds: { round: number; state: string }[]; sites: { site: string; samples: number }[] };
    expect(status.rounds[0]).toMatchObject({ round: 1, state: 'approved' });
    expect(status.sites.map((x) => x.site).sort()).toEqual(['north', 'south', 'west']);
  }, 600_000);
});
