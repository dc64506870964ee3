// Side panels of the viewer: the patient's prior studies (open one beside the current) and the
// measurements panel (every stored measurement of the studies on screen: jump to it, delete one's own).
import type { Measurement, StudySummary } from '@contract/index';
import { formatStudyDate } from '@contract/index';

export function PriorsPanel(props: { priors: StudySummary[] | null; openIds: ReadonlySet<string>; onOpen(studyId: string): void }) {
  const { priors } = props;
  return (
    <section className="priors-panel" aria-labelledby="priors-title" data-testid="priors">
      <h2 id="priors-title">Prior studies</h2>
      {priors === null ? (
        <p className="muted small">Looking for the patient's earlier studies…</p>
      ) : priors.length === 0 ? (
        <p className="muted small">No other study of this patient.</p>
      ) : (
        <ul>
          {priors.map((p) => (
            <li key={p.studyId} data-testid="prior-row">
              <span>
                {formatStudyDate(p.studyDate)} · {p.description ?? p.modalities.join(', ')} <span className="muted">({p.seriesCount} series)</span>
              </span>
              <button type="button" onClick={() => props.onOpen(p.studyId)} disabled={props.openIds.has(p.studyId)} title="Show this study beside the current one (1x2), the same sequence matched">
                {props.openIds.has(p.studyId) ? 'Open' : 'Open beside'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function MeasurementsPanel(props: {
  groups: { label: string; measurements: Measurement[] }[];
  selected: string | null;
  error: string | null;
  onSelect(m: Measurement): void;
  onDelete(m: Measurement): void;
}) {
  const total = props.groups.reduce((n, g) => n + g.measurements.length, 0);
  return (
    <section className="measure-panel" aria-labelledby="measure-title" data-testid="measurements">
      <h2 id="measure-title">Measurements</h2>
      {props.error && <p className="error small" role="alert">{props.error}</p>}
      {total === 0 ? (
        <p className="muted small">None yet. Length (L), ellipse (A), freehand (D), angle (G) or probe (V), then drag on the image; or focus the image and press Enter to measure with the keyboard. They are kept with the image.</p>
      ) : (
        props.groups
          .filter((g) => g.measurements.length)
          .map((g) => (
            <div key={g.label}>
              <div className="muted small">{g.label}</div>
              <ul>
                {g.measurements.map((m) => (
                  <li key={m.id} className={m.id === props.selected ? 'selected' : undefined} data-testid="measurement-row">
                    <button type="button" className="link-button" onClick={() => props.onSelect(m)} title={`Show it (${m.where})`}>
                      {m.text}
                    </button>
                    <div className="muted small">
                      {m.where}
                      {m.mine ? '' : ` · by ${m.createdByName}`}
                    </div>
                    {m.mine && (
                      <button type="button" className="btn-quiet small" onClick={() => props.onDelete(m)} aria-label={`Delete ${m.text}`} title="Delete this measurement">
                        Delete
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            </div>
          ))
      )}
    </section>
  );
}
