// The blob store's key-encryption key, kept in the encrypted database (table blob_keyring) and
// made on first use. Nothing about it is ever written outside the database.
import crypto from 'node:crypto';
import type { Db } from '../store';

export function loadOrCreateKek(db: Db): Buffer {
  const row = db.prepare('SELECT kek FROM blob_keyring WHERE id = 1').get() as { kek: Buffer } | undefined;
  if (row) return Buffer.from(row.kek);
  const kek = crypto.randomBytes(32);
  // OR IGNORE + re-read: two processes starting at once agree on the first key written.
  db.prepare('INSERT OR IGNORE INTO blob_keyring (id, kek, created_at) VALUES (1, ?, ?)').run(kek, new Date().toISOString());
  const again = db.prepare('SELECT kek FROM blob_keyring WHERE id = 1').get() as { kek: Buffer };
  return Buffer.from(again.kek);
}
