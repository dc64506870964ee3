// The coordinator's side of the Federation page (admin): setup, the registered sites with their
// sample counts and epsilon, rounds with their state and gate, the buttons that decide (trigger
// aggregation, approve, reject, roll back), packages received (refused ones with their reasons),
// and the global model's information.
import { useState, type FormEvent } from 'react';
import type { DatasetSummary, FederationOverview, GlobalModel, RoundSummary } from '@contract/index';
import { api } from '../../api/client';
import { downloadText, fileToBase64, msg, pct } from './format';

type Coordinator = NonNullable<FederationOverview['coordinator']>;

function useAction(onChanged: () => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (f: () => Promise<unknown>): Promise<void> => {
    setError(null);
    setBusy(true);
    try {
      await f();
      onChanged();
    } catch (err) {
      setError(msg(err));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, run };
}

export function SetupPanel({ coordinator, datasets, onChanged }: { coordinator: Coordinator | null; datasets: DatasetSummary[]; onChanged: () => void }) {
  const [ref, setRef] = useState('');
  const [url, setUrl] = useState(coordinator?.publicUrl ?? '');
  const { error, busy, run } = useAction(onChanged);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void run(() => api.call('federation.setup', { referenceDatasetId: ref || datasets[0]!.id, ...(url.trim() ? { publicUrl: url.trim() } : {}) }));
  };
  return (
    <section className="research-panel" aria-labelledby="fed-setup-title">
      <h2 id="fed-setup-title">Coordinating site</h2>
      {coordinator ? (
        <dl className="fed-facts" data-testid="coordinator">
          <dt>Reference set</dt>
          <dd>{coordinator.referenceDataset} ({coordinator.referenceItems ?? '?'} images, never trained on)</dd>
          <dt>Address</dt>
          <dd>{coordinator.publicUrl ?? 'not set'}</dd>
          <dt>Certificate</dt>
          <dd><code>{coordinator.certificateFingerprint?.slice(0, 47)}…</code></dd>
          <dt>Global model</dt>
          <dd>{coordinator.global.modelId} {coordinator.global.version} (round {coordinator.global.round}){coordinator.global.activeClinically ? ', active for clinical use' : ''}</dd>
        </dl>
      ) : (
        <p className="muted">This workstation does not coordinate a federation.</p>
      )}
      <form className="research-row" onSubmit={submit}>
        <label>
          Reference set{' '}
          <select aria-label="Reference data set" value={ref} onChange={(e) => setRef(e.target.value)}>
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>{d.name} ({d.items})</option>
            ))}
          </select>
        </label>
        <input aria-label="Address sites use" placeholder="https://coordinator.example.org:8443" value={url} onChange={(e) => setUrl(e.target.value)} className="grow" />
        <button type="submit" disabled={busy || datasets.length === 0}>{coordinator ? 'Update setup' : 'Coordinate a federation'}</button>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}

export function SitesPanel({ overview, onChanged }: { overview: FederationOverview; onChanged: () => void }) {
  const [siteId, setSiteId] = useState('');
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const [enrolment, setEnrolment] = useState<{ site: string; text: string } | null>(null);
  const { error, busy, run } = useAction(onChanged);
  const register = (e: FormEvent): void => {
    e.preventDefault();
    void run(async () => {
      const r = await api.call('federation.registerSite', { siteId: siteId.trim(), name: name.trim() || siteId.trim(), publicKey: key.trim() });
      setEnrolment({ site: r.site.site, text: r.enrolment });
      setSiteId('');
      setName('');
      setKey('');
    });
  };
  return (
    <section className="research-panel" aria-labelledby="fed-sites-title">
      <h2 id="fed-sites-title">Sites</h2>
      <table className="research-table" data-testid="sites">
        <thead>
          <tr><th>Site</th><th>Name</th><th>Key</th><th>Status</th><th>Images (last round)</th><th>Privacy spent</th><th /></tr>
        </thead>
        <tbody>
          {overview.sites.map((s) => (
            <tr key={s.site}>
              <td>{s.site}</td>
              <td>{s.name}</td>
              <td><code>{s.keyFingerprint.slice(0, 12)}…</code></td>
              <td>{s.status}</td>
              <td>{s.samples ?? '–'}</td>
              <td data-testid={`epsilon-${s.site}`}>{s.epsilon === null ? 'no DP' : `ε ${s.epsilon.toFixed(3)} (δ ${s.delta})`}</td>
              <td>{s.status === 'active' ? <button type="button" disabled={busy} onClick={() => void run(() => api.call('federation.revokeSite', { siteId: s.site }))}>Revoke</button> : null}</td>
            </tr>
          ))}
          {overview.sites.length === 0 ? <tr><td colSpan={7} className="muted">No site registered.</td></tr> : null}
        </tbody>
      </table>
      <form className="research-row" onSubmit={register}>
        <input aria-label="New site id" placeholder="site id" value={siteId} onChange={(e) => setSiteId(e.target.value)} required />
        <input aria-label="Site name" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="Site public key" placeholder="the site's public key (base64)" value={key} onChange={(e) => setKey(e.target.value)} className="grow" required />
        <button type="submit" disabled={busy || !siteId.trim() || !key.trim()}>Register site</button>
      </form>
      {enrolment ? (
        <div className="fed-enrolment" data-testid="enrolment">
          <p>Enrolment for {enrolment.site}. It holds the site's token and is shown once: hand it over securely.</p>
          <textarea readOnly value={enrolment.text} rows={6} aria-label={`Enrolment for ${enrolment.site}`} />
          <button type="button" onClick={() => downloadText(`enrolment-${enrolment.site}.json`, 'application/json', enrolment.text)}>Download</button>
        </div>
      ) : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}

function gateLine(r: RoundSummary): string {
  if (!r.gate) return '–';
  return `${r.gate.passed ? 'passed' : 'failed'}: ${pct(r.gate.candidate.accuracy)} vs ${pct(r.gate.current.accuracy)}`;
}

export function RoundsPanel({ rounds, onChanged }: { rounds: RoundSummary[]; onChanged: () => void }) {
  const [rule, setRule] = useState<'fedavg' | 'median' | 'trimmed-mean'>('fedavg');
  const [quorum, setQuorum] = useState('2');
  const [activate, setActivate] = useState(false);
  const [detail, setDetail] = useState<number | null>(null);
  const { error, busy, run } = useAction(onChanged);
  const open = (e: FormEvent): void => {
    e.preventDefault();
    void run(() => api.call('federation.openRound', { settings: { rule, quorum: Number(quorum) || 1 } }));
  };
  const shown = rounds.find((r) => r.round === detail) ?? null;
  return (
    <section className="research-panel" aria-labelledby="fed-rounds-title">
      <h2 id="fed-rounds-title">Rounds</h2>
      <form className="research-row" onSubmit={open}>
        <label>
          Rule{' '}
          <select aria-label="Aggregation rule" value={rule} onChange={(e) => setRule(e.target.value as typeof rule)}>
            <option value="fedavg">FedAvg (weighted by images, capped)</option>
            <option value="median">Coordinate-wise median</option>
            <option value="trimmed-mean">Trimmed mean</option>
          </select>
        </label>
        <label>
          Quorum <input aria-label="Quorum" value={quorum} onChange={(e) => setQuorum(e.target.value)} size={3} inputMode="numeric" />
        </label>
        <button type="submit" disabled={busy}>Open round</button>
        <label className="check">
          <input type="checkbox" checked={activate} onChange={(e) => setActivate(e.target.checked)} /> Approve also activates for clinical use
        </label>
      </form>
      <table className="research-table" data-testid="rounds">
        <thead>
          <tr><th>Round</th><th>State</th><th>Parent</th><th>Rule</th><th>Sites (images)</th><th>Refused</th><th>Gate</th><th>Version</th><th /></tr>
        </thead>
        <tbody>
          {rounds.map((r) => (
            <tr key={r.round} data-round={r.round} data-state={r.state}>
              <td><button type="button" className="link" onClick={() => setDetail(r.round)}>{r.round}</button></td>
              <td>{r.state}</td>
              <td>{r.parent.modelId} {r.parent.version}</td>
              <td>{r.settings.rule}</td>
              <td>{r.sites.map((s) => `${s.site} (${s.samples}${s.status === 'outvoted' ? ', outvoted' : ''})`).join(', ') || '–'}</td>
              <td>{r.refused}</td>
              <td className={r.gate && !r.gate.passed ? 'error' : undefined}>{gateLine(r)}</td>
              <td>{r.model ? `${r.model.id} ${r.model.version}` : '–'}</td>
              <td className="fed-actions">
                {r.state === 'open' || r.state === 'evaluating' ? <button type="button" disabled={busy} onClick={() => void run(() => api.call('federation.aggregate', { round: r.round }))}>Trigger aggregation</button> : null}
                {r.state === 'candidate' ? <button type="button" className="primary" disabled={busy} onClick={() => void run(() => api.call('federation.approve', { round: r.round, activate }))}>Approve</button> : null}
                {['candidate', 'gate-failed', 'open', 'evaluating'].includes(r.state) ? <button type="button" disabled={busy} onClick={() => void run(() => api.call('federation.reject', { round: r.round, reason: 'Rejected by the coordinating admin.' }))}>Reject</button> : null}
                {r.state === 'approved' ? <button type="button" disabled={busy} onClick={() => void run(() => api.call('federation.rollback', { round: r.round }))}>Roll back</button> : null}
              </td>
            </tr>
          ))}
          {rounds.length === 0 ? <tr><td colSpan={9} className="muted">No round yet.</td></tr> : null}
        </tbody>
      </table>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {shown ? <RoundDetail r={shown} /> : null}
    </section>
  );
}

function RoundDetail({ r }: { r: RoundSummary }) {
  return (
    <div className="fed-round-detail" data-testid="round-detail" aria-label={`Round ${r.round} details`}>
      <h3>Round {r.round}: {r.state}</h3>
      {r.outvoted.length ? (
        <ul>
          {r.outvoted.map((o) => (
            <li key={o.site}>Outvoted {o.site}: {o.reason}</li>
          ))}
        </ul>
      ) : null}
      {r.gate ? (
        <>
          <p>
            Reference set: {r.gate.n} images. Candidate {pct(r.gate.candidate.accuracy)} against {pct(r.gate.current.accuracy)} for the current global (95% interval of the difference {(r.gate.accuracyDiff.lo * 100).toFixed(1)} to {(r.gate.accuracyDiff.hi * 100).toFixed(1)} points).
          </p>
          <ul data-testid="gate-checks">
            {r.gate.checks.map((c) => (
              <li key={c.name} className={c.passed ? 'ok' : 'error'}>{c.passed ? 'Pass' : 'Fail'} — {c.name}: {c.detail}</li>
            ))}
          </ul>
        </>
      ) : null}
      {r.note ? <p>{r.note}</p> : null}
    </div>
  );
}

export function PackagesPanel({ overview, onChanged }: { overview: FederationOverview; onChanged: () => void }) {
  const { error, busy, run } = useAction(onChanged);
  const refused = overview.packages.filter((p) => p.status === 'refused');
  const pick = (files: FileList | null): void => {
    const f = files?.[0];
    if (f) void run(async () => api.call('federation.importPackage', { base64: await fileToBase64(f) }));
  };
  return (
    <section className="research-panel" aria-labelledby="fed-packages-title">
      <h2 id="fed-packages-title">Packages received</h2>
      <div className="research-row">
        <label>
          Import a package file <input type="file" accept=".zip,application/zip" aria-label="Import a package file" disabled={busy} onChange={(e) => pick(e.target.files)} />
        </label>
      </div>
      <p>{overview.packages.length - refused.length} accepted, {refused.length} refused.</p>
      <table className="research-table" data-testid="refused">
        <thead>
          <tr><th>Received</th><th>Site</th><th>Round</th><th>Via</th><th>Reason refused</th></tr>
        </thead>
        <tbody>
          {refused.map((p) => (
            <tr key={p.id}>
              <td>{p.receivedAt.replace('T', ' ').slice(0, 19)}</td>
              <td>{p.site ?? '?'}</td>
              <td>{p.round ?? '?'}</td>
              <td>{p.via}</td>
              <td>{p.reason}</td>
            </tr>
          ))}
          {refused.length === 0 ? <tr><td colSpan={5} className="muted">No package refused.</td></tr> : null}
        </tbody>
      </table>
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}

export function GlobalModelPanel({ isAdmin, enrolled, onChanged }: { isAdmin: boolean; enrolled: boolean; onChanged: () => void }) {
  const [g, setG] = useState<GlobalModel | null>(null);
  const { error, busy, run } = useAction(onChanged);
  const fed = g?.federated as { parent?: { id: string; version: string }; sites?: { site: string; samples: number }[]; rule?: string } | null | undefined;
  return (
    <section className="research-panel" aria-labelledby="fed-global-title">
      <h2 id="fed-global-title">Global model</h2>
      <div className="research-row">
        <button type="button" disabled={busy} onClick={() => void run(async () => setG(await api.call('federation.globalModel', {})))}>View global model info</button>
        {isAdmin && enrolled ? <button type="button" disabled={busy} onClick={() => void run(async () => setG(await api.call('federation.pullGlobal', {})))} title="Download it, rebuild it from its parent here, check every hash, install it">Pull global model</button> : null}
      </div>
      {g ? (
        <dl className="fed-facts" data-testid="global-model">
          <dt>Model</dt>
          <dd>{g.modelId} {g.version}{g.activeClinically ? ' (active for clinical use)' : ''}</dd>
          <dt>Round</dt>
          <dd>{g.round === 0 ? 'the original model' : g.round}</dd>
          {fed?.parent ? (
            <>
              <dt>Parent</dt>
              <dd>{fed.parent.id} {fed.parent.version}</dd>
              <dt>Merged from</dt>
              <dd>{fed.rule}: {fed.sites?.map((s) => `${s.site} (${s.samples} images)`).join(', ')}</dd>
            </>
          ) : null}
          <dt>Card sha256</dt>
          <dd><code>{g.cardSha256}</code></dd>
          <dt>Head sha256</dt>
          <dd><code>{g.headSha256}</code></dd>
        </dl>
      ) : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}
