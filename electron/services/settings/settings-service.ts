// Reads and writes the workstation settings through the store, one row per key, validated by the
// settings schema; missing keys take their defaults.
import { WorkstationError, settingsSchema, type Settings } from '../../contract';
import type { Db } from '../store';

export interface SettingsService {
  get(): Settings;
  update(patch: Partial<Settings>, by: string): { settings: Settings; changed: (keyof Settings)[] };
}

export function createSettingsService(db: () => Db): SettingsService {
  const get = (): Settings => {
    const rows = db().prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    const raw: Record<string, unknown> = {};
    const known = settingsSchema.shape as Record<string, unknown>;
    for (const r of rows) if (r.key in known) raw[r.key] = JSON.parse(r.value) as unknown;
    const parsed = settingsSchema.safeParse(raw);
    // A stored value that no longer fits (rules tightened by an update) falls back to its default.
    if (parsed.success) return parsed.data;
    const bad = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    for (const k of bad) delete raw[k];
    return settingsSchema.parse(raw);
  };
  return {
    get,
    update(patch, by) {
      const next = settingsSchema.safeParse({ ...get(), ...patch });
      if (!next.success) {
        throw new WorkstationError('INVALID_INPUT', `These settings are not valid: ${next.error.issues.map((i) => i.path.join('.') + ': ' + i.message).join('; ')}`);
      }
      const conn = db();
      const current = get();
      // Lists (the care team) compare by value, not by identity.
      const changed = (Object.keys(patch) as (keyof Settings)[]).filter((k) => patch[k] !== undefined && JSON.stringify(next.data[k]) !== JSON.stringify(current[k]));
      const put = conn.prepare('INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by');
      const now = new Date().toISOString();
      conn.transaction(() => {
        for (const k of changed) put.run(k, JSON.stringify(next.data[k]), now, by);
      })();
      return { settings: next.data, changed };
    },
  };
}
