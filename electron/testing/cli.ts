// Runs the real `tumorpredict` bin (as `npx tumorpredict` would) in a child process, for the
// command-line tests.
//
// Why these tests are slow, and how long they may take: every start loads the CLI's TypeScript
// through tsx's loader, about 260 source modules, each resolved and loaded by a round trip to the
// loader's thread. On an idle machine a start takes 1-2 s; with both cores busy each round trip
// waits for the scheduler, and `tumorpredict --help` took 10.6 s of wall time for 1.8 s of CPU
// (load average 5). So a test's timeout is a budget per start it makes, never a fixed minute, and
// no test asserts on how long anything took.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { appRoot } from '../services/config';

export const BIN = path.join(appRoot(), 'bin', 'tumorpredict.js');

/** What one start of the bin may take on a loaded machine (the loader alone: 10-15 s at load 5-20). */
export const CLI_START_BUDGET_MS = 90_000;

/** A test timeout for a test that starts the bin `starts` times one after another. */
export function cliTimeout(starts: number): number {
  return Math.max(1, starts) * CLI_START_BUDGET_MS;
}

export interface BinResult {
  /** The exit code; null when the process was killed (by the per-start budget). */
  status: number | null;
  out: string;
  err: string;
}

/** Starts the bin once with `args`, `input` on its stdin, and resolves when it exits. */
export function runBin(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<BinResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd ?? appRoot(), env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: CLI_START_BUDGET_MS * 2 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        const status = !e ? 0 : e.killed ? null : typeof e.code === 'number' ? e.code : 1;
        resolve({ status, out: stdout, err: stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}
