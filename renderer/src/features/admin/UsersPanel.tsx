// Users: create an account (with a password, or a one-time code the user redeems), change a
// role, lock/unlock, issue a reset code and end a user's sessions.
import { useEffect, useState, type FormEvent } from 'react';
import { ROLES, ROLE_LABELS, type ResetCode, type Role, type User } from '@contract/index';
import { api } from '../../api/client';

/** Inputs fill their grid cell, so the filter and form rows line up without overlapping. */
const FULL = { width: '100%' } as const;
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function UsersPanel() {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [shownCode, setShownCode] = useState<{ username: string; code: ResetCode } | null>(null);
  const [form, setForm] = useState({ username: '', displayName: '', role: 'radiologist' as Role, patientId: '', password: '' });

  const load = (): void => void api.call('users.list', {}).then((r) => setUsers(r.users), (e: unknown) => setError(msg(e)));
  useEffect(load, []);

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
    void act(async () => {
      const r = await api.call('users.create', {
        username: form.username,
        displayName: form.displayName || form.username,
        role: form.role,
        ...(form.role === 'patient' ? { patientId: form.patientId } : {}),
        ...(form.password ? { password: form.password } : {}),
      });
      if (r.resetCode) setShownCode({ username: r.user.username, code: r.resetCode });
      setForm({ username: '', displayName: '', role: form.role, patientId: '', password: '' });
    }, `Account ${form.username} created.`);
  };

  return (
    <div>
      {error && <p role="alert" className="error" data-testid="users-error">{error}</p>}
      {info && <p role="status" className="ok">{info}</p>}
      {shownCode && (
        <div className="notice-block" role="status" data-testid="reset-code">
          One-time code for <strong>{shownCode.username}</strong>: <code data-testid="reset-code-value">{shownCode.code.code}</code> (valid until{' '}
          {new Date(shownCode.code.expiresAt).toLocaleString()}, once). It is shown only now.{' '}
          <button type="button" className="btn-quiet" onClick={() => setShownCode(null)}>Hide</button>
        </div>
      )}
      <h2>Accounts</h2>
      <table data-testid="users-table">
        <thead>
          <tr><th>Username</th><th>Name</th><th>Role</th><th>State</th><th>Actions</th></tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-username={u.username}>
              <td>{u.username}</td>
              <td>{u.displayName}</td>
              <td>
                <select
                  aria-label={`Role of ${u.username}`}
                  value={u.role}
                  onChange={(e) => {
                    const role = e.target.value as Role;
                    const patientId = role === 'patient' ? window.prompt('Patient record id to link this account to:') : null;
                    if (role === 'patient' && !patientId) return;
                    void act(() => api.call('users.update', { id: u.id, role, patientId: role === 'patient' ? patientId : null }), `${u.username} is now ${ROLE_LABELS[role]}.`);
                  }}
                >
                  {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
                </select>
              </td>
              <td>
                {u.adminLocked ? 'Locked' : u.lockedUntil ? `Locked out until ${new Date(u.lockedUntil).toLocaleTimeString()}` : u.hasPassword ? 'Active' : 'Waiting for first password'}
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
              </td>
            </tr>
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
          <div><label htmlFor="new-patient-id">Patient record id</label><input style={FULL} id="new-patient-id" required value={form.patientId} onChange={(e) => setForm({ ...form, patientId: e.target.value })} /></div>
        )}
        <div>
          <label htmlFor="new-password">Password (empty: issue a one-time code)</label>
          <input style={FULL} id="new-password" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
        </div>
        <div><button type="submit" className="primary">Create account</button></div>
      </form>
    </div>
  );
}
