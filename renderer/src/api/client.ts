// The renderer's one way to reach the main process: window.workstation (Electron preload) or,
// in a browser, a WebSocket to the headless host. Both carry the same envelopes; this module
// turns replies into typed results or WorkstationErrors.
import {
  WorkstationError,
  replyEnvelopeSchema,
  type ChannelName,
  type EventEnvelope,
  type ReplyEnvelope,
  type RequestOf,
  type ResponseOf,
} from '@contract/index';

/** What the Electron preload exposes as window.workstation. */
export interface WorkstationBridge {
  readonly transport: 'electron';
  invoke(channel: string, payload: unknown): Promise<ReplyEnvelope>;
  onEvent(listener: (event: EventEnvelope) => void): () => void;
}

declare global {
  interface Window {
    workstation?: WorkstationBridge;
  }
}

export type ConnectionState = 'connecting' | 'open' | 'lost';

export interface Api {
  readonly transport: 'electron' | 'host';
  call<C extends ChannelName>(channel: C, payload: RequestOf<C>): Promise<ResponseOf<C>>;
  onEvent(listener: (event: EventEnvelope) => void): () => void;
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

function unwrap<T>(reply: ReplyEnvelope): T {
  if (reply.ok) return reply.result as T;
  throw WorkstationError.fromPayload(reply.error);
}

function electronApi(bridge: WorkstationBridge): Api {
  return {
    transport: 'electron',
    async call(channel, payload) {
      return unwrap(await bridge.invoke(channel, payload));
    },
    onEvent: (l) => bridge.onEvent(l),
    onConnection: (l) => {
      l('open');
      return () => {};
    },
  };
}

function hostApi(): Api {
  let socket: WebSocket | null = null;
  let ready: Promise<WebSocket> | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: ReplyEnvelope) => void }>();
  const eventListeners = new Set<(e: EventEnvelope) => void>();
  const connListeners = new Set<(s: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  const setState = (s: ConnectionState): void => {
    state = s;
    connListeners.forEach((l) => l(s));
  };

  function connect(): Promise<WebSocket> {
    if (ready) return ready;
    setState('connecting');
    ready = new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api`);
      ws.onopen = () => {
        socket = ws;
        setState('open');
        resolve(ws);
      };
      ws.onmessage = (msg) => {
        let data: unknown;
        try {
          data = JSON.parse(String(msg.data));
        } catch {
          return;
        }
        const reply = replyEnvelopeSchema.safeParse(data);
        if (reply.success) {
          pending.get(reply.data.id)?.resolve(reply.data);
          pending.delete(reply.data.id);
        } else if (data && typeof data === 'object' && 'event' in data) {
          eventListeners.forEach((l) => l(data as EventEnvelope));
        }
      };
      ws.onclose = () => {
        socket = null;
        ready = null;
        setState('lost');
        for (const [id, p] of pending) {
          p.resolve({ id, ok: false, error: { code: 'UNAVAILABLE', message: 'The connection to the workstation was lost. Reload the page to reconnect.' } });
        }
        pending.clear();
        reject(new WorkstationError('UNAVAILABLE', 'Could not connect to the workstation host.'));
      };
    });
    ready.catch(() => {});
    return ready;
  }

  return {
    transport: 'host',
    async call(channel, payload) {
      const ws = socket ?? (await connect());
      const id = nextId++;
      const reply = await new Promise<ReplyEnvelope>((resolve) => {
        pending.set(id, { resolve });
        ws.send(JSON.stringify({ id, channel, payload }));
      });
      return unwrap(reply);
    },
    onEvent(l) {
      eventListeners.add(l);
      return () => eventListeners.delete(l);
    },
    onConnection(l) {
      // A late subscriber learns the current state at once, not only the next change.
      connListeners.add(l);
      l(state);
      return () => connListeners.delete(l);
    },
  };
}

export function createApi(): Api {
  return window.workstation ? electronApi(window.workstation) : hostApi();
}

export const api: Api = createApi();
