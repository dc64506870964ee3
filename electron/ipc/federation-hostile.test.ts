// The coordinator's HTTPS service attacked over raw TLS sockets (issue 12, finding 3: the same
// request-target guard as the host, one function in services/http): a target that is not
// origin-form ("GET http://[", absolute-form, "*") gets a 400 before any token is looked at or
// the request queue is entered, and the coordinator goes on serving its sites.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../services/config';
import { newSiteKey, type CoordinatorServer } from '../services/federated';
import { makeFeatureModel } from '../testing/federated-model';
import { freePort, mriSplit, takePerClass, writeClassFolder } from '../testing/federation';
import { createWorkstation, type Workstation } from './compose';
import { createConnection } from './handler-table';
import { channelCaller, TEST_ADMIN } from './test-calls';

const RESEARCHER = { username: 'scientist1', displayName: 'Scientist', role: 'researcher', password: 'research-password-0042' } as const;

let tmp: string;
let ws: Workstation;
let server: CoordinatorServer;
let token: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-federation-hostile-'));
  const models = path.join(tmp, 'models');
  makeFeatureModel(models);
  ws = await createWorkstation(resolveConfig({ transport: 'cli', dataFolder: path.join(tmp, 'data'), modelsFolder: models, keySource: 'passphrase', passphrase: 'federation hostile test passphrase' }));
  const { ok, signIn } = channelCaller(() => ws);
  const admin = createConnection('host');
  await ok(admin, 'auth.createFirstAdmin', TEST_ADMIN);
  await ok(admin, 'users.create', RESEARCHER);
  const researcher = await signIn(RESEARCHER.username, RESEARCHER.password);
  const folder = writeClassFolder(path.join(tmp, 'reference'), takePerClass(mriSplit('val'), { glioma: 2, meningioma: 2, notumor: 2, pituitary: 2 }));
  const ds = await ok<{ id: string }>(researcher, 'datasets.register', { path: folder, name: 'reference' });
  const port = await freePort();
  await ok(admin, 'federation.setup', { referenceDatasetId: ds.id, publicUrl: `https://127.0.0.1:${port}` });
  const reg = await ok<{ enrolment: string }>(admin, 'federation.registerSite', { siteId: 'north', name: 'north', publicKey: newSiteKey().publicKey });
  token = (JSON.parse(reg.enrolment) as { token: string }).token;
  server = await ws.services.federation.serve({ host: '127.0.0.1', port, tickMs: 60_000 });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await ws?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Sends a request head as written over TLS; the status code of the reply, or 0 when none came. */
function raw(head: string): Promise<number> {
  return new Promise((resolve) => {
    let got = '';
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => socket.write(head));
    const done = (): void => {
      socket.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0));
    };
    socket.on('data', (d) => {
      got += String(d);
      if (got.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

const bearer = (): string => `Authorization: Bearer ${token}\r\n`;
const hostLine = (): string => `Host: 127.0.0.1:${server.port}\r\n`;

describe('hostile request targets at the coordinator', () => {
  it('a site with its token is served (the baseline the others are measured against)', async () => {
    expect(await raw(`GET /v1/status HTTP/1.1\r\n${hostLine()}${bearer()}Connection: close\r\n\r\n`)).toBe(200);
  });

  it('GET http://[ without any token gets 400 (it was a 500: the coordinator failed on it)', async () => {
    expect(await raw(`GET http://[ HTTP/1.1\r\n${hostLine()}Connection: close\r\n\r\n`)).toBe(400);
  });

  it('only origin-form targets are parsed: absolute-form (even with a valid token) and "*" get 400', async () => {
    expect(await raw(`GET https://127.0.0.1:${server.port}/v1/status HTTP/1.1\r\n${hostLine()}${bearer()}Connection: close\r\n\r\n`)).toBe(400);
    expect(await raw(`GET https://elsewhere.example/v1/status HTTP/1.1\r\n${hostLine()}${bearer()}Connection: close\r\n\r\n`)).toBe(400);
    expect(await raw(`OPTIONS * HTTP/1.1\r\n${hostLine()}${bearer()}Connection: close\r\n\r\n`)).toBe(400);
  });

  it('keeps serving its sites afterwards', async () => {
    expect(await raw(`GET /v1/status HTTP/1.1\r\n${hostLine()}${bearer()}Connection: close\r\n\r\n`)).toBe(200);
  });
});
