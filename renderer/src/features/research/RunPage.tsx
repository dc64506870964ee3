// One run's page: accuracy and macro metrics with 95% intervals, per-class precision, recall and
// F1 with intervals, ROC and reliability plots, the confusion matrix, throughput, the model and
// data set hashes, accuracy per source and sequence; every cell of the matrix and every point of
// the reliability plot opens the images behind it.
import { useEffect, useState } from 'react';
import type { ItemFilter, RunMetricsDto, RunSummary } from '@contract/index';
import { api } from '../../api/client';
import { ConfusionTable, ReliabilityChart, RocChart } from './charts';
import { RunItems } from './RunItems';
import { ci, fmt, msg, pct } from './shared';

export function runLabel(r: RunSummary): string {
  return `${r.modelId} ${r.modelVersion} · ${r.runtime ?? 'runtime n/a'} · ${r.datasetName}`;
}

function Groups({ title, rows, testId }: { title: string; rows: NonNullable<NonNullable<RunMetricsDto['breakdown']>['source']>; testId: string }) {
  return (
    <table className="research-table compact metrics" data-testid={testId}>
      <caption>{title}</caption>
      <thead>
        <tr><th>Group</th><th>Items</th><th>Accuracy [95% CI]</th></tr>
      </thead>
      <tbody>
        {rows.map((g) => (
          <tr key={g.group}><td>{g.group}</td><td>{g.n}</td><td>{pct(g.accuracy)}{ci(g.interval, true)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunPage({ runId, onBack }: { runId: string; onBack: () => void }) {
  const [run, setRun] = useState<RunSummary | null>(null);
  const [m, setM] = useState<RunMetricsDto | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState<ItemFilter | null>(null);
  useEffect(() => {
    let stop = false;
    const load = (): void => {
      void api.call('runs.get', { id: runId }).then(
        (r) => {
          if (stop) return;
          setRun(r.run);
          setM(r.metrics);
          // Follow a run still scoring.
          if (r.run.status === 'queued' || r.run.status === 'running') setTimeout(load, 1000);
        },
        (e: unknown) => setError(msg(e)),
      );
    };
    load();
    return () => {
      stop = true;
    };
  }, [runId]);
  const iv = m?.intervals;
  return (
    <section className="page research run-page" aria-labelledby="run-title" data-testid="run-page">
      <div className="research-row">
        <button type="button" onClick={onBack} title="Back to the research workspace (Escape)">← Research</button>
      </div>
      <h1 id="run-title">Run: {run ? runLabel(run) : '…'}</h1>
      <p className="notice-block">Research use only. Not a medical device: these results must not be used for diagnosis.</p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {run ? (
        <dl className="run-facts" data-testid="run-facts">
          <dt>Status</dt><dd>{run.status}, {run.done} of {run.total} scored{run.failed ? `, ${run.failed} unreadable` : ''}</dd>
          <dt>Model</dt><dd>{run.modelId} {run.modelVersion}</dd>
          <dt>Model card sha256</dt><dd><code data-testid="model-hash">{run.cardSha256}</code></dd>
          <dt>Runtime</dt><dd>{run.runtime ?? 'n/a'}</dd>
          <dt>Data set</dt><dd>{run.datasetName}</dd>
          <dt>Data set sha256</dt><dd><code data-testid="dataset-hash">{run.datasetHash}</code></dd>
          <dt>Throughput</dt><dd data-testid="throughput">{fmt(m?.throughput.imagesPerSecond, 1)} images/s, {fmt(m?.throughput.meanMs, 1)} ms per image</dd>
          <dt>Started</dt><dd>{run.createdAt} by {run.createdBy}</dd>
        </dl>
      ) : null}
      {m ? (
        <>
          <table className="research-table metrics summary" data-testid="run-summary">
            <caption>Metrics over {m.n} images with ground truth{m.unscored ? ` (${m.unscored} not scored)` : ''}; 95% intervals</caption>
            <tbody>
              <tr><th scope="row">Accuracy</th><td>{pct(m.accuracy, 2)}{ci(iv?.accuracy, true)} ({m.correct} of {m.n})</td></tr>
              <tr><th scope="row">Macro F1</th><td>{fmt(m.macroF1)}</td></tr>
              <tr><th scope="row">Balanced accuracy</th><td>{pct(m.macroRecall, 2)}</td></tr>
              <tr><th scope="row">Macro AUC</th><td>{fmt(m.macroAuc)}{ci(iv?.macroAuc)}</td></tr>
              <tr><th scope="row">ECE (10 bins)</th><td>{fmt(m.ece)}</td></tr>
              <tr><th scope="row">Mask Dice (mean)</th><td>{fmt(m.dice.mean)}{m.dice.n ? ` over ${m.dice.n} masks` : ''}</td></tr>
              <tr><th scope="row">Not recognised</th><td>{m.rejected}</td></tr>
            </tbody>
          </table>
          <table className="research-table metrics" data-testid="per-class">
            <caption>Per class (95% intervals: Wilson for precision and recall, bootstrap for F1, {iv?.resamples ?? 0} resamples)</caption>
            <thead>
              <tr><th>Class</th><th>Support</th><th>Precision</th><th>Recall</th><th>F1</th><th>AUC</th></tr>
            </thead>
            <tbody>
              {m.perClass.map((c) => (
                <tr key={c.cls}>
                  <td>{c.cls}</td>
                  <td>{c.support}</td>
                  <td>{fmt(c.precision)}{ci(iv?.perClass[c.cls]?.precision)}</td>
                  <td>{fmt(c.recall)}{ci(iv?.perClass[c.cls]?.recall)}</td>
                  <td>{fmt(c.f1)}{ci(iv?.perClass[c.cls]?.f1)}</td>
                  <td>{fmt(m.auc[c.cls] ?? null)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {m.breakdown?.source ? <Groups title="Accuracy per source" rows={m.breakdown.source} testId="by-source" /> : null}
          {m.breakdown?.sequence ? <Groups title="Accuracy per sequence" rows={m.breakdown.sequence} testId="by-sequence" /> : null}
          <div className="plots">
            <ConfusionTable m={m} testId="confusion" selected={filter} onCell={(truth, pred) => setFilter({ truth, pred })} />
            <RocChart m={m} title="ROC (one-vs-rest)" testId="run-roc" />
            <ReliabilityChart runs={[{ label: run ? runLabel(run) : '', m }]} testId="run-reliability" onBin={(bin) => setFilter({ bin })} />
          </div>
          {filter ? <RunItems runId={runId} filter={filter} onClear={() => setFilter(null)} /> : <p className="muted">Click a cell of the confusion matrix or a point of the reliability diagram to see its images.</p>}
        </>
      ) : run ? (
        <p className="muted">No results yet.</p>
      ) : null}
    </section>
  );
}
