// `tumorpredict sync now|status|test|configure`: the hospital-server sync from the command line
// for IT admins (cron, first setup); the secret is read from stdin, never from argv.
import type { Command } from 'commander';
import { WorkstationError, syncAuthTypeSchema, type SyncSettings, type SyncStatus } from '../../contract';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen, readStdin } from './cli-admin';

function printStatus(s: SyncStatus): void {
  const lines = [
    `Hospital server: ${s.configured ? (s.enabled ? 'configured, polling on' : 'configured, polling off') : 'not configured'}`,
    `Last successful sync: ${s.lastSuccessAt ?? 'never'}`,
    `Last attempt: ${s.lastAttemptAt ?? 'never'}`,
    `Outbox: ${s.outbox.waiting} waiting, ${s.outbox.failed} failed, ${s.outbox.sent} sent`,
  ];
  if (s.lastError) lines.push(`Last error: ${s.lastError}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerSync(program: Command): void {
  const sync = program.command('sync').description('sync with the hospital server over DICOMweb');

  addCommonOptions(sync.command('now').description('pull new studies and send waiting results now; exit 1 if anything failed'))
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      const ok = await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const r = await ws.services.sync.syncNow(cliActor());
        if (opts.json) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          process.stdout.write(`Studies pulled: ${r.studiesPulled} (${r.instancesImported} instances imported, ${r.instancesRefused} refused); results sent: ${r.pushed}${r.pushFailed ? `, ${r.pushFailed} not sent yet` : ''}.\n`);
          if (r.error) process.stderr.write(`tumorpredict: ${r.error}\n`);
        }
        return r.ok;
      });
      if (!ok) process.exitCode = 1;
    });

  addCommonOptions(sync.command('status').description('last sync, items waiting, errors'))
    .option('--json', 'print JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const s = ws.services.sync.status();
        if (opts.json) process.stdout.write(JSON.stringify(s) + '\n');
        else printStatus(s);
      });
    });

  addCommonOptions(sync.command('test').description('test the connection; exit 1 naming the step that failed'))
    .action(async (opts: CommonOptions) => {
      const ok = await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const t = await ws.services.sync.testConnection();
        process.stdout.write(`${t.ok ? 'OK' : `FAILED at ${t.step}`}: ${t.message}\n`);
        return t.ok;
      });
      if (!ok) process.exitCode = 1;
    });

  addCommonOptions(sync.command('configure').description('change the server settings (secret from stdin with --secret-stdin)'))
    .option('--url <url>', 'DICOMweb root, e.g. https://pacs.example.org/dicom-web')
    .option('--auth <type>', 'none, basic or bearer')
    .option('--user <name>', 'user name for basic auth')
    .option('--secret-stdin', 'read the password or token from standard input')
    .option('--interval <seconds>', 'polling interval in seconds')
    .option('--enable', 'turn polling and sending on')
    .option('--disable', 'turn polling and sending off')
    .option('--no-tls-verify', 'do not verify the server certificate (not recommended)')
    .option('--ca <file>', 'PEM file of the hospital CA to trust')
    .option('--allow-insecure-http', 'send the password or token over plain http (insecure; audited)')
    .option('--no-allow-insecure-http', 'refuse credentials over plain http again (the default)')
    .action(async (opts: CommonOptions & { url?: string; auth?: string; user?: string; secretStdin?: boolean; interval?: string; enable?: boolean; disable?: boolean; tlsVerify?: boolean; ca?: string; allowInsecureHttp?: boolean }) => {
      const patch: Partial<SyncSettings> & { secret?: string } = {};
      if (opts.url !== undefined) patch.baseUrl = opts.url;
      if (opts.auth !== undefined) {
        const a = syncAuthTypeSchema.safeParse(opts.auth);
        if (!a.success) throw new WorkstationError('INVALID_INPUT', '--auth must be none, basic or bearer.');
        patch.authType = a.data;
      }
      if (opts.user !== undefined) patch.username = opts.user;
      if (opts.interval !== undefined) patch.pollIntervalSeconds = Number(opts.interval);
      if (opts.enable) patch.enabled = true;
      if (opts.disable) patch.enabled = false;
      if (opts.tlsVerify === false) patch.tlsVerify = false;
      if (opts.ca) patch.caCertificatePem = (await import('node:fs')).readFileSync(opts.ca, 'utf8');
      if (opts.secretStdin) patch.secret = await readStdin();
      if (opts.allowInsecureHttp !== undefined) patch.allowInsecureHttp = opts.allowInsecureHttp;
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const v = await ws.services.sync.setSettings(patch, cliActor());
        const where = v.secretStore === 'database' ? 'encrypted in the database' : 'in the OS keychain';
        process.stdout.write(`Hospital server: ${v.baseUrl || '(none)'}, auth ${v.authType}${v.authType !== 'none' ? (v.hasSecret ? ` (secret stored ${where})` : ' (no secret stored for this server)') : ''}, polling ${v.enabled ? `every ${v.pollIntervalSeconds} s` : 'off'}${v.allowInsecureHttp ? ', credentials allowed over plain http (insecure)' : ''}.\n`);
      });
    });
}
