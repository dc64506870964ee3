// The Research page: register local data sets (counts, content hash, thumbnails; de-identified
// export of a DICOM one), install models for research, score a data set with several models
// (progress, cancel, resume), and compare two runs with metrics, significance tests and plots;
// export CSV or an HTML report.
import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Comparison, DatasetDetail, DatasetSummary, RegistryModel, RunSummary } from '@contract/index';
import { api } from '../../api/client';
import { ConfusionMatrix, F1Chart, ReliabilityChart, RocChart } from './ComparisonCharts';
import { DeidExportPanel } from './DeidExportPanel';
import './research.css';

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const ACTIVE = new Set(['queued', 'running']);

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function DatasetsPanel({ datasets, selected, onSelect, onChanged }: { datasets: DatasetSummary[]; selected: string | null; onSelect: (id: string) => void; onChanged: () => void }) {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [detail, setDetail] = useState<DatasetDetail | null>(null);
  useEffect(() => {
    if (!selected) return setDetail(null);
    void api.call('datasets.get', { id: selected }).then(setDetail, (e: unknown) => setError(msg(e)));
  }, [selected]);
  const register = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const ds = await api.call('datasets.register', { path: path.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
      setPath('');
      setName('');
      onChanged();
      onSelect(ds.id);
    } catch (err) {
      setError(msg(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="research-panel" aria-labelledby="ds-title">
      <h2 id="ds-title">Data sets</h2>
      <form className="research-row" onSubmit={(e) => void register(e)}>
        <input aria-label="Folder or CSV path" placeholder="/path/to/folder (one sub-folder per class, or DICOM) or data.csv" value={path} onChange={(e) => setPath(e.target.value)} className="grow" required />
        <input aria-label="Data set name" placeholder="name (optional)" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="primary" disabled={busy || !path.trim()} title="Register the folder (Enter)">
          {busy ? 'Reading…' : 'Register'}
        </button>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <table className="research-table" data-testid="datasets">
        <thead>
          <tr><th>Name</th><th>Kind</th><th>Items</th><th>Classes</th><th>Content sha256</th></tr>
        </thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={d.id} className={d.id === selected ? 'selected' : undefined}>
              <td><button type="button" className="link" onClick={() => onSelect(d.id)}>{d.name}</button></td>
              <td>{d.kind}</td>
              <td>{d.items}{d.withMasks ? ` (${d.withMasks} masks)` : ''}</td>
              <td>{Object.entries(d.classCounts).map(([k, v]) => `${k} ${v}`).join(', ')}</td>
              <td><code title={d.contentHash}>{d.contentHash.slice(0, 16)}…</code></td>
            </tr>
          ))}
          {datasets.length === 0 ? <tr><td colSpan={5} className="muted">No data sets yet. Register a local folder above.</td></tr> : null}
        </tbody>
      </table>
      {detail ? (
        <div className="thumbs" data-testid="thumbnails" aria-label={`Thumbnails of ${detail.name}`}>
          {detail.thumbnails.map((t) => (
            <figure key={t.itemId}>
              <img src={t.png} alt={`${t.label ?? 'unlabelled'} example`} width={64} height={64} />
              <figcaption>{t.label ?? '(none)'}</figcaption>
            </figure>
          ))}
        </div>
      ) : null}
      {detail?.kind === 'dicom' ? <DeidExportPanel datasetId={detail.id} datasetName={detail.name} /> : null}
    </section>
  );
}

function ModelsPanel({ models, onChanged }: { models: RegistryModel[]; onChanged: () => void }) {
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const install = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      await api.call('models.install', { path: path.trim() });
      setPath('');
      onChanged();
    } catch (err) {
      setError(msg(err));
    }
  };
  return (
    <section className="research-panel" aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <table className="research-table" data-testid="models">
        <thead>
          <tr><th>Model</th><th>Version</th><th>Status</th><th>Hash check</th><th>Formats</th></tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id}>
              <td>{m.id}</td>
              <td>{m.version}</td>
              <td>{m.status === 'active' ? 'active (clinical)' : m.status}</td>
              <td className={m.verified ? 'ok' : 'error'}>{m.verified ? 'verified' : `refused: ${m.problem ?? ''}`}</td>
              <td>{m.formats.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="research-row" onSubmit={(e) => void install(e)}>
        <input aria-label="Model folder path" placeholder="/path/to/model folder (model-card.json + ONNX or TF.js)" value={path} onChange={(e) => setPath(e.target.value)} className="grow" />
        <button type="submit" disabled={!path.trim()} title="Install for research use (an admin activates models for clinical use)">Install</button>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}

function RunsPanel({ dataset, models, runs, onChanged, onCompare }: { dataset: DatasetSummary | null; models: RegistryModel[]; runs: RunSummary[]; onChanged: () => void; onCompare: (a: string, b: string) => void }) {
  const usable = models.filter((m) => m.verified && m.status !== 'retired');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState<string[]>([]);
  // Every usable model is ticked when the list changes (a new install shows up ticked).
  useEffect(() => setChosen(new Set(usable.map((m) => m.id))), [models.length]);
  const start = async (): Promise<void> => {
    if (!dataset) return;
    setError(null);
    try {
      await api.call('runs.start', { datasetId: dataset.id, modelIds: [...chosen] });
      onChanged();
    } catch (err) {
      setError(msg(err));
    }
  };
  const act = async (f: () => Promise<unknown>): Promise<void> => {
    setError(null);
    try {
      await f();
      onChanged();
    } catch (err) {
      setError(msg(err));
    }
  };
  const togglePick = (id: string): void => setPick((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  return (
    <section className="research-panel" aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      {dataset ? (
        <div className="research-row">
          <span>Score <strong>{dataset.name}</strong> with:</span>
          {usable.map((m) => (
            <label key={m.id} className="check">
              <input type="checkbox" checked={chosen.has(m.id)} onChange={() => setChosen((s) => { const n = new Set(s); if (n.has(m.id)) n.delete(m.id); else n.add(m.id); return n; })} />
              {m.id} {m.version}
            </label>
          ))}
          <button type="button" className="primary" disabled={chosen.size === 0} onClick={() => void start()} title="Start one run per model">Score</button>
        </div>
      ) : (
        <p className="muted">Select a data set to score it.</p>
      )}
      {error ? <p className="error" role="alert">{error}</p> : null}
      <table className="research-table" data-testid="runs">
        <thead>
          <tr><th>Compare</th><th>Model</th><th>Data set</th><th>Runtime</th><th>Progress</th><th>Status</th><th /></tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run-id={r.id} data-status={r.status}>
              <td><input type="checkbox" aria-label={`Compare run ${r.modelId}`} checked={pick.includes(r.id)} disabled={r.done === 0} onChange={() => togglePick(r.id)} /></td>
              <td>{r.modelId} {r.modelVersion}</td>
              <td>{r.datasetName}</td>
              <td>{r.runtime ?? '–'}</td>
              <td><progress max={r.total} value={r.done} aria-label={`Progress ${r.done} of ${r.total}`} /> {r.done}/{r.total}{r.failed ? ` (${r.failed} unreadable)` : ''}</td>
              <td className={r.status === 'failed' ? 'error' : undefined} title={r.error ?? ''}>{r.status}</td>
              <td>
                {ACTIVE.has(r.status) ? <button type="button" onClick={() => void act(() => api.call('runs.cancel', { id: r.id }))}>Cancel</button> : null}
                {['interrupted', 'cancelled', 'failed'].includes(r.status) ? <button type="button" onClick={() => void act(() => api.call('runs.resume', { id: r.id }))}>Resume</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" disabled={pick.length !== 2} onClick={() => onCompare(pick[0]!, pick[1]!)} title="Compare the two checked runs">
        Compare selected runs
      </button>
    </section>
  );
}

function ComparisonView({ c }: { c: Comparison }) {
  const a = { name: `A: ${c.a.modelId} ${c.a.modelVersion}`, m: c.metricsA };
  const b = { name: `B: ${c.b.modelId} ${c.b.modelVersion}`, m: c.metricsB };
  const [error, setError] = useState<string | null>(null);
  const exp = async (kind: 'csv' | 'html'): Promise<void> => {
    try {
      if (kind === 'csv') {
        const r = await api.call('compare.exportCsv', { a: c.a.id, b: c.b.id });
        download(r.filename, 'text/csv', r.csv);
      } else {
        const r = await api.call('compare.exportHtml', { a: c.a.id, b: c.b.id });
        download(r.filename, 'text/html', r.html);
      }
    } catch (err) {
      setError(msg(err));
    }
  };
  const m = c.mcnemar;
  const bt = c.bootstrap;
  return (
    <section className="research-panel" aria-labelledby="cmp-title" data-testid="comparison">
      <h2 id="cmp-title">Comparison</h2>
      <p className="notice-block">Research use only. Not a medical device.</p>
      <p>
        A: {c.a.modelId} {c.a.modelVersion} ({c.a.runtime}) vs B: {c.b.modelId} {c.b.modelVersion} ({c.b.runtime}) on {c.a.datasetName}, {c.paired} paired items. Data set sha256 <code>{c.a.datasetHash.slice(0, 16)}…</code>
      </p>
      <div className="research-row">
        <button type="button" onClick={() => void exp('csv')}>Export CSV</button>
        <button type="button" onClick={() => void exp('html')}>Export HTML report</button>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <table className="research-table metrics" data-testid="comparison-table">
        <thead>
          <tr><th>Metric</th><th>A</th><th>B</th><th>B − A</th></tr>
        </thead>
        <tbody>
          {c.table.map((r) => (
            <tr key={r.metric}><td>{r.metric}</td><td>{r.a}</td><td>{r.b}</td><td>{r.diff}</td></tr>
          ))}
        </tbody>
      </table>
      <ul data-testid="significance">
        <li>
          McNemar ({m.method === 'exact' ? 'exact binomial' : m.method === 'chi-square' ? 'chi-square, continuity-corrected' : 'no discordant pairs'}): A right/B wrong {m.b}, A wrong/B right {m.c}, p = {m.pValue.toPrecision(3)} — accuracy difference {m.pValue < 0.05 ? 'is' : 'is not'} significant at 0.05.
        </li>
        <li>
          Macro AUC (paired bootstrap, {bt.resamples} resamples, seed {bt.seed}): B − A = {bt.diff.value?.toFixed(3) ?? 'n/a'} [{bt.diff.lo?.toFixed(3) ?? 'n/a'}, {bt.diff.hi?.toFixed(3) ?? 'n/a'}] —{' '}
          {bt.significant === null ? 'not computable' : bt.significant ? 'significant' : 'not significant'}.
        </li>
      </ul>
      <div className="plots">
        <RocChart m={c.metricsA} title={`ROC, ${a.name}`} testId="roc-a" />
        <RocChart m={c.metricsB} title={`ROC, ${b.name}`} testId="roc-b" />
        <ReliabilityChart runs={[a, b]} />
        <F1Chart a={a} b={b} />
        <ConfusionMatrix m={c.metricsA} title={`Confusion, ${a.name}`} testId="confusion-a" />
        <ConfusionMatrix m={c.metricsB} title={`Confusion, ${b.name}`} testId="confusion-b" />
      </div>
    </section>
  );
}

export function ResearchPage() {
  const [datasets, setDatasets] = useState<DatasetSummary[]>([]);
  const [models, setModels] = useState<RegistryModel[]>([]);
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback((): void => {
    void Promise.all([api.call('datasets.list', {}), api.call('models.registry', {}), api.call('runs.list', {})]).then(
      ([d, m, r]) => {
        setDatasets(d.datasets);
        setModels(m.models);
        setRuns(r.runs);
      },
      (e: unknown) => setError(msg(e)),
    );
  }, []);
  useEffect(load, [load]);
  // Poll while a run is queued or running: progress without a push channel.
  const busy = runs.some((r) => ACTIVE.has(r.status));
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(() => void api.call('runs.list', {}).then((r) => setRuns(r.runs), () => {}), 500);
    return () => clearInterval(t);
  }, [busy]);
  const dataset = useMemo(() => datasets.find((d) => d.id === selected) ?? null, [datasets, selected]);
  const compare = async (a: string, b: string): Promise<void> => {
    setError(null);
    try {
      setComparison(await api.call('compare.runs', { a, b }));
    } catch (e) {
      setError(msg(e));
    }
  };
  return (
    <section className="page research" aria-labelledby="research-title">
      <h1 id="research-title">Research</h1>
      <p className="muted">Local data sets, batch scoring with several models, and model comparison. De-identified data only. Not a medical device.</p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <DatasetsPanel datasets={datasets} selected={selected} onSelect={setSelected} onChanged={load} />
      <ModelsPanel models={models} onChanged={load} />
      <RunsPanel dataset={dataset} models={models} runs={runs} onChanged={load} onCompare={(a, b) => void compare(a, b)} />
      {comparison ? <ComparisonView c={comparison} /> : null}
    </section>
  );
}
