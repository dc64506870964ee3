// "Forgot password" the desktop way: an admin issues a one-time, time-limited code; the user
// enters it here with a new password.
import { useState, type FormEvent } from 'react';
import type { PasswordRules } from '@contract/index';
import { api } from '../../api/client';
import { ErrorLine, Field, messageOf, rulesText } from './forms';

export function RedeemResetCode(props: { rules: PasswordRules; onDone: () => void; onCancel: () => void }) {
  const [f, setF] = useState({ username: '', code: '', password: '', password2: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (f.password !== f.password2) return setError('The two passwords differ.');
    setBusy(true);
    setError(null);
    try {
      await api.call('auth.redeemResetCode', { username: f.username, code: f.code, newPassword: f.password });
      props.onDone();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="center-screen">
      <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="reset-title">
        <h1 id="reset-title">Set a new password</h1>
        <p className="muted">Enter the one-time code an administrator gave you. It works once and expires.</p>
        <Field label="Username" id="reset-username" autoComplete="username" required autoFocus value={f.username} onChange={set('username')} />
        <Field label="Reset code" id="reset-code" autoComplete="one-time-code" required value={f.code} onChange={set('code')} />
        <Field label="New password" id="reset-password" type="password" autoComplete="new-password" required value={f.password} onChange={set('password')} />
        <Field label="New password again" id="reset-password2" type="password" autoComplete="new-password" required value={f.password2} onChange={set('password2')} />
        <p className="muted">{rulesText(props.rules)}</p>
        <ErrorLine error={error} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Saving…' : 'Set password'}</button>
          <button type="button" onClick={props.onCancel}>Back to sign-in</button>
        </div>
      </form>
    </div>
  );
}
