// My results: the patient's own signed reports in plain language, newest first, for reading in
// the consultation room with the doctor beside them (large type) or printing to take home (with
// their name, birth date and Patient ID on it): the key images, the words of the report
// explained, and any notes added after signing. The main process decides whose reports these are
// (the account's patient link); this page only shows them.
import { useCallback, useEffect, useState } from 'react';
import { AI_NOTICE, type PatientSummary, type ResponseOf } from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import { askAboutReport } from '../messages/ask';
import { termsIn } from './glossary';
import './patient.css';

type Whose = ResponseOf<'reports.patientSummary'>['patient'];
type State = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; summaries: PatientSummary[]; patient: Whose };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** DICOM YYYYMMDD as "15 March 2024": no locale guessing, so the printout reads the same everywhere. */
export function scanDate(dicomDate: string | null): string {
  const m = dicomDate ? /^(\d{4})(\d{2})(\d{2})$/.exec(dicomDate) : null;
  const month = m ? MONTHS[Number(m[2]) - 1] : undefined;
  return m && month ? `${Number(m[3])} ${month} ${m[1]}` : 'date not recorded';
}

/** An ISO time as "15 March 2024 at 14:05" in the computer's time zone. */
export function signedOn(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'date not recorded';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} at ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function KeyImage({ reportId, image }: { reportId: string; image: PatientSummary['keyImages'][number] }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    api.call('reports.keyImage', { reportId, keyImageId: image.id }).then((r) => setSrc(`data:image/png;base64,${r.pngBase64}`), () => setFailed(true));
  }, [reportId, image.id]);
  const alt = image.caption ? `Key image from your scan: ${image.caption}` : 'Key image from your scan';
  return (
    <figure className="patient-key-image" data-testid="patient-key-image">
      {/* The box keeps its size while the picture loads, so nothing moves. */}
      <div className="patient-key-frame" style={{ aspectRatio: `${image.width} / ${image.height}` }}>
        {src ? <img src={src} alt={alt} /> : <span className="muted">{failed ? 'This picture could not be loaded.' : 'Loading the picture…'}</span>}
      </div>
      {image.caption && <figcaption>{image.caption}</figcaption>}
    </figure>
  );
}

function Result({ summary }: { summary: PatientSummary }) {
  const titleId = `result-${summary.reportId}`;
  const navigation = useNavigation();
  const words = termsIn(summary.reportText);
  return (
    <article className="patient-result" aria-labelledby={titleId} data-testid="patient-result" data-report-id={summary.reportId}>
      <h2 id={titleId}>{summary.headline}</h2>
      <dl className="patient-facts">
        <dt>Scan date</dt>
        <dd>{scanDate(summary.studyDate)}</dd>
        <dt>Signed by</dt>
        <dd>{summary.signedByName || 'the radiologist'}</dd>
        <dt>Signed on</dt>
        <dd>{signedOn(summary.signedAt)}</dd>
      </dl>
      {summary.paragraphs.map((p, i) => (
        <p key={i}>{p}</p>
      ))}
      {summary.keyImages.length > 0 && (
        <div className="patient-key-images" role="group" aria-label="Key images the radiologist chose">
          {summary.keyImages.map((k) => (
            <KeyImage key={k.id} reportId={summary.reportId} image={k} />
          ))}
        </div>
      )}
      {summary.addenda.map((a) => (
        <div key={a.seq} className="patient-addendum" data-testid="patient-addendum">
          <p>{a.intro}</p>
          <blockquote>{a.text}</blockquote>
        </div>
      ))}
      {words.length > 0 && (
        <details className="patient-glossary" data-testid="patient-glossary" open>
          <summary>Words in this report, explained</summary>
          <dl>
            {words.map((w) => (
              <div key={w.term}>
                <dt>{w.term}</dt>
                <dd>{w.plain}</dd>
              </div>
            ))}
          </dl>
        </details>
      )}
      {summary.aiAssisted && (
        <p className="notice-block patient-ai-notice" role="note" data-testid="patient-ai-notice">
          {AI_NOTICE}
        </p>
      )}
      <p className="patient-ask">
        <button
          type="button"
          className="btn-quiet"
          onClick={() => {
            askAboutReport(summary.reportId);
            navigation.go('messages');
          }}
        >
          Ask your doctor about this
        </button>
      </p>
    </article>
  );
}

export function PatientPage() {
  const [state, setState] = useState<State>({ status: 'loading' });

  const load = useCallback((): void => {
    setState({ status: 'loading' });
    api.call('reports.patientSummary', {}).then(
      // Newest signature first, whatever order the answer comes in.
      (r) => setState({ status: 'ready', summaries: [...r.summaries].sort((a, b) => b.signedAt.localeCompare(a.signedAt)), patient: r.patient }),
      (e: unknown) => setState({ status: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, []);
  useEffect(load, [load]);

  const summaries = state.status === 'ready' ? state.summaries : [];

  return (
    <section className="page patient-page" aria-labelledby="patient-title" aria-busy={state.status === 'loading'}>
      <header className="patient-head">
        <h1 id="patient-title">My results</h1>
        <button type="button" className="primary patient-print" onClick={() => window.print()} disabled={summaries.length === 0} title="Print your results (Ctrl+P)">
          Print
        </button>
      </header>
      <p className="patient-intro">Your signed scan reports, explained in plain language. The newest is first.</p>
      {state.status === 'ready' && state.patient && (
        <dl className="patient-facts patient-whose" data-testid="patient-whose" aria-label="Whose results these are">
          <dt>Name</dt>
          <dd>{state.patient.displayName}</dd>
          <dt>Born</dt>
          <dd>{scanDate(state.patient.birthDate).replace('date not recorded', 'not recorded')}</dd>
          <dt>Patient ID</dt>
          <dd>{state.patient.dicomPatientId ?? 'not recorded'}</dd>
        </dl>
      )}

      {state.status === 'loading' && (
        <p role="status" className="muted">
          Loading your results…
        </p>
      )}
      {state.status === 'error' && (
        <div role="alert" className="patient-error" data-testid="patient-error">
          <p>{state.message}</p>
          <button type="button" onClick={load}>
            Try again
          </button>
        </div>
      )}
      {state.status === 'ready' && summaries.length === 0 && (
        <p role="status" className="patient-empty" data-testid="patient-empty">
          No signed results yet. Your doctor will tell you when a report is ready.
        </p>
      )}
      {summaries.length > 0 && (
        <ol className="patient-results" aria-label="Your signed results, newest first">
          {summaries.map((s) => (
            <li key={s.reportId}>
              <Result summary={s} />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
