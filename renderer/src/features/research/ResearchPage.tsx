// The Research page: data sets (picked with the folder picker, previewed, registered), models for
// research, runs (any number of models per data set, progress, cancel, resume), a run's own page
// with the images behind its numbers, and the comparison of two or more runs.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { DatasetSummary, RegistryModel, RunSummary } from '@contract/index';
import { api } from '../../api/client';
import { CompareView } from './CompareView';
import { DatasetsPanel } from './DatasetsPanel';
import { ModelsPanel } from './ModelsPanel';
import { RunPage } from './RunPage';
import { RunsPanel } from './RunsPanel';
import { msg } from './shared';
import './research.css';

const ACTIVE = new Set(['queued', 'running']);

export function ResearchPage() {
  const [datasets, setDatasets] = useState<DatasetSummary[]>([]);
  const [models, setModels] = useState<RegistryModel[]>([]);
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [compare, setCompare] = useState<string[] | null>(null);
  const [openRun, setOpenRun] = useState<string | null>(null);
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
  // Escape on a run page goes back to the workspace (dialogs close themselves first).
  useEffect(() => {
    if (!openRun) return;
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) setOpenRun(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [openRun]);
  const dataset = useMemo(() => datasets.find((d) => d.id === selected) ?? null, [datasets, selected]);
  if (openRun) {
    return (
      <RunPage
        runId={openRun}
        onBack={() => {
          setOpenRun(null);
          load();
        }}
      />
    );
  }
  return (
    <section className="page research" aria-labelledby="research-title">
      <h1 id="research-title">Research</h1>
      <p className="muted">Local data sets, batch scoring with several models, one run's metrics and images, and model comparison. De-identified data only. Not a medical device.</p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <DatasetsPanel datasets={datasets} selected={selected} onSelect={setSelected} onChanged={load} />
      <ModelsPanel models={models} onChanged={load} />
      <RunsPanel dataset={dataset} models={models} runs={runs} onChanged={load} onOpen={setOpenRun} onCompare={setCompare} />
      {compare ? <CompareView runIds={compare} initialReference={compare[0]!} /> : null}
    </section>
  );
}
