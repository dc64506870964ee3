// The model registry for IT admins (a tab of the Administration page): installed models with
// their hash check and status; install a model folder, activate one for clinical use, retire one.
import { useEffect, useState, type FormEvent } from 'react';
import type { RegistryModel } from '@contract/index';
import { api } from '../../api/client';
import './research.css';

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function ModelRegistryPanel() {
  const [models, setModels] = useState<RegistryModel[]>([]);
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const load = (): void => void api.call('models.registry', {}).then((r) => setModels(r.models), (e: unknown) => setError(msg(e)));
  useEffect(load, []);
  const act = async (f: () => Promise<RegistryModel>, done: (m: RegistryModel) => string): Promise<void> => {
    setError(null);
    setInfo(null);
    try {
      const m = await f();
      setInfo(done(m));
      load();
    } catch (e) {
      setError(msg(e));
    }
  };
  const install = (e: FormEvent): void => {
    e.preventDefault();
    void act(() => api.call('models.install', { path: path.trim() }), (m) => `Installed ${m.id} ${m.version}; activate it to use it for clinical scoring.`).then(() => setPath(''));
  };
  return (
    <div data-testid="model-registry">
      <p className="muted">Models are checked against the sha256 of every file in their model card before they are listed or used. The active model is the one clinical scoring uses; retired models stay for their old results.</p>
      <table className="research-table">
        <thead>
          <tr><th>Model</th><th>Version</th><th>Status</th><th>Hash check</th><th>Card sha256</th><th /></tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} data-model-id={m.id} data-status={m.status}>
              <td>{m.id}</td>
              <td>{m.version}</td>
              <td>{m.status}</td>
              <td className={m.verified ? 'ok' : 'error'}>{m.verified ? 'verified' : `refused: ${m.problem ?? ''}`}</td>
              <td><code title={m.cardSha256 ?? ''}>{m.cardSha256?.slice(0, 12) ?? '–'}</code></td>
              <td>
                {m.status === 'research' && m.verified ? (
                  <button type="button" onClick={() => void act(() => api.call('models.activate', { id: m.id }), (x) => `${x.id} ${x.version} is now the active clinical model.`)}>Activate</button>
                ) : null}{' '}
                {m.status === 'research' ? (
                  <button type="button" className="danger" onClick={() => void act(() => api.call('models.retire', { id: m.id }), (x) => `${x.id} ${x.version} retired.`)}>Retire</button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="research-row" onSubmit={install}>
        <input aria-label="Model folder to install" placeholder="/path/to/model folder" value={path} onChange={(e) => setPath(e.target.value)} className="grow" />
        <button type="submit" disabled={!path.trim()}>Install</button>
      </form>
      {info ? <p className="ok" role="status">{info}</p> : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
    </div>
  );
}
