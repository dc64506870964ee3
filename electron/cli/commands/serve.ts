// `tumorpredict serve`: the headless host for machines without a display or without the
// Electron binary, and for the browser tests. Prints one line: the URL to open; each address
// admits one browser once, and Enter (or SIGUSR1) prints a new one.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkstationError } from '../../contract';
import { appRoot } from '../../services/config';
import { createWorkstation } from '../../ipc/compose';
import { printAddressesOnDemand, rendererDistFolder, startHost } from '../../host';
import { addCommonOptions, configFrom, type CommonOptions } from '../shared';

export function registerServe(program: Command): void {
  addCommonOptions(
    program
      .command('serve')
      .description('start the headless host on 127.0.0.1 and print the URL (with its access token) to open')
      .option('--port <n>', 'port to listen on (default: a free one)', (v) => Number.parseInt(v, 10), 0),
  ).action(async (opts: CommonOptions & { port: number }) => {
    const rendererDir = rendererDistFolder(appRoot());
    if (!fs.existsSync(path.join(rendererDir, 'index.html'))) {
      throw new WorkstationError('UNAVAILABLE', `The renderer is not built (${rendererDir} has no index.html). Run \`npm run build:renderer\` first.`);
    }
    const workstation = await createWorkstation(configFrom(opts, 'host'));
    const host = await startHost({ workstation, rendererDir, port: opts.port });
    process.stdout.write(host.url + '\n');
    process.stderr.write(`Each address admits one browser once. For another: press Enter here${process.platform === 'win32' ? '' : `, or kill -USR1 ${process.pid}`}.\n`);
    const stopAddresses = printAddressesOnDemand(host, { out: process.stdout, input: process.stdin.isTTY ? process.stdin : null, signals: true });
    const stop = async (): Promise<void> => {
      stopAddresses();
      await host.close();
      await workstation.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  });
}
