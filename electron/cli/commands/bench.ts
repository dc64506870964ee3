// `tumorpredict bench`: runs the benchmark suites, prints their figures and writes them to
// bench-results/ as JSON. Figures, never timed assertions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { appRoot } from '../../services/config';
import { BENCH_SUITES } from '../bench';

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
      for (const suite of suites) {
        const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tp-bench-${suite.name}-`));
        console.log(`\n== ${suite.name}: ${suite.description}`);
        try {
          (results.suites as Record<string, unknown>)[suite.name] = await suite.run({ workDir, log: (l) => console.log('  ' + l), quick: !!opts.quick });
        } finally {
          fs.rmSync(workDir, { recursive: true, force: true });
        }
      }
      fs.mkdirSync(path.dirname(opts.out), { recursive: true });
      fs.writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
      console.log(`\nFigures written to ${opts.out}`);
    });
}
