// `tumorpredict report verify ID` recomputes a signed report's content hash (exit 1 when it no
// longer matches); `report export ID --pdf FILE [--sr FILE] [--dicom-pdf FILE]` writes its exports.
import fs from 'node:fs';
import type { Command } from 'commander';
import { WorkstationError } from '../../contract';
import type { Actor } from '../../services/reports';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen } from './cli-admin';

/** The CLI acts as the operating-system user, audited as cli:<user>; it never signs. */
function actor(): Actor {
  return { userId: '', username: cliActor().name, role: 'admin', patientId: null };
}

export function registerReport(program: Command): void {
  const report = program.command('report').description('verify and export signed reports');

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

  addCommonOptions(report.command('export <id>').description('write the PDF of a signed report, and optionally its DICOM SR and Encapsulated PDF'))
    .option('--pdf <file>', 'the PDF')
    .option('--sr <file>', 'the Comprehensive SR (TID 1500) as a DICOM file')
    .option('--dicom-pdf <file>', 'the Encapsulated PDF as a DICOM file')
    .action(async (id: string, opts: CommonOptions & { pdf?: string; sr?: string; dicomPdf?: string }) => {
      if (!opts.pdf && !opts.sr && !opts.dicomPdf) throw new WorkstationError('INVALID_INPUT', 'Say what to write: --pdf FILE, --sr FILE and/or --dicom-pdf FILE.');
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const write = (file: string, bytes: Buffer): void => {
          // wx: never overwrite an existing file; 0600: the export holds patient data.
          fs.writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
          process.stderr.write(`${file}: ${bytes.length} bytes\n`);
        };
        if (opts.pdf) write(opts.pdf, (await ws.services.reports.exportPdf(id, actor())).pdf);
        if (opts.sr || opts.dicomPdf) {
          const o = await ws.services.reports.dicomObjects(id, actor());
          if (opts.sr) write(opts.sr, o.sr);
          if (opts.dicomPdf) {
            if (!o.encapsulatedPdf) throw new WorkstationError('CONFLICT', 'The report is not signed: there is no Encapsulated PDF yet.');
            write(opts.dicomPdf, o.encapsulatedPdf);
          }
        }
      });
    });
}
