// The self-contained HTML comparison report: provenance of both runs (model, version, card hash,
// runtime, data set hash, settings), the comparison table, the paired tests and SVG plots.
// No scripts, no external resources: it opens offline and can be archived as it is.
import type { Comparison, RunSummary } from '../../contract';
import { runLabel, verdicts } from './compare';
import { confusionSvg, esc, f1BarsSvg, reliabilitySvg, rocSvg } from './svg';

function provenance(tag: string, r: RunSummary): string {
  const rows: [string, string][] = [
    ['Run', r.id],
    ['Model', `${r.modelId} ${r.modelVersion}`],
    ['Model card sha256', r.cardSha256],
    ['Runtime', r.runtime ?? 'n/a'],
    ['Data set', `${r.datasetName} (${r.datasetId})`],
    ['Data set sha256', r.datasetHash],
    ['Settings', JSON.stringify(r.settings)],
    ['Items', `${r.done} of ${r.total} scored, ${r.failed} unreadable`],
    ['Status', r.status],
    ['Started', `${r.createdAt} by ${r.createdBy}`],
  ];
  return `<table class="prov"><caption>Run ${tag}</caption>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(v)}</code></td></tr>`).join('')}</table>`;
}

export function comparisonHtml(c: Comparison, generatedAt = new Date().toISOString()): string {
  const nameA = `A: ${c.a.modelId} ${c.a.modelVersion}`;
  const nameB = `B: ${c.b.modelId} ${c.b.modelVersion}`;
  const table = `<table class="metrics"><thead><tr><th>Metric</th><th>A</th><th>B</th><th>B − A</th></tr></thead><tbody>${c.table
    .map((r) => `<tr><td>${esc(r.metric)}</td><td>${esc(r.a)}</td><td>${esc(r.b)}</td><td>${esc(r.diff)}</td></tr>`)
    .join('')}</tbody></table>`;
  const plots = [
    rocSvg(c.metricsA, `ROC (one-vs-rest), ${nameA}`),
    rocSvg(c.metricsB, `ROC (one-vs-rest), ${nameB}`),
    reliabilitySvg(
      [
        { name: 'A', m: c.metricsA },
        { name: 'B', m: c.metricsB },
      ],
      'Reliability diagram',
    ),
    f1BarsSvg({ name: 'A', m: c.metricsA }, { name: 'B', m: c.metricsB }, 'Per-class F1'),
    confusionSvg(c.metricsA, `Confusion matrix, ${nameA}`),
    confusionSvg(c.metricsB, `Confusion matrix, ${nameB}`),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Model comparison: ${esc(runLabel(c.a))} vs ${esc(runLabel(c.b))}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#111;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}
.metrics td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.prov{display:inline-table;margin-right:1em;vertical-align:top}.prov code{word-break:break-all;font-size:11px}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #ddd;background:#fff}
.warn{background:#fff3cd;border:1px solid #e0c36c;padding:.5em 1em}
</style></head><body>
<h1>Model comparison</h1>
<p class="warn">Research use only. Not a medical device: these results must not be used for diagnosis.</p>
<p>Generated ${esc(generatedAt)} by TumorPredict Workstation. Paired on ${c.paired} items with ground truth that both runs scored.</p>
${provenance('A', c.a)}${provenance('B', c.b)}
<h2>Metrics</h2>
${table}
<h2>Significance</h2>
<ul>${verdicts(c)
    .map((v) => `<li>${esc(v)}</li>`)
    .join('')}</ul>
<h2>Plots</h2>
<div class="plots">${plots.join('\n')}</div>
<p>Metrics: precision, recall and F1 per class are n/a where undefined (no predictions, or no examples, of the class); AUC is one-vs-rest on the calibrated class probability, ties counted as one half; ECE uses 10 equal-width confidence bins; "not recognised" predictions count as wrong. McNemar's test uses the exact binomial when fewer than 25 pairs disagree, else chi-square with continuity correction. AUC intervals are 95% paired percentile bootstrap intervals.</p>
</body></html>
`;
}
