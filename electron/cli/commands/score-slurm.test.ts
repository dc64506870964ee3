// `tumorpredict score DIR --slurm` against a real single-node Slurm (slurmctld and slurmd on
// 127.0.0.1, munge with a generated key, all started and stopped here): the merged CSV equals a
// local run's byte for byte apart from the timing column, a task killed mid-run is resubmitted
// alone, and a run stopped with a failed shard resumes only that shard when run again.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoot } from '../../services/config';
import { mriImages, requireModelDir } from '../../testing/inference';
import { startSlurm, type SlurmCluster } from '../../testing/slurm';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-score-slurm-'));
const input = path.join(root, 'in');
const data = path.join(root, 'data');
let cluster: SlurmCluster;
let localCsv: string;
let localStdout: string;

function env(): NodeJS.ProcessEnv {
  return { ...process.env, ...cluster.env, TUMORPREDICT_MODELS: path.dirname(requireModelDir()), TUMORPREDICT_SLURM_POLL_MS: '500' };
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), ...args, '--data', data], { cwd: appRoot(), encoding: 'utf8', env: env(), timeout: 400_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI and calls `onStderr` as output arrives (to kill a task at the right moment). */
function cliAsync(args: string[], onStderr: (all: string) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(appRoot(), 'bin', 'tumorpredict.js'), ...args, '--data', data], { cwd: appRoot(), env: env() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr(stderr);
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The score CSV with the timing column blanked: what must match byte for byte. */
function withoutTiming(csv: string): string {
  const lines = csv.split('\n');
  const ms = lines[0]!.split(',').indexOf('ms');
  expect(ms).toBeGreaterThan(0);
  // No field before `ms` is quoted with a comma inside except the path; the path is the first
  // column, so cut the timing field from the end (it is the last column).
  expect(ms).toBe(lines[0]!.split(',').length - 1);
  return lines.map((l) => (l ? l.slice(0, l.lastIndexOf(',')) : l)).join('\n');
}

/** PIDs of the node processes running shard `k` of a job in `jobDir` (started by our Slurm). */
function shardPids(jobDir: string, k: number, n: number): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let cmd: string[];
    try {
      cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = cmd.indexOf('--shard');
    if (i >= 0 && cmd[i + 1] === `${k}/${n}` && cmd.some((a) => a.startsWith(jobDir))) out.push(Number(p));
  }
  return out;
}

beforeAll(async () => {
  cluster = await startSlurm();
  // 4 classes x 40 images (copies under new names), a linked class folder, and unreadable files.
  const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'];
  for (const c of CLASSES) {
    fs.mkdirSync(path.join(input, c), { recursive: true });
    const src = mriImages(c, 10);
    for (let i = 0; i < 40; i++) fs.copyFileSync(src[i % src.length]!, path.join(input, c, `${c}-${String(i).padStart(3, '0')}.jpg`));
  }
  fs.mkdirSync(path.join(root, 'elsewhere', 'Glioma_Tumor'), { recursive: true });
  for (const f of mriImages('glioma', 3)) fs.copyFileSync(f, path.join(root, 'elsewhere', 'Glioma_Tumor', path.basename(f)));
  fs.symlinkSync(path.join(root, 'elsewhere', 'Glioma_Tumor'), path.join(input, 'linked-glioma'));
  fs.mkdirSync(path.join(input, 'bad'));
  fs.writeFileSync(path.join(input, 'bad', 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(input, 'bad', 'truncated.jpg'), fs.readFileSync(mriImages('glioma', 1)[0]!).subarray(0, 300));
  const out = path.join(root, 'local.csv');
  const r = cli(['score', input, '--out', out, '--batch', '4']);
  expect(r.code, r.stderr).toBe(0);
  localCsv = fs.readFileSync(out, 'utf8');
  localStdout = r.stdout;
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(root, { recursive: true, force: true });
}, 120_000);

describe('tumorpredict score --slurm', () => {
  it('scores the shards as an array job, shows progress across tasks, and merges into the local CSV', () => {
    const out = path.join(root, 'slurm.csv');
    const r = cli(['score', input, '--out', out, '--batch', '4', '--slurm', '--partition', cluster.partition, '--tasks', '3']);
    expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
    expect(r.stderr).toMatch(/Submitted Slurm array job \d+: 3 tasks over 165 files/);
    expect(r.stderr).toMatch(/Slurm: \d of 3 shards done, \d running, \d pending/);
    expect(r.stderr).toMatch(/Slurm: 3 of 3 shards done/);
    expect(r.stderr).toMatch(/Skipped 2 unreadable file\(s\):\n {2}bad\/notes\.txt: .*\n {2}bad\/truncated\.jpg: /);
    const csv = fs.readFileSync(out, 'utf8');
    expect(csv.split('\n').length).toBe(localCsv.split('\n').length);
    expect(withoutTiming(csv)).toBe(withoutTiming(localCsv));
    // The same summary and metrics as the local run (apart from the file name).
    expect(r.stdout.replace(out, 'OUT')).toBe(localStdout.replace(path.join(root, 'local.csv'), 'OUT'));
    // Every task ran the same CLI on its own shard.
    const logs = fs.readdirSync(path.join(`${out}.slurm`, 'logs')).sort();
    expect(logs).toHaveLength(3);
    const script = fs.readFileSync(path.join(`${out}.slurm`, 'score.sbatch'), 'utf8');
    expect(script).toMatch(/tumorpredict\.js' score .* --shard "\$SLURM_ARRAY_TASK_ID\/3"/);
  }, 400_000);

  it('resubmits only a task that was killed mid-run, and the merged CSV is still the local one', async () => {
    const out = path.join(root, 'killed.csv');
    const jobDir = `${out}.slurm`;
    let killed: number[] = [];
    let watching = false;
    const r = await cliAsync(['score', input, '--out', out, '--batch', '4', '--slurm', '--tasks', '3'], (stderr) => {
      if (watching || killed.length || !/Submitted Slurm array job/.test(stderr)) return;
      watching = true;
      // Kill shard 1's process as soon as it runs (before it can write its part).
      const t = setInterval(() => {
        const pids = shardPids(jobDir, 1, 3);
        if (pids.length === 0) return;
        for (const p of pids) process.kill(p, 'SIGKILL');
        killed = pids;
        clearInterval(t);
      }, 50);
    });
    expect(killed.length, r.stderr).toBeGreaterThan(0);
    expect(r.code, `${r.stderr}\n${cluster.logs()}`).toBe(0);
    expect(r.stderr).toMatch(/Shard 1 of array job \d+ failed \(FAILED[^)]*\); resubmitting only that shard \(attempt 2 of 3\)/);
    const state = JSON.parse(fs.readFileSync(path.join(jobDir, 'job.json'), 'utf8')) as { submissions: { shards: number[] }[] };
    expect(state.submissions.map((s) => s.shards)).toEqual([[0, 1, 2], [1]]);
    expect(withoutTiming(fs.readFileSync(out, 'utf8'))).toBe(withoutTiming(localCsv));
  }, 400_000);

  it('stops with the failed shard named when retries run out, and a second run resumes only that shard', async () => {
    const out = path.join(root, 'resumed.csv');
    const jobDir = `${out}.slurm`;
    let killed = false;
    let watching = false;
    const first = await cliAsync(['score', input, '--out', out, '--batch', '4', '--slurm', '--tasks', '3', '--retries', '0'], (stderr) => {
      if (watching || !/Submitted Slurm array job/.test(stderr)) return;
      watching = true;
      const t = setInterval(() => {
        const pids = shardPids(jobDir, 2, 3);
        if (pids.length === 0) return;
        for (const p of pids) process.kill(p, 'SIGKILL');
        killed = true;
        clearInterval(t);
      }, 50);
    });
    expect(killed, first.stderr).toBe(true);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/1 shard \(2\) could not be scored; the 2 finished shards are kept in .*Run the same command again to resume only the failed shards\./);
    expect(fs.existsSync(out)).toBe(false);
    const second = cli(['score', input, '--out', out, '--batch', '4', '--slurm', '--tasks', '3']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/Resuming the cluster job in .*: 2 of 3 shards done; submitting 1 shard again \(2\)\./);
    const state = JSON.parse(fs.readFileSync(path.join(jobDir, 'job.json'), 'utf8')) as { submissions: { shards: number[] }[] };
    expect(state.submissions.map((s) => s.shards)).toEqual([[0, 1, 2], [2]]);
    expect(withoutTiming(fs.readFileSync(out, 'utf8'))).toBe(withoutTiming(localCsv));
  }, 400_000);
});
