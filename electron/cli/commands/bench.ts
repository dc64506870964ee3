// `tumorpredict bench`: runs the benchmark suites, prints their figures and writes them to
// bench-results/ as JSON. Figures, never timed assertions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { appRoot } from '../../services/config';
import { BENCH_SUITES } from '../bench';
import { runSuites } from '../bench/run-suites';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks and write their figures to bench-results/ (JSON)')
    .option('--only <names>', 'comma-separated suite names')
    .option('--quick', 'fewer iterations (smoke check)')
    .option('--out <file>', 'JSON file to write', path.join(appRoot(), 'bench-results', 'latest.json'))
    .action(async (opts: { only?: string; quick?: boolean; out: string }) => {
      const wanted = opts.only ? new Set(opts.only.split(',')) : null;
      const suites = BENCH_SUITES.filter((s) => !wanted || wanted.has(s.name));
      const results: Record<string, unknown> = {
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.versions.node, platform: `${process.platform}-${process.arch}` },
        date: new Date().toISOString(),
        suites: {},
      };
      const outcome = await runSuites(suites, { quick: !!opts.quick, log: (l) => console.log(l) });
      results.suites = outcome.suites;
      results.failed = outcome.failed;
      fs.mkdirSync(path.dirname(opts.out), { recursive: true });
      fs.writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
      console.log(`\nFigures written to ${opts.out}`);
      if (outcome.failed.length) {
        console.log(`${outcome.failed.length} suite(s) failed: ${outcome.failed.map((f) => `${f.name} (${f.error.split('\n')[0]!.slice(0, 120)})`).join('; ')}`);
        process.exitCode = 1;
      }
    });
}
