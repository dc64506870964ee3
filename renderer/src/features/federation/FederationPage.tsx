// The Federation page: this workstation as a site (identity, enrolment, local training with
// progress and cancel, its packages: upload weights or export) and, for the admin of the
// coordinating site, the federation it runs (setup, sites with sample counts and epsilon, rounds
// with their state and gate, the per-round plot, refused packages with reasons, trigger
// aggregation, approve, reject, roll back). The global model's information for everyone here.
import { useCallback, useEffect, useState } from 'react';
import type { DatasetSummary, FederationOverview } from '@contract/index';
import { api } from '../../api/client';
import { useSession } from '../../app/session';
import { GlobalModelPanel, PackagesPanel, RoundsPanel, SetupPanel, SitesPanel } from './CoordinatorPanels';
import { RoundsChart } from './RoundsChart';
import { OutboxPanel, SiteIdentityPanel, TrainingPanel } from './SitePanels';
import { msg } from './format';
import '../research/research.css';
import './federation.css';

export function FederationPage() {
  const { user } = useSession();
  const isAdmin = user.role === 'admin';
  const [overview, setOverview] = useState<FederationOverview | null>(null);
  const [datasets, setDatasets] = useState<DatasetSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback((): void => {
    void Promise.all([api.call('federation.overview', {}), api.call('datasets.list', {})]).then(
      ([o, d]) => {
        setOverview(o);
        setDatasets(d.datasets);
        setError(null);
      },
      (e: unknown) => setError(msg(e)),
    );
  }, []);
  useEffect(load, [load]);
  // Rounds move on by themselves at the coordinator (quorum, deadline): refresh while one is live.
  const live = overview?.rounds.some((r) => r.state === 'open' || r.state === 'evaluating') ?? false;
  useEffect(() => {
    if (!live) return;
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [live, load]);
  const enrolled = overview?.site?.enrolled ?? false;
  return (
    <section className="page research federation" aria-labelledby="federation-title">
      <h1 id="federation-title" tabIndex={-1}>Federation</h1>
      <p className="notice-block">Federated learning of the classification head: images never leave a site; only signed head weights travel. A new global model is a candidate until an admin approves it. Research use only. Not a medical device.</p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {overview ? (
        <>
          <SiteIdentityPanel site={overview.site} isAdmin={isAdmin} onChanged={load} />
          {overview.site ? <TrainingPanel datasets={datasets} enrolled={enrolled} onChanged={load} /> : null}
          {overview.site ? <OutboxPanel outbox={overview.outbox} enrolled={enrolled} onChanged={load} /> : null}
          <GlobalModelPanel isAdmin={isAdmin} enrolled={enrolled} onChanged={load} />
          {isAdmin ? <SetupPanel coordinator={overview.coordinator} datasets={datasets} onChanged={load} /> : null}
          {isAdmin && overview.coordinator ? (
            <>
              <SitesPanel overview={overview} onChanged={load} />
              <RoundsPanel rounds={overview.rounds} onChanged={load} />
              <RoundsChart rounds={overview.rounds} />
              <PackagesPanel overview={overview} onChanged={load} />
            </>
          ) : null}
        </>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </section>
  );
}
