// The handler table: the one place where every call, from any transport, is checked for a
// valid session, a role allowed by the permission matrix and a payload that passes its schema
// before a service runs. Electron IPC, the host's WebSocket and the CLI all call dispatch().
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import {
  CHANNELS,
  MAX_REQUEST_BYTES,
  PERMISSIONS,
  WorkstationError,
  isChannelName,
  mayCall,
  requestEnvelopeSchema,
  type ChannelName,
  type EventEnvelope,
  type ReplyEnvelope,
  type ResponseOf,
  type Role,
} from '../contract';
import type { Logger } from '../services/log';

export interface Session {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** For a patient account, the one patient record it may see; null for staff. */
  readonly patientId: string | null;
}

/** Turns the token a connection holds into a live session, or null (expired, revoked, unknown). */
export interface SessionResolver {
  resolve(token: string): Session | null;
}

/** One client of the API: an Electron window, a WebSocket, or a CLI invocation. */
export interface Connection {
  readonly id: string;
  readonly transport: 'electron' | 'host' | 'cli';
  /** The session token lives with the connection in the main process; the renderer never sees it. */
  sessionToken: string | null;
  emit(event: EventEnvelope): void;
}

export interface CallContext {
  readonly session: Session | null;
  readonly connection: Connection;
}

export type RequestFor<C extends ChannelName> = z.output<(typeof CHANNELS)[C]['request']>;
export type Handler<C extends ChannelName> = (request: RequestFor<C>, ctx: CallContext) => Promise<ResponseOf<C>> | ResponseOf<C>;
export type Handlers = { [C in ChannelName]: Handler<C> };

export interface HandlerTableOptions {
  handlers: Handlers;
  sessions: SessionResolver;
  logger: Logger;
  /** Called at every call with the connection's session as resolved now (live events); must not throw. */
  onCall?: (connection: Connection, session: Session | null) => void;
  /** Called for every refused call (audit hook); must not throw. */
  onRefused?: (info: { channel: string; code: string; session: Session | null; connection: Connection }) => void;
}

export interface HandlerTable {
  /** Checks and runs one raw envelope as received from a transport. Never throws. */
  dispatch(connection: Connection, raw: unknown): Promise<ReplyEnvelope>;
  /** Typed call for in-process clients (CLI); throws WorkstationError. */
  call<C extends ChannelName>(connection: Connection, channel: C, payload: unknown): Promise<ResponseOf<C>>;
}

export function createConnection(transport: Connection['transport'], emit: (e: EventEnvelope) => void = () => {}): Connection {
  return { id: randomUUID(), transport, sessionToken: null, emit };
}

function byteLength(value: unknown): number {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY; // cycles or BigInt: not a valid payload
  }
}

export function createHandlerTable(options: HandlerTableOptions): HandlerTable {
  const { handlers, sessions, logger } = options;

  for (const name of Object.keys(CHANNELS)) {
    if (!(name in PERMISSIONS)) throw new Error(`Channel ${name} has no row in the permission matrix`);
    if (typeof (handlers as Record<string, unknown>)[name] !== 'function') throw new Error(`Channel ${name} has no handler`);
  }

  async function run<C extends ChannelName>(connection: Connection, channelName: unknown, payload: unknown): Promise<ResponseOf<C>> {
    if (!isChannelName(channelName)) {
      throw new WorkstationError('NOT_FOUND', `There is no API channel named "${String(channelName).slice(0, 64)}".`);
    }
    const name = channelName as C;
    const access = PERMISSIONS[name];
    const session = connection.sessionToken ? sessions.resolve(connection.sessionToken) : null;
    if (connection.sessionToken && !session) connection.sessionToken = null; // expired or revoked
    try {
      options.onCall?.(connection, session);
    } catch (hookErr) {
      logger.error('call.hook-failed', { err: hookErr });
    }
    if (access !== 'public') {
      if (!session) throw new WorkstationError('UNAUTHENTICATED', 'Please sign in. Your session has ended or you are not signed in.');
      if (!mayCall(session.role, name)) {
        throw new WorkstationError('FORBIDDEN', `Your role (${session.role}) may not do this (${name}).`);
      }
    }
    if (byteLength(payload) > MAX_REQUEST_BYTES) {
      throw new WorkstationError('INVALID_INPUT', `The request is too large (limit ${MAX_REQUEST_BYTES} bytes).`);
    }
    const spec = CHANNELS[name];
    const parsed = spec.request.safeParse(payload ?? {});
    if (!parsed.success) {
      // Name the fields, never echo their values (they may be patient data or passwords).
      const fields = parsed.error.issues.map((i) => (i.path.length ? i.path.join('.') : '(request)') + ': ' + i.message);
      throw new WorkstationError('INVALID_INPUT', `The request for ${name} is not valid: ${fields.slice(0, 5).join('; ')}`, {
        details: { fields: parsed.error.issues.map((i) => i.path.join('.')) },
      });
    }
    const handler = handlers[name] as Handler<C>;
    const result = await handler(parsed.data as RequestFor<C>, { session, connection });
    const checked = spec.response.safeParse(result);
    if (!checked.success) {
      throw new WorkstationError('INTERNAL', 'The workstation produced a reply that breaks its own contract.', {
        cause: new Error(`response of ${name} failed its schema: ${checked.error.issues.map((i) => i.path.join('.')).join(', ')}`),
      });
    }
    return checked.data as ResponseOf<C>;
  }

  function toWorkstationError(err: unknown, channelName: string): WorkstationError {
    if (err instanceof WorkstationError) {
      if (err.code === 'INTERNAL') logger.error('call.internal', { channel: channelName, cause: err.cause ?? err });
      return err;
    }
    const ref = randomUUID().slice(0, 8);
    logger.error('call.crash', { channel: channelName, ref, err });
    return new WorkstationError('INTERNAL', `Something went wrong inside the workstation (reference ${ref}). Nothing was changed; please try again or tell IT.`, { cause: err });
  }

  return {
    async dispatch(connection, raw) {
      const envelope = requestEnvelopeSchema.safeParse(raw);
      if (!envelope.success) {
        const id = typeof (raw as { id?: unknown } | null)?.id === 'number' ? (raw as { id: number }).id : 0;
        return { id, ok: false, error: { code: 'INVALID_INPUT', message: 'The message is not a valid API request.' } };
      }
      const { id, channel: channelName, payload } = envelope.data;
      try {
        const result = await run(connection, channelName, payload);
        return { id, ok: true, result };
      } catch (err) {
        const wsErr = toWorkstationError(err, channelName);
        if (['UNAUTHENTICATED', 'FORBIDDEN', 'INVALID_INPUT', 'NOT_FOUND'].includes(wsErr.code)) {
          const session = connection.sessionToken ? sessions.resolve(connection.sessionToken) : null;
          logger.info('call.refused', { channel: channelName.slice(0, 64), code: wsErr.code, connection: connection.id });
          try {
            options.onRefused?.({ channel: channelName.slice(0, 64), code: wsErr.code, session, connection });
          } catch (hookErr) {
            logger.error('call.refused-hook-failed', { err: hookErr });
          }
        }
        return { id, ok: false, error: wsErr.toPayload() };
      }
    },
    async call(connection, channelName, payload) {
      try {
        return await run(connection, channelName, payload);
      } catch (err) {
        throw toWorkstationError(err, channelName);
      }
    },
  };
}
