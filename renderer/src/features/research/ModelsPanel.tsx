// Models for research: the installed models with version, status and hash check, and installing
// a model folder (model-card.json with ONNX or TensorFlow.js files) for research use.
import { useState, type FormEvent } from 'react';
import type { RegistryModel } from '@contract/index';
import { api } from '../../api/client';
import { msg } from './shared';

export function ModelsPanel({ models, onChanged }: { models: RegistryModel[]; onChanged: () => void }) {
  const [path, setPath] = useState('');
  const [error, setError] = useState<string | null>(null);
  const install = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    try {
      await api.call('models.install', { path: path.trim() });
      setPath('');
      onChanged();
    } catch (err) {
      setError(msg(err));
    }
  };
  return (
    <section className="research-panel" aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      <table className="research-table" data-testid="models">
        <thead>
          <tr><th>Model</th><th>Version</th><th>Status</th><th>Hash check</th><th>Formats</th></tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id}>
              <td>{m.id}</td>
              <td>{m.version}</td>
              <td>{m.status === 'active' ? 'active (clinical)' : m.status}</td>
              <td className={m.verified ? 'ok' : 'error'}>{m.verified ? 'verified' : `refused: ${m.problem ?? ''}`}</td>
              <td>{m.formats.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="research-row" onSubmit={(e) => void install(e)}>
        <label htmlFor="model-path" className="inline">Model folder</label>
        <input id="model-path" aria-label="Model folder path" placeholder="/path/to/model folder (model-card.json + ONNX or TF.js)" value={path} onChange={(e) => setPath(e.target.value)} className="grow" />
        <button type="submit" disabled={!path.trim()} title="Install for research use (an admin activates models for clinical use)">Install</button>
      </form>
      {error ? <p className="error" role="alert">{error}</p> : null}
    </section>
  );
}
