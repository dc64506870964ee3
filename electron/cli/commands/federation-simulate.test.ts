// `tumorpredict federation simulate`, small: two site workstations and a coordinator over HTTPS
// on loopback, the shared data split non-IID, a seeded subsample of 40 images per site and in the
// reference set (--limit), one round with the gate reporting only (--gate-off). The printed table
// and the JSON report carry the parent's, each round's and the centralised head's accuracy, and
// the gap between federated and centralised is what those figures say.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../../services/config';
import { makeFeatureModel } from '../../testing/federated-model';
import { datasetsRoot } from '../../testing/research';

let root: string;
let models: string;

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), ...args], {
    cwd: appRoot(),
    encoding: 'utf8',
    env: { ...process.env, TUMORPREDICT_MODELS: models },
    timeout: 500_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-federation-sim-'));
  models = path.join(root, 'models');
  makeFeatureModel(models);
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

interface Report {
  sites: { site: string; images: number }[];
  reference: { n: number };
  parent: { accuracy: number };
  rounds: { round: number; state: string; candidate: number | null; global: number; packageBytes: Record<string, number> }[];
  centralised: { accuracy: number; epochs: number };
  gapPoints: number;
  settings: { gate: { off: boolean } };
}

describe('tumorpredict federation simulate', () => {
  it('runs sites and a coordinator on a seeded subsample and reports federated against centralised accuracy', () => {
    const json = path.join(root, 'report.json');
    const r = cli('federation', 'simulate', '--sites', '2', '--rounds', '1', '--limit', '40', '--epochs', '2', '--gate-off', '--models', models, '--datasets', datasetsRoot(), '--json', json);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as Report;
    expect(report.sites.map((s) => s.site)).toEqual(['site-1', 'site-2']);
    for (const s of report.sites) expect(s.images).toBeLessThanOrEqual(40);
    expect(report.reference.n).toBeGreaterThan(0);
    expect(report.reference.n).toBeLessThanOrEqual(40);
    expect(report.settings.gate.off).toBe(true);
    expect(report.rounds).toHaveLength(1);
    // The gate reports but approves: the global model is the candidate after the round.
    expect(report.rounds[0]).toMatchObject({ round: 1, state: 'candidate' });
    expect(report.rounds[0]!.global).toBe(report.rounds[0]!.candidate);
    for (const bytes of Object.values(report.rounds[0]!.packageBytes)) expect(bytes).toBeGreaterThan(1000);
    expect(report.centralised.epochs).toBe(2);
    expect(report.gapPoints).toBeCloseTo((report.rounds[0]!.global - report.centralised.accuracy) * 100, 6);
    // The printed table says the same.
    expect(r.stdout).toMatch(/^ {4}0 {2}parent {19}\s*\d+\.\d\d/m);
    expect(r.stdout).toMatch(/^ {4}1 {2}candidate/m);
    expect(r.stdout).toContain(`Federated minus centralised: ${report.gapPoints.toFixed(2)} points.`);
  }, 600_000);

  it('refuses a split that leaves a site without images, before any workstation is made, saying what to change', () => {
    // LGG FLAIR alone, split by patient with alpha 0.5 over three sites: seed 1 gives site-1 no patient.
    const work = path.join(root, 'empty-site');
    const r = cli('federation', 'simulate', '--sites', '3', '--rounds', '1', '--sources', 'lgg-flair', '--models', models, '--datasets', datasetsRoot(), '--work', work);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/The split gives site-1 no images \(3 sites, sources lgg-flair, alpha 0\.5, seed 1\)\. Use fewer sites, a larger --alpha/);
    expect(fs.existsSync(path.join(work, 'coordinator'))).toBe(false);
  });

  it('refuses a --limit that is not a positive whole number', () => {
    const r = cli('federation', 'simulate', '--sites', '2', '--rounds', '1', '--limit', '0', '--models', models);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--limit is a whole number of images, 1 or more/);
  });
});
