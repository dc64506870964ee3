// Per-round metrics over the rounds (chart.js): the candidate's and the current global model's
// accuracy on the reference set as the gate measured them, and the candidate's recall per class.
// A canvas only (no injected styles, so the CSP holds); responsive off, so nothing shifts.
import { useEffect, useRef } from 'react';
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { RoundSummary } from '@contract/index';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

const TICK = '#a7b1bc';
const GRID = '#2a313a';
const CLASS_COLOURS: Record<string, string> = { glioma: '#ff7b72', meningioma: '#ffcc66', notumor: '#7ee787', pituitary: '#d2a8ff' };

export function RoundsChart({ rounds }: { rounds: RoundSummary[] }) {
  const ref = useRef<HTMLCanvasElement | null>(null);
  const gated = [...rounds].filter((r) => r.gate).sort((a, b) => a.round - b.round);
  useEffect(() => {
    if (!ref.current) return;
    const labels = gated.map((r) => `round ${r.round}`);
    const pts = (f: (r: RoundSummary) => number | null | undefined) => gated.map((r) => {
      const v = f(r);
      return v === null || v === undefined ? null : v * 100;
    });
    const classes = Object.keys(gated[0]?.gate?.candidate.recall ?? {});
    const chart = new Chart(ref.current, {
      type: 'line',
      data: {
        labels,
        datasets: [
          { label: 'candidate accuracy', data: pts((r) => r.gate?.candidate.accuracy), borderColor: '#5fb3ff', backgroundColor: '#5fb3ff', borderWidth: 3 },
          { label: 'current global accuracy', data: pts((r) => r.gate?.current.accuracy), borderColor: '#e6edf3', backgroundColor: '#e6edf3', borderDash: [6, 4], borderWidth: 2 },
          ...classes.map((c) => ({ label: `candidate recall ${c}`, data: pts((r) => r.gate?.candidate.recall[c]), borderColor: CLASS_COLOURS[c] ?? '#76e3ea', backgroundColor: CLASS_COLOURS[c] ?? '#76e3ea', borderWidth: 1 })),
        ],
      },
      options: {
        animation: false,
        responsive: false,
        plugins: { legend: { labels: { color: TICK, boxWidth: 10 } } },
        scales: {
          x: { ticks: { color: TICK }, grid: { color: GRID } },
          y: { min: 0, max: 100, ticks: { color: TICK }, grid: { color: GRID }, title: { display: true, text: '% on the reference set', color: TICK } },
        },
      },
    });
    return () => chart.destroy();
  }, [rounds]);
  return (
    <figure className="research-plot">
      <figcaption>Per-round metrics on the coordinator's reference set (as the validation gate measured them)</figcaption>
      {gated.length === 0 ? <p className="muted">No round has been gated yet.</p> : null}
      <canvas ref={ref} width={720} height={300} data-testid="rounds-chart" aria-label="Accuracy and recall per round on the reference set" />
    </figure>
  );
}
