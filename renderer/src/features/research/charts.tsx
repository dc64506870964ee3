// The research plots: ROC curves and reliability diagrams with chart.js (one run's classes, or
// one line per run in a comparison, each with its own colour and line style), per-class F1 bars,
// and the confusion matrix as a table of buttons (a cell opens its images). Canvases only, no
// injected styles, so the strict CSP holds; responsive off so nothing shifts while data arrive.
import { useEffect, useRef } from 'react';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineElement, PointElement, ScatterController, Tooltip, type ChartConfiguration } from 'chart.js';
import type { RunMetricsDto } from '@contract/index';
import { fmt, pct, seriesStyle } from './shared';

Chart.register(ScatterController, BarController, BarElement, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

const TICK = '#a7b1bc';
const GRID = '#2a313a';
const axis = (title: string, min = 0, max = 1) => ({ type: 'linear' as const, min, max, ticks: { color: TICK }, grid: { color: GRID }, title: { display: true, text: title, color: TICK } });
/**
 * Lines that coincide (two runs that rank the images alike) must all stay visible: the first
 * series is drawn at the bottom and widest, each later one narrower and dashed on top of it.
 * (Chart.js draws a higher `order` first.)
 */
const layer = (i: number, n: number, base = 2.5) => ({ order: n - i, borderWidth: base + 1.8 * Math.max(0, n - 1 - i), clip: 8 });

const chance = { label: 'chance', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: '#555', borderDash: [4, 4], pointRadius: 0, borderWidth: 1 };

function useChart(config: () => ChartConfiguration, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = new Chart(ref.current, config());
    return () => chart.destroy();
  }, deps);
  return ref;
}

/** The legend of a comparison's lines, in the page (readable, and checkable without the canvas). */
export function SeriesLegend({ labels, testId }: { labels: string[]; testId: string }) {
  return (
    <ul className="series-legend" data-testid={testId}>
      {labels.map((l, i) => {
        const s = seriesStyle(i);
        return (
          <li key={l} data-color={s.color} data-dash={s.dash.join(',') || 'solid'}>
            <svg width="36" height="10" aria-hidden="true">
              <line x1="0" y1="5" x2="36" y2="5" stroke={s.color} strokeWidth="3" strokeDasharray={s.dash.join(' ') || undefined} />
            </svg>
            <span>{l}</span> <span className="muted small">({s.name})</span>
          </li>
        );
      })}
    </ul>
  );
}

/** One run's one-vs-rest ROC curves, a line per class. */
export function RocChart({ m, title, testId }: { m: RunMetricsDto; title: string; testId: string }) {
  const ref = useChart(
    () => ({
      type: 'scatter',
      data: {
        datasets: [
          ...m.classes.map((cls, i) => ({
            label: `${cls} (AUC ${fmt(m.auc[cls])})`,
            data: (m.roc[cls] ?? []).map((p) => ({ x: p.fpr, y: p.tpr })),
            showLine: true,
            borderColor: seriesStyle(i).color,
            backgroundColor: seriesStyle(i).color,
            borderDash: [...seriesStyle(i).dash],
            pointRadius: 0,
            ...layer(i, m.classes.length),
          })),
          chance,
        ],
      },
      options: { animation: false, responsive: false, plugins: { legend: { labels: { color: TICK, boxWidth: 10 } } }, scales: { x: axis('False positive rate'), y: axis('True positive rate') } },
    }),
    [m],
  );
  return (
    <figure className="research-plot">
      <figcaption>{title}</figcaption>
      <canvas ref={ref} width={400} height={360} data-testid={testId} aria-label={title} />
    </figure>
  );
}

/** ROC of one class for several runs: a line per run (colour and line style per run). */
export function RunsRocChart({ runs, cls, testId }: { runs: { label: string; m: RunMetricsDto }[]; cls: string; testId: string }) {
  const ref = useChart(
    () => ({
      type: 'scatter',
      data: {
        datasets: [
          ...runs.map((r, i) => ({
            label: `${r.label} (AUC ${fmt(r.m.auc[cls])})`,
            data: (r.m.roc[cls] ?? []).map((p) => ({ x: p.fpr, y: p.tpr })),
            showLine: true,
            borderColor: seriesStyle(i).color,
            backgroundColor: seriesStyle(i).color,
            borderDash: [...seriesStyle(i).dash],
            pointRadius: 0,
            ...layer(i, runs.length),
          })),
          chance,
        ],
      },
      // The page's own legend names the runs (long labels would crowd the canvas).
      options: { animation: false, responsive: false, plugins: { legend: { display: false } }, scales: { x: axis('False positive rate'), y: axis('True positive rate') } },
    }),
    [runs, cls],
  );
  return (
    <figure className="research-plot">
      <figcaption>ROC, {cls} vs rest</figcaption>
      <canvas ref={ref} width={420} height={380} data-testid={testId} aria-label={`ROC curves of ${cls} vs rest, one line per run`} />
    </figure>
  );
}

/**
 * Reliability diagram: fraction correct per confidence bin (dot size = items), a line per run.
 * With onBin, a click on a point (or its button below) opens that bin's images.
 */
export function ReliabilityChart({ runs, testId, onBin }: { runs: { label: string; m: RunMetricsDto }[]; testId: string; onBin?: (bin: number) => void }) {
  const ref = useChart(
    () => ({
      type: 'scatter',
      data: {
        datasets: [
          ...runs.map((r, i) => {
            const bins = r.m.reliability.map((b, k) => ({ ...b, k })).filter((b) => b.count > 0 && b.confidence !== null && b.accuracy !== null);
            const max = Math.max(1, ...bins.map((b) => b.count));
            return {
              label: `${r.label} (ECE ${fmt(r.m.ece)})`,
              data: bins.map((b) => ({ x: b.confidence!, y: b.accuracy!, bin: b.k })),
              showLine: true,
              borderColor: seriesStyle(i).color,
              backgroundColor: seriesStyle(i).color,
              borderDash: [...seriesStyle(i).dash],
              ...layer(i, runs.length),
              pointRadius: bins.map((b) => 3 + 6 * Math.sqrt(b.count / max)),
              pointHoverRadius: bins.map((b) => 5 + 6 * Math.sqrt(b.count / max)),
            };
          }),
          { label: 'perfect calibration', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: '#555', borderDash: [4, 4], pointRadius: 0, borderWidth: 1 },
        ],
      },
      options: {
        animation: false,
        responsive: false,
        onClick: (_e, elements) => {
          const el = elements[0];
          if (!el || !onBin || el.datasetIndex >= runs.length) return;
          const point = (el.element as unknown as { $context?: { raw?: { bin?: number } } }).$context?.raw;
          if (typeof point?.bin === 'number') onBin(point.bin);
        },
        plugins: { legend: { display: runs.length === 1, labels: { color: TICK, boxWidth: 10 } } },
        scales: { x: axis('Confidence'), y: axis('Fraction correct') },
      },
    }),
    [runs, onBin],
  );
  const one = runs.length === 1 ? runs[0]! : null;
  return (
    <figure className="research-plot">
      <figcaption>Reliability diagram (10 bins; dot size = items{onBin ? '; click a point for its images' : ''})</figcaption>
      <canvas ref={ref} width={420} height={380} data-testid={testId} aria-label="Reliability diagram" />
      {one && onBin ? (
        <div className="bin-buttons" aria-label="Confidence bins">
          {one.m.reliability.map((b, k) =>
            b.count > 0 ? (
              <button key={k} type="button" className="btn-small" onClick={() => onBin(k)} data-bin={k} title={`Images with confidence ${b.lo.toFixed(1)}–${b.hi.toFixed(1)}`}>
                {b.lo.toFixed(1)}–{b.hi.toFixed(1)}: {b.count} ({pct(b.accuracy, 0)} right)
              </button>
            ) : null,
          )}
        </div>
      ) : null}
    </figure>
  );
}

/** Grouped bars of per-class F1, a bar per run. */
export function F1Chart({ runs, testId }: { runs: { label: string; m: RunMetricsDto }[]; testId: string }) {
  const ref = useChart(
    () => ({
      type: 'bar',
      data: {
        labels: runs[0]?.m.classes ?? [],
        datasets: runs.map((r, i) => ({ label: r.label, data: r.m.classes.map((c) => r.m.perClass.find((x) => x.cls === c)?.f1 ?? 0), backgroundColor: seriesStyle(i).color })),
      },
      options: { animation: false, responsive: false, plugins: { legend: { display: false } }, scales: { x: { ticks: { color: TICK }, grid: { color: GRID } }, y: axis('F1 (n/a drawn as 0)') } },
    }),
    [runs],
  );
  return (
    <figure className="research-plot">
      <figcaption>Per-class F1 (bars in the legend's order)</figcaption>
      <canvas ref={ref} width={420} height={380} data-testid={testId} aria-label="Per-class F1" />
    </figure>
  );
}

/** Confusion matrix: rows truth, columns prediction; each cell a button that opens its images. */
export function ConfusionTable({ m, onCell, selected, testId }: { m: RunMetricsDto; onCell: (truth: string, pred: string) => void; selected: { truth?: string | undefined; pred?: string | undefined } | null; testId: string }) {
  const { rows, cols, matrix } = m.confusion;
  return (
    <table className="confusion" data-testid={testId}>
      <caption>Confusion matrix (rows: truth, columns: prediction; a cell opens its images)</caption>
      <thead>
        <tr>
          <th scope="col">truth \ predicted</th>
          {cols.map((c) => (
            <th key={c} scope="col">{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => {
          const total = (matrix[i] ?? []).reduce((a, b) => a + b, 0);
          return (
            <tr key={r}>
              <th scope="row">{r}</th>
              {cols.map((c, j) => {
                const v = matrix[i]?.[j] ?? 0;
                const f = total ? v / total : 0;
                const shade = Math.min(9, Math.round(f * 9));
                const on = selected?.truth === r && selected?.pred === c;
                return (
                  <td key={c}>
                    <button
                      type="button"
                      className={`cell shade-${shade}${r === c ? ' diag' : ''}${on ? ' on' : ''}`}
                      data-truth={r}
                      data-pred={c}
                      disabled={v === 0}
                      aria-pressed={on}
                      aria-label={`truth ${r}, predicted ${c}: ${v} image${v === 1 ? '' : 's'}`}
                      onClick={() => onCell(r, c)}
                    >
                      {v}
                    </button>
                  </td>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
