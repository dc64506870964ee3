// The tumor's area over the patient's studies, drawn with chart.js on a canvas (no injected
// styles, so the strict CSP holds), with the change since the last study in words.
import { useEffect, useMemo, useRef } from 'react';
import { Chart, LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip } from 'chart.js';
import { aiLabelText, type HistoryPoint } from '@contract/index';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip);

const dateOf = (p: HistoryPoint): string => (p.studyDate && /^\d{8}$/.test(p.studyDate) ? `${p.studyDate.slice(0, 4)}-${p.studyDate.slice(4, 6)}-${p.studyDate.slice(6, 8)}` : p.importedAt.slice(0, 10));

export function HistoryChart({ points, change }: { points: HistoryPoint[]; change: string | null }) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const measured = useMemo(() => points.filter((p) => p.areaMm2 !== null), [points]);
  useEffect(() => {
    if (!canvas.current || measured.length === 0) return;
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: {
        labels: measured.map(dateOf),
        datasets: [{ label: 'Tumor area (mm²)', data: measured.map((p) => p.areaMm2 ?? 0), borderColor: '#5fb3ff', backgroundColor: '#5fb3ff', pointRadius: measured.map((p) => (p.current ? 6 : 4)) }],
      },
      options: { animation: false, responsive: false, scales: { x: { ticks: { color: '#a7b1bc' } }, y: { beginAtZero: true, ticks: { color: '#a7b1bc' }, title: { display: true, text: 'mm²', color: '#a7b1bc' } } } },
    });
    return () => chart.destroy();
  }, [measured]);
  return (
    <section className="report-history" aria-label="History">
      <h2>History</h2>
      {measured.length ? <canvas ref={canvas} width={420} height={180} data-testid="history-chart" aria-label="Tumor area over time" /> : <p className="muted">No measured studies.</p>}
      {change ? <p data-testid="history-change">{change}</p> : null}
      <table>
        <thead>
          <tr><th>Date</th><th>AI</th><th>Area</th><th>Report</th></tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.studyId} className={p.current ? 'current' : undefined}>
              <td>{dateOf(p)}{p.current ? ' (this study)' : ''}</td>
              <td>{p.aiLabel ? aiLabelText(p.aiLabel) : '–'}</td>
              <td>{p.areaMm2 === null ? '–' : `${p.areaMm2.toFixed(1)} mm²`}</td>
              <td title={p.impression ?? ''}>{p.reportStatus}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
