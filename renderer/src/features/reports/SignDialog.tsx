// The electronic signature: shows exactly what will be signed (the report's sections, its key
// images and the AI decision, or the addendum's text) and the signature's meaning, and asks for
// the signer's password again (and the authenticator code when the account has TOTP on).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { AI_NOTICE, REPORT_SECTIONS, REPORT_SECTION_LABELS, SIGNATURE_MEANINGS, WorkstationError, formatProbability, type Report } from '@contract/index';

export interface SignRequest {
  kind: 'sign' | 'addendum';
  /** The addendum's text (kind 'addendum'). */
  text?: string;
}

function aiDecisionText(r: Report): string {
  if (!r.aiFinding || r.aiDecision === 'none') return 'No AI finding is part of this report.';
  const finding = `${r.aiFinding.labelText} (calibrated probability ${formatProbability(r.aiFinding.probability)}, model ${r.aiFinding.modelId} ${r.aiFinding.modelVersion})`;
  if (r.aiDecision === 'rejected') return `AI finding rejected: ${finding}. Reason: ${r.rejectReason ?? 'none given'}. The report is signed as rejected.`;
  // A pending finding is accepted by the signature (the sections were all reviewed).
  return `AI finding accepted: ${finding}.`;
}

export function SignDialog(props: { report: Report; request: SignRequest; signerName: string; onSign: (credentials: { password: string; totpCode?: string }) => Promise<void>; onCancel: () => void }) {
  const { report, request, signerName } = props;
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);
  const meaning = request.kind === 'sign' ? SIGNATURE_MEANINGS.sign : SIGNATURE_MEANINGS.addendum;
  const title = request.kind === 'sign' ? 'Sign the report' : `Sign addendum ${report.addenda.length + 1}`;

  useEffect(() => passwordRef.current?.focus(), []);
  useEffect(() => {
    if (needsCode) codeRef.current?.focus();
  }, [needsCode]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !busy) props.onCancel();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy, props]);

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    props
      .onSign({ password, ...(needsCode && code ? { totpCode: code.trim() } : {}) })
      .catch((err: unknown) => {
        if (err instanceof WorkstationError && err.details?.totpRequired) setNeedsCode(true);
        setError(err instanceof Error ? err.message : String(err));
        setPassword((p) => (err instanceof WorkstationError && err.details?.reason === 'bad-password' ? '' : p));
      })
      .finally(() => setBusy(false));
  };

  return (
    <div className="modal-backdrop">
      <form role="dialog" aria-modal="true" aria-labelledby="sign-title" aria-describedby="sign-meaning" className="modal sign-dialog" data-testid="sign-dialog" onSubmit={submit}>
        <h2 id="sign-title">{title}</h2>
        <p id="sign-meaning" className="sign-meaning" data-testid="sign-meaning">
          Meaning of this signature: <strong>{meaning[0]!.toUpperCase() + meaning.slice(1)} {signerName}</strong>, now.
        </p>
        <section aria-label="What will be signed" className="sign-content" data-testid="sign-content">
          {request.kind === 'sign' ? (
            <>
              <dl>
                {REPORT_SECTIONS.filter((k) => report.sections[k].text.trim()).map((k) => (
                  <div key={k}>
                    <dt>{REPORT_SECTION_LABELS[k]}</dt>
                    <dd>{report.sections[k].text}</dd>
                  </div>
                ))}
              </dl>
              <p data-testid="sign-key-images">
                Key images: {report.keyImages.length ? report.keyImages.map((k) => k.caption || `image ${k.seq}`).join('; ') : 'none'}
              </p>
              <p data-testid="sign-ai-decision">{aiDecisionText(report)} {report.aiFinding ? AI_NOTICE : ''}</p>
            </>
          ) : (
            <blockquote data-testid="sign-addendum-text">{request.text}</blockquote>
          )}
        </section>
        <label htmlFor="sign-password">Your password (confirms it is you)</label>
        <input id="sign-password" ref={passwordRef} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {needsCode ? (
          <>
            <label htmlFor="sign-totp">Authenticator code</label>
            <input id="sign-totp" ref={codeRef} inputMode="numeric" autoComplete="one-time-code" pattern="\d{6}" maxLength={6} required value={code} onChange={(e) => setCode(e.target.value)} />
          </>
        ) : null}
        {error ? <p role="alert" className="error" data-testid="sign-error">{error}</p> : null}
        <div className="form-actions">
          <button type="button" className="btn-quiet" onClick={props.onCancel} disabled={busy} title="Cancel (Esc)">Cancel</button>
          <button type="submit" className="primary" disabled={busy || !password} data-testid="sign-confirm">
            {busy ? 'Signing…' : request.kind === 'sign' ? 'Sign' : 'Sign addendum'}
          </button>
        </div>
      </form>
    </div>
  );
}
