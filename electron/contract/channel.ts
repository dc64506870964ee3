// How a channel of the API is declared: a name, a zod schema for the request and one for the
// response. The handler table validates both sides against these; the preload and the browser
// client type their calls from them.
import type { z } from 'zod';

export interface ChannelSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly request: Req;
  readonly response: Res;
  /** One line for --help, the API listing and the audit log. */
  readonly summary: string;
}

export function channel<Req extends z.ZodType, Res extends z.ZodType>(spec: ChannelSpec<Req, Res>): ChannelSpec<Req, Res> {
  return spec;
}

/** Largest serialised request the transports accept before parsing, in bytes. */
export const MAX_REQUEST_BYTES = 1_000_000;
