// The status bar: connection, hospital-server sync state, the inference runtime in use, and the
// "not a medical device" notice that stays on every screen.
import { useEffect, useState } from 'react';
import type { SystemInfo } from '@contract/index';
import { api, type ConnectionState } from '../api/client';
import { useSession } from './session';
import { useArchiveSource, useSyncStatus } from '../features/sync/useSyncStatus';
import { syncSummary } from '../features/sync/summary';
import { SyncStatusPanel } from '../features/sync/SyncStatusPanel';
import { onSystemInfoChanged } from './system-info';

export function StatusBar() {
  const { user } = useSession();
  const [conn, setConn] = useState<ConnectionState>('connecting');
  const [info, setInfo] = useState<SystemInfo | null>(null);
  const seesSync = user.role === 'admin' || user.role === 'radiologist';
  const sync = useSyncStatus(seesSync);
  const [syncOpen, setSyncOpen] = useState(false);
  const archive = useArchiveSource(user.role, seesSync ? sync.status : null);
  const summary = syncSummary(sync.status, archive);

  useEffect(() => api.onConnection(setConn), []);
  useEffect(() => {
    if (user.role === 'patient') return;
    const read = (): void => void api.call('system.info', {}).then(setInfo, () => setInfo(null));
    read();
    // The runtime in use changes when an admin picks another one in the settings.
    return onSystemInfoChanged(read);
  }, [user.role]);

  return (
    <footer className="status-bar" role="contentinfo" aria-label="Status">
      <span className={`status-item conn-${conn}`} aria-live="polite">
        {conn === 'open' ? 'Connected' : conn === 'connecting' ? 'Connecting…' : 'Connection lost: reload to reconnect'}
      </span>
      {user.role !== 'patient' && (
        <>
          {seesSync ? (
            <button
              type="button"
              className={`status-item btn-quiet ${summary.tone === 'error' ? 'error' : summary.tone === 'warn' ? 'conn-lost' : ''}`}
              style={{ padding: 0, fontSize: 'inherit' }}
              data-testid="sync-state"
              aria-expanded={syncOpen}
              title={sync.status?.lastError ?? summary.title ?? 'Show the hospital server sync status'}
              onClick={() => setSyncOpen((o) => !o)}
            >
              {summary.text}
            </button>
          ) : (
            <span className="status-item" data-testid="sync-state">Hospital server</span>
          )}
          {syncOpen && (
            <div role="dialog" aria-label="Hospital server sync" style={{ position: 'fixed', bottom: 32, left: 220, width: 'min(760px, 80vw)', maxHeight: '70vh', overflow: 'auto', background: 'var(--panel)', border: '1px solid var(--line)', borderRadius: 8, padding: 16, zIndex: 10, whiteSpace: 'normal', color: 'var(--text)', fontSize: 14 }}>
              <SyncStatusPanel />
              <div className="form-actions"><button type="button" onClick={() => setSyncOpen(false)}>Close</button></div>
            </div>
          )}
          <span className="status-item" data-testid="runtime">
            AI runtime: {info ? info.activeRuntime ?? 'none available' : '…'}
          </span>
        </>
      )}
      <span className="status-item notice" role="note">Not a medical device. AI results are for research and decision support only.</span>
    </footer>
  );
}
