// Child process for the hostile-request tests: the real host over the real composition root on
// a free port, with a stand-in renderer folder; prints its first address, then a new one per
// SIGUSR1 or stdin line, exactly as `tumorpredict serve` does.
import fs from 'node:fs';
import path from 'node:path';
import { createWorkstation } from '../ipc/compose';
import { resolveConfig } from '../services/config';
import { printAddressesOnDemand, startHost } from '../host';

const [dir] = process.argv.slice(2);
const rendererDir = path.join(dir!, 'renderer');
fs.mkdirSync(rendererDir, { recursive: true });
fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
const workstation = await createWorkstation(resolveConfig({ transport: 'host', dataFolder: path.join(dir!, 'data'), keySource: 'passphrase' }));
const host = await startHost({ workstation, rendererDir });
process.stdout.write(host.url + '\n');
printAddressesOnDemand(host, { out: process.stdout, input: process.stdin, signals: true });
