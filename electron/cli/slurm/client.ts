// The Slurm client commands the CLI needs: sbatch to submit an array job, squeue for the tasks
// still pending or running, scontrol for the final state of those that ended. No sacct: it needs
// accounting storage (slurmdbd), which a small site may not run. The site's own slurm.conf is
// found by the commands themselves (SLURM_CONF or /etc/slurm/slurm.conf).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { WorkstationError } from '../../contract';

export type TaskState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMEOUT' | 'NODE_FAIL' | 'OUT_OF_MEMORY' | 'PREEMPTED' | 'BOOT_FAIL' | 'DEADLINE' | 'SUSPENDED' | 'REQUEUED' | 'COMPLETING' | 'CONFIGURING' | 'STOPPED' | 'RESIZING' | string;

/** States after which a task will not produce its part any more. */
export const ENDED_BADLY = new Set(['FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT', 'REVOKED']);
export const STILL_GOING = new Set(['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED']);

export interface ArrayTask {
  arrayJobId: string;
  taskId: number;
  state: TaskState;
  /** "exit:signal" from scontrol (e.g. "0:9" for a SIGKILL), when known. */
  exitCode?: string;
  reason?: string;
}

export interface SlurmClient {
  /** Submits `script` as an array job over `tasks`; returns the array job id. */
  submit(script: string, tasks: number[], extraArgs: string[]): Promise<string>;
  /** Tasks of these array jobs that squeue still lists (pending, running, completing). */
  queued(arrayJobIds: string[]): Promise<ArrayTask[]>;
  /** Every task scontrol still remembers of one array job (it forgets after MinJobAge). */
  show(arrayJobId: string): Promise<ArrayTask[]>;
  cancel(arrayJobId: string): Promise<void>;
}

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && e.code === 'ENOENT') {
        reject(new WorkstationError('UNAVAILABLE', `The Slurm command ${path.basename(bin)} was not found. Install the Slurm client (Debian: slurm-client) or set TUMORPREDICT_SLURM_BIN to the folder holding sbatch, squeue and scontrol.`, { cause: e }));
        return;
      }
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}

/** "0-3,7,9-10" for sbatch --array. */
export function arraySpec(tasks: number[]): string {
  const s = [...new Set(tasks)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : String(s[i]));
    i = j + 1;
  }
  return parts.join(',');
}

/** Parses `scontrol show job ID -o`: one line per array task, KEY=VALUE fields. */
export function parseScontrol(text: string): ArrayTask[] {
  const out: ArrayTask[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const field = (k: string): string | undefined => new RegExp(`(?:^|\\s)${k}=(\\S*)`).exec(line)?.[1];
    const arrayJobId = field('ArrayJobId');
    const task = field('ArrayTaskId');
    const state = field('JobState');
    if (!arrayJobId || task === undefined || !state || !/^\d+$/.test(task)) continue; // a pending range ("2-5") is listed by squeue
    out.push({ arrayJobId, taskId: Number(task), state, exitCode: field('ExitCode') ?? '', reason: field('Reason') ?? '' });
  }
  return out;
}

/** Parses `squeue -h -r -o %F|%K|%T|%r`. */
export function parseSqueue(text: string): ArrayTask[] {
  const out: ArrayTask[] = [];
  for (const line of text.split('\n')) {
    const [arrayJobId, task, state, reason] = line.trim().split('|');
    if (!arrayJobId || !task || !state || !/^\d+$/.test(task)) continue;
    out.push({ arrayJobId, taskId: Number(task), state, reason: reason ?? '' });
  }
  return out;
}

export function createSlurmClient(binDir = process.env.TUMORPREDICT_SLURM_BIN): SlurmClient {
  const bin = (name: string): string => (binDir ? path.join(binDir, name) : name);
  return {
    async submit(script, tasks, extraArgs) {
      const r = await run(bin('sbatch'), ['--parsable', `--array=${arraySpec(tasks)}`, ...extraArgs, script]);
      const id = r.stdout.trim().split(';')[0] ?? '';
      if (r.code !== 0 || !/^\d+$/.test(id)) {
        throw new WorkstationError('UNAVAILABLE', `sbatch refused the job: ${(r.stderr || r.stdout).trim().split('\n')[0] || `exit code ${r.code}`}.`, { details: { code: r.code } });
      }
      return id;
    },
    async queued(ids) {
      if (ids.length === 0) return [];
      const r = await run(bin('squeue'), ['-h', '-r', '-j', ids.join(','), '-o', '%F|%K|%T|%r']);
      // squeue exits 1 with "Invalid job id specified" once every listed job has left the queue.
      if (r.code !== 0 && !/Invalid job id/i.test(r.stderr)) throw new WorkstationError('UNAVAILABLE', `squeue failed: ${r.stderr.trim().split('\n')[0] ?? r.code}.`);
      return parseSqueue(r.stdout);
    },
    async show(id) {
      const r = await run(bin('scontrol'), ['show', 'job', id, '-o']);
      if (r.code !== 0) return []; // forgotten (older than MinJobAge) or never known
      return parseScontrol(r.stdout);
    },
    async cancel(id) {
      await run(bin('scancel'), [id]);
    },
  };
}
