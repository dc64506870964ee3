// The wire format shared by Electron IPC and the host's WebSocket: a request carries an id, a
// channel and a payload; a reply carries the same id and either a result or an error payload.
// Events (progress of long jobs) are pushed without an id.
import { z } from 'zod';
import { errorPayloadSchema } from './errors';
import type { ChannelName, RequestOf, ResponseOf } from './channels';

export const requestEnvelopeSchema = z.object({
  id: z.number().int().nonnegative(),
  channel: z.string().max(128),
  payload: z.unknown(),
});
export type RequestEnvelope = z.infer<typeof requestEnvelopeSchema>;

export const replyEnvelopeSchema = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number().int(), ok: z.literal(false), error: errorPayloadSchema }),
]);
export type ReplyEnvelope = z.infer<typeof replyEnvelopeSchema>;

export const eventEnvelopeSchema = z.object({
  event: z.string(),
  data: z.unknown(),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** The API the preload exposes as window.workstation and the browser client implements. */
export interface WorkstationApi {
  /** Resolves with the response, or rejects with a WorkstationError carrying the error code. */
  call<C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>>;
  onEvent(listener: (event: EventEnvelope) => void): () => void;
  readonly transport: 'electron' | 'host';
}
