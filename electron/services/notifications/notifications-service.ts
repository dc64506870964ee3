// Notifications for every role, one row per recipient in the encrypted database: who gets what
// (the radiologists, those on duty, a patient record's accounts, the admins) and the reading side.
// Every change is handed to `publish` with the recipient's new counts, so the transports can push
// it to that user's open windows; nothing polls the list. Titles and bodies hold no patient data.
import crypto from 'node:crypto';
import { MESSAGE_NOTIFICATION_KINDS, WorkstationError, type Notification, type NotificationCounts, type NotificationKind, type NotificationsEvent } from '../../contract';
import type { Db } from '../store';

export interface NewNotification {
  kind: NotificationKind;
  title: string;
  body?: string;
  page?: string | null;
  objectId?: string | null;
  /**
   * A recipient who still has an unread notification of this kind gets no second one (one
   * signing can queue dozens of outbox items; a refusing server would otherwise fill the bell).
   */
  oneUnread?: boolean;
}

export interface NotificationsServiceOptions {
  db: () => Db;
  /** Called after every change with the recipient and their counts (live delivery). Must not throw. */
  publish?: (userId: string, event: NotificationsEvent) => void;
  /** Radiologists on duty (user ids); empty: every active radiologist. Read at each urgent message. */
  onDuty?: () => readonly string[];
}

export interface NotificationsService {
  /** Stores one notification for each user; returns how many were stored. */
  notifyUsers(userIds: readonly string[], n: NewNotification): number;
  /** Every active (not admin-locked) account of a role; `except` are left out. */
  notifyRole(role: 'radiologist' | 'admin', n: NewNotification, except?: readonly string[]): number;
  /** The radiologists on duty (or every active radiologist when none is named); returns their ids. */
  notifyOnDuty(n: NewNotification): string[];
  /** The patient accounts linked to a patient record. */
  notifyPatient(patientId: string, n: NewNotification): number;
  list(userId: string, q: { limit: number; unreadOnly: boolean }): { notifications: Notification[]; counts: NotificationCounts };
  counts(userId: string): NotificationCounts;
  /** Marks the user's own notifications read (ids of others are ignored); 'all' marks every one. */
  markRead(userId: string, which: readonly string[] | 'all'): NotificationCounts;
  /** Marks read what points at one object (a conversation opened, an upload reviewed). */
  markReadFor(userId: string, kinds: readonly NotificationKind[], objectId: string): NotificationCounts;
  /** Marks read, for everyone, what points at one object that is dealt with (an upload another radiologist reviewed). */
  resolve(kinds: readonly NotificationKind[], objectId: string): number;
}

interface Row {
  id: string;
  kind: NotificationKind;
  title: string;
  body: string;
  page: string | null;
  object_id: string | null;
  created_at: string;
  read_at: string | null;
}

const MAX_TITLE = 200;
const MAX_BODY = 500;

export function createNotificationsService(options: NotificationsServiceOptions): NotificationsService {
  const { db } = options;
  const now = (): string => new Date().toISOString();
  const messageKinds = MESSAGE_NOTIFICATION_KINDS.map((k) => `'${k}'`).join(', ');

  const counts = (userId: string): NotificationCounts => {
    const r = db()
      .prepare(
        `SELECT count(*) AS unread,
                coalesce(sum(CASE WHEN kind IN (${messageKinds}) THEN 1 ELSE 0 END), 0) AS messages,
                coalesce(sum(CASE WHEN kind = 'urgent-message' THEN 1 ELSE 0 END), 0) AS urgent
         FROM notifications WHERE user_id = ? AND read_at IS NULL`,
      )
      .get(userId) as { unread: number; messages: number; urgent: number };
    return { unread: r.unread, unreadMessages: r.messages, unreadUrgent: r.urgent };
  };

  const publish = (userId: string, latest: NotificationsEvent['latest']): void => {
    if (!options.publish) return;
    try {
      options.publish(userId, { ...counts(userId), latest });
    } catch {
      // Live delivery is best effort: the row is stored and the next read shows it.
    }
  };

  const activeUsers = (where: string, ...args: unknown[]): string[] =>
    (db().prepare(`SELECT id FROM users WHERE admin_locked = 0 AND ${where} ORDER BY id`).all(...args) as { id: string }[]).map((r) => r.id);

  const service: NotificationsService = {
    notifyUsers(userIds, n) {
      const title = n.title.trim().slice(0, MAX_TITLE);
      if (!title) throw new WorkstationError('INTERNAL', 'A notification needs a title.');
      const body = (n.body ?? '').slice(0, MAX_BODY);
      const unique = [...new Set(userIds)];
      if (!unique.length) return 0;
      const conn = db();
      const created: { userId: string; id: string }[] = [];
      const insert = conn.prepare('INSERT INTO notifications (id, user_id, kind, title, body, page, object_id, created_at, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)');
      const hasUnread = conn.prepare('SELECT 1 FROM notifications WHERE user_id = ? AND kind = ? AND read_at IS NULL LIMIT 1');
      conn.transaction(() => {
        const at = now();
        for (const userId of unique) {
          if (n.oneUnread && hasUnread.get(userId, n.kind)) continue;
          const id = crypto.randomUUID();
          insert.run(id, userId, n.kind, title, body, n.page ?? null, n.objectId ?? null, at);
          created.push({ userId, id });
        }
      })();
      for (const c of created) publish(c.userId, { id: c.id, kind: n.kind, title });
      return created.length;
    },
    notifyRole(role, n, except = []) {
      const skip = new Set(except);
      return service.notifyUsers(activeUsers('role = ?', role).filter((id) => !skip.has(id)), n);
    },
    notifyOnDuty(n) {
      const named = new Set(options.onDuty?.() ?? []);
      const radiologists = activeUsers(`role = 'radiologist'`);
      const onDuty = radiologists.filter((id) => named.has(id));
      // A duty list naming nobody who can still sign in must not swallow an urgent message.
      const to = onDuty.length ? onDuty : radiologists;
      service.notifyUsers(to, n);
      return to;
    },
    notifyPatient(patientId, n) {
      return service.notifyUsers(activeUsers(`role = 'patient' AND patient_id = ?`, patientId), n);
    },
    list(userId, q) {
      const rows = db()
        .prepare(`SELECT id, kind, title, body, page, object_id, created_at, read_at FROM notifications WHERE user_id = ?${q.unreadOnly ? ' AND read_at IS NULL' : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`)
        .all(userId, q.limit) as Row[];
      return {
        notifications: rows.map((r) => ({ id: r.id, kind: r.kind, title: r.title, body: r.body, page: r.page, objectId: r.object_id, createdAt: r.created_at, readAt: r.read_at })),
        counts: counts(userId),
      };
    },
    counts,
    markRead(userId, which) {
      const conn = db();
      let changed: number;
      if (which === 'all') changed = conn.prepare('UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL').run(now(), userId).changes;
      else {
        const stmt = conn.prepare('UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL');
        const at = now();
        changed = conn.transaction(() => which.reduce((n, id) => n + stmt.run(at, id, userId).changes, 0))();
      }
      if (changed) publish(userId, null);
      return counts(userId);
    },
    markReadFor(userId, kinds, objectId) {
      if (!kinds.length) return counts(userId);
      const changed = db()
        .prepare(`UPDATE notifications SET read_at = ? WHERE user_id = ? AND object_id = ? AND read_at IS NULL AND kind IN (${kinds.map(() => '?').join(', ')})`)
        .run(now(), userId, objectId, ...kinds).changes;
      if (changed) publish(userId, null);
      return counts(userId);
    },
    resolve(kinds, objectId) {
      if (!kinds.length) return 0;
      const conn = db();
      const marks = kinds.map(() => '?').join(', ');
      const users = (conn.prepare(`SELECT DISTINCT user_id FROM notifications WHERE object_id = ? AND read_at IS NULL AND kind IN (${marks})`).all(objectId, ...kinds) as { user_id: string }[]).map((r) => r.user_id);
      if (!users.length) return 0;
      conn.prepare(`UPDATE notifications SET read_at = ? WHERE object_id = ? AND read_at IS NULL AND kind IN (${marks})`).run(now(), objectId, ...kinds);
      for (const u of users) publish(u, null);
      return users.length;
    },
  };
  return service;
}
