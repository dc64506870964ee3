// `tumorpredict import PATH...`: imports DICOM files, folders and DICOMDIR media into the data
// folder, with a progress bar on a terminal (percent lines otherwise) and the import report.
import type { Command } from 'commander';
import type { ImportProgress, ImportReport } from '../../contract';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen } from './cli-admin';

function bar(p: ImportProgress, width = 30): string {
  const frac = p.total ? p.done / p.total : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} imported ${p.imported} dup ${p.duplicates} conflict ${p.conflicts} refused ${p.refused}`;
}

export function formatReport(r: ImportReport, verbose: boolean): string {
  const lines: string[] = [];
  for (const e of r.entries) {
    if (!verbose && (e.status === 'imported' || e.status === 'duplicate')) continue;
    lines.push(`  ${e.status.padEnd(9)} ${e.path}${e.reason ? `: ${e.reason}` : ''}`);
  }
  lines.push(
    `${r.total} file(s): ${r.imported} imported, ${r.duplicates} already stored, ${r.conflicts} conflict(s) kept and flagged, ${r.refused} refused` +
      `${r.cancelled ? `, cancelled with ${r.notProcessed} not looked at` : ''} (${(r.elapsedMs / 1000).toFixed(1)} s, ${r.studyIds.length} stud${r.studyIds.length === 1 ? 'y' : 'ies'}).`,
  );
  return lines.join('\n');
}

export function registerImport(program: Command): void {
  addCommonOptions(
    program
      .command('import')
      .description('import DICOM files, folders (recursively) and DICOMDIR media; exit 1 if any file is refused')
      .argument('<paths...>', 'files, folders or DICOMDIR files'),
  )
    .option('--json', 'print the import report as JSON')
    .option('--verbose', 'list every file, not only conflicts and refusals')
    .action(async (paths: string[], opts: CommonOptions & { json?: boolean; verbose?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const tty = process.stderr.isTTY;
        let lastPct = -1;
        const controller = new AbortController();
        const onSigint = (): void => controller.abort();
        process.once('SIGINT', onSigint);
        try {
          const report = await ws.services.dicom.importPaths(paths, {
            actor: cliActor().name,
            signal: controller.signal,
            onProgress: (p) => {
              if (p.phase === 'scanning') return;
              if (tty) process.stderr.write(`\r${bar(p)}${p.phase === 'done' ? '\n' : ''}`);
              else {
                const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
                if (pct !== lastPct && (pct % 10 === 0 || p.phase === 'done')) {
                  lastPct = pct;
                  process.stderr.write(`${pct}% (${p.done}/${p.total})\n`);
                }
              }
            },
          });
          process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : formatReport(report, !!opts.verbose)) + '\n');
          if (report.refused > 0) process.exitCode = 1;
          if (report.cancelled) process.exitCode = 130;
        } finally {
          process.off('SIGINT', onSigint);
        }
      });
    });
}
