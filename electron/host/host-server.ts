// The headless host: the built renderer over HTTP and the API over a WebSocket, on 127.0.0.1
// only. A random token in the printed URL admits one browser, which then holds an HttpOnly
// cookie; every request without it is refused, and so is any foreign Origin or Host.
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_REQUEST_BYTES, type EventEnvelope } from '../contract';
import type { Workstation } from '../ipc/compose';
import { createConnection, type Connection } from '../ipc/handler-table';
import { contentSecurityPolicy, SECURITY_HEADERS } from './csp';
import { readStaticFile } from './static-files';

export interface HostOptions {
  workstation: Workstation;
  /** Folder with the built renderer (index.html). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); default is 32 random bytes. */
  token?: string;
}

export interface RunningHost {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly origin: string;
  close(): Promise<void>;
}

function timingSafeEqualText(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

export async function startHost(options: HostOptions): Promise<RunningHost> {
  const { workstation } = options;
  const logger = workstation.logger.child({ component: 'host' });
  const token = options.token ?? crypto.randomBytes(32).toString('base64url');
  // Browser sessions admitted by the token: cookie value -> true. The cookie, not the token,
  // travels with later requests, so the token can leave the address bar.
  const admitted = new Set<string>();
  let port = 0;
  let origin = '';
  let cookieName = '';

  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES + 4096 });

  type Verdict = { ok: true; setCookie?: string } | { ok: false; status: 401 | 403; why: string };

  function check(req: http.IncomingMessage, url: URL, requireOrigin: boolean): Verdict {
    // DNS rebinding: the Host header must name this exact address.
    if (req.headers.host !== `127.0.0.1:${port}`) return { ok: false, status: 403, why: 'host' };
    const reqOrigin = req.headers.origin;
    if (reqOrigin !== undefined && reqOrigin !== origin) return { ok: false, status: 403, why: 'origin' };
    if (requireOrigin && reqOrigin === undefined) return { ok: false, status: 403, why: 'origin-missing' };
    const cookie = parseCookies(req.headers.cookie).get(cookieName);
    if (cookie && admitted.has(cookie)) return { ok: true };
    const given = url.searchParams.get('token');
    if (given === null) return { ok: false, status: 401, why: 'no-token' };
    if (!timingSafeEqualText(given, token)) return { ok: false, status: 403, why: 'bad-token' };
    const session = crypto.randomBytes(24).toString('base64url');
    admitted.add(session);
    return { ok: true, setCookie: `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/` };
  }

  function refuse(res: http.ServerResponse, status: 401 | 403 | 404 | 405): void {
    const text = status === 401
      ? 'Open the address that `tumorpredict serve` printed (it carries the access token).\n'
      : status === 403 ? 'Forbidden.\n' : status === 404 ? 'Not found.\n' : 'Method not allowed.\n';
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
    res.end(text);
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const verdict = check(req, url, false);
    if (!verdict.ok) {
      logger.warn('host.refused', { path: url.pathname, why: verdict.why, status: verdict.status });
      return refuse(res, verdict.status);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405);
    if (url.searchParams.has('token')) {
      // Take the token out of the address bar (and history) once the cookie is set.
      res.writeHead(303, { Location: '/', 'Set-Cookie': verdict.setCookie ?? '', 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      return res.end();
    }
    const file = readStaticFile(options.rendererDir, url.pathname);
    if (!file) return refuse(res, 404);
    res.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Security-Policy': contentSecurityPolicy([`ws://127.0.0.1:${port}`]),
      'Cache-Control': file.contentType.startsWith('text/html') ? 'no-store' : 'private, max-age=3600',
      ...SECURITY_HEADERS,
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const verdict = url.pathname === '/api' ? check(req, url, true) : ({ ok: false, status: 403, why: 'path' } as const);
    if (!verdict.ok) {
      logger.warn('host.ws-refused', { why: verdict.why, status: verdict.status });
      socket.write(`HTTP/1.1 ${verdict.status} ${verdict.status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
  });

  function serveSocket(ws: WebSocket): void {
    const send = (value: unknown): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(value));
    };
    const connection: Connection = createConnection('host', (event: EventEnvelope) => send(event));
    logger.info('host.connected', { connection: connection.id });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return send({ id: 0, ok: false, error: { code: 'INVALID_INPUT', message: 'Binary messages are not part of the API.' } });
      let raw: unknown;
      try {
        raw = JSON.parse(data.toString('utf8'));
      } catch {
        return send({ id: 0, ok: false, error: { code: 'INVALID_INPUT', message: 'The message is not valid JSON.' } });
      }
      void workstation.table.dispatch(connection, raw).then(send);
    });
    ws.on('close', () => {
      connection.sessionToken = null;
      logger.info('host.disconnected', { connection: connection.id });
    });
    ws.on('error', (err) => logger.warn('host.socket-error', { err }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  cookieName = `tp_host_${port}`;
  logger.info('host.listening', { port });

  return {
    url: `${origin}/?token=${token}`,
    port,
    token,
    origin,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
