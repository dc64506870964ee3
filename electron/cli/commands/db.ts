// `tumorpredict db backup FILE` / `db restore FILE`: encrypted, verified copies of the database.
// Backup works while the app runs; restore refuses until the app is closed.
import type { Command } from 'commander';
import { createStore, restoreDatabase } from '../../services/store';
import { createAuditLog } from '../../services/audit';
import { addCommonOptions, configFrom, withWorkstation, type CommonOptions } from '../shared';
import { cliActor, ensureOpen, promptHidden } from './cli-admin';

export function registerDb(program: Command): void {
  const db = program.command('db').description('back up and restore the encrypted database');

  addCommonOptions(db.command('backup <file>').description('write an encrypted, verified copy of the database (safe while the app runs)'))
    .action(async (file: string, opts: CommonOptions) => {
      await withWorkstation(opts, async (ws) => {
        await ensureOpen(ws);
        const r = await ws.services.store.backup(file);
        ws.services.audit.append({ ...actorFields(), action: 'db.backup', objectType: 'backup', objectId: r.sha256.slice(0, 16), outcome: 'success', detail: { bytes: r.bytes, schema: r.schemaVersion } });
        process.stdout.write(`Backup written and verified: ${r.file} (${r.bytes} bytes, schema ${r.schemaVersion}, sha256 ${r.sha256})\n`);
      });
    });

  addCommonOptions(db.command('restore <file>').description('replace the database with a backup (close the app first; the current database is kept as an encrypted copy)'))
    .action(async (file: string, opts: CommonOptions) => {
      const config = configFrom(opts);
      const open = async () => {
        const store = await createStore({ dataFolder: config.dataFolder, keySource: config.keySource, passphrase: config.passphrase });
        if (!store.isOpen() && store.status().needsPassphrase === 'unlock' && process.stdin.isTTY) await store.usePassphrase(await promptHidden('Database passphrase: '));
        return store;
      };
      const store = await open();
      const key = Buffer.from(store.key());
      const dbPath = store.dbPath;
      const known = store.knownSchemaVersion;
      store.close();
      const r = restoreDatabase(dbPath, key, file, known);
      // Reopen through the store so migrations bring an older backup up to date, then audit it.
      const after = await createStore({ dataFolder: config.dataFolder, keySource: config.keySource, passphrase: config.passphrase });
      try {
        if (!after.isOpen() && after.status().needsPassphrase === 'unlock') {
          // Passphrase mode without the env var: the key is known, but the store wants the passphrase; skip the audit row.
          process.stdout.write(`Restored ${file} (schema ${r.restoredSchemaVersion}).${r.previous ? ` The previous database is kept at ${r.previous}.` : ''}\n`);
          return;
        }
        createAuditLog(() => after.db(), () => after.auditKey()).append({ ...actorFields(), action: 'db.restore', objectType: 'backup', outcome: 'success', detail: { schema: r.restoredSchemaVersion } });
      } finally {
        after.close();
      }
      process.stdout.write(`Restored ${file} (schema ${r.restoredSchemaVersion}).${r.previous ? ` The previous database is kept, encrypted, at ${r.previous}.` : ''}\n`);
    });
}

function actorFields(): { actorId: null; actor: string } {
  return { actorId: null, actor: cliActor().name };
}
