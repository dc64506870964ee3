// Data sets: pick a folder (one sub-folder per class, or DICOM) or a CSV with the folder picker,
// see what it would register as (per-class counts, sources and sequences, thumbnails) before
// registering it, then the registered data sets with their content hash; the de-identified export
// of a DICOM one.
import { useEffect, useState, type FormEvent } from 'react';
import type { DatasetDetail, DatasetPreview, DatasetSummary } from '@contract/index';
import { api } from '../../api/client';
import { DeidExportPanel } from './DeidExportPanel';
import { FolderPicker } from './FolderPicker';
import { msg } from './shared';

const counts = (c: Record<string, number> | null): string => (c ? Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') : '–');

function Thumbs({ thumbs, label, testId }: { thumbs: { itemId: string; label: string | null; png: string }[]; label: string; testId: string }) {
  return (
    <div className="thumbs" data-testid={testId} aria-label={label}>
      {thumbs.map((t) => (
        <figure key={t.itemId}>
          <img src={t.png} alt={`${t.label ?? 'unlabelled'} example`} width={64} height={64} />
          <figcaption>{t.label ?? '(none)'}</figcaption>
        </figure>
      ))}
    </div>
  );
}

function PreviewView({ p }: { p: DatasetPreview }) {
  return (
    <div className="dataset-preview" data-testid="dataset-preview">
      <p>
        <strong>{p.kind === 'folders' ? 'Image folders (one per class)' : p.kind === 'csv' ? 'CSV file' : 'DICOM files'}</strong>: {p.items} items
        {p.withMasks ? `, ${p.withMasks} with masks` : ''}
        {p.ignored ? `; ${p.ignored} other file${p.ignored === 1 ? '' : 's'} left out` : ''}.
      </p>
      <table className="research-table compact" data-testid="preview-counts">
        <caption>Items per class</caption>
        <thead>
          <tr><th>Class</th><th>Items</th></tr>
        </thead>
        <tbody>
          {Object.entries(p.classCounts).map(([k, v]) => (
            <tr key={k}><td>{k}</td><td>{v}</td></tr>
          ))}
        </tbody>
      </table>
      {p.groups.source ? <p>Sources: {counts(p.groups.source)}</p> : null}
      {p.groups.sequence ? <p>Sequences: {counts(p.groups.sequence)}</p> : null}
      <Thumbs thumbs={p.thumbnails} label={`Examples from ${p.name}`} testId="preview-thumbnails" />
    </div>
  );
}

export function DatasetsPanel({ datasets, selected, onSelect, onChanged }: { datasets: DatasetSummary[]; selected: string | null; onSelect: (id: string) => void; onChanged: () => void }) {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [picking, setPicking] = useState(false);
  const [preview, setPreview] = useState<DatasetPreview | null>(null);
  const [reading, setReading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [detail, setDetail] = useState<DatasetDetail | null>(null);
  useEffect(() => {
    if (!selected) return setDetail(null);
    void api.call('datasets.get', { id: selected }).then(setDetail, (e: unknown) => setError(msg(e)));
  }, [selected]);
  const look = async (p: string): Promise<void> => {
    setError(null);
    setPreview(null);
    if (!p.trim()) return;
    setReading(true);
    try {
      const pv = await api.call('datasets.preview', { path: p.trim() });
      setPreview(pv);
      if (!name.trim()) setName(pv.name);
    } catch (err) {
      setError(msg(err));
    } finally {
      setReading(false);
    }
  };
  const register = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const ds = await api.call('datasets.register', { path: path.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
      setPath('');
      setName('');
      setPreview(null);
      onChanged();
      onSelect(ds.id);
    } catch (err) {
      setError(msg(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="research-panel" aria-labelledby="ds-title">
      <h2 id="ds-title">Data sets</h2>
      <form className="dataset-form" onSubmit={(e) => void register(e)}>
        <div className="field grow">
          <label htmlFor="ds-path">Folder or CSV file</label>
          <div className="research-row tight">
            <input
              id="ds-path"
              className="grow"
              placeholder="/path/to/folder (one sub-folder per class, or DICOM) or data.csv"
              value={path}
              onChange={(e) => {
                setPath(e.target.value);
                setPreview(null);
              }}
              onKeyDown={(e) => {
                // Enter reads the folder first; a second Enter (with the preview shown) registers.
                if (e.key === 'Enter' && !preview) {
                  e.preventDefault();
                  void look(path);
                }
              }}
              aria-describedby="ds-path-help"
              required
            />
            <button type="button" onClick={() => setPicking(true)} title="Pick a folder or CSV file on this machine">
              Browse…
            </button>
            <button type="button" disabled={!path.trim() || reading} onClick={() => void look(path)} title="Read the folder: counts per class and thumbnails, nothing registered (Enter)">
              Preview
            </button>
          </div>
          <p id="ds-path-help" className="muted small">
            One sub-folder per class (links are followed), DICOM files, or a CSV with path and label columns (optional: mask, source, sequence).
          </p>
        </div>
        <div className="field">
          <label htmlFor="ds-name">Data set name</label>
          <input id="ds-name" placeholder="e.g. site-a-2024" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field actions">
          <button type="submit" className="primary" disabled={busy || !path.trim() || !preview} title="Register the data set (hashes every file)">
            {busy ? 'Registering…' : 'Register'}
          </button>
        </div>
      </form>
      {picking ? (
        <FolderPicker
          start={path.trim() || null}
          onClose={() => setPicking(false)}
          onPick={(p) => {
            setPicking(false);
            setPath(p);
            void look(p);
          }}
        />
      ) : null}
      {reading ? <p className="muted" role="status">Reading the folder…</p> : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
      {preview ? <PreviewView p={preview} /> : null}
      <table className="research-table" data-testid="datasets">
        <thead>
          <tr><th>Name</th><th>Kind</th><th>Items</th><th>Classes</th><th>Sources / sequences</th><th>Content sha256</th></tr>
        </thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={d.id} className={d.id === selected ? 'selected' : undefined}>
              <td><button type="button" className="link" onClick={() => onSelect(d.id)}>{d.name}</button></td>
              <td>{d.kind}</td>
              <td>{d.items}{d.withMasks ? ` (${d.withMasks} masks)` : ''}</td>
              <td>{counts(d.classCounts)}</td>
              <td>{d.groups.source || d.groups.sequence ? `${d.groups.source ? Object.keys(d.groups.source).length : 0} / ${d.groups.sequence ? Object.keys(d.groups.sequence).length : 0}` : '–'}</td>
              <td><code title={d.contentHash}>{d.contentHash.slice(0, 16)}…</code></td>
            </tr>
          ))}
          {datasets.length === 0 ? <tr><td colSpan={6} className="muted">No data sets yet. Pick a folder above.</td></tr> : null}
        </tbody>
      </table>
      {detail ? <Thumbs thumbs={detail.thumbnails} label={`Thumbnails of ${detail.name}`} testId="thumbnails" /> : null}
      {detail?.kind === 'dicom' ? <DeidExportPanel datasetId={detail.id} datasetName={detail.name} /> : null}
    </section>
  );
}
