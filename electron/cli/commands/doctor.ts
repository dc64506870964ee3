// `tumorpredict doctor`: an honest inventory of this machine (what system.info knows), each
// missing part with a hint to fix it.
import type { Command } from 'commander';
import type { SystemInfo } from '../../contract';
import { addCommonOptions, withWorkstation, type CommonOptions } from '../shared';

const yes = (b: boolean): string => (b ? 'yes' : 'no ');

/** What picks the runtime: the flag or env var wins over the admin's setting, which wins over auto. */
function runtimeChoiceLine(c: SystemInfo['runtimeChoice']): string {
  const setting = c.setting === 'auto' ? 'automatic' : c.setting;
  switch (c.source) {
    case 'flag':
      return `${c.wanted}, forced by the --runtime flag (wins over the stored setting: ${setting})`;
    case 'env':
      return `${c.wanted}, forced by TUMORPREDICT_RUNTIME (wins over the stored setting: ${setting})`;
    case 'setting':
      return `${c.wanted}, chosen in the settings (inferenceRuntime)`;
    default:
      return 'automatic (the fastest available; set inferenceRuntime in the settings or --runtime to force one)';
  }
}

export function formatDoctor(info: SystemInfo): string {
  const lines: string[] = [];
  lines.push(`TumorPredict Workstation ${info.appVersion} (not a medical device)`);
  lines.push(`  Node.js      ${info.nodeVersion}`);
  lines.push(`  Electron     ${info.electronVersion ?? 'not running under Electron (CLI / headless host)'}`);
  lines.push(`  Platform     ${info.platform}`);
  lines.push(`  Data folder  ${info.dataFolder}`);
  lines.push(`  GPU          ${info.gpu.found ? 'yes  ' + info.gpu.detail : 'no   ' + info.gpu.detail}`);
  lines.push(`  Keychain     ${yes(info.keychain.available)}  ${info.keychain.detail}`);
  const db = info.database;
  lines.push(`  Database     ${db.unlocked ? 'unlocked' : 'locked'}, ${db.encrypted ? 'encrypted' : 'NOT encrypted'}${db.keySource ? `, key from ${db.keySource}` : ''}${db.schemaVersion !== null ? `, schema ${db.schemaVersion}` : ''}`);
  lines.push('  Inference runtimes (in order of preference):');
  for (const r of info.runtimes) {
    const mark = r.name === info.activeRuntime ? ' <- in use' : '';
    lines.push(`    ${r.name.padEnd(17)} ${yes(r.available)} ${r.device}${mark}${r.reason ? `\n      ${r.reason}` : ''}`);
  }
  lines.push(`  Runtime      ${runtimeChoiceLine(info.runtimeChoice)}`);
  if (info.runtimeChoice.problem) lines.push(`      ${info.runtimeChoice.problem}`);
  if (!info.activeRuntime) lines.push('  No runtime loads: run `npm install` in the checkout (tfjs-wasm is the floor that always works).');
  return lines.join('\n');
}

export function registerDoctor(program: Command): void {
  addCommonOptions(program.command('doctor').description('print what this machine has: versions, runtimes, GPU, keychain, data folder'))
    .option('--json', 'print system.info as JSON')
    .action(async (opts: CommonOptions & { json?: boolean }) => {
      await withWorkstation(opts, async (ws) => {
        const info = ws.services.system.info();
        process.stdout.write((opts.json ? JSON.stringify(info, null, 2) : formatDoctor(info)) + '\n');
      });
    });
}
