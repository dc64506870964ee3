// What patients see, set by the admin: whether they may send images from their own account and
// what they see of an upload before review, the emergency page's numbers, the department
// contact, the care team shown to them and the radiologists on duty for urgent messages. Saved
// through the one settings schema (only these keys).
import { useEffect, useState, type FormEvent } from 'react';
import { DEFAULT_EMERGENCY_TEXT, type Settings, type User } from '@contract/index';
import { api } from '../../api/client';
import { TipsEditor } from './TipsEditor';

type PatientSettings = Pick<Settings, 'patientUploadsFromAccount' | 'patientSeesBeforeReview' | 'emergencyNumber' | 'emergencyContacts' | 'departmentContact' | 'careTeamUserIds' | 'onDutyUserIds'>;
const KEYS = ['patientUploadsFromAccount', 'patientSeesBeforeReview', 'emergencyNumber', 'emergencyContacts', 'departmentContact', 'careTeamUserIds', 'onDutyUserIds'] as const;
const pick = (s: Settings): PatientSettings => Object.fromEntries(KEYS.map((k) => [k, s[k]])) as PatientSettings;
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function toggle(list: readonly string[], id: string, on: boolean): string[] {
  return on ? [...new Set([...list, id])] : list.filter((x) => x !== id);
}

export function PatientPagesPanel() {
  const [s, setS] = useState<PatientSettings | null>(null);
  const [radiologists, setRadiologists] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api.call('settings.get', {}).then((r) => setS(pick(r)), (e: unknown) => setError(msg(e)));
    api.call('users.list', {}).then((r) => setRadiologists(r.users.filter((u) => u.role === 'radiologist')), (e: unknown) => setError(msg(e)));
  }, []);
  if (!s) return error ? <p role="alert" className="error">{error}</p> : <p aria-busy="true">Loading…</p>;

  const set = <K extends keyof PatientSettings>(k: K, v: PatientSettings[K]): void => {
    setSaved(false);
    setS({ ...s, [k]: v });
  };
  const save = (e: FormEvent): void => {
    e.preventDefault();
    setSaved(false);
    api.call('settings.update', s).then(
      (next) => {
        setS(pick(next));
        setError(null);
        setSaved(true);
      },
      (err: unknown) => setError(msg(err)),
    );
  };
  const onDutyNames = radiologists.filter((r) => s.onDutyUserIds.includes(r.id)).map((r) => r.displayName);

  return (
    <div style={{ display: 'grid', gap: 24, maxWidth: 900 }}>
      <form onSubmit={save} aria-label="Patient pages">
        <fieldset className="admin-fieldset">
          <legend>Images patients send for review</legend>
          <label style={{ display: 'flex', gap: 8, alignItems: 'center', color: 'var(--text)' }}>
            <input type="checkbox" data-testid="set-patient-uploads" checked={s.patientUploadsFromAccount} onChange={(e) => set('patientUploadsFromAccount', e.target.checked)} />
            Patients may send images from their own account
          </label>
          <p className="muted" style={{ margin: '4px 0 12px' }}>
            The care team can always add a patient's images in the consultation room (Reviews page). Every upload is filed under the patient's own record and waits for a radiologist.
          </p>
          <div role="radiogroup" aria-labelledby="before-review-label">
            <p id="before-review-label" style={{ margin: '0 0 4px' }}>
              Before a radiologist has reviewed an upload, the patient sees:
            </p>
            <label style={{ display: 'flex', gap: 8, color: 'var(--text)' }}>
              <input type="radio" name="before-review" data-testid="set-before-review-received" checked={s.patientSeesBeforeReview === 'received-only'} onChange={() => set('patientSeesBeforeReview', 'received-only')} />
              Only "Received, awaiting review" (recommended)
            </label>
            <label style={{ display: 'flex', gap: 8, color: 'var(--text)' }}>
              <input type="radio" name="before-review" data-testid="set-before-review-ai" checked={s.patientSeesBeforeReview === 'preliminary-ai'} onChange={() => set('patientSeesBeforeReview', 'preliminary-ai')} />
              The preliminary AI result in plain language, marked "Preliminary: not reviewed by a doctor, and not a diagnosis"
            </label>
          </div>
        </fieldset>

        <fieldset className="admin-fieldset">
          <legend>Emergency page</legend>
          <label htmlFor="set-emergency-number">The hospital's emergency number for patients</label>
          <input id="set-emergency-number" style={{ width: "min(320px, 100%)" }} value={s.emergencyNumber} maxLength={40} placeholder="for example +41 44 255 11 11" onChange={(e) => set('emergencyNumber', e.target.value)} aria-describedby="emergency-number-help" />
          <p id="emergency-number-help" className="muted" style={{ margin: '4px 0 0' }}>
            While this is empty the page says: "{DEFAULT_EMERGENCY_TEXT}"
          </p>
          <label htmlFor="set-emergency-contacts">Other contacts, one per line (ward, out-of-hours line)</label>
          <textarea id="set-emergency-contacts" rows={3} style={{ width: '100%' }} value={s.emergencyContacts} maxLength={2000} onChange={(e) => set('emergencyContacts', e.target.value)} />
        </fieldset>

        <fieldset className="admin-fieldset">
          <legend>My care team</legend>
          <label htmlFor="set-department">Department contact (phone, opening hours, address)</label>
          <textarea id="set-department" rows={3} style={{ width: '100%' }} value={s.departmentContact} maxLength={1000} onChange={(e) => set('departmentContact', e.target.value)} />
          {radiologists.length === 0 ? (
            <p className="muted">There are no radiologist accounts yet: create them under Users.</p>
          ) : (
            <table data-testid="care-team-table" style={{ marginTop: 8 }}>
              <thead>
                <tr>
                  <th>Radiologist</th>
                  <th>Shown to patients</th>
                  <th>On duty (gets urgent messages)</th>
                </tr>
              </thead>
              <tbody>
                {radiologists.map((r) => (
                  <tr key={r.id}>
                    <td>
                      {r.displayName} <span className="muted">({r.username}{r.adminLocked ? ', locked' : ''})</span>
                    </td>
                    <td>
                      <input type="checkbox" aria-label={`Show ${r.displayName} to patients`} checked={s.careTeamUserIds.includes(r.id)} onChange={(e) => set('careTeamUserIds', toggle(s.careTeamUserIds, r.id, e.target.checked))} />
                    </td>
                    <td>
                      <input type="checkbox" aria-label={`${r.displayName} is on duty`} checked={s.onDutyUserIds.includes(r.id)} onChange={(e) => set('onDutyUserIds', toggle(s.onDutyUserIds, r.id, e.target.checked))} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p className="muted" role="note">
            {onDutyNames.length ? `Urgent messages are announced to ${onDutyNames.join(', ')}.` : 'Nobody is marked on duty, so urgent messages are announced to every radiologist.'} Every radiologist still sees them at the top of the inbox.
          </p>
        </fieldset>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {saved && (
          <p role="status" className="ok">
            Saved. Patients see the change the next time they open the page.
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="primary" data-testid="save-patient-pages">
            Save patient pages
          </button>
        </div>
      </form>
      <TipsEditor />
    </div>
  );
}
