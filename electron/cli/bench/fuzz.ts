// `npm run fuzz` (tumorpredict fuzz): the long seeded fuzz run of the DICOM parser and decoders,
// outside CI. Attempts run in worker threads; a watchdog ends a worker whose attempt takes longer
// than the hang limit (a hang, named by its attempt number) and a new one goes on after it.
// Prints crashes, hangs, throughput and the process's peak memory (threads share it).
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FUZZ_SEED_FILES, attemptRng, fuzzOne, loadSeedFiles, mutate } from '../../testing/fuzz';

export interface FuzzReport {
  iterations: number;
  seed: number;
  decoded: number;
  refused: number;
  crashes: { i: number; file: string; error: string }[];
  hangs: { i: number; file: string }[];
  /** Attempts that passed the hang limit once but finished when run again alone (a loaded machine, not a hang). */
  slowOnce: { i: number; file: string }[];
  peakRssMiB: number;
  seconds: number;
}

const require = createRequire(import.meta.url);

function spawnWorker(job: { seed: number; from: number; to: number }, maxHeapMb: number): Worker {
  const tsFile = fileURLToPath(new URL('./fuzz-worker.ts', import.meta.url));
  // Node 20 ignores `--import tsx` in a worker's execArgv: register tsx inside, then import.
  const api = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs');
  const code = `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(tsFile).href)}); });`;
  return new Worker(code, { eval: true, execArgv: [], workerData: job, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
}

export async function runDicomFuzz(o: { iterations: number; seed: number; workers: number; hangMs: number; chunk?: number; log?: (line: string) => void }): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = { iterations: o.iterations, seed: o.seed, decoded: 0, refused: 0, crashes: [], hangs: [], slowOnce: [], peakRssMiB: 0, seconds: 0 };
  const chunk = o.chunk ?? 2000;
  // `retry`: one attempt that passed the hang limit, run again alone before it is called a hang.
  const queue: { from: number; to: number; retry?: boolean }[] = [];
  for (let from = 0; from < o.iterations; from += chunk) queue.push({ from, to: Math.min(o.iterations, from + chunk) });
  const fileOf = (i: number): string => FUZZ_SEED_FILES[i % FUZZ_SEED_FILES.length]!;
  const sample = (): void => {
    report.peakRssMiB = Math.max(report.peakRssMiB, Math.round(process.resourceUsage().maxRSS / 1024));
  };
  let done = 0;
  let lastLog = Date.now();

  const runRange = (range: { from: number; to: number; retry?: boolean }): Promise<void> =>
    new Promise((resolve) => {
      const worker = spawnWorker({ seed: o.seed, from: range.from, to: range.to }, 1024);
      let current = range.from;
      let lastStart = Date.now();
      // The clock starts at the worker's first attempt: loading tsx and the decoders in a new
      // worker took over 10 s on a loaded machine, and was reported as a hang of that attempt.
      let running = false;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        resolve();
      };
      const watchdog = setInterval(() => {
        sample();
        if (!running || Date.now() - lastStart <= o.hangMs) return;
        void worker.terminate();
        if (range.retry) {
          // Twice past the limit, the second time alone: a hang.
          report.hangs.push({ i: current, file: fileOf(current) });
          o.log?.(`HANG  attempt ${current} (${fileOf(current)}): no answer in ${o.hangMs} ms, twice`);
        } else {
          // Once past the limit: run it again alone before calling it a hang; go on after it.
          if (current + 1 < range.to) queue.unshift({ from: current + 1, to: range.to });
          queue.unshift({ from: current, to: current + 1, retry: true });
        }
        finish();
      }, Math.min(1000, o.hangMs));
      worker.on('message', (m: { kind: 'start'; i: number } | { kind: 'result'; i: number; outcome: 'decoded' | 'refused' } | { kind: 'crash'; i: number; error: string } | { kind: 'done' }) => {
        if (m.kind === 'start') {
          running = true;
          current = m.i;
          lastStart = Date.now();
          if (!range.retry) done++; // a retried attempt was counted at its first try
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            o.log?.(`${done} / ${o.iterations} attempts, ${report.crashes.length} crash(es), ${report.hangs.length} hang(s)`);
          }
        } else if (m.kind === 'result') {
          if (m.outcome === 'decoded') report.decoded++;
          else report.refused++;
        } else if (m.kind === 'crash') {
          report.crashes.push({ i: m.i, file: fileOf(m.i), error: m.error });
          o.log?.(`CRASH attempt ${m.i} (${fileOf(m.i)}): ${m.error}`);
        } else {
          if (range.retry) report.slowOnce.push({ i: range.from, file: fileOf(range.from) });
          finish();
        }
      });
      worker.on('error', (err) => {
        // The worker itself died (out of memory past its heap cap, a native fault): a crash of the attempt it was on.
        report.crashes.push({ i: current, file: fileOf(current), error: `worker died: ${err.message}`.slice(0, 300) });
        o.log?.(`CRASH attempt ${current} (${fileOf(current)}): worker died: ${err.message}`);
        if (current + 1 < range.to) queue.unshift({ from: current + 1, to: range.to });
        finish();
      });
      worker.on('exit', () => finish());
    });

  const lanes = Array.from({ length: Math.max(1, o.workers) }, async () => {
    for (let r = queue.shift(); r; r = queue.shift()) await runRange(r);
  });
  await Promise.all(lanes);
  sample();
  report.seconds = Math.round((Date.now() - started) / 100) / 10;
  return report;
}

/** One attempt of a run, in this thread (a crash shows its stack here). */
export async function replayAttempt(seed: number, i: number): Promise<{ file: string; bytes: number; outcome: string }> {
  const seeds = loadSeedFiles();
  const bytes = mutate(seeds[i % seeds.length]!, attemptRng(seed, i));
  return { file: FUZZ_SEED_FILES[i % FUZZ_SEED_FILES.length]!, bytes: bytes.length, outcome: await fuzzOne(bytes) };
}
