// The file and folder pickers, the list of what will be sent, progress and the outcome: used by
// the patient's "Send images" page and by a radiologist adding images for a patient.
import { useRef, useState } from 'react';
import type { ResponseOf } from '@contract/index';
import { sendForReview, type SendProgress } from './send';

const sizeText = (n: number): string => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);

export function SendImages(props: { patientId?: string; disabled?: boolean; large?: boolean; onSent(r: ResponseOf<'uploads.submit'>): void; idPrefix: string }) {
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<SendProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<ResponseOf<'uploads.submit'> | null>(null);
  const folderRef = useRef<HTMLInputElement | null>(null);
  const busy = progress !== null;
  const total = files.reduce((n, f) => n + f.size, 0);

  const add = (list: FileList | null): void => {
    // Copied now: the input is cleared right after, which empties its live FileList.
    const picked = list ? Array.from(list) : [];
    if (!picked.length) return;
    setDone(null);
    setError(null);
    setFiles((prev) => [...prev, ...picked]);
  };

  const send = (): void => {
    setError(null);
    setDone(null);
    setProgress({ phase: 'sending', sentBytes: 0, totalBytes: total });
    sendForReview(files, { ...(props.patientId ? { patientId: props.patientId } : {}), onProgress: setProgress }).then(
      (r) => {
        setProgress(null);
        setFiles([]);
        setDone(r);
        props.onSent(r);
      },
      (e: unknown) => {
        setProgress(null);
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  };

  const id = props.idPrefix;
  return (
    <div className={props.large ? 'send-images large' : 'send-images'} data-testid="send-images">
      <div className="send-pickers">
        <label htmlFor={`${id}-files`} className="send-picker">
          Choose files
          <input id={`${id}-files`} data-testid="upload-files" type="file" multiple accept=".dcm,.dicom,.jpg,.jpeg,.png,application/dicom,image/jpeg,image/png,*/*" disabled={busy || props.disabled} onChange={(e) => { add(e.target.files); e.target.value = ''; }} />
        </label>
        <label htmlFor={`${id}-folder`} className="send-picker">
          Choose a folder
          <input
            id={`${id}-folder`}
            data-testid="upload-folder"
            type="file"
            multiple
            disabled={busy || props.disabled}
            ref={(el) => {
              folderRef.current = el;
              el?.setAttribute('webkitdirectory', '');
            }}
            onChange={(e) => { add(e.target.files); e.target.value = ''; }}
          />
        </label>
      </div>
      <p className="muted send-help">DICOM files or a whole folder from a CD or USB stick, or PNG/JPEG pictures of your scan.</p>
      {files.length > 0 && (
        <div className="send-chosen" data-testid="upload-chosen">
          <p>
            {files.length} file{files.length === 1 ? '' : 's'} chosen ({sizeText(total)}).{' '}
            <button type="button" className="btn-quiet" disabled={busy} onClick={() => setFiles([])}>
              Clear
            </button>
          </p>
          <ul>
            {files.slice(0, 8).map((f, i) => (
              <li key={`${f.name}-${i}`}>{f.webkitRelativePath || f.name}</li>
            ))}
            {files.length > 8 && <li>… and {files.length - 8} more</li>}
          </ul>
        </div>
      )}
      <div className="form-actions">
        <button type="button" className="primary" data-testid="upload-send" disabled={busy || props.disabled || files.length === 0} onClick={send}>
          {busy ? 'Sending…' : 'Send for review'}
        </button>
      </div>
      {progress && (
        <p role="status" data-testid="upload-progress">
          {progress.phase === 'sending' ? `Sending: ${Math.round((100 * progress.sentBytes) / Math.max(1, progress.totalBytes))}%` : 'Checking the files…'}
          <progress max={progress.totalBytes || 1} value={progress.sentBytes} aria-label="Sending" style={{ marginLeft: 12 }} />
        </p>
      )}
      {error && (
        <p role="alert" className="error" data-testid="upload-error">
          {error}
        </p>
      )}
      {done && (
        <div role="status" className="ok" data-testid="upload-done">
          <p>
            Sent: {done.imported} of {done.files} file{done.files === 1 ? '' : 's'} received for review.
          </p>
          {done.refusals.length > 0 && (
            <ul className="error">
              {done.refusals.map((r, i) => (
                <li key={i}>
                  {r.name} was not used: {r.reason}.
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
