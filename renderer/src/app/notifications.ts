// The signed-in user's notification counts for the whole frame: read once when the frame opens,
// then kept up to date by the notifications.changed events the main process pushes (no polling).
import { createContext, useContext, useEffect, useState } from 'react';
import { NOTIFICATIONS_EVENT, notificationsEventSchema, type NotificationCounts, type NotificationsEvent } from '@contract/index';
import { api } from '../api/client';

export interface NotificationState {
  counts: NotificationCounts;
  /** The latest arrival (for the screen-reader announcement), or null. */
  latest: NotificationsEvent['latest'];
  /** Bumped at every change, so a page can reload what it shows. */
  version: number;
  set(counts: NotificationCounts): void;
}

const EMPTY: NotificationCounts = { unread: 0, unreadMessages: 0, unreadUrgent: 0 };

export const NotificationContext = createContext<NotificationState>({ counts: EMPTY, latest: null, version: 0, set: () => {} });

export function useNotifications(): NotificationState {
  return useContext(NotificationContext);
}

/** Owned by the app frame. */
export function useNotificationState(): NotificationState {
  const [counts, setCounts] = useState<NotificationCounts>(EMPTY);
  const [latest, setLatest] = useState<NotificationsEvent['latest']>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    api.call('notifications.counts', {}).then((c) => live && setCounts(c), () => undefined);
    const off = api.onEvent((e) => {
      if (e.event !== NOTIFICATIONS_EVENT) return;
      const parsed = notificationsEventSchema.safeParse(e.data);
      if (!parsed.success) return;
      const { latest: l, ...c } = parsed.data;
      setCounts(c);
      if (l) setLatest(l);
      setVersion((v) => v + 1);
    });
    return () => {
      live = false;
      off();
    };
  }, []);
  return { counts, latest, version, set: setCounts };
}
