// The inference runtime field of the settings page: every runtime detected on this machine,
// unavailable ones disabled with the reason, and "Automatic". A runtime forced at start (the
// --runtime flag or TUMORPREDICT_RUNTIME) wins over the stored setting: the field then says so
// and is disabled.
import type { RuntimePreference, SystemInfo } from '@contract/index';

const FORCED_BY = { flag: 'the --runtime flag', env: 'the TUMORPREDICT_RUNTIME environment variable' } as const;

export function RuntimeField(props: { info: SystemInfo; value: RuntimePreference; onChange: (v: RuntimePreference) => void }) {
  const { info, value, onChange } = props;
  const choice = info.runtimeChoice;
  const forcedBy = choice.source === 'flag' || choice.source === 'env' ? FORCED_BY[choice.source] : null;
  const fastest = info.runtimes.find((r) => r.available)?.name;
  const unavailable = info.runtimes.filter((r) => !r.available);
  return (
    <fieldset style={{ border: 0, padding: 0, margin: '12px 0' }} aria-describedby="runtime-help">
      <label htmlFor="set-inferenceRuntime">Inference runtime</label>
      <select id="set-inferenceRuntime" value={value} disabled={forcedBy !== null} onChange={(e) => onChange(e.target.value as RuntimePreference)}>
        <option value="auto">Automatic (fastest available{fastest ? `: ${fastest}` : ''})</option>
        {info.runtimes.map((r) => (
          <option key={r.name} value={r.name} disabled={!r.available} title={r.adminHint ?? r.reason}>
            {r.name} ({r.device}): {r.available ? 'available' : 'unavailable'}
          </option>
        ))}
      </select>
      <p id="runtime-help" className="muted" style={{ whiteSpace: 'normal' }}>
        In use now: <strong data-testid="runtime-in-use">{info.activeRuntime ?? 'none available'}</strong>. A change applies from the next AI run on, without a restart. A
        runtime named at start with the --runtime flag or TUMORPREDICT_RUNTIME wins over this setting.
      </p>
      {forcedBy && (
        <p role="note" className="notice-block" data-testid="runtime-forced">
          {choice.wanted} is forced by {forcedBy}; this setting ({value === 'auto' ? 'Automatic' : value}) applies once the workstation starts without it.
        </p>
      )}
      {choice.problem && <p className="error">{choice.problem}</p>}
      {unavailable.length > 0 && (
        <ul className="runtime-list muted" aria-label="Why runtimes are unavailable" style={{ whiteSpace: 'normal' }}>
          {unavailable.map((r) => (
            <li key={r.name}>
              {r.name}: {r.adminHint ?? r.reason ?? 'it did not load on this machine.'}
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
