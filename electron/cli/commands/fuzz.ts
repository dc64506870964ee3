// `tumorpredict fuzz` (npm run fuzz): the long seeded fuzz run of the DICOM parser and decoders
// (10^5 attempts by default), outside the CI test time; exit 1 on any crash or hang.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { appRoot } from '../../services/config';
import { replayAttempt, runDicomFuzz } from '../bench/fuzz';

export function registerFuzz(program: Command): void {
  program
    .command('fuzz')
    .description('fuzz the DICOM parser and decoders with seeded mutations of real files; print crashes, hangs and peak memory')
    .option('--iterations <n>', 'attempts', (v) => Number.parseInt(v, 10), 100_000)
    .option('--seed <n>', 'seed (the same seed replays the same run)', (v) => Number.parseInt(v, 10), 20240611)
    .option('--workers <n>', 'worker threads', (v) => Number.parseInt(v, 10), Math.max(1, Math.min(4, os.cpus().length)))
    .option('--hang-ms <n>', 'an attempt longer than this is a hang', (v) => Number.parseInt(v, 10), 10_000)
    .option('--replay <i>', 'run only attempt I (to debug a crash or hang)', (v) => Number.parseInt(v, 10))
    .option('--out <file>', 'JSON report', path.join(appRoot(), 'bench-results', 'fuzz.json'))
    .action(async (opts: { iterations: number; seed: number; workers: number; hangMs: number; replay?: number; out: string }) => {
      if (opts.replay !== undefined) {
        const r = await replayAttempt(opts.seed, opts.replay);
        process.stdout.write(`attempt ${opts.replay} (${r.file}, ${r.bytes} bytes): ${r.outcome}\n`);
        return;
      }
      console.log(`Fuzzing: ${opts.iterations} attempts, seed ${opts.seed}, ${opts.workers} worker(s), hang limit ${opts.hangMs} ms`);
      const r = await runDicomFuzz({ iterations: opts.iterations, seed: opts.seed, workers: opts.workers, hangMs: opts.hangMs, log: (l) => console.log('  ' + l) });
      console.log(`Done in ${r.seconds} s (${Math.round(r.iterations / Math.max(r.seconds, 0.1))} attempts/s): ${r.decoded} decoded, ${r.refused} refused, ${r.crashes.length} crash(es), ${r.hangs.length} hang(s) (${r.slowOnce.length} attempt(s) past the limit once, done when run again alone); peak memory ${r.peakRssMiB} MiB (whole process).`);
      for (const c of r.crashes.slice(0, 20)) console.log(`  crash: attempt ${c.i} (${c.file}): ${c.error}`);
      for (const h of r.hangs.slice(0, 20)) console.log(`  hang:  attempt ${h.i} (${h.file})`);
      fs.mkdirSync(path.dirname(opts.out), { recursive: true });
      fs.writeFileSync(opts.out, JSON.stringify(r, null, 2) + '\n');
      if (r.crashes.length || r.hangs.length) process.exitCode = 1;
    });
}
