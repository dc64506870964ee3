// The stored hospital-server secret goes only to the server it was entered for (issue 12,
// finding 4): it is bound to the server's origin and auth type, required again when either
// changes, and never sent over plain http unless an admin turns on the audited insecure switch.
// Two capture servers stand in for the right server and an attacker's address.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog } from '../audit';
import { createLogger } from '../log';
import { createStore, createStoreSecretVault, type Store } from '../store';
import { makeSelfSignedCert } from '../../testing/sync/fault-proxy';
import { createSecretStore } from './secrets';
import { createSyncService, type SyncService } from './sync-service';

const ADMIN = { id: 'u-admin', name: 'admin1' };
const SECRET = 'the-right-servers-password';

interface Capture {
  url: string;
  origin: string;
  auth: (string | null)[];
  close(): Promise<void>;
}

/** A DICOMweb stand-in that answers every QIDO with no matches and records the Authorization headers. */
async function capture(tls: { key: string; cert: string } | null): Promise<Capture> {
  const auth: (string | null)[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    auth.push(req.headers.authorization ?? null);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/dicom+json' }).end('[]');
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return { url: `${origin}/dicom-web`, origin, auth, close: () => new Promise((r) => server.close(() => r())) };
}

let dir: string;
let store: Store;
let audit: AuditLog;
let sync: SyncService;
let cert: { key: string; cert: string };
let right: Capture;
let other: Capture;
let plain: Capture;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-secret-binding-'));
  store = await createStore({ dataFolder: dir, keySource: 'passphrase', passphrase: 'secret binding passphrase' });
  audit = createAuditLog(() => store.db());
  cert = makeSelfSignedCert(dir);
  right = await capture(cert);
  other = await capture(cert);
  plain = await capture(null);
  sync = createSyncService({ db: () => store.db(), ready: () => store.isOpen(), audit, logger: createLogger({ level: 'warn', file: path.join(dir, 'sync.log'), stderr: false }), dataFolder: dir, importer: null, secrets: createSecretStore(createStoreSecretVault(store)), requestTimeoutMs: 5000 });
  await sync.setSettings({ baseUrl: right.url, authType: 'basic', username: 'ws', secret: SECRET, caCertificatePem: cert.cert }, ADMIN);
}, 60_000);

afterAll(async () => {
  await sync?.stop();
  await sync?.setSettings({ secret: null }, ADMIN).catch(() => undefined);
  store?.close();
  await Promise.all([right, other, plain].map((c) => c?.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const basic = 'Basic ' + Buffer.from(`ws:${SECRET}`).toString('base64');
const sentTheSecret = (c: Capture): boolean => c.auth.some((a) => a !== null && a.includes(Buffer.from(`ws:${SECRET}`).toString('base64').slice(0, 12)) || a === `Bearer ${SECRET}`);

describe('the stored secret is bound to its server', () => {
  it('goes to the server it was entered for', async () => {
    expect(await sync.testConnection()).toMatchObject({ ok: true });
    expect(right.auth.at(-1)).toBe(basic);
  });

  it('is not sent to another address by a connection test with a new base URL and no secret', async () => {
    const r = await sync.testConnection({ baseUrl: other.url });
    expect(sentTheSecret(other)).toBe(false);
    expect(r).toMatchObject({ ok: false, step: 'auth' });
    expect(r.message).toMatch(/enter the password/i);
    // With the secret typed in for the new address, the test goes ahead.
    expect(await sync.testConnection({ baseUrl: other.url }, 'typed-for-the-new-server')).toMatchObject({ ok: true });
    expect(other.auth.at(-1)).toBe('Basic ' + Buffer.from('ws:typed-for-the-new-server').toString('base64'));
  });

  it('is not sent as a bearer token when only the auth type changes', async () => {
    const before = right.auth.length;
    const r = await sync.testConnection({ authType: 'bearer' });
    expect(right.auth.slice(before)).not.toContain(`Bearer ${SECRET}`);
    expect(r).toMatchObject({ ok: false, step: 'auth' });
  });

  it('is required again after the base URL moves to another origin: the next poll sends nothing old', async () => {
    await sync.setSettings({ baseUrl: other.url }, ADMIN);
    expect((await sync.getSettings()).hasSecret).toBe(false);
    other.auth.length = 0;
    const run = await sync.syncNow(ADMIN);
    expect(sentTheSecret(other)).toBe(false);
    expect(run.ok).toBe(false);
    expect(run.error).toMatch(/password/i);
    // Moving back does not bring the old secret back either: it is entered again.
    await sync.setSettings({ baseUrl: right.url }, ADMIN);
    expect((await sync.getSettings()).hasSecret).toBe(false);
    await sync.setSettings({ secret: SECRET }, ADMIN);
    expect((await sync.getSettings()).hasSecret).toBe(true);
    // The same origin under another path keeps it (the server did not change).
    await sync.setSettings({ baseUrl: `${right.origin}/other-root` }, ADMIN);
    expect((await sync.getSettings()).hasSecret).toBe(true);
    await sync.setSettings({ baseUrl: right.url }, ADMIN);
  });
});

describe('credentials over plain http', () => {
  it('are refused unless an admin turns on the audited insecure switch', async () => {
    const r = await sync.testConnection({ baseUrl: plain.url }, SECRET);
    expect(plain.auth.filter((a) => a !== null)).toEqual([]);
    expect(r).toMatchObject({ ok: false, step: 'auth' });
    expect(r.message).toMatch(/plain http/i);
    await expect(sync.setSettings({ baseUrl: plain.url, secret: SECRET }, ADMIN)).rejects.toThrow(/plain http/i);
    expect((await sync.getSettings()).baseUrl).toBe(right.url);

    await sync.setSettings({ allowInsecureHttp: true }, ADMIN);
    const row = store.db().prepare(`SELECT outcome, detail FROM audit_log WHERE action = 'sync.allowInsecureHttp' ORDER BY id DESC LIMIT 1`).get() as { outcome: string; detail: string };
    expect(row.outcome).toBe('success');
    expect(JSON.parse(row.detail)).toMatchObject({ allowInsecureHttp: true });
    expect(await sync.testConnection({ baseUrl: plain.url }, SECRET)).toMatchObject({ ok: true });
    expect(plain.auth.at(-1)).toBe(basic);
    await sync.setSettings({ allowInsecureHttp: false }, ADMIN);
  });
});
