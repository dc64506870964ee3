// `tumorpredict report list` lists reports with filters; `report verify ID` recomputes a signed
// report's content hash (exit 1 when it no longer matches); `report export ID --pdf FILE [--sr FILE]
// [--dicom-pdf FILE] [--seg FILE]` writes its exports.
import fs from 'node:fs';
import type { Command } from 'commander';
import { WorkstationError, REPORT_STATUSES } from '../../contract';
import type { Actor } from '../../services/reports';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen } from './cli-admin';

/** The CLI acts as the operating-system user, audited as cli:<user>; it never signs. */
function actor(): Actor {
  return { userId: '', username: cliActor().name, role: 'admin', patientId: null };
}

export function registerReport(program: Command): void {
  const report = program.command('report').description('list, verify and export reports');

  const STATUSES = [...REPORT_STATUSES, 'none', 'pending', 'signed'] as const;
  addCommonOptions(report.command('list').description('list reports (and studies without one), newest study first'))
    .option('--status <status>', `one of ${STATUSES.join(', ')} (default: all)`)
    .option('--patient <text>', "part of the patient's name, or their whole hospital Patient ID")
    .option('--from <YYYYMMDD>', 'study date from')
    .option('--to <YYYYMMDD>', 'study date to')
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { status?: string; patient?: string; from?: string; to?: string; limit: string; json?: boolean }) => {
      if (opts.status && !(STATUSES as readonly string[]).includes(opts.status)) throw new WorkstationError('INVALID_INPUT', `--status must be one of ${STATUSES.join(', ')}.`);
      for (const [flag, v] of [['--from', opts.from], ['--to', opts.to]] as const) {
        if (v !== undefined && !/^\d{8}$/.test(v)) throw new WorkstationError('INVALID_INPUT', `${flag} takes a date as YYYYMMDD.`);
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new WorkstationError('INVALID_INPUT', '--limit takes a whole number from 1 to 10000.');
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const rows = ws.services.reports.list({ status: opts.status as (typeof STATUSES)[number] | undefined, patient: opts.patient, dateFrom: opts.from, dateTo: opts.to, limit });
        const a = actor();
        // The list shows patient names: who asked is an audit row (the filter is not: it may be a name).
        ws.services.audit.append({ actorId: null, actor: a.username, action: 'report.list', objectType: 'report', outcome: 'success', detail: { rows: rows.length, status: opts.status ?? null } });
        if (opts.json) {
          process.stdout.write(JSON.stringify(rows) + '\n');
          return;
        }
        if (!rows.length) {
          process.stdout.write('No reports match.\n');
          return;
        }
        const table = [['REPORT', 'STATUS', 'STUDY DATE', 'PATIENT ID', 'PATIENT', 'SIGNED BY', 'SIGNED AT', 'ADDENDA']].concat(
          rows.map((r) => [r.reportId ?? '-', r.status, r.studyDate ?? '', r.patientDicomId ?? '', r.patientName, r.signedByName ?? '', r.signedAt?.replace('T', ' ').slice(0, 19) ?? '', String(r.addenda)]),
        );
        const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
        process.stdout.write(table.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n');
      });
    });

  addCommonOptions(report.command('verify <id>').description("recompute a signed report's content hash and its addenda's; exit 1 if any changed"))
    .option('--json', 'print JSON')
    .action(async (id: string, opts: CommonOptions & { json?: boolean }) => {
      const ok = await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const r = ws.services.reports.verify(id);
        const a = actor();
        ws.services.audit.append({ actorId: null, actor: a.username, action: 'report.verify', objectType: 'report', objectId: id, outcome: r.ok ? 'success' : 'failure' });
        if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
        else process.stdout.write(`${r.ok ? 'OK' : 'FAILED'}: ${r.message}\n${r.storedHash ? `stored   ${r.storedHash}\ncomputed ${r.computedHash}\n` : ''}`);
        return r.ok;
      });
      if (!ok) process.exitCode = 1;
    });

  addCommonOptions(report.command('export <id>').description('write the PDF of a signed report, and optionally its DICOM SR, Encapsulated PDF and SEG'))
    .option('--pdf <file>', 'the PDF')
    .option('--sr <file>', 'the Comprehensive SR (TID 1500) as a DICOM file (its newest version)')
    .option('--dicom-pdf <file>', 'the Encapsulated PDF as a DICOM file')
    .option('--seg <file>', "the AI tumor segmentation (DICOM SEG) the SR references")
    .action(async (id: string, opts: CommonOptions & { pdf?: string; sr?: string; dicomPdf?: string; seg?: string }) => {
      if (!opts.pdf && !opts.sr && !opts.dicomPdf && !opts.seg) throw new WorkstationError('INVALID_INPUT', 'Say what to write: --pdf FILE, --sr FILE, --dicom-pdf FILE and/or --seg FILE.');
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const write = (file: string, bytes: Buffer): void => {
          // wx: never overwrite an existing file; 0600: the export holds patient data.
          try {
            fs.writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new WorkstationError('INVALID_INPUT', `${file} already exists; an export never overwrites a file. Choose another name.`);
            throw err;
          }
          process.stderr.write(`${file}: ${bytes.length} bytes\n`);
        };
        if (opts.pdf) write(opts.pdf, (await ws.services.reports.exportPdf(id, actor())).pdf);
        if (opts.sr || opts.dicomPdf || opts.seg) {
          const o = await ws.services.reports.dicomObjects(id, actor());
          // Checked before anything is written, so a refusal leaves no partial export behind.
          if (opts.dicomPdf && !o.encapsulatedPdf) throw new WorkstationError('CONFLICT', 'The report is not signed: there is no Encapsulated PDF yet.');
          if (opts.seg && !o.seg) throw new WorkstationError('CONFLICT', 'This report has no AI tumor segmentation: no tumor was found, the AI finding was rejected, or its masks are no longer stored.');
          if (opts.sr) write(opts.sr, o.sr);
          if (opts.dicomPdf) write(opts.dicomPdf, o.encapsulatedPdf!);
          if (opts.seg) write(opts.seg, o.seg!);
        }
      });
    });
}
