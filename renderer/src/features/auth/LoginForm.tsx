// Sign-in: username and password, then the authenticator code when the account has TOTP.
// Lockout and wrong-password messages come from the main process as they are.
import { useState, type FormEvent } from 'react';
import type { User } from '@contract/index';
import { api } from '../../api/client';
import { ErrorLine, Field, messageOf } from './forms';

export function LoginForm(props: { notice: string | null; onSignedIn: (u: User) => void; onResetCode: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totpCode, setTotpCode] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.call('auth.login', { username, password, ...(needTotp ? { totpCode } : {}) });
      if (r.totpRequired || !r.user) {
        setNeedTotp(true);
        return;
      }
      setPassword('');
      props.onSignedIn(r.user);
    } catch (err) {
      setError(messageOf(err));
      setTotpCode('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="center-screen">
      <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">Sign in</h1>
        {props.notice && <p className="muted" role="status">{props.notice}</p>}
        <Field label="Username" id="login-username" autoComplete="username" required autoFocus value={username} onChange={(e) => setUsername(e.target.value)} disabled={needTotp} />
        <Field label="Password" id="login-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} disabled={needTotp} />
        {needTotp && (
          <Field label="Authenticator code" id="login-totp" inputMode="numeric" autoComplete="one-time-code" pattern="\d{6}" required autoFocus value={totpCode} onChange={(e) => setTotpCode(e.target.value.trim())} />
        )}
        <ErrorLine error={error} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
          {needTotp ? (
            <button type="button" onClick={() => { setNeedTotp(false); setTotpCode(''); setPassword(''); }}>Back</button>
          ) : (
            <button type="button" className="btn-quiet" onClick={props.onResetCode} title="Forgot your password? An admin gives you a one-time reset code.">
              I have a reset code
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
