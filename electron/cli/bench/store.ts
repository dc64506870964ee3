// Bench suite "store": inserts/s and indexed reads/s on the encrypted database next to the same
// schema unencrypted, in one run, so the price of encryption is a measured ratio. The plain
// database holds only synthetic rows in the bench's scratch folder.
import crypto from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { defaultMigrationsDir, loadMigrations, migrate, openEncrypted, type Db } from '../../services/store';
import type { BenchSuite } from './types';

function openPlain(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}

interface Figures {
  batchedInsertsPerSec: number;
  singleCommitInsertsPerSec: number;
  pkReadsPerSec: number;
  indexReadsPerSec: number;
  rows: number;
}

function measure(db: Db, n: number, singles: number, reads: number): Figures {
  migrate(db, loadMigrations(defaultMigrationsDir()));
  const ins = db.prepare(`INSERT INTO users (id, username, display_name, role, created_at, updated_at) VALUES (?, ?, ?, 'researcher', ?, ?)`);
  const now = new Date().toISOString();
  // Batched: 1000 rows per transaction, as an import writes.
  let t = process.hrtime.bigint();
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) ins.run(`id-${i}`, `user${i}`, `Synthetic user ${i}`, now, now);
  });
  for (let i = 0; i < n; i += 1000) batch(i, Math.min(n, i + 1000));
  const batched = n / (Number(process.hrtime.bigint() - t) / 1e9);
  // One commit per row, as interactive writes (a login, a report edit) commit.
  t = process.hrtime.bigint();
  for (let i = 0; i < singles; i++) ins.run(`single-${i}`, `single${i}`, 'x', now, now);
  const single = singles / (Number(process.hrtime.bigint() - t) / 1e9);
  // Reads: random rows by primary key, and by the unique username index.
  db.pragma('wal_checkpoint(TRUNCATE)');
  const byId = db.prepare('SELECT * FROM users WHERE id = ?');
  const byName = db.prepare('SELECT id FROM users WHERE username = ?');
  const pick = (): number => crypto.randomInt(n);
  t = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) if (!byId.get(`id-${pick()}`)) throw new Error('row missing');
  const pk = reads / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  for (let i = 0; i < reads; i++) if (!byName.get(`user${pick()}`)) throw new Error('row missing');
  const idx = reads / (Number(process.hrtime.bigint() - t) / 1e9);
  return { batchedInsertsPerSec: Math.round(batched), singleCommitInsertsPerSec: Math.round(single), pkReadsPerSec: Math.round(pk), indexReadsPerSec: Math.round(idx), rows: n + singles };
}

export const storeBench: BenchSuite = {
  name: 'store',
  description: 'SQLCipher-encrypted database vs the same schema unencrypted (inserts/s, indexed reads/s)',
  async run(ctx) {
    const n = ctx.quick ? 5_000 : 100_000;
    const singles = ctx.quick ? 50 : 500;
    const reads = ctx.quick ? 5_000 : 100_000;
    const results: Record<string, Figures> = {};
    // Alternate the order over two rounds so neither side always runs on a warmer machine.
    const rounds = ctx.quick ? 1 : 3;
    const sum = { encrypted: [] as Figures[], plain: [] as Figures[] };
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 === 0 ? (['encrypted', 'plain'] as const) : (['plain', 'encrypted'] as const)) {
        const file = path.join(ctx.workDir, `${kind}-${r}.db`);
        const db = kind === 'encrypted' ? openEncrypted(file, crypto.randomBytes(32), { create: true }) : openPlain(file);
        try {
          sum[kind].push(measure(db, n, singles, reads));
        } finally {
          db.close();
        }
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const kind of ['encrypted', 'plain'] as const) {
      const fs = sum[kind];
      results[kind] = {
        batchedInsertsPerSec: median(fs.map((f) => f.batchedInsertsPerSec)),
        singleCommitInsertsPerSec: median(fs.map((f) => f.singleCommitInsertsPerSec)),
        pkReadsPerSec: median(fs.map((f) => f.pkReadsPerSec)),
        indexReadsPerSec: median(fs.map((f) => f.indexReadsPerSec)),
        rows: fs[0]!.rows,
      };
    }
    const e = results.encrypted!;
    const p = results.plain!;
    const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
    const ratios = {
      batchedInserts: ratio(e.batchedInsertsPerSec, p.batchedInsertsPerSec),
      singleCommitInserts: ratio(e.singleCommitInsertsPerSec, p.singleCommitInsertsPerSec),
      pkReads: ratio(e.pkReadsPerSec, p.pkReadsPerSec),
      indexReads: ratio(e.indexReadsPerSec, p.indexReadsPerSec),
    };
    const row = (label: string, a: number, b: number, r: number): string => `${label.padEnd(34)} ${String(a).padStart(9)} ${String(b).padStart(9)}   ${r.toFixed(3)}`;
    ctx.log(`${''.padEnd(34)} ${'encrypted'.padStart(9)} ${'plain'.padStart(9)}   enc/plain`);
    ctx.log(row('inserts/s (1000 per transaction)', e.batchedInsertsPerSec, p.batchedInsertsPerSec, ratios.batchedInserts));
    ctx.log(row('inserts/s (one commit each, FULL)', e.singleCommitInsertsPerSec, p.singleCommitInsertsPerSec, ratios.singleCommitInserts));
    ctx.log(row('reads/s by primary key', e.pkReadsPerSec, p.pkReadsPerSec, ratios.pkReads));
    ctx.log(row('reads/s by unique index', e.indexReadsPerSec, p.indexReadsPerSec, ratios.indexReads));
    ctx.log(`${n + singles} rows per database, ${reads} random reads each, median of ${rounds} round(s); WAL, synchronous=FULL on both.`);
    return { encrypted: e, plain: p, ratios, settings: { cipher: 'sqlcipher v4 (raw 256-bit key)', journal: 'WAL', synchronous: 'FULL', rounds } };
  },
};
