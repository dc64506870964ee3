// A fault injector in front of the real Orthanc for the sync tests: forwards requests and, when
// told to, answers 500, cuts a response after some bytes, or drops the connection; or plays a
// hostile server whose answers are generated as they stream (hundreds of MiB of multipart
// padding, a 2 GiB part, a million QIDO results) without ever holding them in memory.
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';

export type Fault =
  | { kind: 'none' }
  | { kind: 'status'; status: number }
  /** Forward, but cut the response body after this many bytes (headers already sent). */
  | { kind: 'cut-response'; afterBytes: number }
  /** Read the request, then close the socket without any answer. */
  | { kind: 'drop' }
  /** Forward, and hold the answer back this long (a slow server). */
  | { kind: 'slow'; ms: number }
  /** A multipart answer: a boundary, then this many bytes of transport padding before any CRLF. */
  | { kind: 'multipart-padding'; paddingBytes: number }
  /** A multipart answer with one part of this many bytes (its Content-Length header given or not). */
  | { kind: 'multipart-part'; partBytes: number; declareLength: boolean }
  /** A QIDO answer of this many results in one reply, whatever limit was asked (uidOf names each study). */
  | { kind: 'qido-flood'; results: number; uidOf?: (i: number) => string }
  /** QIDO paged as asked (limit, offset) over this many results in total. */
  | { kind: 'qido-pages'; total: number; uidOf?: (i: number) => string };

/** Writes `total` bytes made by `fill(offset, n)`, chunk by chunk, waiting for the socket to drain; stops when the client goes away. */
async function streamGenerated(res: http.ServerResponse, total: number, fill: (offset: number, n: number) => Buffer): Promise<void> {
  const CHUNK = 256 * 1024;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  for (let off = 0; off < total && !closed; ) {
    const n = Math.min(CHUNK, total - off);
    const ok = res.write(fill(off, n));
    off += n;
    if (!ok) await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

const defaultUid = (i: number): string => `1.2.826.0.1.3680043.10.777.${i}`;
const studyJson = (uid: string): string => JSON.stringify({ '0020000D': { vr: 'UI', Value: [uid] }, '00201208': { vr: 'IS', Value: [1] } });

/** A JSON array of `count` QIDO study results starting at `from`, streamed. */
async function streamQido(res: http.ServerResponse, from: number, count: number, uidOf: (i: number) => string): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/dicom+json' });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const BATCH = 2000;
  for (let i = 0; i < count && !closed; i += BATCH) {
    const part: string[] = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) part.push((j === 0 ? '[' : ',') + studyJson(uidOf(from + j)));
    if (!res.write(part.join(''))) await new Promise<void>((resolve) => res.once('drain', resolve));
  }
  res.end(count === 0 ? '[]' : ']');
}

async function hostileAnswer(fault: Fault, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const boundary = 'hostile-boundary';
  if (fault.kind === 'multipart-padding') {
    res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    res.write(`--${boundary}`);
    await streamGenerated(res, fault.paddingBytes, (_o, n) => Buffer.alloc(n, 0x20));
    res.end('\r\n');
    return;
  }
  if (fault.kind === 'multipart-part') {
    res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` });
    res.write(`--${boundary}\r\nContent-Type: application/dicom\r\n${fault.declareLength ? `Content-Length: ${fault.partBytes}\r\n` : ''}\r\n`);
    await streamGenerated(res, fault.partBytes, (_o, n) => Buffer.alloc(n, 0x41));
    res.end(`\r\n--${boundary}--\r\n`);
    return;
  }
  if (fault.kind === 'qido-flood') return streamQido(res, 0, fault.results, fault.uidOf ?? defaultUid);
  if (fault.kind === 'qido-pages') {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const limit = Number(q.get('limit') ?? fault.total);
    const offset = Number(q.get('offset') ?? 0);
    return streamQido(res, offset, Math.max(0, Math.min(limit, fault.total - offset)), fault.uidOf ?? defaultUid);
  }
}

export interface Hit {
  method: string;
  path: string;
  fault: Fault['kind'];
  status: number;
  /** The request body (requests under 1 MiB), for checking what a STOW carried. */
  body: Buffer;
  authorization: string;
}

export interface FaultProxy {
  readonly url: string;
  /** Fault for the requests `match` picks (all when absent). */
  setFault(fault: Fault, match?: (req: { method: string; path: string; accept: string }) => boolean): void;
  /** Every request seen, with the status the client got (0 when the connection was cut) and the SOP Instance UIDs found in its body. */
  readonly hits: Hit[];
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 made with openssl (for the TLS tests). */
export function makeSelfSignedCert(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'tls-key.pem');
  const cert = path.join(dir, 'tls-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
}

export async function startFaultProxy(target: string, options: { tls?: { key: string; cert: string } } = {}): Promise<FaultProxy> {
  const t = new URL(target);
  let rule: { fault: Fault; match?: (req: { method: string; path: string; accept: string }) => boolean } = { fault: { kind: 'none' } };
  const hits: Hit[] = [];
  const sockets = new Set<net.Socket>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const m = rule.match;
    const applies = !m || m({ method: req.method ?? '', path: req.url ?? '', accept: String(req.headers.accept ?? '') });
    const fault = applies ? rule.fault : ({ kind: 'none' } as Fault);
    const hit: Hit = { method: req.method ?? '', path: req.url ?? '', fault: fault.kind, status: 0, body: Buffer.alloc(0), authorization: String(req.headers.authorization ?? '') };
    hits.push(hit);
    const body: Buffer[] = [];
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
      if (bodyBytes <= 1024 * 1024) body.push(c);
    });
    req.on('end', () => {
      hit.body = Buffer.concat(body);
    });
    res.on('finish', () => {
      hit.status = res.statusCode;
    });
    if (fault.kind === 'status') {
      req.resume();
      req.on('end', () => {
        res.writeHead(fault.status, { 'content-type': 'text/plain' });
        res.end('injected failure');
      });
      return;
    }
    if (fault.kind === 'drop') {
      req.resume();
      req.on('end', () => req.socket.destroy());
      return;
    }
    if (fault.kind === 'multipart-padding' || fault.kind === 'multipart-part' || fault.kind === 'qido-flood' || fault.kind === 'qido-pages') {
      req.resume();
      req.on('end', () => {
        void hostileAnswer(fault, req, res).catch(() => res.socket?.destroy());
      });
      return;
    }
    const upstream = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: `${t.hostname}:${t.port}` } }, (up) => {
      if (fault.kind === 'slow') {
        setTimeout(() => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        }, fault.ms);
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (fault.kind !== 'cut-response') {
        up.pipe(res);
        return;
      }
      let sent = 0;
      up.on('data', (chunk: Buffer) => {
        if (sent >= fault.afterBytes) return;
        const room = fault.afterBytes - sent;
        res.write(chunk.subarray(0, room));
        sent += Math.min(room, chunk.length);
        if (sent >= fault.afterBytes) {
          up.destroy();
          // Flush what was written, then cut the TCP connection mid-body.
          setTimeout(() => res.socket?.destroy(), 50);
        }
      });
      up.on('end', () => res.end());
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  };
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}${t.pathname.replace(/\/$/, '')}`,
    setFault(fault, match) {
      rule = { fault, ...(match ? { match } : {}) };
    },
    hits,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
