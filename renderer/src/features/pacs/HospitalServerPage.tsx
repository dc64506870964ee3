// The Hospital server page (radiologist): search the hospital's archive by patient name, patient
// ID, accession number, study date range and modality; retrieve a study into the worklist with its
// progress (completed / remaining / failed) and a Cancel that really stops the transfer; then open
// it in the viewer and see whether its AI ran. DIMSE (C-FIND, C-MOVE) when a PACS is configured,
// DICOMweb (QIDO-RS, WADO-RS) otherwise: the page says which.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import {
  AI_NOTICE,
  PACS_PROGRESS_EVENT,
  pacsProgressSchema,
  type AiStudyResult,
  type PacsProgress,
  type PacsQuery,
  type PacsRetrieveResult,
  type PacsSource,
  type PacsStudy,
} from '@contract/index';
import { api } from '../../api/client';
import { dicomDate } from '../../app/format';
import { useNavigation } from '../../app/navigation';
import { labelText, percent } from '../viewer/ai-format';
import './pacs.css';

const MODALITIES = ['MR', 'CT', 'PT', 'CR', 'DX', 'US', 'SEG', 'SR'];

const TRANSPORT_TEXT: Record<PacsSource['transport'], string> = {
  dimse: 'DIMSE (C-FIND to search, C-MOVE to retrieve)',
  dicomweb: 'DICOMweb (QIDO-RS to search, WADO-RS to retrieve)',
  none: 'none',
};

interface Retrieval {
  retrieveId: string;
  study: PacsStudy;
  progress: PacsProgress | null;
  result: PacsRetrieveResult | null;
  error: string | null;
  cancelling: boolean;
  /** The stored AI result after the retrieve's run (its finding), when it ran. */
  ai: AiStudyResult | null;
}

/** The finding in words, as the viewer's AI panel names it. */
function findingText(ai: AiStudyResult | null): string {
  const f = ai?.finding;
  if (!f) return 'no finding stored';
  return `${labelText(f.label)}${f.label !== 'not recognised' ? ` ${percent(f.confidence)}` : ''}`;
}

function newRetrieveId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `r-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
}

const isoToDicom = (iso: string): string | undefined => (/^\d{4}-\d{2}-\d{2}$/.test(iso) ? iso.replaceAll('-', '') : undefined);

export function HospitalServerPage() {
  const { openStudy } = useNavigation();
  const [source, setSource] = useState<PacsSource | null>(null);
  const [sourceError, setSourceError] = useState<string | null>(null);
  const [form, setForm] = useState({ patientName: '', patientId: '', accessionNumber: '', dateFrom: '', dateTo: '', modality: '' });
  const [studies, setStudies] = useState<PacsStudy[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [searching, setSearching] = useState(false);
  const [searchError, setSearchError] = useState<string | null>(null);
  const [retrieval, setRetrieval] = useState<Retrieval | null>(null);
  const current = useRef<string | null>(null);
  const resultHeading = useRef<HTMLHeadingElement | null>(null);

  useEffect(() => void api.call('pacs.source', {}).then(setSource, (e: Error) => setSourceError(e.message)), []);

  useEffect(
    () =>
      api.onEvent((evt) => {
        if (evt.event !== PACS_PROGRESS_EVENT) return;
        const p = pacsProgressSchema.safeParse(evt.data);
        if (!p.success || p.data.retrieveId !== current.current) return;
        setRetrieval((r) => (r && r.retrieveId === p.data.retrieveId ? { ...r, progress: p.data } : r));
      }),
    [],
  );

  const search = useCallback(
    (e?: FormEvent): void => {
      e?.preventDefault();
      const q: Partial<PacsQuery> = {};
      if (form.patientName.trim()) q.patientName = form.patientName.trim();
      if (form.patientId.trim()) q.patientId = form.patientId.trim();
      if (form.accessionNumber.trim()) q.accessionNumber = form.accessionNumber.trim();
      const from = isoToDicom(form.dateFrom);
      const to = isoToDicom(form.dateTo);
      if (from) q.dateFrom = from;
      if (to) q.dateTo = to;
      if (from && to && from > to) {
        setSearchError('The "from" date is after the "to" date.');
        return;
      }
      if (form.modality) q.modality = form.modality;
      setSearching(true);
      setSearchError(null);
      api
        .call('pacs.find', q as PacsQuery)
        .then(
          (r) => {
            setStudies(r.studies);
            setTruncated(r.truncated);
          },
          (err: Error) => setSearchError(err.message),
        )
        .finally(() => setSearching(false));
    },
    [form],
  );

  const retrieve = (study: PacsStudy): void => {
    const retrieveId = newRetrieveId();
    current.current = retrieveId;
    setRetrieval({ retrieveId, study, progress: null, result: null, error: null, cancelling: false, ai: null });
    api.call('pacs.retrieve', { studyInstanceUid: study.studyInstanceUid, runAi: true, retrieveId }).then(
      async (result) => {
        let ai: AiStudyResult | null = null;
        if (result.studyId) {
          if (result.ai.state === 'done') ai = await api.call('ai.studyResult', { studyId: result.studyId }).catch(() => null);
          setStudies((list) => list?.map((s) => (s.studyInstanceUid === study.studyInstanceUid ? { ...s, local: true } : s)) ?? list);
        }
        setRetrieval((r) => (r && r.retrieveId === retrieveId ? { ...r, result, ai, cancelling: false } : r));
        resultHeading.current?.focus();
      },
      (err: Error) => setRetrieval((r) => (r && r.retrieveId === retrieveId ? { ...r, error: err.message, cancelling: false } : r)),
    );
  };

  const cancel = (): void => {
    if (!retrieval) return;
    setRetrieval({ ...retrieval, cancelling: true });
    void api.call('pacs.cancel', { retrieveId: retrieval.retrieveId }).catch(() => undefined);
  };

  const busy = !!retrieval && !retrieval.result && !retrieval.error;
  const none = source?.transport === 'none';

  return (
    <section className="page pacs-page" aria-labelledby="pacs-title">
      <h1 id="pacs-title">Hospital server</h1>
      {sourceError && (
        <p role="alert" className="error">
          {sourceError}
        </p>
      )}
      {source && (
        <div className={none ? 'warning-block' : 'pacs-source'} data-testid="pacs-source">
          {none ? (
            source.message
          ) : (
            <>
              <span>
                Server: <strong>{source.server}</strong>
              </span>
              <span>
                Transport: <strong data-testid="pacs-transport">{TRANSPORT_TEXT[source.transport]}</strong>
              </span>
              {source.message && <span className="pacs-source-note">{source.message}</span>}
            </>
          )}
        </div>
      )}

      <form className="pacs-search" onSubmit={search} aria-label="Search the hospital server">
        <div className="pacs-field">
          <label htmlFor="pacs-name">Patient name</label>
          <input id="pacs-name" value={form.patientName} onChange={(e) => setForm({ ...form, patientName: e.target.value })} placeholder="Doe or Doe^J*" maxLength={64} aria-describedby="pacs-name-hint" />
          <span id="pacs-name-hint" className="muted small">
            Starts with; * and ? are wildcards
          </span>
        </div>
        <div className="pacs-field">
          <label htmlFor="pacs-pid">Patient ID</label>
          <input id="pacs-pid" value={form.patientId} onChange={(e) => setForm({ ...form, patientId: e.target.value })} maxLength={64} />
        </div>
        <div className="pacs-field">
          <label htmlFor="pacs-acc">Accession number</label>
          <input id="pacs-acc" value={form.accessionNumber} onChange={(e) => setForm({ ...form, accessionNumber: e.target.value })} maxLength={64} />
        </div>
        <div className="pacs-field">
          <label htmlFor="pacs-from">Study date from</label>
          <input id="pacs-from" type="date" value={form.dateFrom} onChange={(e) => setForm({ ...form, dateFrom: e.target.value })} />
        </div>
        <div className="pacs-field">
          <label htmlFor="pacs-to">to</label>
          <input id="pacs-to" type="date" value={form.dateTo} onChange={(e) => setForm({ ...form, dateTo: e.target.value })} />
        </div>
        <div className="pacs-field">
          <label htmlFor="pacs-mod">Modality</label>
          <select id="pacs-mod" value={form.modality} onChange={(e) => setForm({ ...form, modality: e.target.value })}>
            <option value="">Any</option>
            {MODALITIES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        <div className="pacs-actions">
          <button type="submit" className="primary" disabled={searching || none || !source}>
            {searching ? 'Searching…' : 'Search'}
          </button>
          <button type="button" onClick={() => setForm({ patientName: '', patientId: '', accessionNumber: '', dateFrom: '', dateTo: '', modality: '' })}>
            Clear
          </button>
        </div>
      </form>
      {searchError && (
        <p role="alert" className="error" data-testid="pacs-search-error">
          {searchError}
        </p>
      )}

      {retrieval && (
        <RetrievalPanel
          retrieval={retrieval}
          busy={busy}
          headingRef={resultHeading}
          onCancel={cancel}
          onOpen={(id) => openStudy(id)}
          onDismiss={() => {
            current.current = null;
            setRetrieval(null);
          }}
        />
      )}

      {studies && (
        <div className="pacs-results">
          <p className="muted" role="status" aria-live="polite">
            {studies.length === 0 ? 'No study matches.' : `${studies.length} ${studies.length === 1 ? 'study' : 'studies'}${truncated ? ' (more match: narrow the search)' : ''}.`}
          </p>
          {studies.length > 0 && (
            <div className="pacs-table-wrap">
              <table className="pacs-table" data-testid="pacs-results">
                <caption className="sr-only">Studies found on the hospital server</caption>
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Patient</th>
                    <th scope="col">Patient ID</th>
                    <th scope="col">Accession</th>
                    <th scope="col">Description</th>
                    <th scope="col">Modalities</th>
                    <th scope="col" className="num">
                      Images
                    </th>
                    <th scope="col">In worklist</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {studies.map((s) => {
                    const who = `${s.patientName || 'unnamed patient'}${s.studyDate ? `, ${dicomDate(s.studyDate)}` : ''}`;
                    return (
                      <tr key={s.studyInstanceUid} data-study-uid={s.studyInstanceUid}>
                        <td>{dicomDate(s.studyDate) || '—'}</td>
                        <td>{s.patientName || '—'}</td>
                        <td>{s.patientId || '—'}</td>
                        <td>{s.accessionNumber || '—'}</td>
                        <td className="desc">{s.studyDescription || '—'}</td>
                        <td>{s.modalities.join(', ') || '—'}</td>
                        <td className="num">{s.instances ?? '—'}</td>
                        <td>{s.local ? <span className="ok">Yes</span> : <span className="muted">No</span>}</td>
                        <td className="pacs-row-actions">
                          <button type="button" disabled={busy || !source?.canRetrieve} onClick={() => retrieve(s)} aria-label={`${s.local ? 'Retrieve again' : 'Retrieve'}: ${who}`}>
                            {s.local ? 'Retrieve again' : 'Retrieve'}
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function RetrievalPanel(props: {
  retrieval: Retrieval;
  busy: boolean;
  headingRef: React.RefObject<HTMLHeadingElement | null>;
  onCancel(): void;
  onOpen(studyId: string): void;
  onDismiss(): void;
}) {
  const { retrieval: r, busy } = props;
  const p = r.progress;
  const total = p && p.remaining !== null ? p.completed + p.failed + p.remaining : r.study.instances;
  const done = p ? p.completed + p.failed : 0;
  const name = `${r.study.patientName || 'unnamed patient'}${r.study.studyDate ? `, ${dicomDate(r.study.studyDate)}` : ''}${r.study.studyDescription ? `, ${r.study.studyDescription}` : ''}`;
  const res = r.result;
  return (
    <div className="pacs-retrieval" data-testid="pacs-retrieval" aria-labelledby="pacs-retrieval-title">
      <h2 id="pacs-retrieval-title" tabIndex={-1} ref={props.headingRef}>
        {busy ? 'Retrieving' : res?.cancelled ? 'Retrieve cancelled' : res ? 'Retrieved' : 'Retrieve failed'}: {name}
      </h2>
      {busy && (
        <div className="pacs-progress" aria-live="polite" data-testid="pacs-progress">
          <progress max={Math.max(1, total ?? 1)} value={p?.phase === 'analysing' ? Math.max(1, total ?? 1) : done} aria-label="Retrieve progress" />
          <span>
            {p?.phase === 'analysing'
              ? 'All images arrived; the AI is analysing the study…'
              : p
                ? `${p.completed} completed, ${p.remaining ?? '?'} remaining, ${p.failed} failed`
                : r.cancelling
                  ? 'Cancelling…'
                  : 'Asking the server to send the study…'}
          </span>
          <button type="button" className="danger" onClick={props.onCancel} disabled={r.cancelling} title="Stop the transfer; images already received stay in the worklist">
            {r.cancelling ? 'Cancelling…' : 'Cancel retrieve'}
          </button>
        </div>
      )}
      {r.error && (
        <p role="alert" className="error">
          {r.error}
        </p>
      )}
      {res && (
        <div role="status" className="pacs-outcome" data-testid="pacs-outcome">
          <p>
            {res.cancelled
              ? `Cancelled: ${res.completed} image(s) had arrived and stay in the worklist; retrieve again to fetch the rest.`
              : `${res.completed} image(s) arrived${res.failed ? `, ${res.failed} failed` : ''}${res.warnings ? `, ${res.warnings} with warnings` : ''}.`}
          </p>
          <p data-testid="pacs-ai">
            AI:{' '}
            {res.ai.state === 'done'
              ? `analysed — ${findingText(r.ai)}; open the viewer for the overlay and the evidence`
              : res.ai.state === 'failed'
                ? `the analysis failed: ${res.ai.message ?? 'no reason given'}`
                : res.cancelled
                  ? 'not run (the retrieve was cancelled)'
                  : 'not run'}
          </p>
          {res.ai.state === 'done' && <p className="notice-block">{AI_NOTICE}</p>}
          <div className="form-actions">
            {res.studyId && (
              <button type="button" className="primary" onClick={() => props.onOpen(res.studyId!)}>
                Open in viewer
              </button>
            )}
            <button type="button" onClick={props.onDismiss}>
              Close
            </button>
          </div>
        </div>
      )}
      {r.error && (
        <div className="form-actions">
          <button type="button" onClick={props.onDismiss}>
            Close
          </button>
        </div>
      )}
    </div>
  );
}
