// The AI side panel: run state with progress and cancel, the study and series findings with the
// jump to the key slice, this slice's result, the overlay controls, the model and its validated
// accuracy, and the "not a medical device" notice that every AI display carries.
import type { AiInstanceResult, AiProgress, AiSeriesResult, AiStudyResult, ModelSummary, SeriesSummary } from '@contract/index';
import { AI_NOTICE, NOT_RECOGNISED_LABEL, summariseFinding } from '@contract/index';
import { labelText, percent, sequenceList, sequenceWarning, validatedAccuracy } from './ai-format';
import type { OverlaySettings } from './overlay';

export interface AiPanelProps {
  result: AiStudyResult | null;
  progress: AiProgress | null;
  running: boolean;
  error: string | null;
  models: ModelSummary[];
  currentSeries: AiSeriesResult | null;
  /** The MR sequence of the series on screen, from its header (for the validation warning). */
  currentSequence?: SeriesSummary['sequence'];
  currentSlice: AiInstanceResult | null;
  overlay: OverlaySettings;
  onOverlay(next: OverlaySettings): void;
  onRun(): void;
  onCancel(): void;
  onJumpToKey(series: AiSeriesResult): void;
  /** Set when the active viewport shows a prior: "Prior 2024-01-10". */
  studyLabel?: string | null;
}

function Finding(props: { title: string; finding: AiSeriesResult; onJump(): void; testId: string }) {
  const { finding } = props;
  const summary = summariseFinding(finding);
  // When most slices could not be analysed, that comes first and no class is shown as the finding.
  const tone = summary.mostlyUnanalysed || summary.analysed === 0 || finding.label === NOT_RECOGNISED_LABEL ? 'unknown' : finding.label;
  return (
    <div className="ai-finding" data-testid={props.testId}>
      <div className="muted">{props.title}</div>
      <div className={`ai-label ai-label-${tone}`} data-testid={`${props.testId}-headline`}>
        {summary.headline}
      </div>
      <div className="muted small">{summary.detail}</div>
      {finding.keyInstanceId && (
        <button type="button" onClick={props.onJump} title="Jump to the key slice of this finding (K)">
          {summary.mostlyUnanalysed ? 'Jump to the strongest analysed slice' : 'Jump to key slice'}
        </button>
      )}
    </div>
  );
}

export function AiPanel(props: AiPanelProps) {
  const { result, progress, running, overlay } = props;
  const model = result?.model ? props.models.find((m) => m.id === result.model!.id) : undefined;
  const acc = validatedAccuracy(model);
  const seqWarning = result?.finding ? sequenceWarning(props.currentSequence, model) : null;
  return (
    <section className="ai-panel" aria-labelledby="ai-panel-title" data-testid="ai-panel">
      <h2 id="ai-panel-title">AI finding{props.studyLabel ? ` · ${props.studyLabel}` : ''}</h2>
      <p className="notice-block small" role="note" data-testid="ai-notice">{AI_NOTICE}</p>
      {running && (
        <div className="ai-progress" aria-live="polite">
          <div>
            Running the model… {progress ? `${progress.done} of ${progress.total} images` : 'starting'}
          </div>
          <progress max={progress?.total || 1} value={progress?.done ?? 0} aria-label="AI progress" />
          <button type="button" onClick={props.onCancel} title="Cancel the AI run (results already scored are kept)">
            Cancel
          </button>
        </div>
      )}
      {props.error && <p className="error" role="alert">{props.error}</p>}
      {!running && result && result.status !== 'done' && (
        <div>
          <p className="muted" data-testid="ai-status">
            {result.status === 'not-run' ? 'The model has not run on this study.' : result.status === 'cancelled' ? 'The last run was cancelled; the finding covers the images scored before.' : result.error ?? 'The last run failed.'}
          </p>
          <button type="button" className="primary" onClick={props.onRun} title="Run the model on every image of this study">
            Run AI
          </button>
        </div>
      )}
      {result?.finding && (
        <Finding title="Study finding" finding={result.finding} testId="ai-study-finding" onJump={() => props.onJumpToKey(result.finding!)} />
      )}
      {seqWarning && (
        <p className="warning-block small" role="note" data-testid="ai-sequence-warning">
          {seqWarning}
        </p>
      )}
      {props.currentSeries && result?.finding && props.currentSeries.seriesId !== result.finding.seriesId && (
        <Finding title="This series" finding={props.currentSeries} testId="ai-series-finding" onJump={() => props.onJumpToKey(props.currentSeries!)} />
      )}
      {result && result.status !== 'not-run' && (
        <div className="ai-slice" data-testid="ai-slice">
          <div className="muted">This slice</div>
          {props.currentSlice ? (
            <>
              <div>
                {labelText(props.currentSlice.label)} <span className="ai-prob">{percent(props.currentSlice.confidence)}</span>
              </div>
              <table className="ai-probs">
                <tbody>
                  {Object.entries(props.currentSlice.probabilities)
                    .sort((a, b) => b[1] - a[1])
                    .map(([k, v]) => (
                      <tr key={k}>
                        <td>{labelText(k)}</td>
                        <td className="num">{percent(v)}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
              <div className="muted small">
                Tumor area:{' '}
                {props.currentSlice.areaPx === 0
                  ? 'none marked'
                  : props.currentSlice.areaMm2 !== null
                    ? `${props.currentSlice.areaMm2.toFixed(1)} mm² (${props.currentSlice.areaPx} px)`
                    : `${props.currentSlice.areaPx} px (no pixel spacing in the file)`}
              </div>
            </>
          ) : (
            <div className="muted small">Not scored.</div>
          )}
        </div>
      )}
      <fieldset className="ai-overlay-controls">
        <legend>Tumor overlay</legend>
        <label className="inline">
          <input
            type="checkbox"
            checked={overlay.visible}
            onChange={(e) => props.onOverlay({ ...overlay, visible: e.target.checked })}
            data-testid="overlay-toggle"
          />
          <span title="Show or hide the tumor overlay (O)">Show overlay (O)</span>
        </label>
        <label htmlFor="overlay-opacity" title="Opacity of the overlay fill ([ and ])">
          Opacity {Math.round(overlay.opacity * 100)}% ([ / ])
        </label>
        <input
          id="overlay-opacity"
          type="range"
          min={0}
          max={100}
          step={5}
          value={Math.round(overlay.opacity * 100)}
          onChange={(e) => props.onOverlay({ ...overlay, opacity: Number(e.target.value) / 100 })}
          title="Opacity of the overlay fill ([ and ])"
        />
        <label htmlFor="overlay-mode" title="Fill, contour or both (M)">Style (M)</label>
        <select id="overlay-mode" value={overlay.mode} onChange={(e) => props.onOverlay({ ...overlay, mode: e.target.value as OverlaySettings['mode'] })} title="Fill, contour or both (M)">
          <option value="both">Fill and contour</option>
          <option value="fill">Fill</option>
          <option value="contour">Contour</option>
        </select>
      </fieldset>
      {result?.model && (
        <dl className="ai-model small" data-testid="ai-model">
          <dt>Model</dt>
          <dd>
            {result.model.id} {result.model.version}
          </dd>
          <dt>Runtime</dt>
          <dd>{result.model.runtime}</dd>
          <dt>{model?.headline ? 'Expected accuracy on a new site' : 'Validated accuracy'}</dt>
          <dd data-testid="ai-model-accuracy">{acc ? `${percent(acc.accuracy)} (${acc.kind}${acc.n ? `, n = ${acc.n.toLocaleString('en-GB')}` : ''})` : 'not stated on the model card'}</dd>
          {model?.validatedSequences && model.validatedSequences.length > 0 && (
            <>
              <dt>Validated on</dt>
              <dd data-testid="ai-model-sequences">{sequenceList(model.validatedSequences)}</dd>
            </>
          )}
          {model?.licenseNotice && (
            <>
              <dt>Licence</dt>
              <dd>{model.licenseNotice}</dd>
            </>
          )}
        </dl>
      )}
      {result && result.failures.length > 0 && (
        <p className="muted small">{result.failures.length} image(s) could not be scored: {result.failures[0]!.reason}</p>
      )}
    </section>
  );
}
