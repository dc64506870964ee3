// Sync status for admins and radiologists: last sync, items waiting, the last error, a "sync
// now" button (Alt+Shift+U) and the outbox (retry/cancel for admins).
import { keysOf } from '../../app/shortcuts';
import { useEffect, useState } from 'react';
import { useSession } from '../../app/session';
import { OutboxList } from './OutboxList';
import { useSyncStatus } from './useSyncStatus';

export function SyncStatusPanel() {
  const { user } = useSession();
  const { status, error, syncing, syncNow } = useSyncStatus();
  const [result, setResult] = useState<string | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);

  const run = async (): Promise<void> => {
    setResult(null);
    const r = await syncNow();
    if (r) setResult(r.ok ? `Sync done: ${r.studiesPulled} new studies (${r.instancesImported} images), ${r.pushed} results sent.` : `Sync finished with problems: ${r.error ?? ''}`);
    setRefreshKey((k) => k + 1);
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      // Alt+Shift+U: Ctrl+Shift+Y is Firefox's downloads window.
      if (keysOf(e) === 'Alt+Shift+U') {
        e.preventDefault();
        void run();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  return (
    <section aria-labelledby="sync-status-title" data-testid="sync-status-panel">
      <h2 id="sync-status-title">Hospital server</h2>
      {error && <p role="alert" className="error">{error}</p>}
      {status && (
        <dl className="facts">
          <dt>Server</dt>
          <dd>{status.configured ? (status.enabled ? 'configured, polling on' : 'configured, polling off') : 'not configured'}</dd>
          <dt>Last sync</dt>
          <dd data-testid="sync-last">{status.lastSuccessAt ? new Date(status.lastSuccessAt).toLocaleString() : 'never'}</dd>
          <dt>Waiting to send</dt>
          <dd data-testid="sync-waiting">{status.outbox.waiting}{status.outbox.failed ? ` (${status.outbox.failed} failed)` : ''}</dd>
          <dt>Last error</dt>
          <dd className={status.lastError ? 'error' : 'muted'} data-testid="sync-error">{status.lastError ?? 'none'}</dd>
          {status.nextRunAt && (
            <>
              <dt>Next poll</dt>
              <dd>{new Date(status.nextRunAt).toLocaleTimeString()}</dd>
            </>
          )}
        </dl>
      )}
      <div className="form-actions">
        <button type="button" className="primary" disabled={syncing || !status?.configured} onClick={() => void run()} title="Pull new studies and send waiting results now (Alt+Shift+U)">
          {syncing ? 'Syncing…' : 'Sync now'}
        </button>
      </div>
      {result && <p role="status" className={result.startsWith('Sync done') ? 'ok' : 'error'}>{result}</p>}
      <OutboxList canManage={user.role === 'admin'} refreshKey={refreshKey} />
    </section>
  );
}
