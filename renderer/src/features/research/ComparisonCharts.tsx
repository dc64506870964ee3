// The comparison plots in the app: ROC curves and the reliability diagram with chart.js, per-class
// F1 bars, and confusion-matrix heat maps drawn on a canvas. Canvases only (no injected styles),
// so the strict CSP holds; responsive off so nothing shifts while data arrive.
import { useEffect, useRef } from 'react';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineElement, PointElement, ScatterController, Tooltip, type ChartConfiguration } from 'chart.js';
import type { RunMetricsDto } from '@contract/index';

Chart.register(ScatterController, BarController, BarElement, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

const PALETTE = ['#5fb3ff', '#ff7b72', '#7ee787', '#ffcc66', '#d2a8ff', '#76e3ea'];
const TICK = '#a7b1bc';
const GRID = '#2a313a';
const axis = (title: string, min = 0, max = 1) => ({ type: 'linear' as const, min, max, ticks: { color: TICK }, grid: { color: GRID }, title: { display: true, text: title, color: TICK } });
const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? 'n/a' : v.toFixed(d));

function useChart(config: () => ChartConfiguration, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement | null>(null);
  useEffect(() => {
    if (!ref.current) return;
    const chart = new Chart(ref.current, config());
    return () => chart.destroy();
  }, deps);
  return ref;
}

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
            borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length],
            pointRadius: 0,
            borderWidth: 2,
          })),
          { label: 'chance', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: '#555', borderDash: [4, 4], pointRadius: 0, borderWidth: 1 },
        ],
      },
      options: { animation: false, responsive: false, plugins: { title: { display: false }, legend: { labels: { color: TICK, boxWidth: 10 } } }, scales: { x: axis('False positive rate'), y: axis('True positive rate') } },
    }),
    [m],
  );
  return (
    <figure className="research-plot">
      <figcaption>{title}</figcaption>
      <canvas ref={ref} width={380} height={340} data-testid={testId} aria-label={title} />
    </figure>
  );
}

export function ReliabilityChart({ runs }: { runs: { name: string; m: RunMetricsDto }[] }) {
  const ref = useChart(
    () => ({
      type: 'scatter',
      data: {
        datasets: [
          ...runs.map((r, i) => {
            const bins = r.m.reliability.filter((b) => b.count > 0 && b.confidence !== null && b.accuracy !== null);
            const max = Math.max(1, ...bins.map((b) => b.count));
            return {
              label: `${r.name} (ECE ${fmt(r.m.ece)})`,
              data: bins.map((b) => ({ x: b.confidence!, y: b.accuracy! })),
              showLine: true,
              borderColor: PALETTE[i % PALETTE.length],
              backgroundColor: PALETTE[i % PALETTE.length],
              pointRadius: bins.map((b) => 3 + 6 * Math.sqrt(b.count / max)),
            };
          }),
          { label: 'perfect calibration', data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true, borderColor: '#555', borderDash: [4, 4], pointRadius: 0, borderWidth: 1 },
        ],
      },
      options: { animation: false, responsive: false, plugins: { legend: { labels: { color: TICK, boxWidth: 10 } } }, scales: { x: axis('Confidence'), y: axis('Fraction correct') } },
    }),
    [runs],
  );
  return (
    <figure className="research-plot">
      <figcaption>Reliability diagram (10 bins; dot size = items)</figcaption>
      <canvas ref={ref} width={380} height={340} data-testid="reliability-chart" aria-label="Reliability diagram" />
    </figure>
  );
}

export function F1Chart({ a, b }: { a: { name: string; m: RunMetricsDto }; b: { name: string; m: RunMetricsDto } }) {
  const ref = useChart(
    () => ({
      type: 'bar',
      data: {
        labels: a.m.classes,
        datasets: [a, b].map((r, i) => ({ label: r.name, data: r.m.classes.map((c) => r.m.perClass.find((x) => x.cls === c)?.f1 ?? 0), backgroundColor: PALETTE[i] })),
      },
      options: { animation: false, responsive: false, plugins: { legend: { labels: { color: TICK } } }, scales: { x: { ticks: { color: TICK }, grid: { color: GRID } }, y: axis('F1 (n/a drawn as 0)') } },
    }),
    [a, b],
  );
  return (
    <figure className="research-plot">
      <figcaption>Per-class F1</figcaption>
      <canvas ref={ref} width={380} height={340} data-testid="f1-chart" aria-label="Per-class F1" />
    </figure>
  );
}

/** Confusion matrix heat map: rows truth, columns predicted; shade by row fraction. */
export function ConfusionMatrix({ m, title, testId }: { m: RunMetricsDto; title: string; testId: string }) {
  const ref = useRef<HTMLCanvasElement | null>(null);
  const { rows, cols, matrix } = m.confusion;
  const cell = 52;
  const left = 100;
  const top = 90;
  const width = left + cols.length * cell + 70;
  const height = top + rows.length * cell + 10;
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillStyle = TICK;
    ctx.textAlign = 'center';
    ctx.fillText('predicted', left + (cols.length * cell) / 2, 14);
    cols.forEach((c, j) => {
      ctx.save();
      ctx.translate(left + j * cell + cell / 2, top - 8);
      ctx.rotate(-Math.PI / 4);
      ctx.textAlign = 'left';
      ctx.fillText(c, 0, 0);
      ctx.restore();
    });
    rows.forEach((r, i) => {
      const total = (matrix[i] ?? []).reduce((x, y) => x + y, 0);
      ctx.textAlign = 'right';
      ctx.fillStyle = TICK;
      ctx.fillText(r, left - 8, top + i * cell + cell / 2 + 4);
      cols.forEach((_c, j) => {
        const v = matrix[i]?.[j] ?? 0;
        const f = total ? v / total : 0;
        ctx.fillStyle = `rgba(95, 179, 255, ${0.08 + 0.85 * f})`;
        ctx.fillRect(left + j * cell + 1, top + i * cell + 1, cell - 2, cell - 2);
        ctx.fillStyle = f > 0.5 ? '#0b0d10' : '#e8edf2';
        ctx.textAlign = 'center';
        ctx.fillText(String(v), left + j * cell + cell / 2, top + i * cell + cell / 2 + 4);
      });
    });
  }, [m, rows, cols, matrix, width, height]);
  return (
    <figure className="research-plot">
      <figcaption>{title} (rows: truth)</figcaption>
      <canvas ref={ref} width={width} height={height} data-testid={testId} aria-label={title} />
    </figure>
  );
}
