// The site's side of the Federation page: its identity and enrolment, local training of the head
// on one of its data sets (progress bar, cancel), and the update packages it built, each uploaded
// to the coordinator ("Upload weights") or exported as a file.
import { useEffect, useState, type FormEvent } from 'react';
import { FEDERATION_PROGRESS_EVENT, type DatasetSummary, type FederationOverview, type LocalPackage, type TrainingProgress } from '@contract/index';
import { api } from '../../api/client';
import { downloadBase64, msg, pct } from './format';

type Site = NonNullable<FederationOverview['site']>;

export function SiteIdentityPanel({ site, isAdmin, onChanged }: { site: Site | null; isAdmin: boolean; onChanged: () => void }) {
  const [siteId, setSiteId] = useState('');
  const [enrolment, setEnrolment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const act = async (e: FormEvent, f: () => Promise<unknown>): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      await f();
      onChanged();
    } catch (err) {
      setError(msg(err));
    }
  };
  return (
    <section className="research-panel" aria-labelledby="fed-site-title">
      <h2 id="fed-site-title">This site</h2>
      {site ? (
        <dl className="fed-facts" data-testid="site-identity">
          <dt>Site id</dt>
          <dd>{site.siteId}</dd>
          <dt>Public key</dt>
          <dd>
            <code className="wrap" data-testid="site-public-key">{site.publicKey}</code>
          </dd>
          <dt>Key fingerprint</dt>
          <dd><code>{site.keyFingerprint.slice(0, 32)}…</code> (private key kept in the {site.secretsIn})</dd>
          <dt>Coordinator</dt>
          <dd>{site.enrolled ? site.coordinatorUrl : 'not enrolled (packages can still be exported as files)'}</dd>
          <dt>Privacy spent</dt>
          <dd data-testid="site-epsilon">{site.epsilon === null ? 'no DP training yet' : `ε = ${site.epsilon.toFixed(3)} at δ = ${site.delta} (all rounds, RDP accountant)`}</dd>
        </dl>
      ) : (
        <p className="muted">This workstation is not a federation site yet.</p>
      )}
      {isAdmin && !site ? (
        <form className="research-row" onSubmit={(e) => void act(e, () => api.call('federation.createIdentity', { siteId: siteId.trim() }))}>
          <input aria-label="Site id" placeholder="site id, e.g. north-hospital" value={siteId} onChange={(e) => setSiteId(e.target.value)} required />
          <button type="submit" className="primary" disabled={!siteId.trim()} title="Make an Ed25519 key pair for this site (Enter)">Create site identity</button>
        </form>
      ) : null}
      {isAdmin && site ? (
        <form className="research-row" onSubmit={(e) => void act(e, () => api.call('federation.enrol', { enrolment }))}>
          <textarea aria-label="Enrolment from the coordinator" placeholder="Paste the enrolment the coordinating site's admin gave (it holds this site's token)" value={enrolment} onChange={(e) => setEnrolment(e.target.value)} rows={3} className="grow" />
          <button type="submit" disabled={enrolment.trim().length < 10}>Enrol</button>
        </form>
      ) : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}

export function TrainingPanel({ datasets, enrolled, onChanged }: { datasets: DatasetSummary[]; enrolled: boolean; onChanged: () => void }) {
  const [datasetId, setDatasetId] = useState('');
  const [epochs, setEpochs] = useState('');
  const [lr, setLr] = useState('');
  const [round, setRound] = useState('');
  const [dp, setDp] = useState(false);
  const [noise, setNoise] = useState('1.1');
  const [clip, setClip] = useState('1');
  const [progress, setProgress] = useState<TrainingProgress | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [last, setLast] = useState<LocalPackage | null>(null);
  useEffect(() => {
    if (!datasetId && datasets[0]) setDatasetId(datasets[0].id);
  }, [datasets, datasetId]);
  useEffect(
    () =>
      api.onEvent((evt) => {
        if (evt.event === FEDERATION_PROGRESS_EVENT) setProgress(evt.data as TrainingProgress);
      }),
    [],
  );
  const train = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setLast(null);
    try {
      const pkg = await api.call('federation.train', {
        datasetId,
        ...(round && !enrolled ? { round: Number(round) } : {}),
        settings: {
          ...(epochs ? { epochs: Number(epochs) } : {}),
          ...(lr ? { learningRate: Number(lr) } : {}),
          ...(dp ? { dp: { noiseMultiplier: Number(noise), clipNorm: Number(clip), delta: 1e-5 } } : {}),
        },
      });
      setLast(pkg);
      onChanged();
    } catch (err) {
      setError(msg(err));
    } finally {
      setBusy(false);
    }
  };
  const cancel = (): void => {
    if (progress) void api.call('federation.cancelTraining', { jobId: progress.jobId });
  };
  const phase = progress?.phase ?? null;
  return (
    <section className="research-panel" aria-labelledby="fed-train-title">
      <h2 id="fed-train-title">Local training</h2>
      <p className="muted">The network stays frozen: features are taken once per image (and cached); only the classification head trains here. No image leaves this workstation.</p>
      <form className="research-row" onSubmit={(e) => void train(e)}>
        <label>
          Data set{' '}
          <select value={datasetId} onChange={(e) => setDatasetId(e.target.value)} aria-label="Data set to train on">
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>{d.name} ({d.items} items)</option>
            ))}
          </select>
        </label>
        {!enrolled ? <input aria-label="Round" placeholder="round" value={round} onChange={(e) => setRound(e.target.value)} size={5} inputMode="numeric" /> : null}
        <input aria-label="Epochs" placeholder="epochs (round's)" value={epochs} onChange={(e) => setEpochs(e.target.value)} size={12} inputMode="numeric" />
        <input aria-label="Learning rate" placeholder="learning rate" value={lr} onChange={(e) => setLr(e.target.value)} size={12} inputMode="decimal" />
        <label className="check">
          <input type="checkbox" checked={dp} onChange={(e) => setDp(e.target.checked)} /> Differential privacy (DP-SGD)
        </label>
        {dp ? (
          <>
            <input aria-label="Noise multiplier" value={noise} onChange={(e) => setNoise(e.target.value)} size={5} title="σ: Gaussian noise σ·C per batch" />
            <input aria-label="Clipping norm" value={clip} onChange={(e) => setClip(e.target.value)} size={5} title="C: per-example gradient clipping norm" />
          </>
        ) : null}
        <button type="submit" className="primary" disabled={busy || !datasetId} title="Train the head and build a signed update package (Enter)">{busy ? 'Training…' : 'Train and build package'}</button>
        {busy ? <button type="button" onClick={cancel} disabled={!progress}>Cancel</button> : null}
      </form>
      {busy && progress ? (
        <p className="research-row" data-testid="training-progress">
          <span>{phase === 'features' ? 'Features' : phase === 'training' ? 'Training' : phase}</span>
          <progress max={Math.max(1, progress.total)} value={progress.done} aria-label={`${phase} ${progress.done} of ${progress.total}`} />
          <span>{progress.done}/{progress.total}{progress.loss !== null ? `, loss ${progress.loss.toFixed(3)}` : ''}{progress.accuracy !== null ? `, train accuracy ${pct(progress.accuracy)}` : ''}</span>
        </p>
      ) : null}
      {last ? (
        <p data-testid="training-result">
          Package for round {last.round}: {last.samples} images; accuracy on this site's held-out images {pct(last.before.accuracy)} → {pct(last.after.accuracy)}
          {last.epsilonRound !== null ? `; ε ${last.epsilonRound.toFixed(3)} this round, ${last.epsilonTotal!.toFixed(3)} in all` : ''}.
        </p>
      ) : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}

export function OutboxPanel({ outbox, enrolled, onChanged }: { outbox: LocalPackage[]; enrolled: boolean; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const act = async (id: string, f: () => Promise<unknown>): Promise<void> => {
    setError(null);
    setBusy(id);
    try {
      await f();
      onChanged();
    } catch (err) {
      setError(msg(err));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section className="research-panel" aria-labelledby="fed-outbox-title">
      <h2 id="fed-outbox-title">Update packages from this site</h2>
      <table className="research-table" data-testid="outbox">
        <thead>
          <tr><th>Round</th><th>Images</th><th>Held-out accuracy</th><th>ε</th><th>Size</th><th>Status</th><th /></tr>
        </thead>
        <tbody>
          {outbox.map((p) => (
            <tr key={p.id} data-status={p.status}>
              <td>{p.round}</td>
              <td title={Object.entries(p.classCounts).map(([k, v]) => `${k} ${v}`).join(', ')}>{p.samples}</td>
              <td>{pct(p.before.accuracy)} → {pct(p.after.accuracy)}</td>
              <td>{p.epsilonRound === null ? '–' : p.epsilonRound.toFixed(3)}</td>
              <td>{(p.bytes / 1024).toFixed(1)} KiB</td>
              <td className={p.status === 'refused' ? 'error' : undefined}>{p.status}{p.detail ? `: ${p.detail}` : ''}</td>
              <td className="fed-actions">
                <button type="button" disabled={!enrolled || busy !== null || p.status === 'accepted'} onClick={() => void act(p.id, () => api.call('federation.uploadPackage', { id: p.id }))} title={enrolled ? 'Send the package to the coordinator over HTTPS' : 'Enrol with a coordinator first, or export the file'}>
                  Upload weights
                </button>
                <button type="button" disabled={busy !== null} onClick={() => void act(p.id, async () => { const f = await api.call('federation.exportPackage', { id: p.id }); downloadBase64(f.filename, 'application/zip', f.base64); })}>
                  Export file
                </button>
              </td>
            </tr>
          ))}
          {outbox.length === 0 ? <tr><td colSpan={7} className="muted">No package built yet.</td></tr> : null}
        </tbody>
      </table>
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}
