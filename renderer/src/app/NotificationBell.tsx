// The bell in the app frame: the unread count (announced to screen readers as it changes), and a
// list of the user's notifications that opens what each points at. Texts carry no patient data.
import { useCallback, useEffect, useRef, useState } from 'react';
import { PAGES, type Notification, type PageId } from '@contract/index';
import { api } from '../api/client';
import { useNavigation } from './navigation';
import { useNotifications } from './notifications';
import { formatWhen } from './format';
import './notifications.css';

const isPage = (p: string | null): p is PageId => PAGES.some((x) => x.id === p);

export function NotificationBell() {
  const { counts, latest, version, set } = useNotifications();
  const navigation = useNavigation();
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  const load = useCallback((): void => {
    api.call('notifications.list', { limit: 50 }).then(
      (r) => {
        setItems(r.notifications);
        set(r.counts);
        setError(null);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [set]);

  // An open list follows the live changes.
  useEffect(() => {
    if (open) load();
  }, [open, version, load]);
  // Opening moves focus into the list (its first control), so the keyboard goes on from there.
  useEffect(() => {
    if (open) panel.current?.querySelector<HTMLElement>('button')?.focus();
  }, [open]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.altKey && !e.ctrlKey && !e.metaKey && e.key.toLowerCase() === 'n') {
        e.preventDefault();
        setOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const close = (): void => {
    setOpen(false);
    button.current?.focus();
  };

  const openItem = (n: Notification): void => {
    if (!n.readAt) void api.call('notifications.markRead', { ids: [n.id] }).then(set, () => undefined);
    setOpen(false);
    if (isPage(n.page)) navigation.go(n.page, n.objectId ?? undefined);
  };

  const unread = counts.unread;
  const announcement = latest ? `New notification: ${latest.title}. ${unread} unread.` : `${unread} unread notification${unread === 1 ? '' : 's'}.`;
  return (
    <div className="bell">
      <button
        ref={button}
        type="button"
        className={unread ? 'bell-button has-unread' : 'bell-button'}
        data-testid="bell-button"
        aria-label={`Notifications: ${unread === 0 ? 'none unread' : `${unread} unread`}`}
        aria-haspopup="dialog"
        aria-expanded={open}
        title="Notifications (Alt+N)"
        aria-keyshortcuts="Alt+N"
        onClick={() => setOpen((o) => !o)}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
        </svg>
        <span className="bell-count" data-testid="bell-count" aria-hidden="true">
          {unread}
        </span>
      </button>
      {/* Announced politely whenever the count changes; the visible badge is hidden from readers. */}
      <span className="sr-only" role="status" aria-live="polite" data-testid="bell-live">
        {announcement}
      </span>
      {open && (
        <div
          ref={panel}
          className="bell-panel"
          role="dialog"
          aria-label="Notifications"
          data-testid="notification-panel"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              close();
            }
          }}
        >
          <div className="bell-panel-head">
            <h2>Notifications</h2>
            <button type="button" className="btn-quiet" disabled={unread === 0} onClick={() => void api.call('notifications.markRead', { all: true }).then(set, () => undefined)}>
              Mark all as read
            </button>
            <button type="button" className="btn-quiet" onClick={close} aria-label="Close notifications">
              Close
            </button>
          </div>
          {error && (
            <p role="alert" className="error">
              {error}
            </p>
          )}
          {items === null && !error && <p className="muted">Loading…</p>}
          {items?.length === 0 && <p className="muted" data-testid="notifications-empty">No notifications yet.</p>}
          {items && items.length > 0 && (
            <ul className="bell-list" data-testid="notification-list">
              {items.map((n) => (
                <li key={n.id}>
                  <button type="button" className={n.readAt ? 'bell-item' : 'bell-item unread'} data-testid="notification-item" data-kind={n.kind} onClick={() => openItem(n)}>
                    <span className="bell-item-title">
                      {n.kind === 'urgent-message' && <span className="urgent-tag">Urgent</span>}
                      {n.title}
                      {!n.readAt && <span className="sr-only"> (unread)</span>}
                    </span>
                    {n.body && <span className="bell-item-body">{n.body}</span>}
                    <time className="bell-item-time" dateTime={n.createdAt}>
                      {formatWhen(n.createdAt)}
                    </time>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
