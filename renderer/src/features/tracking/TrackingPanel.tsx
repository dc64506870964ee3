// Longitudinal tumor tracking, shown in the viewer and in the report editor: the AI's tumor volume
// and largest diameter over the patient's studies (chart.js on a canvas: no injected styles, so the
// strict CSP holds), the change since the prior and the first study in percent, the statements that
// keep a model or sequence change from reading as a tumor change, and the radiologist's measurements.
import { useEffect, useMemo, useRef } from 'react';
import { Chart, CategoryScale, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip } from 'chart.js';
import { AI_NOTICE, aiLabelText, formatAreaMm2, formatStudyDate, formatVolumeMm3, type Tracking, type TrackingPoint } from '@contract/index';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend);

const dateOf = (p: TrackingPoint): string => (p.studyDate ? formatStudyDate(p.studyDate) : p.importedAt.slice(0, 10));
const STATUS: Record<TrackingPoint['status'], string> = { measured: '', 'no-tumor': 'no tumor marked', 'not-analysable': 'most slices could not be analysed', 'no-result': 'AI not run' };

export function TrackingPanel({ tracking, compact = false }: { tracking: Tracking; compact?: boolean }) {
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const points = tracking.points;
  const plotted = useMemo(() => points.filter((p) => p.status === 'measured' || p.status === 'no-tumor'), [points]);
  useEffect(() => {
    if (!canvas.current || plotted.length === 0) return;
    const grid = '#2a313a';
    const text = '#a7b1bc';
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: {
        labels: plotted.map(dateOf),
        datasets: [
          { label: 'AI volume (cm³)', data: plotted.map((p) => (p.volumeMm3 === null ? null : p.volumeMm3 / 1000)), borderColor: '#ff9b7a', backgroundColor: '#ff9b7a', yAxisID: 'volume', pointRadius: plotted.map((p) => (p.current ? 6 : 4)), spanGaps: true },
          { label: 'AI largest diameter (mm)', data: plotted.map((p) => p.keySlice?.longestMm ?? null), borderColor: '#5fb3ff', backgroundColor: '#5fb3ff', yAxisID: 'mm', pointRadius: 4, spanGaps: true },
          { label: 'Radiologist longest length (mm)', data: plotted.map((p) => p.radiologist.longestLengthMm), borderColor: '#7ee787', backgroundColor: '#7ee787', borderDash: [6, 4], yAxisID: 'mm', pointRadius: 4, spanGaps: true },
        ],
      },
      options: {
        animation: false,
        responsive: false,
        plugins: { legend: { labels: { color: text, boxWidth: 12 } } },
        scales: {
          x: { ticks: { color: text }, grid: { color: grid } },
          volume: { type: 'linear', position: 'left', beginAtZero: true, ticks: { color: text }, grid: { color: grid }, title: { display: true, text: 'cm³', color: text } },
          mm: { type: 'linear', position: 'right', beginAtZero: true, ticks: { color: text }, grid: { display: false }, title: { display: true, text: 'mm', color: text } },
        },
      },
    });
    return () => chart.destroy();
  }, [plotted]);

  return (
    <section className="tracking" aria-labelledby="tracking-title" data-testid="tracking">
      <h2 id="tracking-title">Tumor over time</h2>
      <p className="notice-block small" role="note">{AI_NOTICE}</p>
      {plotted.length ? (
        <canvas ref={canvas} width={compact ? 296 : 420} height={compact ? 170 : 200} data-testid="tracking-chart" aria-label={`AI tumor volume and largest diameter over ${plotted.length} studies`} role="img" />
      ) : (
        <p className="muted small">No study of this patient has an AI tumor measurement yet.</p>
      )}
      {tracking.sincePrior && (
        <p data-testid="tracking-change-prior">
          <strong>Since the prior:</strong> {tracking.sincePrior.text}
        </p>
      )}
      {tracking.sinceFirst && tracking.sinceFirst.fromStudyId !== tracking.sincePrior?.fromStudyId && (
        <p data-testid="tracking-change-first">
          <strong>Since the first:</strong> {tracking.sinceFirst.text}
        </p>
      )}
      {tracking.statements.map((s) => (
        <p key={s} className="warn-text small" data-testid="tracking-statement">
          {s}
        </p>
      ))}
      <table className="tracking-table small" data-testid="tracking-table">
        <thead>
          <tr>
            <th scope="col">Study</th>
            <th scope="col">AI</th>
            <th scope="col">Volume</th>
            <th scope="col">Key slice</th>
            {!compact && <th scope="col">Model, sequence</th>}
            <th scope="col">Radiologist</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.studyId} className={p.current ? 'current' : undefined} data-testid="tracking-row">
              <td>
                {dateOf(p)}
                {p.current ? ' (this study)' : ''}
              </td>
              <td>{p.label ? aiLabelText(p.label) : '–'}{STATUS[p.status] ? <span className="muted"> · {STATUS[p.status]}</span> : null}</td>
              <td data-testid="tracking-volume" title={p.volumeNote ?? (p.sliceSpacingMm ? `mask area x ${p.sliceSpacingMm.toFixed(1)} mm slice spacing` : '')}>
                {p.volumeMm3 !== null ? formatVolumeMm3(p.volumeMm3) : p.status === 'measured' ? <span className="muted">n/a</span> : '–'}
              </td>
              <td>
                {p.keySlice && p.status === 'measured'
                  ? `${p.keySlice.areaMm2 !== null ? formatAreaMm2(p.keySlice.areaMm2) : `${p.keySlice.areaPx} px`}${p.keySlice.longestMm !== null ? `, ${p.keySlice.longestMm.toFixed(1)} x ${(p.keySlice.perpendicularMm ?? 0).toFixed(1)} mm` : ''}`
                  : '–'}
                {p.keySlice && p.status === 'measured' && !compact ? <div className="muted">{p.keySlice.where}</div> : null}
              </td>
              {!compact && (
                <td>
                  {p.modelId ? `${p.modelId} ${p.modelVersion}` : '–'}
                  {p.sequence ? <div className="muted">{p.sequence}</div> : null}
                </td>
              )}
              <td>{p.radiologist.count ? (p.radiologist.longestLengthMm !== null ? `${p.radiologist.longestLengthMm.toFixed(1)} mm (longest of ${p.radiologist.count})` : `${p.radiologist.count} measurement${p.radiologist.count === 1 ? '' : 's'}`) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
