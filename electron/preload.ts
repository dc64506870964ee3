// The preload: exposes exactly the API contract as window.workstation, never ipcRenderer.
// Runs sandboxed with context isolation; channel names are checked before they leave.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { isChannelName, type EventEnvelope, type ReplyEnvelope } from './contract';

let nextId = 1;

const bridge = {
  transport: 'electron' as const,
  invoke(channel: string, payload: unknown): Promise<ReplyEnvelope> {
    if (!isChannelName(channel)) {
      return Promise.resolve({ id: 0, ok: false, error: { code: 'NOT_FOUND', message: `There is no API channel named "${String(channel).slice(0, 64)}".` } });
    }
    return ipcRenderer.invoke('workstation:call', { id: nextId++, channel, payload }) as Promise<ReplyEnvelope>;
  },
  onEvent(listener: (event: EventEnvelope) => void): () => void {
    const wrapped = (_e: IpcRendererEvent, event: EventEnvelope): void => listener(event);
    ipcRenderer.on('workstation:event', wrapped);
    return () => ipcRenderer.removeListener('workstation:event', wrapped);
  },
};

contextBridge.exposeInMainWorld('workstation', bridge);
