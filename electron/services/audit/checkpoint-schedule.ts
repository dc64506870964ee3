// The daily automatic checkpoint: once a day (UTC date), a signed checkpoint of the audit chain
// is written to the folder an admin chose (a network share, a removable disk), as
// audit-checkpoint-YYYY-MM-DD.json; each write is itself an audit row.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';
import type { AuditLog } from './audit-log';

export interface CheckpointSchedule {
  /** Writes today's checkpoint if it is due and a folder is set; returns the file written, if any. */
  runDue(): string | null;
  start(): void;
  stop(): void;
}

export function checkpointFileName(ms: number): string {
  return `audit-checkpoint-${new Date(ms).toISOString().slice(0, 10)}.json`;
}

export function createCheckpointSchedule(o: { audit: AuditLog; folder: () => string | null; ready: () => boolean; now?: () => number; logger?: Logger; intervalMs?: number }): CheckpointSchedule {
  const now = o.now ?? (() => Date.now());
  let timer: NodeJS.Timeout | null = null;
  const schedule: CheckpointSchedule = {
    runDue() {
      if (!o.ready()) return null;
      const folder = o.folder();
      if (!folder) return null;
      const file = path.join(folder, checkpointFileName(now()));
      if (fs.existsSync(file)) return null;
      try {
        fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
        const cp = o.audit.checkpoint();
        fs.writeFileSync(file, JSON.stringify(cp, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
        o.audit.append({ actorId: null, actor: 'system', action: 'audit.checkpoint', outcome: 'success', detail: { lastId: cp.lastId, automatic: true } });
        o.logger?.info('audit.checkpoint.written', { lastId: cp.lastId });
        return file;
      } catch (err) {
        o.logger?.warn('audit.checkpoint.failed', { code: (err as NodeJS.ErrnoException).code ?? null });
        try {
          o.audit.append({ actorId: null, actor: 'system', action: 'audit.checkpoint', outcome: 'failure', detail: { automatic: true, code: (err as NodeJS.ErrnoException).code ?? 'error' } });
        } catch {
          /* the database closed meanwhile */
        }
        return null;
      }
    },
    start() {
      if (timer) return;
      schedule.runDue();
      timer = setInterval(() => schedule.runDue(), o.intervalMs ?? 3_600_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
  return schedule;
}
