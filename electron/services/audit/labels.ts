// Names for the ids in audit rows, so the admin reads "Dr Rad (rad1)" and "Upload of DEMO,
// GLIOMA, 2026-03-04" instead of UUIDs. Read-only look-ups in the tables those ids come from;
// an id whose row is gone keeps no name (the page then shows the id).
import type { Db } from '../store';

interface Labelled {
  actorId: string | null;
  objectType: string | null;
  objectId: string | null;
}

const isoDay = (s: string | null): string => (s && /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s ? s.slice(0, 10) : 'no date');

/** `user:<id>` for actors and user objects, `<objectType>:<id>` for the others. */
export function auditLabels(db: Db, rows: readonly Labelled[]): Record<string, string> {
  const out: Record<string, string> = {};
  const want = (type: string): string[] => [...new Set(rows.filter((r) => r.objectType === type && r.objectId).map((r) => r.objectId!))];
  const userIds = [...new Set([...rows.map((r) => r.actorId).filter((x): x is string => !!x), ...want('user')])];
  const some = <T>(ids: string[], sql: (marks: string) => string): T[] => (ids.length ? (db.prepare(sql(ids.map(() => '?').join(', '))).all(...ids) as T[]) : []);

  for (const u of some<{ id: string; username: string; display_name: string }>(userIds, (m) => `SELECT id, username, display_name FROM users WHERE id IN (${m})`)) {
    out[`user:${u.id}`] = u.display_name && u.display_name !== u.username ? `${u.display_name} (${u.username})` : u.username;
  }
  for (const p of some<{ id: string; display_name: string; dicom_patient_id: string | null }>(want('patient'), (m) => `SELECT id, display_name, dicom_patient_id FROM patients WHERE id IN (${m})`)) {
    out[`patient:${p.id}`] = `${p.display_name}${p.dicom_patient_id ? ` (Patient ID ${p.dicom_patient_id})` : ''}`;
  }
  for (const s of some<{ id: string; display_name: string; study_date: string | null; description: string | null }>(
    want('study'),
    (m) => `SELECT s.id, p.display_name, s.study_date, s.description FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.id IN (${m})`,
  )) {
    out[`study:${s.id}`] = `Study of ${s.display_name}, ${isoDay(s.study_date)}${s.description ? `: ${s.description}` : ''}`;
  }
  for (const r of some<{ id: string; display_name: string; study_date: string | null }>(
    want('report'),
    (m) => `SELECT r.id, p.display_name, s.study_date FROM reports r JOIN studies s ON s.id = r.study_id JOIN patients p ON p.id = r.patient_id WHERE r.id IN (${m})`,
  )) {
    out[`report:${r.id}`] = `Report of ${r.display_name}, study of ${isoDay(r.study_date)}`;
  }
  for (const u of some<{ id: string; display_name: string; received_at: string }>(
    want('upload'),
    (m) => `SELECT u.id, p.display_name, u.received_at FROM patient_uploads u JOIN patients p ON p.id = u.patient_id WHERE u.id IN (${m})`,
  )) {
    out[`upload:${u.id}`] = `Upload of ${u.display_name}, received ${u.received_at.slice(0, 10)}`;
  }
  for (const t of some<{ id: string; title: string }>(want('health-tip'), (m) => `SELECT id, title FROM health_tips WHERE id IN (${m})`)) {
    out[`health-tip:${t.id}`] = `Health tip "${t.title}"`;
  }
  return out;
}
