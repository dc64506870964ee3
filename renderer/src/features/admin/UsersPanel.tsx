// Users: create an account (with a password, or a one-time code the user redeems), change a
// role, lock/unlock, issue a reset code and end a user's sessions. A patient account is linked to
// a patient record found by the hospital Patient ID or name (PatientPicker).
import { Fragment, useEffect, useState, type FormEvent } from 'react';
import { ROLES, ROLE_LABELS, type LinkedPatient, type PasswordRules, type PatientMatch, type ResetCode, type Role, type User } from '@contract/index';
import { api } from '../../api/client';
import { dicomDate, formatWhen, timeZoneName } from '../../app/format';
import { rulesText } from '../auth/forms';
import { PatientPicker, describePatient } from './PatientPicker';

/** The one-time code with a copy button and its expiry in an unambiguous date (ISO order, local time zone). */
function ShownCode({ username, code, onHide }: { username: string; code: ResetCode; onHide(): void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (): void => {
    const done = (): void => setCopied('Copied.');
    // The Clipboard API needs a secure context (the app and 127.0.0.1 are); select the text otherwise.
    if (!navigator.clipboard) {
      setCopied('Select the code and copy it by hand.');
      return;
    }
    navigator.clipboard.writeText(code.code).then(done, () => setCopied('Copying was refused: select the code and copy it by hand.'));
  };
  return (
    <div className="notice-block" role="status" data-testid="reset-code">
      One-time code for <strong>{username}</strong>: <code data-testid="reset-code-value">{code.code}</code>{' '}
      <button type="button" data-testid="reset-code-copy" onClick={copy} aria-label={`Copy the code for ${username}`}>
        Copy
      </button>{' '}
      {copied && <span data-testid="reset-code-copied">{copied} </span>}
      It works once, until <time dateTime={code.expiresAt} data-testid="reset-code-expiry">{formatWhen(code.expiresAt)}</time> ({timeZoneName()}), and is shown only now.{' '}
      <button type="button" className="btn-quiet" onClick={onHide}>Hide</button>
    </div>
  );
}

/** Inputs fill their grid cell, so the filter and form rows line up without overlapping. */
const FULL = { width: '100%' } as const;
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function UsersPanel() {
  const [users, setUsers] = useState<User[]>([]);
  const [linked, setLinked] = useState<Record<string, LinkedPatient>>({});
  const [rules, setRules] = useState<PasswordRules | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [shownCode, setShownCode] = useState<{ username: string; code: ResetCode } | null>(null);
  const [form, setForm] = useState({ username: '', displayName: '', role: 'radiologist' as Role, patient: null as PatientMatch | null, password: '' });
  /** Counts created accounts, so the form's patient search starts empty for the next one. */
  const [created, setCreated] = useState(0);
  /** The account whose patient link is being chosen (a role change to patient, or a new link). */
  const [linking, setLinking] = useState<{ user: User; patient: PatientMatch | null } | null>(null);

  const load = (): void =>
    void api.call('users.list', {}).then(
      (r) => {
        setUsers(r.users);
        setLinked(r.patients);
      },
      (e: unknown) => setError(msg(e)),
    );
  useEffect(load, []);
  // The rules are shown beside the password field before anyone types, not only after a refusal.
  useEffect(() => void api.call('auth.me', {}).then((r) => setRules(r.passwordRules), () => undefined), []);

  const act = async (fn: () => Promise<unknown>, done: string): Promise<void> => {
    setError(null);
    setInfo(null);
    try {
      await fn();
      setInfo(done);
      load();
    } catch (e) {
      setError(msg(e));
    }
  };

  const create = (e: FormEvent): void => {
    e.preventDefault();
    if (form.role === 'patient' && !form.patient) {
      setInfo(null);
      setError('Find and choose the patient record this account is for.');
      return;
    }
    void act(async () => {
      const r = await api.call('users.create', {
        username: form.username,
        displayName: form.displayName || form.username,
        role: form.role,
        ...(form.role === 'patient' && form.patient ? { patientId: form.patient.id } : {}),
        ...(form.password ? { password: form.password } : {}),
      });
      if (r.resetCode) setShownCode({ username: r.user.username, code: r.resetCode });
      setForm({ username: '', displayName: '', role: form.role, patient: null, password: '' });
      setCreated((n) => n + 1);
    }, `Account ${form.username} created.`);
  };

  const link = (user: User, patient: PatientMatch): void => {
    setLinking(null);
    void act(
      () => api.call('users.update', { id: user.id, role: 'patient', patientId: patient.id }),
      user.role === 'patient' ? `${user.username} is now linked to ${describePatient(patient)}.` : `${user.username} is now ${ROLE_LABELS.patient}, linked to ${describePatient(patient)}.`,
    );
  };

  return (
    <div>
      {error && <p role="alert" className="error" data-testid="users-error">{error}</p>}
      {info && <p role="status" className="ok">{info}</p>}
      {shownCode && <ShownCode username={shownCode.username} code={shownCode.code} onHide={() => setShownCode(null)} />}
      <h2>Accounts</h2>
      <table data-testid="users-table">
        <thead>
          <tr><th>Username</th><th>Name</th><th>Role</th><th>Patient record</th><th>State</th><th>Actions</th></tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <Fragment key={u.id}>
              <tr data-username={u.username}>
                <td>{u.username}</td>
                <td>{u.displayName}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.username}`}
                    value={u.role}
                    onChange={(e) => {
                      const role = e.target.value as Role;
                      // A patient account needs its record first: the link row below asks for it.
                      if (role === 'patient') {
                        setLinking({ user: u, patient: null });
                        return;
                      }
                      void act(() => api.call('users.update', { id: u.id, role, patientId: null }), `${u.username} is now ${ROLE_LABELS[role]}.`);
                    }}
                  >
                    {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
                  </select>
                </td>
                <td data-testid="user-patient">
                  {u.patientId ? (
                    linked[u.patientId] ? (
                      <>
                        {linked[u.patientId]!.displayName}
                        <span className="muted">
                          {' '}
                          (Patient ID {linked[u.patientId]!.dicomPatientId ?? 'none'}, born {dicomDate(linked[u.patientId]!.birthDate) || 'unknown'})
                        </span>
                      </>
                    ) : (
                      <span className="error">The linked record no longer exists: choose another.</span>
                    )
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                <td>
                  {u.adminLocked ? 'Locked' : u.lockedUntil ? `Locked out until ${formatWhen(u.lockedUntil)}` : u.hasPassword ? 'Active' : 'Waiting for first password'}
                  {u.totpEnabled ? ' · TOTP' : ''}
                </td>
                <td style={{ display: 'flex', gap: 4, flexWrap: 'wrap' }}>
                  {u.adminLocked || u.lockedUntil ? (
                    <button type="button" onClick={() => void act(() => api.call('users.unlock', { id: u.id }), `${u.username} unlocked.`)}>Unlock</button>
                  ) : (
                    <button type="button" className="danger" onClick={() => void act(() => api.call('users.lock', { id: u.id }), `${u.username} locked.`)}>Lock</button>
                  )}
                  <button type="button" onClick={() => void act(async () => setShownCode({ username: u.username, code: await api.call('users.issueResetCode', { id: u.id }) }), `Reset code issued for ${u.username}.`)}>
                    Reset code
                  </button>
                  <button type="button" onClick={() => void act(async () => { const r = await api.call('users.forceLogout', { id: u.id }); setInfo(`${r.sessionsEnded} session(s) ended.`); }, `Sessions of ${u.username} ended.`)}>
                    Force logout
                  </button>
                  {u.totpEnabled && (
                    <button type="button" onClick={() => void act(() => api.call('users.update', { id: u.id, disableTotp: true }), `Two-step sign-in turned off for ${u.username}.`)}>Turn off TOTP</button>
                  )}
                  {u.role === 'patient' && (
                    <button type="button" onClick={() => setLinking({ user: u, patient: null })}>Change patient record</button>
                  )}
                </td>
              </tr>
              {linking?.user.id === u.id && (
                <tr data-testid="link-patient-row">
                  <td colSpan={6}>
                    <p style={{ margin: '0 0 4px' }}>
                      {u.role === 'patient' ? `Link ${u.username} to another patient record:` : `To make ${u.username} a patient account, choose the patient record it is for:`}
                    </p>
                    <PatientPicker idPrefix={`link-${u.id}`} value={linking.patient} onChange={(p) => setLinking({ user: u, patient: p })} />
                    <div className="form-actions">
                      <button type="button" className="primary" disabled={!linking.patient} onClick={() => linking.patient && link(u, linking.patient)}>
                        Link patient record
                      </button>
                      <button type="button" onClick={() => setLinking(null)}>Cancel</button>
                    </div>
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>

      <h2>New account</h2>
      <form onSubmit={create} style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(180px, 1fr))', gap: 8, alignItems: 'end' }} aria-label="New account">
        <div><label htmlFor="new-username">Username</label><input style={FULL} id="new-username" required value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} /></div>
        <div><label htmlFor="new-display-name">Display name</label><input style={FULL} id="new-display-name" value={form.displayName} onChange={(e) => setForm({ ...form, displayName: e.target.value })} /></div>
        <div>
          <label htmlFor="new-role">Role</label>
          <select style={FULL} id="new-role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
          </select>
        </div>
        {form.role === 'patient' && (
          <div style={{ gridColumn: '1 / -1' }}>
            <PatientPicker key={created} idPrefix="new" value={form.patient} onChange={(patient) => setForm({ ...form, patient })} />
          </div>
        )}
        <div>
          <label htmlFor="new-password">Password (empty: issue a one-time code)</label>
          <input style={FULL} id="new-password" type="password" autoComplete="new-password" aria-describedby="new-password-rules" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        </div>
        <p id="new-password-rules" className="muted" data-testid="new-password-rules" style={{ gridColumn: '1 / -1', margin: 0 }}>
          {rules ? rulesText(rules) : 'Loading the password rules…'}
        </p>
        <div><button type="submit" className="primary">Create account</button></div>
      </form>
    </div>
  );
}
