// The images behind a number: the items of a confusion cell or a reliability bin as thumbnails
// with prediction, confidence and truth, sorted by confidence (confident mistakes first); one
// opens in a dialog with its image, the data set's mask and the model's mask; the list exports as CSV.
import { useEffect, useRef, useState } from 'react';
import type { ItemFilter, RunItem, RunItemDetail } from '@contract/index';
import { api } from '../../api/client';
import { download, msg, pct } from './shared';

type Sort = 'confidence-desc' | 'confidence-asc' | 'item';
const PAGE = 48;

export function describeFilter(f: ItemFilter): string {
  const parts: string[] = [];
  if (f.truth !== undefined) parts.push(`truth ${f.truth}`);
  if (f.pred !== undefined) parts.push(`predicted ${f.pred}`);
  if (f.bin !== undefined) parts.push(`confidence ${(f.bin / 10).toFixed(1)}–${((f.bin + 1) / 10).toFixed(1)}`);
  if (f.correct !== undefined) parts.push(f.correct ? 'right' : 'wrong');
  return parts.join(', ') || 'all items';
}

function ItemDialog({ runId, idx, onClose }: { runId: string; idx: number; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement | null>(null);
  const [d, setD] = useState<RunItemDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [truthOn, setTruthOn] = useState(true);
  const [predOn, setPredOn] = useState(true);
  useEffect(() => {
    ref.current?.showModal();
    void api.call('runs.item', { id: runId, idx }).then(setD, (e: unknown) => setError(msg(e)));
  }, [runId, idx]);
  const probs = d ? Object.entries(d.probabilities).sort((a, b) => b[1] - a[1]) : [];
  return (
    <dialog ref={ref} className="item-dialog" aria-labelledby="item-title" onClose={onClose} onCancel={onClose} data-testid="item-dialog">
      <h2 id="item-title">{d?.itemId ?? 'Item'}</h2>
      <p className="notice-block">Research use only. Not a medical device.</p>
      {error ? <p className="error" role="alert">{error}</p> : null}
      {d ? (
        <div className="item-body">
          <div className="item-image">
            {d.image ? <img src={d.image.png} alt={`Image ${d.itemId}`} width={d.image.width} height={d.image.height} data-testid="item-image" /> : <p className="muted">No image.</p>}
            {d.image && d.truthMask && truthOn ? <img className="overlay" src={d.truthMask} alt="Data set mask" width={d.image.width} height={d.image.height} data-testid="item-truth-mask" /> : null}
            {d.image && d.predictedMask && predOn ? <img className="overlay" src={d.predictedMask} alt="Model mask" width={d.image.width} height={d.image.height} data-testid="item-predicted-mask" /> : null}
          </div>
          <div className="item-facts">
            <p>
              Truth <strong>{d.truth ?? '–'}</strong>, predicted <strong className={d.correct ? 'ok' : 'error'}>{d.pred}</strong> with confidence {pct(d.confidence)}.
            </p>
            {d.source || d.sequence ? <p>Source {d.source ?? '–'}, sequence {d.sequence ?? '–'}.</p> : null}
            {d.dice !== null ? <p>Mask Dice {d.dice.toFixed(3)}.</p> : null}
            <table className="research-table compact">
              <caption>Probabilities</caption>
              <tbody>
                {probs.map(([k, v]) => (
                  <tr key={k}><td>{k}</td><td>{pct(v)}</td></tr>
                ))}
              </tbody>
            </table>
            <label className="check"><input type="checkbox" checked={truthOn} disabled={!d.truthMask} onChange={(e) => setTruthOn(e.target.checked)} /> Data set mask (green)</label>
            <label className="check"><input type="checkbox" checked={predOn} disabled={!d.predictedMask} onChange={(e) => setPredOn(e.target.checked)} /> Model mask (orange)</label>
            {d.note ? <p className="muted small">{d.note}</p> : null}
          </div>
        </div>
      ) : !error ? (
        <p className="muted" role="status">Loading…</p>
      ) : null}
      <div className="research-row">
        <button type="button" onClick={() => ref.current?.close()} title="Close (Escape)">Close</button>
      </div>
    </dialog>
  );
}

export function RunItems({ runId, filter, onClear }: { runId: string; filter: ItemFilter; onClear: () => void }) {
  const [sort, setSort] = useState<Sort>('confidence-desc');
  const [items, setItems] = useState<RunItem[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const key = JSON.stringify(filter);
  const load = async (offset: number): Promise<void> => {
    setLoading(true);
    setError(null);
    try {
      const r = await api.call('runs.items', { id: runId, filter, sort, offset, limit: PAGE });
      setTotal(r.total);
      setItems((prev) => (offset === 0 ? r.items : [...prev, ...r.items]));
    } catch (e) {
      setError(msg(e));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setItems([]);
    setTotal(null);
    void load(0);
  }, [runId, key, sort]);
  const exportCsv = async (): Promise<void> => {
    try {
      const r = await api.call('runs.exportItems', { id: runId, filter, sort });
      download(r.filename, 'text/csv', r.csv);
    } catch (e) {
      setError(msg(e));
    }
  };
  return (
    <section className="research-panel run-items" aria-labelledby="items-title" data-testid="run-items">
      <h2 id="items-title">
        Images: {describeFilter(filter)} {total !== null ? <span data-testid="items-total">({total})</span> : null}
      </h2>
      <div className="research-row">
        <label htmlFor="items-sort" className="inline">Sort by</label>
        <select id="items-sort" value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
          <option value="confidence-desc">confidence, highest first (confident mistakes first)</option>
          <option value="confidence-asc">confidence, lowest first</option>
          <option value="item">item name</option>
        </select>
        <button type="button" onClick={() => void exportCsv()} disabled={!total}>Export list (CSV)</button>
        <button type="button" className="btn-quiet" onClick={onClear}>Close images</button>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <ul className="item-grid" aria-label={`Images, ${describeFilter(filter)}`}>
        {items.map((it) => (
          <li key={it.idx} data-testid="run-item" data-item-id={it.itemId} data-truth={it.truth ?? ''} data-pred={it.pred} data-correct={it.correct} data-confidence={it.confidence}>
            <button type="button" className="item-card" onClick={() => setOpen(it.idx)} title={`Open ${it.itemId} with its mask`}>
              {it.thumbnail ? <img src={it.thumbnail} alt="" width={96} height={96} /> : <span className="no-thumb">no image</span>}
              <span className="item-line">
                <strong className={it.correct ? 'ok' : 'error'}>{it.pred}</strong> {pct(it.confidence)}
              </span>
              <span className="item-line muted">truth {it.truth ?? '–'}</span>
              <span className="item-line small item-name">{it.itemId}</span>
            </button>
          </li>
        ))}
      </ul>
      {total !== null && items.length < total ? (
        <button type="button" disabled={loading} onClick={() => void load(items.length)}>
          Show more ({total - items.length} left)
        </button>
      ) : null}
      {total === 0 ? <p className="muted">No images here.</p> : null}
      {open !== null ? <ItemDialog runId={runId} idx={open} onClose={() => setOpen(null)} /> : null}
    </section>
  );
}
