// The research commands as a researcher runs them, in child processes: `dataset add`, `run`
// (killed with SIGKILL part-way, then `run --resume`), and `compare`, which must show that the
// killed-and-resumed run scored exactly what an uninterrupted run scored.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison } from '../../contract';
import { appRoot } from '../../services/config';
import { copyMriSubset, makeUncalibratedVariant, shippedModelDir } from '../../testing/research';

// Images in the data set: 100 per class (see beforeAll).
const N = 400;
let root: string;
let data: string;
let models: string;
let env: NodeJS.ProcessEnv;

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), ...args, '--data', data], { cwd: appRoot(), encoding: 'utf8', env, timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-research-cli-'));
  data = path.join(root, 'data');
  models = path.join(root, 'models');
  fs.cpSync(shippedModelDir(), path.join(models, 'tumornet'), { recursive: true });
  // 100 per class: big enough that a run outlasts several 200 ms progress polls even on an idle
  // machine (at 40 images the run could finish before the kill test saw any progress line).
  copyMriSubset(path.join(root, 'mri'), 100);
  makeUncalibratedVariant(path.join(root, 'incoming'));
  env = { ...process.env, TUMORPREDICT_MODELS: models, TUMORPREDICT_KEY_SOURCE: 'passphrase', TUMORPREDICT_PASSPHRASE: 'research cli test passphrase 42' };
});
afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('tumorpredict dataset / model / run / compare', () => {
  let datasetId: string;
  let uninterrupted: string;
  let resumed: string;

  it('registers a data set and installs a second model', () => {
    const add = cli('dataset', 'add', path.join(root, 'mri'), '--name', 'mri400', '--json');
    expect(add.code, add.stderr).toBe(0);
    const ds = JSON.parse(add.stdout) as { id: string; items: number; classCounts: Record<string, number> };
    expect(ds.items).toBe(N);
    expect(ds.classCounts).toEqual({ glioma: N / 4, meningioma: N / 4, notumor: N / 4, pituitary: N / 4 });
    datasetId = ds.id;
    const inst = cli('model', 'install', path.join(root, 'incoming', 'tumornet-t1'));
    expect(inst.code, inst.stderr).toBe(0);
    expect(inst.stdout).toMatch(/Installed tumornet-t1 .*verified/);
    const bad = cli('dataset', 'add', path.join(root, 'nowhere'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no folder or CSV/);
  }, 120_000);

  it('scores without interruption', () => {
    const r = cli('run', datasetId, '--model', 'tumornet', '--batch', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const runs = JSON.parse(r.stdout.trim().split('\n')[0]!) as { id: string; status: string; done: number }[];
    expect(runs[0]).toMatchObject({ status: 'done', done: N });
    uninterrupted = runs[0]!.id;
  }, 180_000);

  it('a run killed with SIGKILL part-way resumes with --resume and gives exactly the uninterrupted result', async () => {
    const child = spawn(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), 'run', datasetId, '--model', 'tumornet', '--batch', '1', '--data', data], { cwd: appRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const killedAt = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress in 120 s:\n${err}`)), 120_000);
      child.stderr!.on('data', (d) => {
        err += String(d);
        // Kill once some, but not all, results are stored (progress lines read the database).
        const m = new RegExp(`: ([1-9]\\d)% \\((\\d+)/${N}\\)`).exec(err);
        if (m && Number(m[1]) < 100) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve(m[2]!);
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`the run ended before it could be killed:\n${err}`));
      });
    });
    await new Promise((r) => child.once('exit', r));
    expect(Number(killedAt)).toBeGreaterThan(0);
    resumed = /Run ([0-9a-f-]{36}):/.exec(err)![1]!;
    const list = cli('run', '--resume', resumed, '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).toMatch(new RegExp(`Run ${resumed}: tumornet .*\\((\\d+) to score\\)`));
    const toScore = Number(/\((\d+) to score\)/.exec(list.stderr)![1]);
    expect(toScore).toBeLessThan(N); // it did not start over
    const runs = JSON.parse(list.stdout.trim().split('\n')[0]!) as { status: string; done: number }[];
    expect(runs[0]).toMatchObject({ status: 'done', done: N });
    const cmp = cli('compare', uninterrupted, resumed, '--json');
    expect(cmp.code, cmp.stderr).toBe(0);
    const c = JSON.parse(cmp.stdout) as Comparison;
    expect({ ...c.metricsB, throughput: null }).toEqual({ ...c.metricsA, throughput: null });
    expect(c.mcnemar).toMatchObject({ b: 0, c: 0, pValue: 1 });
  }, 240_000);

  it('compare prints the table and writes CSV and HTML', () => {
    const r = cli('run', datasetId, '--model', 'tumornet-t1');
    expect(r.code, r.stderr).toBe(0);
    const variant = /Run ([0-9a-f-]{36}): tumornet-t1/.exec(r.stdout)![1]!;
    const csv = path.join(root, 'cmp.csv');
    const html = path.join(root, 'cmp.html');
    const cmp = cli('compare', uninterrupted, variant, '--csv', csv, '--html', html);
    expect(cmp.code, cmp.stderr).toBe(0);
    for (const s of ['Accuracy', 'Macro AUC', 'ECE (10 bins)', 'McNemar', 'paired bootstrap', 'tumornet-t1', 'not a medical device']) expect(cmp.stdout).toContain(s);
    expect(fs.readFileSync(csv, 'utf8')).toMatch(/^section,metric,a,b,b_minus_a\n/);
    expect(fs.readFileSync(html, 'utf8')).toContain('<svg ');
    const missing = cli('compare', uninterrupted, '00000000-0000-0000-0000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no run/);
    // Three runs against a chosen reference: one column each, a test line for each other run.
    const three = cli('compare', uninterrupted, resumed, variant, '--reference', variant, '--csv', path.join(root, 'three.csv'));
    expect(three.code, three.stderr).toBe(0);
    expect(three.stdout, three.stdout).toMatch(new RegExp(`^R1: run ${variant}  tumornet-t1 \\S+ · \\S+ · mri400  \\(reference\\)$`, 'm'));
    expect(three.stdout).toMatch(/^Accuracy \[95% CI\]\s+\S+% \[[\d.]+, [\d.]+\]\s+\S+% \[/m);
    expect(three.stdout.match(/^ {2}R[23]: accuracy /gm)).toHaveLength(2);
    expect(fs.readFileSync(path.join(root, 'three.csv'), 'utf8').split('\n').filter((l) => l.startsWith('run,'))).toHaveLength(3);
    const html3 = cli('compare', uninterrupted, resumed, variant, '--html', html);
    expect(html3.code).toBe(1);
    expect(html3.stderr).toMatch(/--html writes the report of two runs/);
  }, 240_000);
});
