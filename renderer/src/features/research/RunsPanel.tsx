// Runs: score the selected data set with any number of the registered models (one run each), with
// progress, cancel and resume; open a run's page; tick two or more runs to compare them.
import { useEffect, useState } from 'react';
import type { DatasetSummary, RegistryModel, RunSummary } from '@contract/index';
import { api } from '../../api/client';
import { msg } from './shared';

const ACTIVE = new Set(['queued', 'running']);

export function RunsPanel({
  dataset,
  models,
  runs,
  onChanged,
  onOpen,
  onCompare,
}: {
  dataset: DatasetSummary | null;
  models: RegistryModel[];
  runs: RunSummary[];
  onChanged: () => void;
  onOpen: (id: string) => void;
  onCompare: (ids: string[]) => void;
}) {
  const usable = models.filter((m) => m.verified && m.status !== 'retired');
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState<string[]>([]);
  // Every usable model is ticked when the list changes (a new install shows up ticked).
  useEffect(() => setChosen(new Set(usable.map((m) => m.id))), [models.map((m) => m.id).join(',')]);
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
  const togglePick = (id: string): void => setPick((p) => (p.includes(id) ? p.filter((x) => x !== id) : p.length >= 8 ? p : [...p, id]));
  const picked = runs.filter((r) => pick.includes(r.id));
  const sameData = picked.every((r) => r.datasetHash === picked[0]?.datasetHash);
  return (
    <section className="research-panel" aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      {dataset ? (
        <fieldset className="research-row">
          <legend>Score <strong>{dataset.name}</strong> with</legend>
          {usable.map((m) => (
            <label key={m.id} className="check">
              <input
                type="checkbox"
                checked={chosen.has(m.id)}
                onChange={() =>
                  setChosen((s) => {
                    const n = new Set(s);
                    if (n.has(m.id)) n.delete(m.id);
                    else n.add(m.id);
                    return n;
                  })
                }
              />
              {m.id} {m.version}
            </label>
          ))}
          <button type="button" className="primary" disabled={chosen.size === 0} onClick={() => void start()} title="Start one run per ticked model">
            Score
          </button>
        </fieldset>
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
            <tr key={r.id} data-run-id={r.id} data-status={r.status} data-model-id={r.modelId}>
              <td><input type="checkbox" aria-label={`Compare run ${r.modelId} ${r.modelVersion} on ${r.datasetName}`} checked={pick.includes(r.id)} disabled={r.done === 0} onChange={() => togglePick(r.id)} /></td>
              <td>{r.modelId} {r.modelVersion}</td>
              <td>{r.datasetName}</td>
              <td>{r.runtime ?? '–'}</td>
              <td><progress max={r.total} value={r.done} aria-label={`Progress ${r.done} of ${r.total}`} /> {r.done}/{r.total}{r.failed ? ` (${r.failed} unreadable)` : ''}</td>
              <td className={r.status === 'failed' ? 'error' : undefined} title={r.error ?? ''}>{r.status}</td>
              <td className="actions">
                <button type="button" disabled={r.done === 0} onClick={() => onOpen(r.id)} title="The run's metrics and the images behind them">Open</button>
                {ACTIVE.has(r.status) ? <button type="button" onClick={() => void act(() => api.call('runs.cancel', { id: r.id }))}>Cancel</button> : null}
                {['interrupted', 'cancelled', 'failed'].includes(r.status) ? <button type="button" onClick={() => void act(() => api.call('runs.resume', { id: r.id }))}>Resume</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="research-row">
        <button type="button" disabled={pick.length < 2 || !sameData} onClick={() => onCompare(pick)} title="Compare the ticked runs (two to eight, same data set)">
          Compare selected runs{pick.length ? ` (${pick.length})` : ''}
        </button>
        {!sameData ? <span className="error">The ticked runs scored different data sets.</span> : null}
      </div>
    </section>
  );
}
