// The hospital-server sync status for the status bar and the sync panel: polled every few
// seconds (and right after "sync now"), shared by every component that shows it.
import { useCallback, useEffect, useState } from 'react';
import type { SyncRunSummary, SyncStatus } from '@contract/index';
import { api } from '../../api/client';

const POLL_MS = 10_000;
/** Every mounted hook's refresh: a sync run from one place (the panel) updates the others (the status bar). */
const refreshers = new Set<() => void>();

export interface SyncStatusState {
  status: SyncStatus | null;
  error: string | null;
  syncing: boolean;
  refresh(): void;
  syncNow(): Promise<SyncRunSummary | null>;
}

export function useSyncStatus(enabled = true): SyncStatusState {
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [syncing, setSyncing] = useState(false);
  const refresh = useCallback(() => {
    api.call('sync.status', {}).then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  useEffect(() => {
    if (!enabled) return;
    refresh();
    refreshers.add(refresh);
    const t = setInterval(refresh, POLL_MS);
    return () => {
      clearInterval(t);
      refreshers.delete(refresh);
    };
  }, [enabled, refresh]);
  const syncNow = useCallback(async () => {
    setSyncing(true);
    try {
      const r = await api.call('sync.now', {});
      return r;
    } catch (e) {
      setError((e as Error).message);
      return null;
    } finally {
      setSyncing(false);
      refreshers.forEach((r) => r());
    }
  }, [refresh]);
  return { status, error, syncing, refresh, syncNow };
}

/** One line for the status bar. */
export function syncSummary(s: SyncStatus | null): { text: string; tone: 'ok' | 'warn' | 'error' | 'muted' } {
  if (!s) return { text: 'Hospital server: …', tone: 'muted' };
  if (!s.configured) return { text: 'Hospital server: not configured', tone: 'muted' };
  const waiting = s.outbox.waiting ? `, ${s.outbox.waiting} to send` : '';
  const failed = s.outbox.failed ? `, ${s.outbox.failed} failed` : '';
  if (s.running) return { text: `Hospital server: syncing…${waiting}`, tone: 'muted' };
  if (s.lastError) return { text: `Hospital server: error${waiting}${failed}`, tone: 'error' };
  const last = s.lastSuccessAt ? `synced ${new Date(s.lastSuccessAt).toLocaleTimeString()}` : 'never synced';
  return { text: `Hospital server: ${s.enabled ? last : `${last} (polling off)`}${waiting}${failed}`, tone: s.outbox.failed ? 'warn' : 'ok' };
}
