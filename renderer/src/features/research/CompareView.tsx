// The comparison of two or more runs on one data set: each run labelled by model, version,
// runtime and data set, with its own colour and line style; the metric table; paired tests of
// every run against a reference run the researcher picks; accuracy per source and per sequence
// where the data set records them; ROC (one class at a time), reliability and F1 plots; exports.
import { useEffect, useMemo, useState } from 'react';
import type { MultiComparison } from '@contract/index';
import { api } from '../../api/client';
import { F1Chart, ReliabilityChart, RunsRocChart, SeriesLegend } from './charts';
import { download, fmt, msg, pct, seriesStyle } from './shared';

function pValue(p: number): string {
  return p < 0.0001 ? p.toExponential(2) : p.toFixed(4);
}

export function CompareView({ runIds, initialReference }: { runIds: string[]; initialReference: string }) {
  const [reference, setReference] = useState(initialReference);
  const [c, setC] = useState<MultiComparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [cls, setCls] = useState<string | null>(null);
  useEffect(() => setReference(initialReference), [initialReference, runIds.join(',')]);
  useEffect(() => {
    setError(null);
    void api.call('compare.many', { runIds, reference }).then(setC, (e: unknown) => setError(msg(e)));
  }, [runIds.join(','), reference]);
  const series = useMemo(() => (c ? c.runs.map((r) => ({ label: r.label, m: r.metrics })) : []), [c]);
  const classes = c?.runs[0]?.metrics.classes ?? [];
  const shownClass = cls ?? classes[0] ?? null;
  const exp = async (kind: 'csv' | 'html'): Promise<void> => {
    if (!c) return;
    try {
      if (kind === 'csv') {
        const r = await api.call('compare.exportManyCsv', { runIds, reference });
        download(r.filename, 'text/csv', r.csv);
      } else {
        const r = await api.call('compare.exportHtml', { a: c.runs[0]!.run.id, b: c.runs[1]!.run.id });
        download(r.filename, 'text/html', r.html);
      }
    } catch (err) {
      setError(msg(err));
    }
  };
  return (
    <section className="research-panel" aria-labelledby="cmp-title" data-testid="comparison">
      <h2 id="cmp-title">Comparison of {runIds.length} runs</h2>
      <p className="notice-block">Research use only. Not a medical device.</p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {c ? (
        <>
          <div className="research-row">
            <label htmlFor="cmp-ref" className="inline">Reference run for the paired tests</label>
            <select id="cmp-ref" value={reference} onChange={(e) => setReference(e.target.value)}>
              {c.runs.map((r) => (
                <option key={r.run.id} value={r.run.id}>{r.label}</option>
              ))}
            </select>
            <button type="button" onClick={() => void exp('csv')}>Export CSV</button>
            {c.runs.length === 2 ? <button type="button" onClick={() => void exp('html')}>Export HTML report</button> : null}
          </div>
          <p>
            On {c.runs[0]!.run.datasetName} (sha256 <code>{c.runs[0]!.run.datasetHash.slice(0, 16)}…</code>). Intervals are 95%; tests pair the items both runs scored ({c.resamples} bootstrap resamples, seed {c.seed}).
          </p>
          <SeriesLegend labels={c.runs.map((r) => (r.run.id === c.reference ? `${r.label} (reference)` : r.label))} testId="compare-legend" />
          <div className="table-scroll">
            <table className="research-table metrics" data-testid="comparison-table">
              <thead>
                <tr>
                  <th>Metric</th>
                  {c.runs.map((r, i) => (
                    <th key={r.run.id} scope="col">
                      <span className="swatch" data-color={seriesStyle(i).color} aria-hidden="true">
                        <svg width="20" height="8"><line x1="0" y1="4" x2="20" y2="4" stroke={seriesStyle(i).color} strokeWidth="3" strokeDasharray={seriesStyle(i).dash.join(' ') || undefined} /></svg>
                      </span>{' '}
                      {r.label}
                      {r.run.id === c.reference ? ' (reference)' : ''}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {c.table.map((t) => (
                  <tr key={t.metric}>
                    <td>{t.metric}</td>
                    {t.values.map((v, i) => (
                      <td key={i}>{v}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <table className="research-table metrics" data-testid="significance">
            <caption>Paired tests against the reference ({c.runs.find((r) => r.run.id === c.reference)?.label})</caption>
            <thead>
              <tr><th>Run</th><th>Paired items</th><th>Accuracy difference</th><th>McNemar p</th><th>Macro AUC difference [95% CI]</th><th>Verdict</th></tr>
            </thead>
            <tbody>
              {c.tests.map((t) => {
                const r = c.runs.find((x) => x.run.id === t.runId)!;
                const accSig = t.mcnemar.pValue < 0.05;
                return (
                  <tr key={t.runId}>
                    <td>{r.label}</td>
                    <td>{t.paired}</td>
                    <td>{t.accuracyDiff === null ? 'n/a' : `${t.accuracyDiff > 0 ? '+' : ''}${(100 * t.accuracyDiff).toFixed(2)} pp`}</td>
                    <td>{pValue(t.mcnemar.pValue)} ({t.mcnemar.method === 'exact' ? 'exact' : t.mcnemar.method === 'chi-square' ? 'chi-square' : 'no discordant pairs'}; {t.mcnemar.b} / {t.mcnemar.c} discordant)</td>
                    <td>{fmt(t.aucDiff.value)} [{fmt(t.aucDiff.lo)}, {fmt(t.aucDiff.hi)}]</td>
                    <td>
                      accuracy {accSig ? 'differs' : 'does not differ'} at 0.05; AUC {t.aucDiff.significant === null ? 'not computable' : t.aucDiff.significant ? 'differs' : 'does not differ'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {(['source', 'sequence'] as const).map((key) =>
            c.breakdown[key] ? (
              <table key={key} className="research-table metrics" data-testid={`breakdown-${key}`}>
                <caption>Accuracy per {key}</caption>
                <thead>
                  <tr>
                    <th>{key}</th>
                    <th>Items</th>
                    {c.runs.map((r) => (
                      <th key={r.run.id}>{r.label}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {c.breakdown[key]!.map((g) => (
                    <tr key={g.group}>
                      <td>{g.group}</td>
                      <td>{g.n}</td>
                      {g.accuracy.map((a, i) => (
                        <td key={i}>{pct(a)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null,
          )}
          <div className="research-row">
            <label htmlFor="roc-class" className="inline">ROC for class</label>
            <select id="roc-class" value={shownClass ?? ''} onChange={(e) => setCls(e.target.value)}>
              {classes.map((k) => (
                <option key={k} value={k}>{k}</option>
              ))}
            </select>
          </div>
          <div className="plots">
            {shownClass ? <RunsRocChart runs={series} cls={shownClass} testId="compare-roc" /> : null}
            <ReliabilityChart runs={series} testId="reliability-chart" />
            <F1Chart runs={series} testId="f1-chart" />
          </div>
        </>
      ) : !error ? (
        <p className="muted" role="status">Comparing…</p>
      ) : null}
    </section>
  );
}
