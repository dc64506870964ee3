// The DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) over node:http/https: auth (basic or bearer),
// TLS verification with an optional hospital CA, and errors that say which step failed.
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { WorkstationError, type ConnectionStep, type ConnectionTest, type SyncAuthType } from '../../contract';
import { boundaryOf, buildMultipartRelated, readMultipart, MultipartCutError, type ReceivedPart } from './multipart';

export interface ServerConnection {
  baseUrl: string;
  authType: SyncAuthType;
  username: string;
  /** Password (basic) or token (bearer), read from the keychain by the caller. */
  secret: string | null;
  tlsVerify: boolean;
  caCertificatePem: string | null;
  /** Milliseconds without any byte before a request is given up. */
  timeoutMs?: number;
  /** Send the secret over plain http (the admin's audited insecure switch); off: refused. */
  allowCredentialsOverHttp?: boolean;
}

/** A DICOM JSON dataset (PS3.18 F.2). */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export interface DicomWebErrorDetails {
  step: ConnectionStep;
  httpStatus: number | null;
  /** True when trying again later may succeed (network, 5xx, 429); false for what needs a person. */
  transient: boolean;
  /** The server may have received the data (the connection ended after the request was sent). */
  outcomeUnknown?: boolean;
  [key: string]: unknown;
}

export function syncErrorDetails(err: unknown): DicomWebErrorDetails | null {
  if (err instanceof WorkstationError && err.details && typeof err.details.step === 'string') return err.details as DicomWebErrorDetails;
  return null;
}

function fail(step: ConnectionStep, message: string, opts: { httpStatus?: number | null; transient: boolean; cause?: unknown; outcomeUnknown?: boolean }): WorkstationError {
  const code = step === 'url' ? 'INVALID_INPUT' : 'UNAVAILABLE';
  return new WorkstationError(code, message, {
    cause: opts.cause,
    details: { step, httpStatus: opts.httpStatus ?? null, transient: opts.transient, ...(opts.outcomeUnknown ? { outcomeUnknown: true } : {}) },
  });
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Turns a socket-level error into a sentence naming the step. */
export function networkError(err: unknown, url: URL, sent: boolean): WorkstationError {
  const e = err as NodeJS.ErrnoException & { code?: string };
  const code = e?.code ?? '';
  const where = `${url.hostname}${url.port ? ':' + url.port : ''}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') {
    return fail('dns', `The hospital server's name "${url.hostname}" could not be found (DNS lookup failed). Check the address in the server settings and the network.`, { transient: true, cause: err });
  }
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return fail('connect', `Nothing answers at ${where} (${code === 'ECONNREFUSED' ? 'connection refused' : 'host unreachable'}). Check the address and port, and that the hospital server is running.`, { transient: true, cause: err });
  }
  if (TLS_CODES.has(code) || /certificate|SSL|TLS/i.test(e?.message ?? '')) {
    return fail('tls', `The secure connection to ${where} failed: the server's certificate is not trusted (${code || 'TLS error'}). Add the hospital's CA certificate in the server settings, or ask IT to fix the server's certificate.`, { transient: false, cause: err });
  }
  if (code === 'TP_TOO_LARGE') {
    return fail('server', `The hospital server at ${where} sent a reply larger than the workstation reads for one request (${e.message}); it was not used. The server may ignore the page size: ask the PACS administrator, or narrow the sync filters.`, { transient: false, cause: err });
  }
  if (code === 'ETIMEDOUT' || code === 'TP_TIMEOUT') {
    return fail('connect', `The hospital server at ${where} did not answer in time.`, { transient: true, cause: err, outcomeUnknown: sent });
  }
  return fail(
    'server',
    sent
      ? `The connection to the hospital server at ${where} was cut in the middle of a transfer (${code || e?.message || 'closed'}). Nothing was lost; the transfer will be tried again.`
      : `The connection to the hospital server at ${where} failed (${code || e?.message || 'closed'}).`,
    { transient: true, cause: err, outcomeUnknown: sent },
  );
}

/** The sentence for an HTTP status the workstation did not expect. */
export function httpError(status: number, url: URL, who: string, body: string): WorkstationError {
  const where = url.origin;
  if (status === 401) return fail('auth', `The hospital server refused the credentials${who ? ` for user ${who}` : ''} (HTTP 401). Check the user name and password or token in the server settings.`, { httpStatus: status, transient: false, cause: body });
  if (status === 403) return fail('auth', `The hospital server does not allow ${who ? `user ${who}` : 'this workstation'} to do this (HTTP 403). Ask the PACS administrator for access.`, { httpStatus: status, transient: false, cause: body });
  if (status === 404) return fail('dicomweb', `The server at ${where} answered, but there is no DICOMweb service at ${url.pathname} (HTTP 404). Check the path of the DICOMweb root in the server settings (often /dicom-web).`, { httpStatus: status, transient: false, cause: body });
  if (status === 408 || status === 429 || status >= 500) return fail('server', `The hospital server had a problem (HTTP ${status}). Nothing was lost; the workstation will try again.`, { httpStatus: status, transient: true, cause: body });
  return fail('server', `The hospital server refused the request (HTTP ${status}).`, { httpStatus: status, transient: false, cause: body });
}

export interface DicomWebClient {
  readonly baseUrl: string;
  /** QIDO-RS search, e.g. qido('/studies', {ModalitiesInStudy: 'MR'}). 204 means no matches. */
  qido(pathname: string, params?: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<DicomJson[]>;
  /**
   * WADO-RS retrieve of a study, series or instance; each instance is handed to onPart in memory as
   * soon as it is complete. An abort of `signal` closes the transfer (it rejects with the signal's reason).
   */
  retrieve(pathname: string, onPart: (part: ReceivedPart) => Promise<void>, signal?: AbortSignal): Promise<number>;
  /** STOW-RS: sends Part 10 files; returns the server's DICOM JSON answer and status. */
  stow(files: Buffer[]): Promise<{ status: number; response: DicomJson | null }>;
  /** Probes the server step by step (URL, DNS, connect/TLS, auth, DICOMweb root). Never throws. */
  test(): Promise<ConnectionTest>;
}

export function parseBaseUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (err) {
    throw fail('url', `The server address "${raw.slice(0, 200)}" is not a valid URL. Use a form such as https://pacs.example.org/dicom-web.`, { transient: false, cause: err });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw fail('url', `The server address must start with http:// or https:// (got ${u.protocol}).`, { transient: false });
  if (u.username || u.password) throw fail('url', 'Put the user name and password in the authentication fields, not in the server address.', { transient: false });
  return u;
}

/** Why a password or token is not sent to an http:// address. */
export function insecureHttpMessage(origin: string): string {
  return `The password or token is not sent over plain http (${origin}): anyone on the network could read it. Use the server's https:// address, or, if the hospital network is trusted, an administrator turns on "Allow credentials over plain http (insecure)" in the server settings.`;
}

/** Largest QIDO reply read (a page of 200 studies is about 100 KiB). */
export const MAX_QIDO_REPLY_BYTES = 32 * 1024 * 1024;

export function createDicomWebClient(conn: ServerConnection): DicomWebClient {
  const base = parseBaseUrl(conn.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const timeoutMs = conn.timeoutMs ?? 30_000;
  const who = conn.authType === 'basic' ? conn.username : '';
  const agentOptions = { keepAlive: true, maxSockets: 8 };
  const agent = base.protocol === 'https:'
    ? new https.Agent({ ...agentOptions, rejectUnauthorized: conn.tlsVerify, ...(conn.caCertificatePem ? { ca: conn.caCertificatePem } : {}) })
    : new http.Agent(agentOptions);

  const authHeader = (): Record<string, string> => {
    if (conn.authType !== 'none' && conn.secret !== null && base.protocol === 'http:' && !conn.allowCredentialsOverHttp) {
      throw fail('auth', insecureHttpMessage(base.origin), { transient: false });
    }
    if (conn.authType === 'basic') {
      if (conn.secret === null) throw fail('auth', 'The hospital server needs a password, and none is stored for this server. Enter the password in the server settings.', { transient: false });
      return { authorization: 'Basic ' + Buffer.from(`${conn.username}:${conn.secret}`, 'utf8').toString('base64') };
    }
    if (conn.authType === 'bearer') {
      if (conn.secret === null) throw fail('auth', 'The hospital server needs a token, and none is stored for this server. Enter the token in the server settings.', { transient: false });
      return { authorization: `Bearer ${conn.secret}` };
    }
    return {};
  };

  const urlFor = (pathname: string, params?: Record<string, string | number | undefined>): URL => {
    // Paths are made of fixed words and UIDs: anything that could leave the DICOMweb root (dot
    // segments, an encoded or query character) is refused, whoever built the path.
    if (!/^[A-Za-z0-9/._-]*$/.test(pathname) || pathname.split('/').some((seg) => seg === '.' || seg === '..')) {
      throw fail('server', 'The hospital server named an object with characters a DICOM UID cannot have; it was not requested.', { transient: false });
    }
    const u = new URL(base.origin);
    u.pathname = basePath + (pathname.startsWith('/') ? pathname : '/' + pathname);
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') u.searchParams.append(k, String(v));
    return u;
  };

  /** One request; resolves with the response once headers arrive. */
  const send = (method: string, url: URL, headers: Record<string, string | number>, body?: Buffer, signal?: AbortSignal): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      let sent = false;
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { method, agent, signal, headers: { ...authHeader(), ...headers, ...(body ? { 'content-length': body.length } : {}) } }, (res) => {
        // Idle timeout while the body streams, too.
        res.socket?.setTimeout(timeoutMs, () => res.destroy(Object.assign(new Error('no data within the timeout'), { code: 'TP_TIMEOUT' })));
        resolve(res);
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('no answer within the timeout'), { code: 'TP_TIMEOUT' })));
      req.on('error', (err) => reject(signal?.aborted ? signal.reason : networkError(err, url, sent)));
      req.on('finish', () => {
        sent = true;
      });
      req.end(body);
    });

  const readBody = async (res: IncomingMessage, url: URL, limit = 256 * 1024 * 1024): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let n = 0;
    try {
      for await (const c of res as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > limit) throw Object.assign(new Error(`reply larger than ${limit} bytes`), { code: 'TP_TOO_LARGE' });
        chunks.push(c);
      }
    } catch (err) {
      throw networkError(err, url, true);
    }
    if (!res.complete) throw networkError(Object.assign(new Error('response ended early'), { code: 'ECONNRESET' }), url, true);
    return Buffer.concat(chunks);
  };

  const parseJson = (buf: Buffer, url: URL): DicomJson[] => {
    if (buf.length === 0) return [];
    try {
      const v = JSON.parse(buf.toString('utf8')) as unknown;
      if (Array.isArray(v)) return v as DicomJson[];
      return [v as DicomJson];
    } catch (err) {
      throw fail('server', `The hospital server sent a reply that is not DICOM JSON (from ${url.pathname}); it may have been cut off. Nothing was lost; the workstation will try again.`, { transient: true, cause: err });
    }
  };

  const client: DicomWebClient = {
    baseUrl: base.href,
    async qido(pathname, params, signal) {
      const url = urlFor(pathname, params);
      const res = await send('GET', url, { accept: 'application/dicom+json' }, undefined, signal);
      // One search page is small (a few hundred results): a server that sends more ignores the page size.
      const body = await readBody(res, url, MAX_QIDO_REPLY_BYTES);
      if (res.statusCode === 204) return [];
      if (res.statusCode !== 200) throw httpError(res.statusCode ?? 0, url, who, body.toString('utf8').slice(0, 500));
      return parseJson(body, url);
    },
    async retrieve(pathname, onPart, signal) {
      const url = urlFor(pathname);
      const res = await send('GET', url, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' }, undefined, signal);
      if (res.statusCode !== 200) {
        const body = await readBody(res, url, 1024 * 1024).catch(() => Buffer.alloc(0));
        throw httpError(res.statusCode ?? 0, url, who, body.toString('utf8').slice(0, 500));
      }
      const boundary = boundaryOf(res.headers['content-type']);
      if (!boundary) {
        res.destroy();
        throw fail('server', `The hospital server did not send a multipart reply for ${url.pathname} (Content-Type ${String(res.headers['content-type']).slice(0, 80)}).`, { transient: false });
      }
      try {
        return await readMultipart(res, boundary, { onPart });
      } catch (err) {
        res.destroy();
        if (signal?.aborted) throw signal.reason;
        if (err instanceof MultipartCutError) {
          throw fail('server', `The connection to the hospital server was cut in the middle of a transfer (${err.partsCompleted} instance(s) arrived completely and were kept). The rest will be fetched on the next sync.`, { transient: true, cause: err });
        }
        throw err;
      }
    },
    async stow(files) {
      const url = urlFor('/studies');
      const { body, contentType } = buildMultipartRelated(files);
      const res = await send('POST', url, { 'content-type': contentType, accept: 'application/dicom+json' }, body);
      const text = await readBody(res, url, 64 * 1024 * 1024);
      const status = res.statusCode ?? 0;
      if (status === 200 || status === 202 || status === 409) {
        let response: DicomJson | null = null;
        try {
          response = text.length ? ((JSON.parse(text.toString('utf8')) as DicomJson) ?? null) : null;
        } catch {
          response = null;
        }
        return { status, response };
      }
      throw httpError(status, url, who, text.toString('utf8').slice(0, 500));
    },
    async test() {
      const started = Date.now();
      const done = (ok: boolean, step: ConnectionStep, message: string, httpStatus: number | null = null): ConnectionTest => ({ ok, step, message, httpStatus, elapsedMs: Date.now() - started });
      try {
        if (!/^(localhost|[\d.]+|\[[\da-f:]+\])$/i.test(base.hostname)) {
          try {
            await dns.lookup(base.hostname);
          } catch (err) {
            const e = networkError(err, base, false);
            return done(false, 'dns', e.message);
          }
        }
        const url = urlFor('/studies', { limit: 1 });
        const res = await send('GET', url, { accept: 'application/dicom+json' });
        const body = await readBody(res, url, 4 * 1024 * 1024);
        const status = res.statusCode ?? 0;
        if (status === 200 || status === 204) {
          if (status === 200) parseJson(body, url);
          return done(true, 'ok', `Connected to the DICOMweb service at ${base.href} (HTTP ${status}).`, status);
        }
        const e = httpError(status, url, who, body.toString('utf8'));
        return done(false, syncErrorDetails(e)?.step ?? 'server', e.message, status);
      } catch (err) {
        if (err instanceof WorkstationError) {
          const d = syncErrorDetails(err);
          return done(false, d?.step ?? 'server', err.message, d?.httpStatus ?? null);
        }
        return done(false, 'server', `The connection test failed: ${(err as Error).message}`);
      }
    },
  };
  return client;
}

/** First value of a DICOM JSON attribute (tag as 8 hex digits). */
export function tagValue(ds: DicomJson, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}

export function tagString(ds: DicomJson, tag: string): string | null {
  const v = tagValue(ds, tag);
  if (v === undefined || v === null) return null;
  if (typeof v === 'object' && v && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic);
  return String(v);
}
