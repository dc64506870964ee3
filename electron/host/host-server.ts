// The headless host: the built renderer over HTTP and the API over a WebSocket, on 127.0.0.1
// only. A single-use token in the printed URL admits one browser, which then holds an HttpOnly
// cookie with a lifetime; every request without it is refused, and so is any foreign Origin or
// Host, and any request target that is not a plain path. A new address can be asked for.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_REQUEST_BYTES, type EventEnvelope } from '../contract';
import type { Workstation } from '../ipc/compose';
import { createConnection, type Connection } from '../ipc/handler-table';
import { contentSecurityPolicy, SECURITY_HEADERS } from './csp';
import { readStaticFile } from './static-files';
import { parseOriginForm } from '../services/http';
import { createHostAccess } from './host-access';

export interface HostOptions {
  workstation: Workstation;
  /** Folder with the built renderer (index.html). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed first token (tests); default is 32 random bytes. Each token admits one browser. */
  token?: string;
  /** Clock for the token and cookie lifetimes (tests). */
  now?: () => number;
}

export interface RunningHost {
  /** The first address (its token admits one browser). */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly origin: string;
  /** A new single-use address, for another browser or after the first one was used. */
  newAddress(): string;
  close(): Promise<void>;
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
  // The cookie, not the token, travels with later requests, so the token can leave the address bar.
  const access = createHostAccess({ ...(options.now ? { now: options.now } : {}), ...(options.token ? { firstToken: options.token } : {}) });
  const token = options.token ?? access.issueToken();
  let port = 0;
  let origin = '';
  let cookieName = '';

  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES + 4096 });

  type Verdict = { ok: true; setCookie?: string } | { ok: false; status: 400 | 401 | 403; why: string };

  /** requireOrigin: the WebSocket, which is also admitted only by the cookie (a token is spent only by a page load, which can set it). */
  function check(req: http.IncomingMessage, url: URL, requireOrigin: boolean): Verdict {
    // DNS rebinding: the Host header must name this exact address.
    if (req.headers.host !== `127.0.0.1:${port}`) return { ok: false, status: 403, why: 'host' };
    const reqOrigin = req.headers.origin;
    if (reqOrigin !== undefined && reqOrigin !== origin) return { ok: false, status: 403, why: 'origin' };
    if (requireOrigin && reqOrigin === undefined) return { ok: false, status: 403, why: 'origin-missing' };
    if (access.isAdmitted(parseCookies(req.headers.cookie).get(cookieName))) return { ok: true };
    const given = requireOrigin ? null : url.searchParams.get('token');
    if (given === null) return { ok: false, status: 401, why: 'no-token' };
    const admission = access.admit(given);
    if (!admission.ok) return { ok: false, status: admission.why === 'bad-token' ? 403 : 401, why: admission.why };
    return { ok: true, setCookie: `${cookieName}=${admission.cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${admission.maxAgeSeconds}` };
  }

  function refuse(res: http.ServerResponse, status: 400 | 401 | 403 | 404 | 405 | 500): void {
    const text = status === 401
      ? 'Open a new address from `tumorpredict serve` (each address admits one browser once; press Enter where it runs for a new one).\n'
      : status === 400 ? 'Bad request.\n' : status === 403 ? 'Forbidden.\n' : status === 404 ? 'Not found.\n' : status === 405 ? 'Method not allowed.\n' : 'Internal error.\n';
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'close', ...SECURITY_HEADERS });
    res.end(text);
  }

  // A hostile request must never take the process down: anything a handler throws is a 500.
  server.on('request', (req, res) => {
    try {
      handleRequest(req, res);
    } catch (err) {
      logger.error('host.request-failed', { err });
      if (!res.headersSent) refuse(res, 500);
      else res.destroy();
    }
  });

  // Malformed HTTP that Node's parser itself refuses: answer 400 and close, never crash.
  server.on('clientError', (err, socket) => {
    logger.warn('host.client-error', { code: (err as NodeJS.ErrnoException).code });
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = parseOriginForm(req.url);
    if (!url) {
      logger.warn('host.refused', { why: 'request-target', status: 400 });
      return refuse(res, 400);
    }
    // Before the token is looked at: a POST never spends one.
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405);
    const verdict = check(req, url, false);
    if (!verdict.ok) {
      logger.warn('host.refused', { path: url.pathname, why: verdict.why, status: verdict.status });
      return refuse(res, verdict.status);
    }
    if (url.searchParams.has('token')) {
      // Take the token out of the address bar (and history) once the cookie is set.
      res.writeHead(303, { Location: '/', ...(verdict.setCookie ? { 'Set-Cookie': verdict.setCookie } : {}), 'Cache-Control': 'no-store', ...SECURITY_HEADERS });
      res.end();
      return;
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
  }

  server.on('upgrade', (req, socket, head) => {
    try {
      const url = parseOriginForm(req.url);
      const verdict: Verdict = !url ? { ok: false, status: 400, why: 'request-target' } : url.pathname === '/api' ? check(req, url, true) : { ok: false, status: 403, why: 'path' };
      if (!verdict.ok) {
        logger.warn('host.ws-refused', { why: verdict.why, status: verdict.status });
        const reason = verdict.status === 400 ? 'Bad Request' : verdict.status === 401 ? 'Unauthorized' : 'Forbidden';
        socket.write(`HTTP/1.1 ${verdict.status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws));
    } catch (err) {
      logger.error('host.upgrade-failed', { err });
      socket.destroy();
    }
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
    newAddress: () => `${origin}/?token=${access.issueToken()}`,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}
