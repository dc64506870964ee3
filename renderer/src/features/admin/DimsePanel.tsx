// DIMSE settings (admin): this workstation's C-STORE receiver (on/off, AE title, port, the address
// it listens on, who may push to it), the PACS the Hospital server page searches and retrieves
// from (AE title, host, port), whether the AI runs on pushed studies; "Test connection" (C-ECHO to
// the PACS) and whether the receiver listens now.
import { useEffect, useState, type FormEvent } from 'react';
import type { DimseSettings, DimseSettingsView } from '@contract/index';
import { api } from '../../api/client';

type Caller = DimseSettings['allowedCallers'][number];

export function DimsePanel() {
  const [view, setView] = useState<DimseSettingsView | null>(null);
  const [draft, setDraft] = useState<DimseSettings | null>(null);
  const [pacsOn, setPacsOn] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [echo, setEcho] = useState<{ ok: boolean; message: string } | null>(null);
  const [testing, setTesting] = useState(false);

  const show = (v: DimseSettingsView): void => {
    setView(v);
    setDraft(v.settings);
    setPacsOn(!!v.settings.pacs);
  };
  useEffect(() => void api.call('dimse.getSettings', {}).then(show, (e: Error) => setError(e.message)), []);
  if (!view || !draft) return error ? <p role="alert" className="error">{error}</p> : <p aria-busy="true">Loading…</p>;

  const pacs = draft.pacs ?? { aeTitle: '', host: '', port: 104 };
  const next: DimseSettings = { ...draft, pacs: pacsOn ? pacs : null };
  const dirty = JSON.stringify(next) !== JSON.stringify(view.settings);
  const st = view.status;

  const save = (e: FormEvent): void => {
    e.preventDefault();
    setSaved(false);
    setEcho(null);
    api.call('dimse.setSettings', next).then(
      (v) => {
        show(v);
        setError(null);
        setSaved(true);
      },
      (err: Error) => setError(err.message),
    );
  };
  const test = (): void => {
    setTesting(true);
    setEcho(null);
    api
      .call('dimse.echo', {})
      .then(setEcho, (err: Error) => setEcho({ ok: false, message: err.message }))
      .finally(() => setTesting(false));
  };
  const setCaller = (i: number, c: Caller): void => setDraft({ ...draft, allowedCallers: draft.allowedCallers.map((x, j) => (j === i ? c : x)) });

  return (
    <form onSubmit={save} style={{ maxWidth: 640 }} aria-label="DIMSE settings" data-testid="dimse-settings">
      <p className="muted">
        DIMSE is the DICOM network protocol of scanners and PACS. The receiver takes studies pushed to this workstation (C-STORE) into the worklist, with the same checks as an import; the PACS below is
        what the Hospital server page searches (C-FIND) and retrieves from (C-MOVE: the PACS sends the study to the receiver, so retrieving needs it on). Without a PACS, the page uses the DICOMweb hospital server.
      </p>

      <fieldset className="admin-fieldset">
        <legend>This workstation (receiver)</legend>
        <p role="status" data-testid="dimse-listening" className={st.listening ? 'ok' : st.error ? 'error' : 'muted'}>
          {st.listening
            ? `Listening as ${st.listening.aeTitle} on ${st.listening.address}:${st.listening.port}. Since start: ${st.associations} association(s), ${st.associationsRefused} refused; ${st.received.imported} image(s) imported, ${st.received.duplicate} already here, ${st.received.refused} refused.`
            : st.error
              ? `Not listening: ${st.error}`
              : 'Not listening (the receiver is off).'}
        </p>
        <label style={{ display: 'flex', gap: 8, alignItems: 'center', color: 'inherit' }}>
          <input type="checkbox" checked={draft.scpEnabled} onChange={(e) => setDraft({ ...draft, scpEnabled: e.target.checked })} />
          Receive studies by DIMSE (C-STORE receiver on)
        </label>
        <label htmlFor="dimse-ae">AE title of this workstation</label>
        <input id="dimse-ae" value={draft.aeTitle} maxLength={16} onChange={(e) => setDraft({ ...draft, aeTitle: e.target.value })} aria-describedby="dimse-ae-hint" />
        <p id="dimse-ae-hint" className="muted small">
          Up to 16 letters, digits, space, . _ - +. The PACS must know it, with this machine's address and the port below.
        </p>
        <label htmlFor="dimse-port">Port</label>
        <input id="dimse-port" type="number" min={1} max={65535} value={draft.port} onChange={(e) => setDraft({ ...draft, port: Number(e.target.value) })} />
        <label htmlFor="dimse-bind">Listen on</label>
        <select id="dimse-bind" value={draft.bindAddress === '127.0.0.1' || draft.bindAddress === '0.0.0.0' ? draft.bindAddress : 'other'} onChange={(e) => e.target.value !== 'other' && setDraft({ ...draft, bindAddress: e.target.value })}>
          <option value="0.0.0.0">Every network interface (0.0.0.0)</option>
          <option value="127.0.0.1">This machine only (127.0.0.1)</option>
          {draft.bindAddress !== '127.0.0.1' && draft.bindAddress !== '0.0.0.0' && <option value="other">{draft.bindAddress}</option>}
        </select>
        <label style={{ display: 'flex', gap: 8, alignItems: 'center', color: 'inherit' }}>
          <input type="checkbox" checked={draft.autoRunModel} onChange={(e) => setDraft({ ...draft, autoRunModel: e.target.checked })} />
          Run the AI on each study that arrives by DIMSE
        </label>
      </fieldset>

      <fieldset className="admin-fieldset">
        <legend>Who may send (allowed calling AE titles)</legend>
        <p className="muted small">Nobody else may connect. The PACS below may always send. An address, where given, is the only one that AE title is accepted from.</p>
        {draft.allowedCallers.length === 0 && <p className="muted">None: only the PACS may send.</p>}
        {draft.allowedCallers.map((c, i) => (
          <div key={i} style={{ display: 'flex', gap: 8, alignItems: 'flex-end', marginBottom: 6 }}>
            <div>
              <label htmlFor={`dimse-caller-ae-${i}`}>AE title</label>
              <input id={`dimse-caller-ae-${i}`} value={c.aeTitle} maxLength={16} onChange={(e) => setCaller(i, { ...c, aeTitle: e.target.value })} />
            </div>
            <div>
              <label htmlFor={`dimse-caller-host-${i}`}>From IP address (optional)</label>
              <input id={`dimse-caller-host-${i}`} value={c.host ?? ''} placeholder="any" onChange={(e) => setCaller(i, { ...c, host: e.target.value.trim() || null })} />
            </div>
            <button type="button" onClick={() => setDraft({ ...draft, allowedCallers: draft.allowedCallers.filter((_, j) => j !== i) })} aria-label={`Remove allowed caller ${c.aeTitle || i + 1}`}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setDraft({ ...draft, allowedCallers: [...draft.allowedCallers, { aeTitle: '', host: null }] })}>
          Add a caller
        </button>
      </fieldset>

      <fieldset className="admin-fieldset">
        <legend>The PACS (search and retrieve)</legend>
        <label style={{ display: 'flex', gap: 8, alignItems: 'center', color: 'inherit' }}>
          <input type="checkbox" checked={pacsOn} onChange={(e) => setPacsOn(e.target.checked)} />
          Search and retrieve from a PACS by DIMSE
        </label>
        {pacsOn && (
          <>
            <label htmlFor="dimse-pacs-ae">PACS AE title</label>
            <input id="dimse-pacs-ae" value={pacs.aeTitle} maxLength={16} onChange={(e) => setDraft({ ...draft, pacs: { ...pacs, aeTitle: e.target.value } })} />
            <label htmlFor="dimse-pacs-host">PACS host name or IP address</label>
            <input id="dimse-pacs-host" value={pacs.host} onChange={(e) => setDraft({ ...draft, pacs: { ...pacs, host: e.target.value } })} />
            <label htmlFor="dimse-pacs-port">PACS port</label>
            <input id="dimse-pacs-port" type="number" min={1} max={65535} value={pacs.port} onChange={(e) => setDraft({ ...draft, pacs: { ...pacs, port: Number(e.target.value) } })} />
          </>
        )}
        <div className="form-actions">
          <button type="button" onClick={test} disabled={testing || dirty || !view.settings.pacs} aria-describedby="dimse-test-hint">
            {testing ? 'Testing…' : 'Test connection (C-ECHO)'}
          </button>
          <span id="dimse-test-hint" className="muted small" style={{ alignSelf: 'center' }}>
            {dirty ? 'Save first: the test uses the saved settings.' : !view.settings.pacs ? 'No PACS saved.' : ''}
          </span>
        </div>
        {echo && (
          <p role={echo.ok ? 'status' : 'alert'} className={echo.ok ? 'ok' : 'error'} data-testid="dimse-echo">
            {echo.message}
          </p>
        )}
      </fieldset>

      <div className="form-actions">
        <button type="submit" className="primary" disabled={!dirty}>
          Save
        </button>
        <button type="button" disabled={!dirty} onClick={() => show(view)}>
          Undo changes
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {saved && !error && (
        <p role="status" className="ok">
          Saved.{view.settings.scpEnabled && !view.status.listening ? ' The receiver is not listening: see above.' : ''}
        </p>
      )}
    </form>
  );
}
