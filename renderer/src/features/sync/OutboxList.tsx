// The outbox: results waiting to go to the hospital server, with their state and last error;
// an admin can send an item again now or cancel one that has not been sent.
import { useCallback, useEffect, useState } from 'react';
import type { OutboxItem } from '@contract/index';
import { api } from '../../api/client';

const KIND_LABELS: Record<OutboxItem['kind'], string> = { seg: 'Segmentation', sr: 'Structured report', pdf: 'Report PDF', image: 'Source image', other: 'Other' };

export function OutboxList({ canManage, refreshKey = 0 }: { canManage: boolean; refreshKey?: number }) {
  const [items, setItems] = useState<OutboxItem[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    api.call('outbox.list', { limit: 100 }).then(
      (r) => {
        setItems(r.items);
        setTotal(r.total);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  useEffect(load, [load, refreshKey]);

  const act = (channel: 'outbox.retry' | 'outbox.cancel', id: number): void => {
    api.call(channel, { id }).then(load, (e: Error) => setError(e.message));
  };

  return (
    <div data-testid="outbox-list">
      <h2>Outbox <span className="muted">({total})</span></h2>
      {error && <p role="alert" className="error">{error}</p>}
      {items.length === 0 ? (
        <p className="muted">Nothing waiting to be sent.</p>
      ) : (
        <table>
          <thead>
            <tr><th>#</th><th>Object</th><th>State</th><th>Attempts</th><th>Last error</th><th>Queued</th>{canManage && <th>Actions</th>}</tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.id} data-testid={`outbox-row-${i.id}`}>
                <td>{i.id}</td>
                <td title={i.sopInstanceUid}>{KIND_LABELS[i.kind]}: {i.label}</td>
                <td className={i.state === 'failed' ? 'error' : i.state === 'sent' ? 'ok' : undefined}>
                  {i.state}
                  {i.state === 'queued' && i.nextAttemptAt && i.attempts > 0 ? ` (next try ${new Date(i.nextAttemptAt).toLocaleTimeString()})` : ''}
                </td>
                <td>{i.attempts}</td>
                <td className="error" style={{ whiteSpace: 'normal', maxWidth: 360 }}>{i.lastError ?? ''}</td>
                <td>{new Date(i.createdAt).toLocaleString()}</td>
                {canManage && (
                  <td style={{ display: 'flex', gap: 4 }}>
                    {i.state !== 'sent' && i.state !== 'sending' && (
                      <button type="button" onClick={() => act('outbox.retry', i.id)} title="Send this item again now">Retry</button>
                    )}
                    {i.state !== 'sent' && i.state !== 'cancelled' && (
                      <button type="button" className="danger" onClick={() => act('outbox.cancel', i.id)} title="Do not send this item">Cancel</button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
