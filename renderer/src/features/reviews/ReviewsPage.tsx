// The review queue of patient uploads: Pending, All, Approved and Rejected with their counts; an
// item shows whose images they are (and when the files name someone else), what could not be
// used and the AI result; it opens in the viewer; a radiologist approves it (its report draft
// opens, to sign as usual) or rejects it with a reason the patient reads, and keeps notes. In the
// consultation room, a radiologist can add a patient's images here too.
import { useCallback, useEffect, useState } from 'react';
import { AI_NOTICE, MAX_REJECT_REASON_CHARS, REVIEW_FILTERS, REVIEW_FILTER_LABELS, type PatientMatch, type ReviewFilter, type ReviewItem } from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import { useNotifications } from '../../app/notifications';
import { dicomDate, formatWhen } from '../../app/format';
import { labelText, percent } from '../viewer/ai-format';
import { PatientPicker, describePatient } from '../admin/PatientPicker';
import { SendImages } from '../uploads/SendImages';
import '../uploads/uploads.css';
import '../reports/reports.css';
import './reviews.css';

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const KIND: Record<ReviewItem['kind'], string> = { dicom: 'DICOM files', images: 'Pictures (PNG/JPEG)', mixed: 'DICOM files and pictures' };

function aiText(ai: ReviewItem['ai']): string {
  if (ai.status === 'done' && ai.label) return `${labelText(ai.label)}${ai.confidence !== null ? ` ${percent(ai.confidence)}` : ''}`;
  return { 'not-run': 'not run', running: 'running…', done: 'done', failed: 'failed', cancelled: 'cancelled' }[ai.status];
}

function stateText(r: ReviewItem): string {
  if (r.review === 'pending') return 'Pending';
  if (r.review === 'rejected') return 'Rejected';
  return r.reportStatus === 'final' || r.reportStatus === 'rejected' ? 'Approved, report signed' : 'Approved, report draft';
}

function Detail({ item, onChanged }: { item: ReviewItem; onChanged(next: ReviewItem): void }) {
  const navigation = useNavigation();
  const [reason, setReason] = useState('');
  const [notes, setNotes] = useState(item.notes);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setNotes(item.notes);
    setReason('');
    setError(null);
    setInfo(null);
  }, [item.id]);

  const act = (fn: () => Promise<void>): void => {
    setBusy(true);
    setError(null);
    setInfo(null);
    fn().then(
      () => setBusy(false),
      (e: unknown) => {
        setBusy(false);
        setError(msg(e));
      },
    );
  };

  const approve = (): void =>
    act(async () => {
      const r = await api.call('reviews.approve', { uploadId: item.id });
      onChanged(r.item);
      navigation.openReport(r.studyId);
    });
  const reject = (): void => {
    if (reason.trim().length < 3) {
      setError('Write the reason the patient will read (at least 3 characters).');
      return;
    }
    act(async () => {
      onChanged(await api.call('reviews.reject', { uploadId: item.id, reason: reason.trim() }));
      setInfo('Rejected. The patient has been notified and can read your reason.');
    });
  };
  const saveNotes = (): void =>
    act(async () => {
      onChanged(await api.call('reviews.saveNotes', { uploadId: item.id, notes }));
      setInfo('Notes saved.');
    });

  const pending = item.review === 'pending';
  return (
    <section className="review-detail" aria-labelledby="review-detail-title" data-testid="review-detail" data-upload-id={item.id} data-review={item.review}>
      <h2 id="review-detail-title">
        {item.patientName}
        {item.patientDicomId ? ` (${item.patientDicomId})` : ''}
      </h2>
      <dl className="facts">
        <dt>Born</dt>
        <dd>{dicomDate(item.patientBirthDate) || 'unknown'}</dd>
        <dt>Sent by</dt>
        <dd>
          {item.uploadedByName} ({item.uploadedByRole === 'patient' ? 'the patient' : 'care team, consultation room'}) on {formatWhen(item.receivedAt)}
        </dd>
        <dt>Files</dt>
        <dd>
          {KIND[item.kind]}: {item.imported} of {item.files} used{item.refused ? `, ${item.refused} refused` : ''}
        </dd>
        <dt>State</dt>
        <dd data-testid="review-state">{stateText(item)}{item.reviewedByName ? ` by ${item.reviewedByName}, ${formatWhen(item.reviewedAt)}` : ''}</dd>
        {item.rejectReason && (
          <>
            <dt>Reason given</dt>
            <dd>{item.rejectReason}</dd>
          </>
        )}
      </dl>
      {item.patientIdMismatch && (
        <p className="notice-block" role="note" data-testid="review-mismatch">
          The files name Patient ID {item.filePatientIds.join(', ')}, but they were filed under {item.patientName}
          {item.patientDicomId ? ` (Patient ID ${item.patientDicomId})` : ' (a record without a hospital Patient ID)'}. Check whose images these are before you approve them.
        </p>
      )}
      {item.refusals.length > 0 && (
        <details>
          <summary>Files not used ({item.refused})</summary>
          <ul>
            {item.refusals.map((r, i) => (
              <li key={i}>
                {r.name}: {r.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      <div className="review-ai" data-testid="review-ai">
        <strong>AI result:</strong> {aiText(item.ai)}
        <p className="muted" role="note">
          {AI_NOTICE}
        </p>
      </div>
      <div className="form-actions">
        {item.studyId && (
          <button type="button" data-testid="review-open-viewer" onClick={() => navigation.openStudy(item.studyId!)}>
            Open in viewer
          </button>
        )}
        {pending && (
          <button type="button" className="primary" data-testid="review-approve" disabled={busy || !item.studyId} onClick={approve}>
            Approve and write the report
          </button>
        )}
        {!pending && item.review === 'approved' && item.studyId && (
          <button type="button" onClick={() => navigation.openReport(item.studyId!)}>
            Open the report
          </button>
        )}
      </div>
      {pending && (
        <div className="review-reject">
          <label htmlFor="review-reason">Reason for the patient (they read this if you reject)</label>
          <textarea id="review-reason" data-testid="review-reason" rows={3} maxLength={MAX_REJECT_REASON_CHARS} value={reason} placeholder="For example: the images are unreadable, please bring the CD to the clinic." onChange={(e) => setReason(e.target.value)} />
          <div className="form-actions">
            <button type="button" className="danger" data-testid="review-reject" disabled={busy} onClick={reject}>
              Reject with this reason
            </button>
          </div>
        </div>
      )}
      <label htmlFor="review-notes">Notes for the care team (never shown to the patient)</label>
      <textarea id="review-notes" data-testid="review-notes" rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} />
      <div className="form-actions">
        <button type="button" disabled={busy || notes === item.notes} onClick={saveNotes}>
          Save notes
        </button>
      </div>
      {error && (
        <p role="alert" className="error" data-testid="review-error">
          {error}
        </p>
      )}
      {info && (
        <p role="status" className="ok">
          {info}
        </p>
      )}
    </section>
  );
}

function AddForPatient({ onSent }: { onSent(): void }) {
  const [patient, setPatient] = useState<PatientMatch | null>(null);
  return (
    <details className="review-add">
      <summary>Add images for a patient (consultation room)</summary>
      <p className="muted">For a patient who brought a CD, a USB stick or pictures of a scan. They are filed under the record you choose and wait here for review.</p>
      <PatientPicker idPrefix="review-add" value={patient} onChange={setPatient} />
      {patient && <p>Filing under: {describePatient(patient)}</p>}
      <SendImages idPrefix="review-add" patientId={patient?.id} disabled={!patient} onSent={onSent} />
    </details>
  );
}

export function ReviewsPage() {
  const navigation = useNavigation();
  const { version } = useNotifications();
  const [filter, setFilter] = useState<ReviewFilter>('pending');
  const [rows, setRows] = useState<ReviewItem[]>([]);
  const [counts, setCounts] = useState<Record<ReviewFilter, number> | null>(null);
  const [selected, setSelected] = useState<ReviewItem | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [wanted, setWanted] = useState<string | null>(() => navigation.takeObject('reviews'));

  const refresh = useCallback((): void => {
    api.call('reviews.list', { filter, limit: 200 }).then(
      (r) => {
        setRows(r.rows);
        setCounts(r.counts);
        setError(null);
      },
      (e: unknown) => setError(msg(e)),
    );
  }, [filter]);
  useEffect(refresh, [refresh, version]);

  const open = useCallback((uploadId: string): void => {
    api.call('reviews.get', { uploadId }).then(setSelected, (e: unknown) => setError(msg(e)));
  }, []);
  useEffect(() => {
    if (!wanted) return;
    open(wanted);
    setWanted(null);
  }, [wanted, open]);

  return (
    <section className="page reviews-page" aria-labelledby="reviews-title">
      <h1 id="reviews-title">Reviews</h1>
      <p className="muted" style={{ marginTop: 0 }}>
        Images patients sent for a preliminary analysis. Open one, look at it in the viewer, then approve it (a report draft opens) or reject it with a reason for the patient.
      </p>
      <div className="report-tabs" role="tablist" aria-label="Review queue">
        {REVIEW_FILTERS.map((f) => (
          <button key={f} type="button" role="tab" aria-selected={f === filter} className={f === filter ? 'nav-item active' : 'nav-item'} onClick={() => setFilter(f)} data-testid={`reviews-tab-${f}`}>
            {REVIEW_FILTER_LABELS[f]} <span className="count" data-testid={`reviews-count-${f}`}>{counts ? counts[f] : '…'}</span>
          </button>
        ))}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="reviews-layout">
        <div role="tabpanel" aria-label={REVIEW_FILTER_LABELS[filter]}>
          <table className="report-list" data-testid="reviews-table">
            <thead>
              <tr>
                <th>Patient</th>
                <th>Received</th>
                <th>Files</th>
                <th>AI</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr
                  key={r.id}
                  tabIndex={0}
                  data-testid="review-row"
                  data-upload-id={r.id}
                  aria-selected={selected?.id === r.id}
                  className={selected?.id === r.id ? 'selected' : undefined}
                  aria-label={`${r.patientName}, received ${formatWhen(r.receivedAt)}, ${stateText(r)}${r.patientIdMismatch ? ', Patient ID differs' : ''}`}
                  onClick={() => open(r.id)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      open(r.id);
                    }
                  }}
                >
                  <td>
                    {r.patientName}
                    {r.patientIdMismatch && (
                      <span className="mismatch-tag" title="The files name another Patient ID">
                        ID differs
                      </span>
                    )}
                  </td>
                  <td>{formatWhen(r.receivedAt)}</td>
                  <td>
                    {KIND[r.kind]} · {r.imported}/{r.files}
                  </td>
                  <td>{aiText(r.ai)}</td>
                  <td>{stateText(r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p className="muted" data-testid="reviews-empty">Nothing here.</p>}
          <p className="muted">Enter opens the selected upload.</p>
        </div>
        {selected && (
          <Detail
            item={selected}
            onChanged={(next) => {
              setSelected(next);
              refresh();
            }}
          />
        )}
      </div>
      <AddForPatient onSent={refresh} />
    </section>
  );
}
