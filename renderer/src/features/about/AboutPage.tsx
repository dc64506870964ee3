// About this workstation: version, data folder, runtimes and database state, straight from
// system.info. Patients see only the version and the not-a-medical-device notice.
import { useEffect, useState } from 'react';
import type { SystemInfo } from '@contract/index';
import { api } from '../../api/client';
import { useSession } from '../../app/session';

export function AboutPage() {
  const { user } = useSession();
  const [info, setInfo] = useState<SystemInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (user.role === 'patient') return;
    api.call('system.info', {}).then(setInfo, (e: Error) => setError(e.message));
  }, [user.role]);

  return (
    <section className="page" aria-labelledby="about-title">
      <h1 id="about-title">About this workstation</h1>
      <p className="notice-block" role="note">
        TumorPredict Workstation is not a medical device. Its AI findings are research demonstrations and must be reviewed
        by a qualified radiologist.
      </p>
      {error && <p role="alert" className="error">{error}</p>}
      {info && (
        <dl className="facts" data-testid="system-info">
          <dt>Version</dt>
          <dd data-testid="app-version">{info.appVersion}</dd>
          <dt>Running in</dt>
          <dd>{info.transport === 'electron' ? `Electron ${info.electronVersion ?? ''}` : `headless host (Node ${info.nodeVersion})`}</dd>
          <dt>Data folder</dt>
          <dd>{info.dataFolder}</dd>
          <dt>Database</dt>
          <dd data-testid="db-state">
            {info.database.unlocked ? 'unlocked' : 'locked'}, {info.database.encrypted ? 'encrypted' : 'not encrypted'}
            {info.database.keySource ? `, key from the ${info.database.keySource}` : ''}
          </dd>
          <dt>GPU</dt>
          <dd>{info.gpu.found ? info.gpu.detail : 'none (CPU inference)'}</dd>
          <dt>AI runtimes</dt>
          <dd>
            <ul className="runtime-list" data-testid="runtimes">
              {info.runtimes.map((r) => (
                <li key={r.name}>
                  <strong>{r.name}</strong>: {r.available ? `available (${r.device})` : 'not available'}
                  {r.name === info.activeRuntime ? ' · in use' : ''}
                  {r.reason ? <span className="muted"> {r.reason}</span> : null}
                </li>
              ))}
            </ul>
          </dd>
        </dl>
      )}
    </section>
  );
}
