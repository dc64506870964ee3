// What the hospital tells its patients: health tips (Markdown stored as written; the renderer
// shows it without HTML, scripts or remote images), the care team and department contact an
// admin chose, and the emergency numbers with a default that always says what to do.
import crypto from 'node:crypto';
import { DEFAULT_EMERGENCY_TEXT, WorkstationError, type CareInfo, type HealthTip, type Settings, type TipSource } from '../../contract';
import type { AuditEntry } from '../audit';
import type { Db } from '../store';

export interface CareActor {
  userId: string;
  username: string;
}

export interface CareServiceOptions {
  db: () => Db;
  audit: { append(entry: AuditEntry): unknown };
  settings: () => Pick<Settings, 'careTeamUserIds' | 'departmentContact' | 'emergencyNumber' | 'emergencyContacts'>;
}

export interface CareService {
  listTips(): HealthTip[];
  saveTip(actor: CareActor, tip: { id?: string | undefined; title: string; bodyMarkdown: string; sources: TipSource[]; reviewedBy: string; reviewedOn: string | null; position?: number | undefined }): HealthTip;
  deleteTip(actor: CareActor, id: string): void;
  info(): CareInfo;
}

interface TipRow {
  id: string;
  position: number;
  title: string;
  body_md: string;
  sources: string;
  reviewed_by: string;
  reviewed_on: string | null;
  updated_at: string;
}

const toTip = (r: TipRow): HealthTip => ({
  id: r.id,
  position: r.position,
  title: r.title,
  bodyMarkdown: r.body_md,
  sources: JSON.parse(r.sources) as TipSource[],
  reviewedBy: r.reviewed_by,
  reviewedOn: r.reviewed_on,
  updatedAt: r.updated_at,
});

export function createCareService(options: CareServiceOptions): CareService {
  const { db, audit } = options;
  const tipRow = (id: string): TipRow | undefined => db().prepare('SELECT * FROM health_tips WHERE id = ?').get(id) as TipRow | undefined;
  return {
    listTips() {
      return (db().prepare('SELECT * FROM health_tips ORDER BY position, title COLLATE NOCASE, id').all() as TipRow[]).map(toTip);
    },
    saveTip(actor, tip) {
      const conn = db();
      const at = new Date().toISOString();
      const sources = JSON.stringify(tip.sources);
      return conn.transaction(() => {
        if (tip.id) {
          const existing = tipRow(tip.id);
          if (!existing) throw new WorkstationError('NOT_FOUND', 'That health tip no longer exists (someone may have deleted it).');
          conn
            .prepare('UPDATE health_tips SET title = ?, body_md = ?, sources = ?, reviewed_by = ?, reviewed_on = ?, position = ?, updated_at = ?, updated_by = ? WHERE id = ?')
            .run(tip.title, tip.bodyMarkdown, sources, tip.reviewedBy, tip.reviewedOn, tip.position ?? existing.position, at, actor.username, tip.id);
          audit.append({ actorId: actor.userId, actor: actor.username, action: 'tips.save', objectType: 'health-tip', objectId: tip.id, outcome: 'success', detail: { created: false, sources: tip.sources.length } });
          return toTip(tipRow(tip.id)!);
        }
        const id = crypto.randomUUID();
        const position = tip.position ?? ((conn.prepare('SELECT coalesce(max(position), 0) + 1 AS p FROM health_tips').get() as { p: number }).p);
        conn
          .prepare('INSERT INTO health_tips (id, position, title, body_md, sources, reviewed_by, reviewed_on, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, position, tip.title, tip.bodyMarkdown, sources, tip.reviewedBy, tip.reviewedOn, at, actor.username);
        audit.append({ actorId: actor.userId, actor: actor.username, action: 'tips.save', objectType: 'health-tip', objectId: id, outcome: 'success', detail: { created: true, sources: tip.sources.length } });
        return toTip(tipRow(id)!);
      })();
    },
    deleteTip(actor, id) {
      const changed = db().prepare('DELETE FROM health_tips WHERE id = ?').run(id).changes;
      if (!changed) throw new WorkstationError('NOT_FOUND', 'That health tip no longer exists.');
      audit.append({ actorId: actor.userId, actor: actor.username, action: 'tips.delete', objectType: 'health-tip', objectId: id, outcome: 'success' });
    },
    info() {
      const s = options.settings();
      const ids = s.careTeamUserIds;
      // Only active radiologist accounts are shown, in the order the admin chose them.
      const rows = ids.length
        ? (db().prepare(`SELECT id, display_name FROM users WHERE role = 'radiologist' AND admin_locked = 0 AND id IN (${ids.map(() => '?').join(', ')})`).all(...ids) as { id: string; display_name: string }[])
        : [];
      const byId = new Map(rows.map((r) => [r.id, r.display_name]));
      const number = s.emergencyNumber.trim();
      return {
        team: ids.filter((id) => byId.has(id)).map((id) => ({ name: byId.get(id)!, role: 'Radiologist' })),
        department: s.departmentContact.trim(),
        emergency: {
          number: number || null,
          contacts: s.emergencyContacts.split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
          text: number ? `In an emergency, call ${number} now, or go to the nearest emergency department.` : DEFAULT_EMERGENCY_TEXT,
        },
      };
    },
  };
}
