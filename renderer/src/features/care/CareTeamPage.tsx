// My care team: the radiologists and the department contact the hospital chose to show, and the
// way to reach them (Messages) or, in an emergency, the emergency page.
import { useEffect, useState } from 'react';
import type { CareInfo } from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import './care.css';

export function useCareInfo(): { info: CareInfo | null; error: string | null } {
  const [info, setInfo] = useState<CareInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.call('care.info', {}).then(setInfo, (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  return { info, error };
}

export function CareTeamPage() {
  const { info, error } = useCareInfo();
  const navigation = useNavigation();
  return (
    <section className="page care-page" aria-labelledby="care-title" aria-busy={!info && !error}>
      <h1 id="care-title">My care team</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {info && (
        <>
          <div className="care-card">
            <h2>Your radiologists</h2>
            {info.team.length ? (
              <ul className="team-list" data-testid="care-team">
                {info.team.map((m) => (
                  <li key={m.name}>
                    <strong>{m.name}</strong> · {m.role}
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted" data-testid="care-team-empty">
                Your hospital has not listed the team here yet. Your messages still reach the radiologists who read your scans.
              </p>
            )}
          </div>
          <div className="care-card">
            <h2>Department</h2>
            {info.department ? <p className="pre-lines" data-testid="care-department">{info.department}</p> : <p className="muted">Ask at the front desk for the department's phone number and opening hours.</p>}
            <p>
              <button type="button" onClick={() => navigation.go('messages')}>
                Write to your care team
              </button>{' '}
              <button type="button" className="danger" onClick={() => navigation.go('emergency')}>
                Emergency help
              </button>
            </p>
          </div>
        </>
      )}
    </section>
  );
}
