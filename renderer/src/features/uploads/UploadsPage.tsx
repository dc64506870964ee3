// Send images: a patient sends their scan (DICOM files or a folder, or PNG/JPEG pictures) for a
// radiologist of their care team to review, and follows what happened to each upload. The main
// process files it under their own record and decides what they may see before the review.
import { useCallback, useEffect, useState } from 'react';
import type { MyUpload } from '@contract/index';
import { api } from '../../api/client';
import { useNotifications } from '../../app/notifications';
import { signedOn } from '../patient/PatientPage';
import { SendImages } from './SendImages';
import './uploads.css';
import '../patient/patient.css';

type State = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; uploads: MyUpload[]; mayUpload: boolean; notAllowedReason: string | null };

function UploadCard({ u }: { u: MyUpload }) {
  return (
    <article className="upload-card" data-testid="my-upload" data-state={u.state} data-upload-id={u.id} aria-labelledby={`upload-${u.id}`}>
      <h3 id={`upload-${u.id}`}>{u.headline}</h3>
      <p className="muted">
        Sent on {signedOn(u.receivedAt)} · {u.imported} of {u.files} file{u.files === 1 ? '' : 's'} received
        {u.kind === 'images' ? ' (pictures)' : u.kind === 'mixed' ? ' (scan files and pictures)' : ' (scan files)'}
      </p>
      {u.paragraphs.map((p, i) => (
        <p key={i} data-testid="my-upload-text">
          {p}
        </p>
      ))}
      {u.preliminary && (
        <p className="preliminary" role="note" data-testid="my-upload-preliminary">
          <span className="notice">{u.preliminary.notice}</span>
          {u.preliminary.text}
        </p>
      )}
      {u.refusals.length > 0 && (
        <details>
          <summary>
            {u.refused} file{u.refused === 1 ? ' was' : 's were'} not used
          </summary>
          <ul>
            {u.refusals.map((r, i) => (
              <li key={i}>
                {r.name}: {r.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
    </article>
  );
}

export function UploadsPage() {
  const [state, setState] = useState<State>({ status: 'loading' });
  const { version } = useNotifications();
  const load = useCallback((): void => {
    api.call('uploads.mine', {}).then(
      (r) => setState({ status: 'ready', ...r }),
      (e: unknown) => setState({ status: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
  }, []);
  // A review outcome arrives as a notification: the list follows it.
  useEffect(load, [load, version]);

  return (
    <section className="page patient-page" aria-labelledby="uploads-title" aria-busy={state.status === 'loading'}>
      <h1 id="uploads-title">Send images</h1>
      <p className="patient-intro">Send the images of a scan to your care team. A radiologist looks at them and you will see the outcome here.</p>
      {state.status === 'error' && (
        <div role="alert" className="patient-error">
          <p>{state.message}</p>
          <button type="button" onClick={load}>
            Try again
          </button>
        </div>
      )}
      {state.status === 'ready' && !state.mayUpload && (
        <p className="patient-empty" role="note" data-testid="uploads-not-allowed">
          {state.notAllowedReason}
        </p>
      )}
      {state.status === 'ready' && state.mayUpload && <SendImages idPrefix="my-upload" large onSent={load} />}
      {state.status === 'ready' && (
        <>
          <h2 style={{ fontSize: 26 }}>Your uploads</h2>
          {state.uploads.length === 0 ? (
            <p className="muted" data-testid="my-uploads-empty">
              Nothing sent yet.
            </p>
          ) : (
            <ol className="patient-results" aria-label="Your uploads, newest first">
              {state.uploads.map((u) => (
                <li key={u.id}>
                  <UploadCard u={u} />
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
