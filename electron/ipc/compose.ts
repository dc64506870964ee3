// The one composition root: builds every service from a config and wires them into the handler
// table. The Electron main process, the headless host, the CLI and the integration tests all
// call createWorkstation(); no service reaches for a global.
import path from 'node:path';
import fs from 'node:fs';
import { createLogger, type Logger } from '../services/log';
import type { WorkstationConfig } from '../services/config';
import { createSystemService, type SystemService } from '../services/system';
import { detectGpu, detectRuntimes, pickRuntime } from '../services/inference';
import { createHandlerTable, type HandlerTable, type Handlers, type SessionResolver } from './handler-table';
import { systemHandlers } from './handlers/system';

export interface Services {
  config: WorkstationConfig;
  logger: Logger;
  system: SystemService;
}

export interface Workstation {
  readonly config: WorkstationConfig;
  readonly logger: Logger;
  readonly services: Services;
  readonly table: HandlerTable;
  close(): Promise<void>;
}

export async function createWorkstation(config: WorkstationConfig): Promise<Workstation> {
  fs.mkdirSync(config.dataFolder, { recursive: true, mode: 0o700 });
  const logger = createLogger({
    level: config.logLevel,
    file: path.join(config.dataFolder, 'logs', 'workstation.log'),
    stderr: config.logToStderr,
    bindings: { transport: config.transport },
  });

  const runtimes = detectRuntimes();
  const activeRuntime = pickRuntime(runtimes, config.runtime);
  const gpu = detectGpu();

  // Accounts and the encrypted store arrive with the store issue; until then nobody has a session.
  const sessions: SessionResolver = { resolve: () => null };

  const system = createSystemService({
    config,
    runtimes: () => runtimes,
    activeRuntime: () => activeRuntime,
    gpu: () => gpu,
    keychain: () => ({ available: false, detail: 'not checked yet' }),
    database: () => ({ encrypted: false, unlocked: false, keySource: null, schemaVersion: null, problem: 'The encrypted store is not built yet.' }),
    adminExists: () => false,
  });

  const services: Services = { config, logger, system };
  const handlers: Handlers = {
    ...systemHandlers(services),
  };
  const table = createHandlerTable({ handlers, sessions, logger });
  logger.info('workstation.started', { runtime: activeRuntime, gpu: gpu.found });

  return {
    config,
    logger,
    services,
    table,
    async close() {
      logger.info('workstation.closed');
    },
  };
}
