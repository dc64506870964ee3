// The status bar: connection, hospital-server sync state, the inference runtime in use, and the
// "not a medical device" notice that stays on every screen.
import { useEffect, useState } from 'react';
import type { SystemInfo } from '@contract/index';
import { api, type ConnectionState } from '../api/client';
import { useSession } from './session';

export function StatusBar() {
  const { user } = useSession();
  const [conn, setConn] = useState<ConnectionState>('connecting');
  const [info, setInfo] = useState<SystemInfo | null>(null);

  useEffect(() => api.onConnection(setConn), []);
  useEffect(() => {
    if (user.role === 'patient') return;
    api.call('system.info', {}).then(setInfo, () => setInfo(null));
  }, [user.role]);

  return (
    <footer className="status-bar" role="contentinfo" aria-label="Status">
      <span className={`status-item conn-${conn}`} aria-live="polite">
        {conn === 'open' ? 'Connected' : conn === 'connecting' ? 'Connecting…' : 'Connection lost: reload to reconnect'}
      </span>
      {user.role !== 'patient' && (
        <>
          <span className="status-item" data-testid="sync-state">Hospital server: not configured</span>
          <span className="status-item" data-testid="runtime">
            AI runtime: {info ? info.activeRuntime ?? 'none available' : '…'}
          </span>
        </>
      )}
      <span className="status-item notice" role="note">Not a medical device. AI results are for research and decision support only.</span>
    </footer>
  );
}
