// The hospital-server sync status for the status bar and the sync panel: polled every few
// seconds (and right after "sync now"), shared by every component that shows it.
import { useCallback, useEffect, useState } from 'react';
import type { Role, SyncRunSummary, SyncStatus } from '@contract/index';
import type { ArchiveSource } from './summary';
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

/**
 * Which archive the workstation reaches over DIMSE, read while the DICOMweb sync is not
 * configured (so that the status bar does not say "not configured" to a hospital on DIMSE only);
 * read again on each sync-status poll, so a PACS an admin has just saved shows up.
 */
export function useArchiveSource(role: Role, status: SyncStatus | null): ArchiveSource | null {
  const [source, setSource] = useState<ArchiveSource | null>(null);
  const unconfigured = status?.configured === false;
  useEffect(() => {
    if (!unconfigured || (role !== 'radiologist' && role !== 'admin')) return;
    let live = true;
    const read: Promise<ArchiveSource> =
      role === 'radiologist'
        ? api.call('pacs.source', {})
        : api.call('dimse.getSettings', {}).then(({ settings, status: scp }) => {
            const p = settings.pacs;
            return p
              ? { transport: 'dimse' as const, server: `${p.aeTitle} at ${p.host}:${p.port}`, canRetrieve: !!scp.listening, message: scp.listening ? null : 'The DIMSE receiver is not listening, so studies cannot be retrieved (Administration > DIMSE).' }
              : { transport: 'none' as const, server: null, canRetrieve: false, message: null };
          });
    read.then(
      (s) => live && setSource(s),
      () => live && setSource(null),
    );
    return () => {
      live = false;
    };
  }, [role, unconfigured, status]);
  return unconfigured ? source : null;
}
