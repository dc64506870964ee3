import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createWorkstation, type Workstation } from '../ipc/compose';
import { resolveConfig } from '../services/config';
import { startHost, type RunningHost } from './host-server';

// The real host over the real composition root, on a free port; a tiny renderer folder stands
// in for the Vite build so this test does not depend on it.
let ws: Workstation;
let host: RunningHost;
let dir: string;
let clock = Date.now();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-host-'));
  const rendererDir = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'outside.txt'), 'must not be served');
  ws = await createWorkstation(resolveConfig({ transport: 'host', dataFolder: path.join(dir, 'data'), keySource: 'passphrase' }));
  host = await startHost({ workstation: ws, rendererDir, now: () => clock });
});

afterAll(async () => {
  await host.close();
  await ws.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: p, headers, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Each admission spends one single-use address. */
async function admittedCookie(): Promise<string> {
  const address = new URL(host.newAddress());
  const res = await get(address.pathname + address.search);
  expect(res.status).toBe(303);
  const cookie = String(res.headers['set-cookie']?.[0] ?? '');
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  return cookie.split(';')[0]!;
}

function openSocket(headers: Record<string, string>, query = ''): Promise<{ socket?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${host.port}/api${query}`, { headers });
    socket.on('open', () => resolve({ socket }));
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    socket.on('error', () => resolve({ status: -1 }));
  });
}

function rpc(socket: WebSocket, msg: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    socket.once('message', (data) => resolve(JSON.parse(String(data))));
    socket.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  });
}

describe('headless host', () => {
  it('listens on 127.0.0.1 only and prints a token URL', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
  });

  it('answers 401 without the token and 403 with a wrong one', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    expect((await get('/?token=wrong')).status).toBe(403);
  });

  it('admits the token once, then serves with the cookie and a strict CSP', async () => {
    const cookie = await admittedCookie();
    const res = await get('/', { Cookie: cookie });
    expect(res.status).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain("'unsafe-eval'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect((await get('/assets/app.js', { Cookie: cookie })).status).toBe(200);
  });

  it('refuses a forged cookie, a foreign Host header (DNS rebinding) and path traversal', async () => {
    const cookie = await admittedCookie();
    expect((await get('/', { Cookie: cookie.replace(/=.*/, '=forged') })).status).toBe(401);
    expect((await get('/', { Cookie: cookie, Host: `evil.example:${host.port}` })).status).toBe(403);
    const traversal = await get('/..%2foutside.txt', { Cookie: cookie });
    expect(traversal.body).not.toContain('must not be served');
  });

  it('refuses WebSockets without the cookie (401) or from another Origin (403)', async () => {
    const cookie = await admittedCookie();
    expect((await openSocket({ Origin: host.origin })).status).toBe(401);
    expect((await openSocket({ Cookie: cookie, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await openSocket({ Cookie: cookie })).status).toBe(403); // no Origin at all
    // The socket is admitted by the cookie only: a token in its URL admits nothing.
    expect((await openSocket({ Origin: host.origin }, `?token=${new URL(host.newAddress()).searchParams.get('token')}`)).status).toBe(401);
  });

  it('carries API calls over the WebSocket through the handler table', async () => {
    const cookie = await admittedCookie();
    const { socket } = await openSocket({ Cookie: cookie, Origin: host.origin });
    expect(socket).toBeDefined();
    const health = await rpc(socket!, { id: 1, channel: 'system.health', payload: {} });
    expect(health).toMatchObject({ id: 1, ok: true });
    const info = await rpc(socket!, { id: 2, channel: 'system.info', payload: {} });
    expect(info).toMatchObject({ id: 2, ok: false, error: { code: 'UNAUTHENTICATED' } });
    const junk = await rpc(socket!, '{not json');
    expect(junk).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    socket!.close();
  });

  it('an admitted cookie ends after its lifetime (12 hours)', async () => {
    const cookie = await admittedCookie();
    clock += 11 * 3_600_000;
    expect((await get('/', { Cookie: cookie })).status).toBe(200);
    clock += 2 * 3_600_000;
    expect((await get('/', { Cookie: cookie })).status).toBe(401);
    expect((await openSocket({ Cookie: cookie, Origin: host.origin })).status).toBe(401);
  });

  it('drops an oversized message without crashing and keeps serving others', async () => {
    const cookie = await admittedCookie();
    const { socket } = await openSocket({ Cookie: cookie, Origin: host.origin });
    const closed = new Promise<number>((resolve) => socket!.on('close', (code) => resolve(code)));
    socket!.send('x'.repeat(2_000_000));
    expect(await closed).toBe(1009); // message too big
    const { socket: again } = await openSocket({ Cookie: cookie, Origin: host.origin });
    expect(await rpc(again!, { id: 9, channel: 'system.health', payload: {} })).toMatchObject({ id: 9, ok: true });
    again!.close();
  });
});
