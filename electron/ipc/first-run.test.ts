// First-run setup raced with itself (issue 12, finding 6): two auth.createFirstAdmin calls in
// passphrase mode at once must leave one admin and a database that the next start opens.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorkstation } from './compose';
import { createConnection } from './handler-table';
import { resolveConfig } from '../services/config';
import { readKeyParams } from '../services/store/keys';

describe('first-run setup in passphrase mode, twice at once', () => {
  for (const same of [true, false]) {
    it(`two concurrent createFirstAdmin calls (${same ? 'same' : 'different'} passphrases): one admin, and a restart opens the database`, async () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-first-run-'));
      const config = resolveConfig({ transport: 'host', dataFolder: d, keySource: 'passphrase', passphrase: null });
      const passphrases = same ? ['one shared db passphrase', 'one shared db passphrase'] : ['first db passphrase!', 'second db passphrase'];
      try {
        let w = await createWorkstation(config);
        const replies = await Promise.all(
          passphrases.map((passphrase, i) => w.table.dispatch(createConnection('host'), { id: 1, channel: 'auth.createFirstAdmin', payload: { username: `admin${i}`, displayName: 'A', password: 'Admin-password-9', passphrase } })),
        );
        const won = replies.map((r) => r.ok);
        expect(won.filter(Boolean).length).toBe(1);
        const loser = replies.find((r) => !r.ok) as { error: { code: string } };
        expect(loser.error.code).toBe('CONFLICT');
        const winner = won.indexOf(true);
        const salt = readKeyParams(d)?.kdf?.salt;
        await w.close();

        w = await createWorkstation(config);
        const c = createConnection('host');
        expect(await w.table.dispatch(c, { id: 1, channel: 'auth.unlockDatabase', payload: { passphrase: passphrases[winner] } })).toMatchObject({ ok: true });
        expect(readKeyParams(d)?.kdf?.salt).toBe(salt);
        expect(w.services.auth.listUsers().map((u) => u.username)).toEqual([`admin${winner}`]);
        expect(await w.table.dispatch(c, { id: 2, channel: 'auth.login', payload: { username: `admin${winner}`, password: 'Admin-password-9' } })).toMatchObject({ ok: true });
        await w.close();
      } finally {
        fs.rmSync(d, { recursive: true, force: true });
      }
    });
  }
});
