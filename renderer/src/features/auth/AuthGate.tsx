// The gate in front of the frame: unlocks a passphrase-mode database, runs first-run setup
// (the first admin), signs people in (with lockout messages, TOTP and reset codes), and ends
// the frame when the session ends (idle timeout, forced logout, role change).
import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { WorkstationError, type SetupStatus, type SystemHealth, type User } from '@contract/index';
import { api } from '../../api/client';
import { SessionContext, type SessionValue } from '../../app/session';
import { FirstRunSetup } from './FirstRunSetup';
import { LoginForm } from './LoginForm';
import { RedeemResetCode } from './RedeemResetCode';
import { UnlockDatabase } from './UnlockDatabase';

/** How often the gate asks whether the session is still alive (idle timeout, forced logout). */
const SESSION_CHECK_MS = 30_000;

export function AuthGate(props: { health: SystemHealth; onHealthChange: () => void; children: ReactNode }) {
  const [status, setStatus] = useState<SetupStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [user, setUser] = useState<User | null>(null);
  const [screen, setScreen] = useState<'login' | 'reset'>('login');
  const [notice, setNotice] = useState<string | null>(null);

  const refresh = useCallback((): void => {
    api.call('auth.setupStatus', {}).then(
      (s) => {
        setStatus(s);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  useEffect(refresh, [refresh]);

  const signedIn = useCallback(
    (u: User): void => {
      setUser(u);
      setNotice(null);
      props.onHealthChange();
    },
    [props],
  );

  // While signed in, notice when the main process ended the session.
  useEffect(() => {
    if (!user) return;
    const timer = setInterval(() => {
      api.call('auth.me', {}).catch((e: unknown) => {
        if (e instanceof WorkstationError && e.code === 'UNAUTHENTICATED') {
          setUser(null);
          setNotice('Your session ended (idle too long, or ended by an administrator). Please sign in again.');
        }
      });
    }, SESSION_CHECK_MS);
    return () => clearInterval(timer);
  }, [user]);

  const session = useMemo<SessionValue | null>(
    () =>
      user && {
        user: { userId: user.id, username: user.username, displayName: user.displayName, role: user.role },
        async signOut() {
          await api.call('auth.logout', {}).catch(() => undefined);
          setUser(null);
          setNotice('You are signed out.');
          refresh();
        },
      },
    [user, refresh],
  );

  if (session) return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
  if (error) {
    return (
      <div className="center-screen" role="alert">
        <h1>TumorPredict Workstation</h1>
        <p className="error">{error}</p>
      </div>
    );
  }
  if (!status) return <div className="center-screen" aria-busy="true">Checking the database…</div>;

  if (!status.databaseUnlocked && status.needsPassphrase === 'unlock') return <UnlockDatabase status={status} onUnlocked={refresh} />;
  if ((!status.databaseUnlocked && status.needsPassphrase === 'create') || (status.databaseUnlocked && !status.adminExists)) {
    return <FirstRunSetup status={status} onDone={signedIn} />;
  }
  if (!status.databaseUnlocked) {
    return (
      <div className="center-screen">
        <div className="card" role="alert">
          <h1>The database is not available</h1>
          <p className="error" data-testid="database-problem">{status.problem ?? 'The database could not be opened.'}</p>
          <p className="muted">{status.modeStatement}</p>
          <div className="form-actions">
            <button type="button" onClick={refresh}>Check again</button>
          </div>
        </div>
      </div>
    );
  }
  if (screen === 'reset') {
    return (
      <RedeemResetCode
        rules={status.passwordRules}
        onDone={() => {
          setScreen('login');
          setNotice('Your new password is set. Sign in with it.');
        }}
        onCancel={() => setScreen('login')}
      />
    );
  }
  return <LoginForm notice={notice} onSignedIn={signedIn} onResetCode={() => setScreen('reset')} />;
}
