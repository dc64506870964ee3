// A site's client of the coordinator's HTTPS API: the coordinator's certificate from the
// enrolment is the only trust anchor (pinned), the site's token goes in the Authorization header,
// and every answer is checked against its schema before use.
import https from 'node:https';
import { z } from 'zod';
import { WorkstationError, type ErrorCode } from '../../contract';
import { API, candidateResponseSchema, errorBodySchema, globalResponseSchema, packageResponseSchema, statusResponseSchema, type Confusion } from './protocol';

export interface CoordinatorClientOptions {
  url: string;
  certificate: string;
  token: string;
  timeoutMs?: number;
}

const MAX_RESPONSE = 16 * 1024 * 1024;
const evaluationAck = z.object({ received: z.literal(true) }).strict();

export function createCoordinatorClient(opts: CoordinatorClientOptions) {
  const base = new URL(opts.url);

  function request<S extends z.ZodType>(method: 'GET' | 'POST', path: string, body: Buffer | null, contentType: string, schema: S): Promise<z.output<S>> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          protocol: 'https:',
          hostname: base.hostname.replace(/^\[|\]$/g, ''),
          port: base.port || 443,
          path,
          method,
          ca: opts.certificate,
          timeout: opts.timeoutMs ?? 30_000,
          headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json', ...(body ? { 'content-type': contentType, 'content-length': body.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE) req.destroy(new Error('response too large'));
            else chunks.push(c);
          });
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch (err) {
              reject(new WorkstationError('UNAVAILABLE', `The coordinator at ${base.host} answered ${res.statusCode} with something that is not JSON.`, { cause: err }));
              return;
            }
            if ((res.statusCode ?? 500) >= 400) {
              const e = errorBodySchema.safeParse(json);
              reject(e.success ? new WorkstationError(e.data.error.code as ErrorCode, `The coordinator refused: ${e.data.error.message}`) : new WorkstationError('UNAVAILABLE', `The coordinator at ${base.host} answered ${res.statusCode}.`));
              return;
            }
            const parsed = schema.safeParse(json);
            if (!parsed.success) reject(new WorkstationError('UNAVAILABLE', `The coordinator at ${base.host} sent an answer this workstation does not understand (${path}).`, { cause: parsed.error }));
            else resolve(parsed.data);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const tls = /certificate|self.signed|altname|CERT/i.test(`${err.code ?? ''} ${err.message}`);
        reject(
          new WorkstationError(
            'UNAVAILABLE',
            tls
              ? `The coordinator at ${base.host} did not present the certificate this site was enrolled with; nothing was sent. Ask the coordinating site's admin for a new enrolment if its certificate changed.`
              : `The coordinator at ${base.host} cannot be reached (${err.code ?? err.message}).`,
            { cause: err },
          ),
        );
      });
      if (body) req.end(body);
      else req.end();
    });
  }

  const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');
  return {
    status: () => request('GET', API.status, null, '', statusResponseSchema),
    sendPackage: (bytes: Uint8Array) => request('POST', API.packages, Buffer.from(bytes), 'application/zip', packageResponseSchema),
    candidate: (round: number) => request('GET', API.candidate(round), null, '', candidateResponseSchema),
    sendEvaluation: (round: number, current: Confusion, candidate: Confusion) => request('POST', API.evaluation(round), json({ current, candidate }), 'application/json', evaluationAck),
    global: () => request('GET', API.global, null, '', globalResponseSchema),
  };
}

export type CoordinatorClient = ReturnType<typeof createCoordinatorClient>;
