// The root: asks the main process whether it is ready, then hands over to the auth gate
// (first-run setup, sign-in), which renders the frame once someone is signed in.
import { useEffect, useState } from 'react';
import type { SystemHealth } from '@contract/index';
import { api } from '../api/client';
import { AuthGate } from '../features/auth/AuthGate';
import { AppFrame } from './AppFrame';

export function App() {
  const [health, setHealth] = useState<SystemHealth | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = (): void => {
    api.call('system.health', {}).then(
      (h) => {
        setHealth(h);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  };
  useEffect(refresh, []);

  if (error) {
    return (
      <div className="center-screen" role="alert">
        <h1>Cannot reach the workstation</h1>
        <p>{error}</p>
      </div>
    );
  }
  if (!health) return <div className="center-screen" aria-busy="true">Starting…</div>;
  return (
    <AuthGate health={health} onHealthChange={refresh}>
      <AppFrame />
    </AuthGate>
  );
}
