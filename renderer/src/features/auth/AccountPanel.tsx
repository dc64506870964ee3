// The signed-in user's own account: change password and the TOTP second factor (enrol with a QR
// code, confirm with a code, turn off with the password). Any role may use it.
import { useEffect, useState, type FormEvent } from 'react';
import type { PasswordRules, User } from '@contract/index';
import { api } from '../../api/client';
import { ErrorLine, Field, messageOf, rulesText } from './forms';

export function AccountPanel() {
  const [me, setMe] = useState<User | null>(null);
  const [rules, setRules] = useState<PasswordRules | null>(null);
  const [enrol, setEnrol] = useState<{ secret: string; qrDataUrl: string } | null>(null);
  const [code, setCode] = useState('');
  const [pw, setPw] = useState({ current: '', next: '', next2: '', disable: '' });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = (): void =>
    void api.call('auth.me', {}).then(
      (r) => {
        setMe(r.user);
        setRules(r.passwordRules);
      },
      (e: Error) => setError(e.message),
    );
  useEffect(load, []);

  const run = async (fn: () => Promise<unknown>, message: string): Promise<void> => {
    setError(null);
    setDone(null);
    try {
      await fn();
      setDone(message);
      load();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const changePassword = (e: FormEvent): void => {
    e.preventDefault();
    if (pw.next !== pw.next2) return setError('The two new passwords differ.');
    void run(() => api.call('auth.changePassword', { currentPassword: pw.current, newPassword: pw.next }), 'Your password is changed.').then(() => setPw({ current: '', next: '', next2: '', disable: '' }));
  };

  return (
    <section aria-labelledby="account-title">
      <h2 id="account-title">My account</h2>
      {me && <p className="muted">Signed in as {me.username}. Two-step sign-in is {me.totpEnabled ? 'on' : 'off'}.</p>}
      <ErrorLine error={error} />
      {done && <p className="ok" role="status">{done}</p>}
      <form onSubmit={changePassword} style={{ maxWidth: 360 }}>
        <h3>Change password</h3>
        <Field label="Current password" id="acct-current" type="password" autoComplete="current-password" required value={pw.current} onChange={(e) => setPw({ ...pw, current: e.target.value })} />
        {rules && <p className="muted" id="acct-rules" data-testid="account-password-rules">{rulesText(rules)}</p>}
        <Field label="New password" id="acct-new" type="password" autoComplete="new-password" required aria-describedby="acct-rules" value={pw.next} onChange={(e) => setPw({ ...pw, next: e.target.value })} />
        <Field label="New password again" id="acct-new2" type="password" autoComplete="new-password" required value={pw.next2} onChange={(e) => setPw({ ...pw, next2: e.target.value })} />
        <div className="form-actions"><button type="submit">Change password</button></div>
      </form>
      <h3>Two-step sign-in (authenticator app)</h3>
      {me && !me.totpEnabled && !enrol && (
        <button type="button" onClick={() => void run(async () => setEnrol(await api.call('auth.totpBegin', {})), 'Scan the QR code, then enter the code it shows.')}>
          Set up an authenticator
        </button>
      )}
      {enrol && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.call('auth.totpConfirm', { code }), 'Two-step sign-in is on.').then(() => {
              setEnrol(null);
              setCode('');
            });
          }}
          style={{ maxWidth: 360 }}
        >
          <img src={enrol.qrDataUrl} alt="QR code for the authenticator app" width={240} height={240} data-testid="totp-qr" />
          <p className="muted">Or type this key: <code>{enrol.secret}</code></p>
          <Field label="Code from the app" id="totp-code" inputMode="numeric" pattern="\d{6}" required value={code} onChange={(e) => setCode(e.target.value.trim())} />
          <div className="form-actions"><button type="submit" className="primary">Turn on</button></div>
        </form>
      )}
      {me?.totpEnabled && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.call('auth.totpDisable', { password: pw.disable }), 'Two-step sign-in is off.').then(() => setPw({ ...pw, disable: '' }));
          }}
          style={{ maxWidth: 360 }}
        >
          <Field label="Your password, to turn it off" id="totp-disable-password" type="password" required value={pw.disable} onChange={(e) => setPw({ ...pw, disable: e.target.value })} />
          <div className="form-actions"><button type="submit" className="danger">Turn off two-step sign-in</button></div>
        </form>
      )}
    </section>
  );
}
