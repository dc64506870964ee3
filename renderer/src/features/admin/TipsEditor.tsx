// The health tips patients read: a list, and a form for one page (title, Markdown text with a
// preview exactly as patients will see it, sources, who reviewed it and when).
import { useEffect, useState, type FormEvent } from 'react';
import { MAX_TIP_MARKDOWN_CHARS, type HealthTip, type TipSource } from '@contract/index';
import { api } from '../../api/client';
import { Markdown } from '../care/Markdown';
import '../care/care.css';

interface Draft {
  id?: string;
  title: string;
  bodyMarkdown: string;
  sources: TipSource[];
  reviewedBy: string;
  reviewedOn: string;
}
const EMPTY: Draft = { title: '', bodyMarkdown: '', sources: [{ title: '', url: '' }], reviewedBy: '', reviewedOn: '' };
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function TipsEditor() {
  const [tips, setTips] = useState<HealthTip[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const load = (): void => void api.call('tips.list', {}).then((r) => setTips(r.tips), (e: unknown) => setError(msg(e)));
  useEffect(load, []);

  const edit = (t: HealthTip): void => {
    setInfo(null);
    setError(null);
    setDraft({ id: t.id, title: t.title, bodyMarkdown: t.bodyMarkdown, sources: t.sources.length ? t.sources : [{ title: '', url: '' }], reviewedBy: t.reviewedBy, reviewedOn: t.reviewedOn ?? '' });
  };
  const save = (e: FormEvent): void => {
    e.preventDefault();
    if (!draft) return;
    const sources = draft.sources.filter((s) => s.title.trim() || s.url.trim());
    api
      .call('tips.save', { ...(draft.id ? { id: draft.id } : {}), title: draft.title, bodyMarkdown: draft.bodyMarkdown, sources, reviewedBy: draft.reviewedBy, reviewedOn: draft.reviewedOn || null })
      .then(
        (r) => {
          setInfo(`Saved "${r.tip.title}".`);
          setError(null);
          setDraft(null);
          load();
        },
        (err: unknown) => setError(msg(err)),
      );
  };
  const remove = (t: HealthTip): void => {
    if (!window.confirm(`Delete the health tip "${t.title}"? Patients will no longer see it.`)) return;
    api.call('tips.delete', { id: t.id }).then(
      () => {
        setInfo(`Deleted "${t.title}".`);
        load();
      },
      (err: unknown) => setError(msg(err)),
    );
  };
  const setSource = (i: number, patch: Partial<TipSource>): void => {
    if (draft) setDraft({ ...draft, sources: draft.sources.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
  };

  return (
    <section aria-labelledby="tips-editor-title">
      <h2 id="tips-editor-title">Health tips</h2>
      <p className="muted">Short pages patients read under Health tips. Write them in Markdown (# heading, - list, **bold**, [link](https://…)); HTML and pictures are shown as text, never run or loaded.</p>
      {info && <p role="status" className="ok">{info}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      <table data-testid="tips-table">
        <thead>
          <tr>
            <th>Title</th>
            <th>Sources</th>
            <th>Reviewed</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {tips.map((t) => (
            <tr key={t.id}>
              <td>{t.title}</td>
              <td>{t.sources.length}</td>
              <td>{t.reviewedOn ? `${t.reviewedOn}, ${t.reviewedBy}` : <span className="muted">not yet</span>}</td>
              <td style={{ display: 'flex', gap: 4 }}>
                <button type="button" onClick={() => edit(t)} aria-label={`Edit "${t.title}"`}>Edit</button>
                <button type="button" className="danger" onClick={() => remove(t)} aria-label={`Delete "${t.title}"`}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!draft && (
        <div className="form-actions">
          <button type="button" onClick={() => setDraft({ ...EMPTY })}>New health tip</button>
        </div>
      )}
      {draft && (
        <form onSubmit={save} aria-label={draft.id ? 'Edit health tip' : 'New health tip'} className="admin-fieldset" style={{ marginTop: 12 }}>
          <label htmlFor="tip-title">Title</label>
          <input id="tip-title" required maxLength={200} style={{ width: '100%' }} value={draft.title} onChange={(e) => setDraft({ ...draft, title: e.target.value })} />
          <div style={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 16 }}>
            <div>
              <label htmlFor="tip-body">Text (Markdown)</label>
              <textarea id="tip-body" required rows={16} maxLength={MAX_TIP_MARKDOWN_CHARS} style={{ width: '100%', fontFamily: 'monospace' }} value={draft.bodyMarkdown} onChange={(e) => setDraft({ ...draft, bodyMarkdown: e.target.value })} />
            </div>
            <div>
              <p className="muted" style={{ margin: '8px 0 4px' }} id="tip-preview-label">What patients will see</p>
              <div className="care-card" aria-labelledby="tip-preview-label" data-testid="tip-preview" style={{ fontSize: 16 }}>
                <Markdown source={draft.bodyMarkdown} />
              </div>
            </div>
          </div>
          <fieldset style={{ border: 0, padding: 0 }}>
            <legend>Sources (at least one is good practice)</legend>
            {draft.sources.map((s, i) => (
              <div key={i} style={{ display: 'grid', gridTemplateColumns: '1fr 2fr auto', gap: 8, alignItems: 'end' }}>
                <div>
                  <label htmlFor={`tip-src-title-${i}`}>Source {i + 1}: name</label>
                  <input id={`tip-src-title-${i}`} style={{ width: '100%' }} value={s.title} onChange={(e) => setSource(i, { title: e.target.value })} />
                </div>
                <div>
                  <label htmlFor={`tip-src-url-${i}`}>Web address (https://…)</label>
                  <input id={`tip-src-url-${i}`} type="url" style={{ width: '100%' }} value={s.url} onChange={(e) => setSource(i, { url: e.target.value })} />
                </div>
                <button type="button" onClick={() => setDraft({ ...draft, sources: draft.sources.filter((_, j) => j !== i) })} aria-label={`Remove source ${i + 1}`}>Remove</button>
              </div>
            ))}
            <button type="button" style={{ marginTop: 8 }} onClick={() => setDraft({ ...draft, sources: [...draft.sources, { title: '', url: '' }] })}>Add a source</button>
          </fieldset>
          <div style={{ display: 'grid', gridTemplateColumns: '2fr 1fr', gap: 8 }}>
            <div>
              <label htmlFor="tip-reviewed-by">Reviewed by (name and role)</label>
              <input id="tip-reviewed-by" maxLength={200} style={{ width: '100%' }} value={draft.reviewedBy} onChange={(e) => setDraft({ ...draft, reviewedBy: e.target.value })} />
            </div>
            <div>
              <label htmlFor="tip-reviewed-on">Reviewed on</label>
              <input id="tip-reviewed-on" type="date" style={{ width: '100%' }} value={draft.reviewedOn} onChange={(e) => setDraft({ ...draft, reviewedOn: e.target.value })} />
            </div>
          </div>
          <div className="form-actions">
            <button type="submit" className="primary">Save health tip</button>
            <button type="button" onClick={() => setDraft(null)}>Cancel</button>
          </div>
        </form>
      )}
    </section>
  );
}
