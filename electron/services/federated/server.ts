// The coordinator's HTTPS service (`tumorpredict federation serve`): sites authenticate with their
// token, bodies pass their zod schemas, errors carry the contract's codes, and each request that
// changes or reads federation state is an audit row (actor site:<id>). Rounds close on quorum or
// deadline by a timer here; the admin's decisions stay in the app and the CLI.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkstationError } from '../../contract';
import { parseOriginForm } from '../http';
import type { Coordinator, SiteRow } from './coordinator';
import { audit, type Actor, type FederationDeps } from './deps';
import { MAX_PACKAGE_BYTES } from './package';
import { API, evaluationRequestSchema, HTTP_STATUS } from './protocol';
import type { Rounds } from './rounds';

export interface CoordinatorServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_JSON = 256 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, err: WorkstationError): void {
  send(res, HTTP_STATUS[err.code], { error: { code: err.code, message: err.message } });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new WorkstationError('INVALID_INPUT', `The request is ${declared} bytes; at most ${limit} are accepted here.`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new WorkstationError('INVALID_INPUT', `The request is larger than the ${limit} bytes accepted here.`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startCoordinatorServer(deps: FederationDeps, coord: Coordinator, rounds: Rounds, opts: { host: string; port: number; tickMs?: number }): Promise<CoordinatorServer> {
  const setup = coord.requireSetup();
  const key = await deps.secrets.get('tls-key');
  if (!setup.certificate || !key) throw new WorkstationError('CONFLICT', "The coordinator's HTTPS certificate is not set up (run federation setup first).");
  const system: Actor = { userId: null, username: 'system:federation' };
  // Requests run one after another: packages, evaluations and the round timer never interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = queue.then(fn, fn);
    queue = p.catch(() => undefined);
    return p;
  };

  const authenticate = (req: IncomingMessage): SiteRow => {
    const m = /^Bearer ([A-Za-z0-9_-]{43})$/.exec(req.headers.authorization ?? '');
    const site = m ? coord.siteForToken(m[1]!) : null;
    if (!site) {
      audit(deps, { userId: null, username: 'anonymous' }, 'federation.request', 'refused', 'federation', req.url?.slice(0, 60) ?? null, { code: 'UNAUTHENTICATED', remote: req.socket.remoteAddress ?? null });
      throw new WorkstationError('UNAUTHENTICATED', 'This coordinator does not know that token (unknown or revoked site).');
    }
    return site;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const site = authenticate(req);
    const actor: Actor = { userId: null, username: `site:${site.site_id}` };
    const m = /^\/v1\/rounds\/(\d{1,9})\/(candidate|evaluation)$/.exec(url.pathname);
    if (req.method === 'GET' && url.pathname === API.status) {
      const r = coord.activeRound();
      send(res, 200, { site: site.site_id, round: r ? coord.roundInfo(r, site.site_id) : null, global: await coord.globalRef() });
      return;
    }
    if (req.method === 'POST' && url.pathname === API.packages) {
      const body = await readBody(req, MAX_PACKAGE_BYTES);
      const { row, refusal } = await coord.receive(body, 'https', site, actor);
      await rounds.tick(system).catch((err: unknown) => deps.logger.warn('federation.tick-failed', { err }));
      send(res, 200, { packageId: row.id, status: row.status === 'refused' ? 'refused' : 'accepted', reason: row.reason, refusal });
      return;
    }
    if (req.method === 'GET' && m && m[2] === 'candidate') {
      const c = rounds.candidateFor(Number(m[1]));
      audit(deps, actor, 'federation.candidate.serve', 'success', 'federation-round', m[1]!);
      send(res, 200, c);
      return;
    }
    if (req.method === 'POST' && m && m[2] === 'evaluation') {
      const parsed = evaluationRequestSchema.safeParse(JSON.parse((await readBody(req, MAX_JSON)).toString('utf8') || 'null'));
      if (!parsed.success) throw new WorkstationError('INVALID_INPUT', 'An evaluation holds two confusion matrices (current and candidate) and nothing else.');
      rounds.receiveEvaluation(Number(m[1]), site.site_id, parsed.data.current, parsed.data.candidate, actor);
      await rounds.tick(system).catch((err: unknown) => deps.logger.warn('federation.tick-failed', { err }));
      send(res, 200, { received: true });
      return;
    }
    if (req.method === 'GET' && url.pathname === API.global) {
      const g = await rounds.globalFor();
      audit(deps, actor, 'federation.global.serve', 'success', 'model', g.global.modelId, { round: g.global.round });
      send(res, 200, g);
      return;
    }
    throw new WorkstationError('NOT_FOUND', `There is no ${req.method} ${url.pathname} here.`);
  };

  const server = https.createServer({ key, cert: setup.certificate, minVersion: 'TLSv1.2' }, (req, res) => {
    // Only origin-form targets, parsed without throwing, before any token is looked at or the
    // queue is entered (the host does the same): "GET http://[" is a 400, not a failure of ours.
    const url = parseOriginForm(req.url);
    if (!url) {
      deps.logger.warn('federation.refused', { why: 'request-target', status: 400 });
      sendError(res, new WorkstationError('INVALID_INPUT', 'Only origin-form request targets ("/v1/...") are served here.'));
      return;
    }
    void serial(() => handle(req, res, url)).catch((err: unknown) => {
      if (err instanceof SyntaxError) err = new WorkstationError('INVALID_INPUT', 'The request body is not valid JSON.');
      if (!(err instanceof WorkstationError)) {
        deps.logger.error('federation.request-failed', { err });
        err = new WorkstationError('INTERNAL', 'The coordinator failed on this request; its log says why.');
      }
      if (!res.headersSent) sendError(res, err as WorkstationError);
    });
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const timer = setInterval(() => {
    void serial(() => rounds.tick(system)).catch((err: unknown) => deps.logger.warn('federation.tick-failed', { err }));
  }, opts.tickMs ?? 15_000);
  timer.unref();
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  deps.logger.info('federation.serve.started', { port });
  return {
    url: `https://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
