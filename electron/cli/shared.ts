// What every CLI command shares: the --data option, opening the workstation through the
// composition root, printing a WorkstationError as a sentence, and exit codes.
import type { Command } from 'commander';
import { WorkstationError } from '../contract';
import { resolveConfig, type WorkstationConfig } from '../services/config';
import { createWorkstation, type Workstation } from '../ipc/compose';
import { createConnection, type Connection } from '../ipc/handler-table';

export interface CommonOptions {
  data?: string;
  runtime?: string;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data folder (default: the per-user app-data folder, or $TUMORPREDICT_DATA)')
    .option('--runtime <name>', 'inference runtime: auto, onnxruntime-node, tfjs-node-gpu, tfjs-node, tfjs-wasm');
}

export function configFrom(opts: CommonOptions, transport: WorkstationConfig['transport'] = 'cli'): WorkstationConfig {
  return resolveConfig({
    transport,
    ...(opts.data ? { dataFolder: opts.data } : {}),
    ...(opts.runtime ? { runtime: opts.runtime as WorkstationConfig['runtime'] } : {}),
  });
}

export async function withWorkstation<T>(opts: CommonOptions, fn: (ws: Workstation, conn: Connection) => Promise<T>): Promise<T> {
  const ws = await createWorkstation(configFrom(opts));
  try {
    return await fn(ws, createConnection('cli'));
  } finally {
    await ws.close();
  }
}

/** Exit codes: 0 ok, 1 a refused or failed request (message printed), 2 usage, 70 internal. */
export function reportError(err: unknown): number {
  if (err instanceof WorkstationError) {
    process.stderr.write(`tumorpredict: ${err.message}\n`);
    return err.code === 'INTERNAL' ? 70 : 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tumorpredict: internal error: ${msg.split('\n')[0]}\n`);
  return 70;
}
