// First-run setup: the first admin account (no default account or password exists anywhere)
// and, in passphrase mode, the database passphrase.
import { useState, type FormEvent } from 'react';
import type { SetupStatus, User } from '@contract/index';
import { api } from '../../api/client';
import { ErrorLine, Field, messageOf, rulesText } from './forms';

export function FirstRunSetup(props: { status: SetupStatus; onDone: (u: User) => void }) {
  const needsPassphrase = !props.status.databaseUnlocked && props.status.needsPassphrase === 'create';
  const [f, setF] = useState({ username: '', displayName: '', password: '', password2: '', passphrase: '', passphrase2: '' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (f.password !== f.password2) return setError('The two passwords differ.');
    if (needsPassphrase && f.passphrase !== f.passphrase2) return setError('The two database passphrases differ.');
    setBusy(true);
    setError(null);
    try {
      const r = await api.call('auth.createFirstAdmin', {
        username: f.username,
        displayName: f.displayName || f.username,
        password: f.password,
        ...(needsPassphrase ? { passphrase: f.passphrase } : {}),
      });
      props.onDone(r.user);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="center-screen">
      <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="setup-title">
        <h1 id="setup-title">First-run setup</h1>
        <p className="muted">Create the administrator account. There is no default account or password.</p>
        <p className="muted" data-testid="key-mode">{props.status.modeStatement}</p>
        <Field label="Username" id="setup-username" autoComplete="username" required value={f.username} onChange={set('username')} autoFocus />
        <Field label="Display name" id="setup-display-name" value={f.displayName} onChange={set('displayName')} />
        <Field label="Password" id="setup-password" type="password" autoComplete="new-password" required value={f.password} onChange={set('password')} />
        <Field label="Password again" id="setup-password2" type="password" autoComplete="new-password" required value={f.password2} onChange={set('password2')} />
        <p className="muted">{rulesText(props.status.passwordRules)}</p>
        {needsPassphrase && (
          <>
            <p className="notice-block">
              No OS keychain is available, so the database is encrypted with a passphrase. Keep it safe: without it the data cannot be
              opened, and nobody can recover it.
            </p>
            <Field label="Database passphrase" id="setup-passphrase" type="password" autoComplete="new-password" required minLength={props.status.minPassphraseLength} value={f.passphrase} onChange={set('passphrase')} />
            <Field label="Database passphrase again" id="setup-passphrase2" type="password" autoComplete="new-password" required value={f.passphrase2} onChange={set('passphrase2')} />
          </>
        )}
        <ErrorLine error={error} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create admin and sign in'}
          </button>
        </div>
      </form>
    </div>
  );
}
