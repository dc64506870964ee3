// The headless host as a separate process, attacked over raw sockets (issue 12, findings 3 and
// 9): malformed and non-origin-form request targets get a 400 and the process stays up; the
// printed token admits one browser once; a new address comes on demand (SIGUSR1 or a line on
// stdin, as `tumorpredict serve` does).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHILD = path.resolve(import.meta.dirname, '../testing/host-child.ts');
let dir: string;
let child: ChildProcessWithoutNullStreams;
let out = '';
let first: URL;

/** The addresses the child printed so far. */
const addresses = (): string[] => out.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/g) ?? [];
async function nextAddress(ask: () => void): Promise<URL> {
  const before = addresses().length;
  ask();
  while (addresses().length === before) {
    if (child.exitCode !== null) throw new Error(`host exited:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return new URL(addresses().at(-1)!);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tp-host-hostile-'));
  child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  first = await nextAddress(() => {});
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Sends bytes as they are and returns whatever comes back until the server closes or 2 s of quiet. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(first.port), '127.0.0.1');
    let got = '';
    let quiet: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(quiet);
      socket.destroy();
      resolve(got);
    };
    socket.on('data', (d) => {
      got += String(d);
      clearTimeout(quiet);
      quiet = setTimeout(done, 2_000);
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.write(bytes);
  });
}

function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(first.port), path: p, headers, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const host = (): string => `Host: 127.0.0.1:${first.port}\r\n`;

describe('hostile request targets', () => {
  it('GET http://[ without any token gets 400 and the host stays up', async () => {
    expect(await raw(`GET http://[ HTTP/1.1\r\n${host()}\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    expect(child.exitCode).toBeNull();
    expect((await get('/')).status).toBe(401);
  });

  it('only origin-form targets are parsed: absolute-form, "*" and broken ones get 400, on plain requests and upgrades', async () => {
    const targets = [`http://127.0.0.1:${first.port}/?token=${first.searchParams.get('token')}`, '*', 'http://[::1', '%', 'a/b'];
    for (const t of targets) expect(await raw(`GET ${t} HTTP/1.1\r\n${host()}\r\n`)).toMatch(/^HTTP\/1\.1 400 /);
    const upgrade = `GET http://[ HTTP/1.1\r\n${host()}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:${first.port}\r\n\r\n`;
    expect(await raw(upgrade)).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(child.exitCode).toBeNull();
  });
});

describe('access tokens', () => {
  it('the printed token admits one browser once; that browser keeps its cookie (with a lifetime)', async () => {
    const token = first.searchParams.get('token')!;
    const admitted = await get(`/?token=${token}`);
    expect(admitted.status).toBe(303);
    const setCookie = String(admitted.headers['set-cookie']?.[0]);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Max-Age=43200/);
    const cookie = setCookie.split(';')[0]!;
    // A second browser with the same address is refused; the admitted one goes on.
    expect((await get(`/?token=${token}`)).status).toBe(401);
    expect((await get('/', { Cookie: cookie })).status).toBe(200);
    expect((await get(`/?token=${token}`, { Cookie: cookie })).status).toBe(303);
  });

  it('a new address on demand: SIGUSR1 or a line on stdin, each admitting one more browser', async () => {
    const bySignal = await nextAddress(() => child.kill('SIGUSR1'));
    const byLine = await nextAddress(() => child.stdin.write('\n'));
    const tokens = [first, bySignal, byLine].map((u) => u.searchParams.get('token'));
    expect(new Set(tokens).size).toBe(3);
    for (const u of [bySignal, byLine]) {
      expect((await get(`/?token=${u.searchParams.get('token')}`)).status).toBe(303);
      expect((await get(`/?token=${u.searchParams.get('token')}`)).status).toBe(401);
    }
  });
});
