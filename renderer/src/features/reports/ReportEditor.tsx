// The report editor: the structured brain-tumor MRI template filled from the AI finding (AI text
// marked until accepted or edited), autosave, internal notes, key images, accept / reject / sign
// with keyboard shortcuts, and, once signed, a locked view with addenda and PDF export.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { AI_NOTICE, REPORT_SECTIONS, formatProbability, headlineText, sequenceList, REPORT_SECTION_LABELS, type Measurement, type Tracking, type Report, type ReportSectionKey } from '@contract/index';
import { api } from '../../api/client';
import { useSession } from '../../app/session';
import { useAutosave } from './autosave';
import { SignDialog, type SignRequest } from './SignDialog';
import { SHORTCUTS, keysOf } from '../../app/shortcuts';
import { TrackingPanel } from '../tracking/TrackingPanel';

const ORIGIN_LABEL = { ai: 'AI text – not reviewed', 'ai-accepted': 'AI text – accepted', 'ai-edited': 'AI text – edited', human: '' } as const;
// From the app's one shortcut table: none is a browser's own (Ctrl+Shift+R is the hard reload).
const keyOf = (action: string): string => SHORTCUTS.find((s) => s.scope === 'report' && s.action === action)!.keys;
export const REPORT_KEYS = { accept: keyOf('Accept the AI finding'), reject: keyOf('Reject the AI finding'), sign: keyOf('Sign the report') };

function KeyImageThumb({ reportId, id, caption }: { reportId: string; id: string; caption: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    void api.call('reports.keyImage', { reportId, keyImageId: id }).then((r) => setSrc(`data:image/png;base64,${r.pngBase64}`));
  }, [reportId, id]);
  return <figure className="key-image">{src ? <img src={src} alt={caption || 'Key image'} /> : null}<figcaption>{caption}</figcaption></figure>;
}

export function ReportEditor({ studyId, onClose }: { studyId: string; onClose: () => void }) {
  const [report, setReport] = useState<Report | null>(null);
  const [texts, setTexts] = useState<Record<ReportSectionKey, string> | null>(null);
  const [notes, setNotes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [addendum, setAddendum] = useState('');
  const [tracking, setTracking] = useState<Tracking | null>(null);
  const [measurements, setMeasurements] = useState<Measurement[]>([]);
  const [signing, setSigning] = useState<SignRequest | null>(null);
  const session = useSession();

  const load = useCallback((r: Report) => {
    setReport(r);
    setTexts(Object.fromEntries(REPORT_SECTIONS.map((k) => [k, r.sections[k].text])) as Record<ReportSectionKey, string>);
    setNotes(r.notes);
  }, []);

  useEffect(() => {
    api.call('reports.open', { studyId }).then(load, (e: Error) => setError(e.message));
    api.call('tracking.patient', { studyId }).then(setTracking, () => setTracking(null));
    api.call('measurements.list', { studyId }).then((r) => setMeasurements(r.measurements), () => setMeasurements([]));
  }, [studyId, load]);

  const onSaved = useCallback((revision: number) => setReport((r) => (r ? { ...r, revision } : r)), []);
  const autosave = useAutosave(report?.id ?? '', report?.revision ?? 1, onSaved);
  const signed = report?.status === 'final' || report?.status === 'rejected';
  const can = useMemo(() => new Set(report?.allowedActions ?? []), [report]);

  const run = useCallback(
    async (fn: () => Promise<Report>) => {
      setBusy(true);
      setError(null);
      try {
        await autosave.flush();
        load(await fn());
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      } finally {
        setBusy(false);
      }
    },
    [autosave, load],
  );
  const accept = useCallback(() => report && can.has('acceptAi') && report.aiDecision !== 'none' && run(() => api.call('reports.acceptAi', { reportId: report.id })), [report, can, run]);
  // Signing opens the signature dialog on the saved text: what it shows is what the revision signs.
  const sign = useCallback(async () => {
    if (!report || !can.has('sign') || signing) return;
    try {
      await autosave.flush();
      const fresh = await api.call('reports.get', { reportId: report.id });
      setReport(fresh);
      // The same checks the main process makes first, so nobody types a password for a refusal.
      if (REPORT_SECTIONS.some((k) => fresh.sections[k].origin === 'ai')) {
        setError('The report still contains AI text you have not reviewed. Accept the AI finding, edit the text or reject the finding before signing.');
        return;
      }
      if (!fresh.sections.impression.text.trim()) {
        setError('Write an impression before signing.');
        return;
      }
      setError(null);
      setSigning({ kind: 'sign' });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [report, can, autosave, signing]);
  const confirmSignature = useCallback(
    async (credentials: { password: string; totpCode?: string }) => {
      if (!report || !signing) return;
      const next =
        signing.kind === 'sign'
          ? await api.call('reports.sign', { reportId: report.id, baseRevision: report.revision, ...credentials })
          : await api.call('reports.addAddendum', { reportId: report.id, text: signing.text ?? '', ...credentials });
      if (signing.kind === 'addendum') setAddendum('');
      setSigning(null);
      load(next);
    },
    [report, signing, load],
  );
  const reject = useCallback(() => report && can.has('rejectAi') && report.aiDecision !== 'none' && setRejecting(true), [report, can]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const k = keysOf(e);
      if (k === REPORT_KEYS.accept) void accept();
      else if (k === REPORT_KEYS.reject) reject();
      else if (k === REPORT_KEYS.sign) void sign();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [accept, reject, sign]);

  const exportPdf = async (): Promise<void> => {
    if (!report) return;
    try {
      const out = await api.call('reports.exportPdf', { reportId: report.id });
      const bytes = Uint8Array.from(atob(out.pdfBase64), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/pdf' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = out.fileName;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  if (error && !report) return <p className="error" role="alert">{error}</p>;
  if (!report || !texts) return <p className="muted">Opening the report…</p>;

  return (
    <div className="report-editor" data-testid="report-editor" data-status={report.status}>
      <header className="report-head">
        <button type="button" className="btn-quiet" onClick={() => void autosave.flush().then(onClose)}>← Dashboard</button>
        <h1>{report.study.patientName} · {report.study.studyDate ?? ''} · {report.study.description ?? 'Brain MRI'}</h1>
        <span className={`status-chip status-${report.status}`} data-testid="report-status">{report.status}</span>
        {!signed ? <span className="muted" data-testid="save-state">{autosave.state === 'saved' ? 'All changes saved' : autosave.state === 'error' ? `Not saved: ${autosave.error ?? ''}` : 'Saving…'}</span> : null}
      </header>
      {report.aiFinding ? (
        <div className="notice-block ai-finding" data-testid="ai-finding">
          AI finding: <strong>{report.aiFinding.labelText}</strong>, calibrated probability {formatProbability(report.aiFinding.probability)}
          {report.aiFinding.location ? `, ${report.aiFinding.location}` : ''} · model {report.aiFinding.modelId} {report.aiFinding.modelVersion} · decision: {report.aiDecision}
          {report.rejectReason ? ` (${report.rejectReason})` : ''}. {AI_NOTICE}
          {report.aiFinding.evidence ? (
            <span className="ai-evidence" data-testid="report-ai-evidence">
              {' '}
              {[headlineText(report.aiFinding.evidence.headline ?? undefined), report.aiFinding.evidence.validatedSequences.length ? `Validated on ${sequenceList(report.aiFinding.evidence.validatedSequences)} only.` : null].filter(Boolean).join('. ')}
            </span>
          ) : null}
          {report.aiFinding.evidence?.warning ? (
            <strong className="warning-block" role="note" data-testid="report-sequence-warning">{report.aiFinding.evidence.warning}</strong>
          ) : null}
        </div>
      ) : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
      {signed ? (
        <p className="ok" data-testid="locked-banner">Signed by {report.signedByName} on {report.signedAt?.replace('T', ' ').slice(0, 19)} UTC. Locked; content hash {report.contentHash?.slice(0, 16)}…</p>
      ) : null}
      {signing ? <SignDialog report={report} request={signing} signerName={session.user.displayName} onSign={confirmSignature} onCancel={() => setSigning(null)} /> : null}
      <div className="report-body">
        <div className="report-sections">
          {REPORT_SECTIONS.map((key) => {
            const origin = report.sections[key].origin;
            const tag = ORIGIN_LABEL[origin];
            return (
              <div key={key} className={`report-section origin-${origin}`}>
                {/* The AI tag describes the field rather than naming it: the name stays "Impression". */}
                <div className="section-head">
                  <label htmlFor={`section-${key}`}>{REPORT_SECTION_LABELS[key]}</label>
                  {tag ? <span className="ai-tag" id={`origin-${key}`} data-testid={`origin-${key}`}>{tag}</span> : null}
                </div>
                <textarea
                  id={`section-${key}`}
                  data-testid={`section-${key}`}
                  aria-describedby={tag ? `origin-${key}` : undefined}
                  spellCheck
                  rows={key === 'findings' ? 7 : 3}
                  value={texts[key]}
                  readOnly={!can.has('edit')}
                  onChange={(e) => {
                    setTexts({ ...texts, [key]: e.target.value });
                    autosave.edit({ section: key, text: e.target.value });
                  }}
                  onBlur={() => void autosave.flush().then(() => api.call('reports.get', { reportId: report.id }).then((r) => setReport(r)))}
                />
              </div>
            );
          })}
          <div className="report-section notes">
            <label htmlFor="report-notes">Doctor's notes (internal – never exported)</label>
            <textarea
              id="report-notes"
              data-testid="report-notes"
              rows={3}
              value={notes}
              onChange={(e) => {
                setNotes(e.target.value);
                if (signed) void api.call('reports.saveNotes', { reportId: report.id, notes: e.target.value });
                else autosave.edit({ notes: e.target.value });
              }}
            />
          </div>
          <div className="form-actions">
            {!signed ? (
              <>
                <button type="button" disabled={busy || !can.has('acceptAi') || report.aiDecision === 'none'} onClick={() => void accept()} title={`Accept the AI finding (${REPORT_KEYS.accept})`} data-testid="accept-ai">Accept AI finding</button>
                <button type="button" className="danger" disabled={busy || !can.has('rejectAi') || report.aiDecision === 'none'} onClick={reject} title={`Reject the AI finding (${REPORT_KEYS.reject})`} data-testid="reject-ai">Reject AI finding</button>
                {can.has('markPreliminary') ? <button type="button" disabled={busy} onClick={() => void run(() => api.call('reports.markPreliminary', { reportId: report.id }))}>Mark preliminary</button> : null}
                <button type="button" className="primary" disabled={busy || !can.has('sign')} onClick={() => void sign()} title={`Sign and lock the report (${REPORT_KEYS.sign})`} data-testid="sign-report">Sign report</button>
              </>
            ) : (
              <button type="button" onClick={() => void exportPdf()} data-testid="export-pdf">Export PDF</button>
            )}
          </div>
          {rejecting ? (
            <form
              className="reject-form"
              onSubmit={(e) => {
                e.preventDefault();
                setRejecting(false);
                void run(() => api.call('reports.rejectAi', { reportId: report.id, reason }));
              }}
            >
              <label htmlFor="reject-reason">Why is the AI finding wrong? (your own finding stands)</label>
              <input id="reject-reason" value={reason} onChange={(e) => setReason(e.target.value)} minLength={3} required autoFocus />
              <button type="submit" className="danger">Reject</button>
              <button type="button" className="btn-quiet" onClick={() => setRejecting(false)}>Cancel</button>
            </form>
          ) : null}
          {signed ? (
            <section className="addenda" aria-label="Addenda">
              <h2>Addenda</h2>
              {report.addenda.map((a) => (
                <div key={a.id} className="addendum" data-testid="addendum">
                  <p>{a.text}</p>
                  <p className="muted">Addendum {a.seq}, signed by {a.signedByName} on {a.signedAt.replace('T', ' ').slice(0, 19)} UTC</p>
                </div>
              ))}
              <label htmlFor="addendum-text">New addendum</label>
              <textarea id="addendum-text" rows={3} value={addendum} onChange={(e) => setAddendum(e.target.value)} spellCheck />
              <div className="form-actions">
                <button type="button" data-testid="add-addendum" disabled={busy || !addendum.trim() || !can.has('addAddendum')} onClick={() => setSigning({ kind: 'addendum', text: addendum.trim() })}>
                  Sign and add addendum
                </button>
              </div>
            </section>
          ) : null}
        </div>
        <aside className="report-side">
          <section aria-label="Key images">
            <h2>Key images</h2>
            {report.keyImages.length ? report.keyImages.map((k) => <KeyImageThumb key={k.id} reportId={report.id} id={k.id} caption={k.caption} />) : <p className="muted">Capture key images from the viewer (Key image button).</p>}
          </section>
          <section aria-labelledby="report-measurements-title" data-testid="report-measurements">
            <h2 id="report-measurements-title">Measurements</h2>
            {measurements.length === 0 ? (
              <p className="muted">None on this study's images. Measure in the viewer; they are kept with the images.</p>
            ) : (
              <>
                <ul>
                  {measurements.map((m) => (
                    <li key={m.id}>
                      {m.text} <span className="muted">({m.where}{m.mine ? '' : `, by ${m.createdByName}`})</span>
                    </li>
                  ))}
                </ul>
                {can.has('edit') ? (
                  <button
                    type="button"
                    data-testid="insert-measurements"
                    title="Add these measurements to the findings, as text you can edit"
                    onClick={() => {
                      const line = `Radiologist measurements: ${measurements.map((m) => `${m.text} (${m.where})`).join('; ')}.`;
                      const next = texts.findings.trim() ? `${texts.findings.trimEnd()}\n${line}` : line;
                      setTexts({ ...texts, findings: next });
                      autosave.edit({ section: 'findings', text: next });
                    }}
                  >
                    Add to findings
                  </button>
                ) : null}
              </>
            )}
          </section>
          {tracking ? <TrackingPanel tracking={tracking} /> : null}
        </aside>
      </div>
    </div>
  );
}
