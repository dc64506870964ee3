// Hospital server settings (admin): DICOMweb address, authentication (the password or token goes
// to the secret store, bound to this server, and is never shown again; the page says which store),
// TLS, the audited switch for credentials over plain http, polling, filters, test connection.
import { useEffect, useState, type FormEvent } from 'react';
import type { ConnectionTest, SyncAuthType, SyncSettingsView } from '@contract/index';
import { api } from '../../api/client';

const STEP_LABELS: Record<ConnectionTest['step'], string> = {
  url: 'address',
  dns: 'name lookup (DNS)',
  connect: 'connection',
  tls: 'secure connection (TLS)',
  auth: 'sign-in (credentials)',
  dicomweb: 'DICOMweb service',
  server: 'server',
  ok: 'all steps',
};

export function ServerSettings() {
  const [s, setS] = useState<SyncSettingsView | null>(null);
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [test, setTest] = useState<ConnectionTest | null>(null);
  const [testing, setTesting] = useState(false);
  useEffect(() => void api.call('sync.getSettings', {}).then(setS, (e: Error) => setError(e.message)), []);
  if (!s) return error ? <p role="alert" className="error">{error}</p> : <p aria-busy="true">Loading…</p>;

  const { hasSecret: _hasSecret, secretStore: _store, secretStoreStatement, ...settings } = s;
  const plainHttp = s.baseUrl.toLowerCase().startsWith('http:') && s.authType !== 'none';
  const where = s.secretStore === 'database' ? 'encrypted in the database' : 'in the OS keychain';
  const save = (e: FormEvent): void => {
    e.preventDefault();
    setSaved(false);
    api.call('sync.setSettings', { ...settings, ...(secret ? { secret } : {}) }).then(
      (next) => {
        setS(next);
        setSecret('');
        setError(null);
        setSaved(true);
      },
      (err: Error) => setError(err.message),
    );
  };
  const runTest = (): void => {
    setTesting(true);
    setTest(null);
    api
      .call('sync.testConnection', { settings, ...(secret ? { secret } : {}) })
      .then(setTest, (err: Error) => setError(err.message))
      .finally(() => setTesting(false));
  };
  const f = s.filters;

  return (
    <form onSubmit={save} style={{ maxWidth: 560 }} aria-label="Hospital server settings" data-testid="server-settings">
      <label htmlFor="srv-url">DICOMweb address</label>
      <input id="srv-url" type="url" placeholder="https://pacs.example.org/dicom-web" style={{ width: '100%' }} value={s.baseUrl} onChange={(e) => setS({ ...s, baseUrl: e.target.value })} />
      <label htmlFor="srv-auth">Authentication</label>
      <select id="srv-auth" value={s.authType} onChange={(e) => setS({ ...s, authType: e.target.value as SyncAuthType })}>
        <option value="none">None</option>
        <option value="basic">User name and password (HTTP basic)</option>
        <option value="bearer">Token (bearer)</option>
      </select>
      {s.authType === 'basic' && (
        <>
          <label htmlFor="srv-user">User name</label>
          <input id="srv-user" autoComplete="off" value={s.username} onChange={(e) => setS({ ...s, username: e.target.value })} />
        </>
      )}
      {s.authType !== 'none' && (
        <>
          <label htmlFor="srv-secret">
            {s.authType === 'basic' ? 'Password' : 'Token'} {s.hasSecret ? `(stored ${where} for this server; type to replace)` : '(none stored for this server)'}
          </label>
          <input id="srv-secret" type="password" autoComplete="new-password" value={secret} onChange={(e) => setSecret(e.target.value)} aria-describedby="srv-secret-store" />
          <p id="srv-secret-store" className="muted" data-testid="secret-store">
            {secretStoreStatement} A stored {s.authType === 'basic' ? 'password' : 'token'} is sent only to the server address and authentication it was entered for; change either and it is asked for again.
          </p>
        </>
      )}
      {(plainHttp || s.allowInsecureHttp) && (
        <label style={{ display: 'flex', gap: 8, alignItems: 'center' }} className={s.allowInsecureHttp ? 'error' : undefined}>
          <input type="checkbox" checked={s.allowInsecureHttp} onChange={(e) => setS({ ...s, allowInsecureHttp: e.target.checked })} />
          Allow credentials over plain http (insecure: anyone on the network path can read the password; recorded in the audit log)
        </label>
      )}
      <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
        <input type="checkbox" checked={s.tlsVerify} onChange={(e) => setS({ ...s, tlsVerify: e.target.checked })} />
        Verify the server's certificate (keep on)
      </label>
      <label htmlFor="srv-ca">Hospital CA certificate (PEM, optional)</label>
      <textarea id="srv-ca" rows={3} style={{ width: '100%' }} value={s.caCertificatePem ?? ''} onChange={(e) => setS({ ...s, caCertificatePem: e.target.value.trim() ? e.target.value : null })} />
      <label htmlFor="srv-interval">Poll every (seconds)</label>
      <input id="srv-interval" type="number" min={10} max={86400} value={s.pollIntervalSeconds} onChange={(e) => setS({ ...s, pollIntervalSeconds: Number(e.target.value) })} />
      <fieldset style={{ border: '1px solid var(--line)', marginTop: 12 }}>
        <legend>Which studies to pull</legend>
        <label htmlFor="srv-mod">Modality</label>
        <input id="srv-mod" value={f.modality} onChange={(e) => setS({ ...s, filters: { ...f, modality: e.target.value.toUpperCase() } })} />
        <label htmlFor="srv-from">Study date from (YYYYMMDD)</label>
        <input id="srv-from" value={f.dateFrom ?? ''} onChange={(e) => setS({ ...s, filters: { ...f, dateFrom: e.target.value || null } })} />
        <label htmlFor="srv-to">Study date to (YYYYMMDD)</label>
        <input id="srv-to" value={f.dateTo ?? ''} onChange={(e) => setS({ ...s, filters: { ...f, dateTo: e.target.value || null } })} />
        <label htmlFor="srv-station">Station name (or the modality's AE title written there)</label>
        <input id="srv-station" value={f.stationName ?? ''} onChange={(e) => setS({ ...s, filters: { ...f, stationName: e.target.value || null } })} />
      </fieldset>
      <fieldset style={{ border: '1px solid var(--line)', marginTop: 12 }}>
        <legend>Send the source images with a signed report (so the SEG and SR references resolve on the server)</legend>
        <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
          <input type="checkbox" checked={s.sendSourceImages.localStudies} onChange={(e) => setS({ ...s, sendSourceImages: { ...s.sendSourceImages, localStudies: e.target.checked } })} />
          For studies imported on this workstation (the server does not have them)
        </label>
        <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
          <input type="checkbox" checked={s.sendSourceImages.pulledStudies} onChange={(e) => setS({ ...s, sendSourceImages: { ...s.sendSourceImages, pulledStudies: e.target.checked } })} />
          For studies pulled from the server (it has them already)
        </label>
      </fieldset>
      <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
        <input type="checkbox" checked={s.autoRunModel} onChange={(e) => setS({ ...s, autoRunModel: e.target.checked })} />
        Run the AI model on each study that arrives
      </label>
      <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
        <input type="checkbox" checked={s.enabled} onChange={(e) => setS({ ...s, enabled: e.target.checked })} />
        Sync automatically (poll for new studies, send results)
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      {saved && <p role="status" className="ok">Server settings saved.</p>}
      {test && (
        <p role="status" className={test.ok ? 'ok' : 'error'} data-testid="connection-test">
          {test.ok ? 'Connection works. ' : `Failed at the ${STEP_LABELS[test.step]} step. `}
          {test.message}
        </p>
      )}
      <div className="form-actions">
        <button type="button" onClick={runTest} disabled={testing || !s.baseUrl} title="Check DNS, connection, TLS, credentials and the DICOMweb root">
          {testing ? 'Testing…' : 'Test connection'}
        </button>
        <button type="submit" className="primary">Save server settings</button>
      </div>
    </form>
  );
}
