// `tumorpredict audit verify|checkpoint|export`: walk the audit MAC chain (exit 1 naming the first
// broken row), against a signed checkpoint too; write a signed checkpoint; export rows as CSV.
import fs from 'node:fs';
import type { Command } from 'commander';
import { auditFilterSchema, WorkstationError } from '../../contract';
import { parseCheckpoint, type AuditCheckpoint } from '../../services/audit';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen } from './cli-admin';

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('verify and export the tamper-evident audit log');

  addCommonOptions(audit.command('verify').description('walk the MAC chain; exit 1 and name the first broken row if any'))
    .option('--json', 'print JSON')
    .option('--checkpoint <file>', 'also check the history against a signed checkpoint written earlier (audit checkpoint, or the daily one)')
    .action(async (opts: CommonOptions & { json?: boolean; checkpoint?: string }) => {
      let checkpoint: AuditCheckpoint | undefined;
      if (opts.checkpoint) {
        try {
          checkpoint = parseCheckpoint(fs.readFileSync(opts.checkpoint, 'utf8'));
        } catch (err) {
          throw new WorkstationError('INVALID_INPUT', `The checkpoint ${opts.checkpoint} could not be read (${(err as NodeJS.ErrnoException).code ?? 'not JSON'}).`, { cause: err });
        }
      }
      const ok = await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const r = ws.services.audit.verify(checkpoint ? { checkpoint } : {});
        if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
        else if (r.ok) process.stdout.write(`Audit log intact: ${r.checked} rows checked.\n`);
        else process.stdout.write(`Audit log BROKEN at row ${r.firstBrokenId}: ${r.reason}\n`);
        // Verifying is itself audited; appended after the walk so it never hides what was found.
        ws.services.audit.append({ actorId: null, actor: cliActor().name, action: 'audit.verify', outcome: r.ok ? 'success' : 'failure', detail: { checked: r.checked, firstBrokenId: r.firstBrokenId, checkpoint: checkpoint ? checkpoint.lastId : null } });
        return r.ok;
      });
      if (!ok) process.exitCode = 1;
    });

  addCommonOptions(audit.command('checkpoint').description('write a signed checkpoint of the audit chain (head hash, row count, time) to FILE, to keep outside this machine'))
    .argument('<file>', 'where to write it (a new file)')
    .action(async (file: string, opts: CommonOptions) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const cp = ws.services.audit.checkpoint();
        try {
          fs.writeFileSync(file, JSON.stringify(cp, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
        } catch (err) {
          throw new WorkstationError('UNAVAILABLE', `The checkpoint could not be written to ${file} (${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'the file exists; give a new name' : ((err as NodeJS.ErrnoException).code ?? 'error')}).`, { cause: err });
        }
        ws.services.audit.append({ actorId: null, actor: cliActor().name, action: 'audit.checkpoint', outcome: 'success', detail: { lastId: cp.lastId, automatic: false } });
        process.stdout.write(`Checkpoint of ${cp.rows} rows (head row ${cp.lastId}) written to ${file}; signed with key ${cp.publicKey.slice(0, 16)}…\n`);
      });
    });

  addCommonOptions(audit.command('export').description('export audit rows as CSV'))
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--actor <name>')
    .option('--action <action>', 'an action or a prefix such as auth')
    .option('--object <id>')
    .option('--outcome <outcome>', 'success, failure or refused')
    .option('--from <iso>')
    .option('--to <iso>')
    .action(async (opts: CommonOptions & { out?: string; actor?: string; action?: string; object?: string; outcome?: string; from?: string; to?: string }) => {
      const f = auditFilterSchema.safeParse({ actor: opts.actor, action: opts.action, objectId: opts.object, outcome: opts.outcome, from: opts.from, to: opts.to });
      if (!f.success) throw new WorkstationError('INVALID_INPUT', `The filters are not valid: ${f.error.issues.map((i) => i.path.join('.')).join(', ')}`);
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const r = ws.services.audit.exportCsv(f.data);
        if (opts.out) fs.writeFileSync(opts.out, r.csv, { mode: 0o600, flag: 'wx' });
        else process.stdout.write(r.csv);
        ws.services.audit.append({ actorId: null, actor: cliActor().name, action: 'audit.export', outcome: 'success', detail: { rows: r.rows } });
        if (opts.out) process.stderr.write(`${r.rows} rows written to ${opts.out}\n`);
      });
    });
}
