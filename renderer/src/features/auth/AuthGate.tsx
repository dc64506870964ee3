// Placeholder gate until the accounts issue lands: it shows what the database says and
// renders nothing of the frame, because no one can sign in yet. The accounts work replaces
// this file with first-run setup, sign-in, reset-code and TOTP flows.
import type { ReactNode } from 'react';
import type { SystemHealth } from '@contract/index';

export function AuthGate(props: { health: SystemHealth; onHealthChange: () => void; children: ReactNode }) {
  return (
    <div className="center-screen">
      <h1>TumorPredict Workstation</h1>
      <p>Sign-in is not available yet.</p>
      <ul>
        {props.health.problems.map((p) => (
          <li key={p}>{p}</li>
        ))}
      </ul>
    </div>
  );
}
