// Workstation settings (session idle minutes, lockout, password rules, reset-code lifetime, the
// inference runtime), edited through the one settings schema.
import { useEffect, useState, type FormEvent } from 'react';
import type { Settings, SystemInfo } from '@contract/index';
import { api } from '../../api/client';
import { systemInfoChanged } from '../../app/system-info';
import { RuntimeField } from './RuntimeField';

const NUMBERS: { key: keyof Settings; label: string }[] = [
  { key: 'sessionIdleMinutes', label: 'Sign out after idle (minutes)' },
  { key: 'sessionMaxHours', label: 'Sign out after, however busy (hours)' },
  { key: 'lockoutAttempts', label: 'Failed sign-ins before lockout' },
  { key: 'lockoutMinutes', label: 'Lockout duration (minutes)' },
  { key: 'passwordMinLength', label: 'Minimum password length' },
  { key: 'resetCodeMinutes', label: 'Reset code valid for (minutes)' },
];
const FLAGS: { key: keyof Settings; label: string }[] = [
  { key: 'passwordRequireUpper', label: 'Require an upper-case letter' },
  { key: 'passwordRequireLower', label: 'Require a lower-case letter' },
  { key: 'passwordRequireDigit', label: 'Require a digit' },
  { key: 'passwordRequireSymbol', label: 'Require a symbol' },
  { key: 'importDemoStudy', label: 'Import the demo study while no study exists' },
  { key: 'backgroundScoring', label: 'Score studies in the background as they arrive' },
];

export function SettingsPanel() {
  const [s, setS] = useState<Settings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [info, setInfo] = useState<SystemInfo | null>(null);
  useEffect(() => void api.call('settings.get', {}).then(setS, (e: Error) => setError(e.message)), []);
  useEffect(() => void api.call('system.info', {}).then(setInfo, (e: Error) => setError(e.message)), []);
  if (!s) return error ? <p role="alert" className="error">{error}</p> : <p aria-busy="true">Loading…</p>;

  const save = (e: FormEvent): void => {
    e.preventDefault();
    setSaved(false);
    api.call('settings.update', s).then(
      (next) => {
        setS(next);
        setError(null);
        setSaved(true);
        // The runtime in use may have changed: this field and the status bar read it again.
        void api.call('system.info', {}).then(setInfo, () => {});
        systemInfoChanged();
      },
      (err: Error) => setError(err.message),
    );
  };
  return (
    <form onSubmit={save} style={{ maxWidth: 420 }} aria-label="Settings">
      <label htmlFor="set-institutionName">Hospital name (the verifying organization of signed reports sent as DICOM SR)</label>
      <input id="set-institutionName" maxLength={64} value={s.institutionName} onChange={(e) => setS({ ...s, institutionName: e.target.value })} />
      {NUMBERS.map(({ key, label }) => (
        <div key={key}>
          <label htmlFor={`set-${key}`}>{label}</label>
          <input id={`set-${key}`} type="number" min={1} required value={String(s[key])} onChange={(e) => setS({ ...s, [key]: Number(e.target.value) })} />
        </div>
      ))}
      {FLAGS.map(({ key, label }) => (
        <label key={key} style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
          <input type="checkbox" checked={Boolean(s[key])} onChange={(e) => setS({ ...s, [key]: e.target.checked })} />
          {label}
        </label>
      ))}
      <div>
        <label htmlFor="set-auditCheckpointFolder">Daily audit checkpoint folder (absolute path; empty: none)</label>
        <input
          id="set-auditCheckpointFolder"
          type="text"
          placeholder="/mnt/audit-share/workstation-1"
          title="Each day a signed checkpoint of the audit log is written here (keep it off this machine); `tumorpredict audit verify --checkpoint FILE` then finds a history rewritten after it"
          value={s.auditCheckpointFolder ?? ''}
          onChange={(e) => setS({ ...s, auditCheckpointFolder: e.target.value.trim() === '' ? null : e.target.value })}
        />
      </div>
      {info && <RuntimeField info={info} value={s.inferenceRuntime} onChange={(v) => setS({ ...s, inferenceRuntime: v })} />}
      {error && <p role="alert" className="error">{error}</p>}
      {saved && <p role="status" className="ok">Settings saved.</p>}
      <div className="form-actions"><button type="submit" className="primary">Save settings</button></div>
    </form>
  );
}
