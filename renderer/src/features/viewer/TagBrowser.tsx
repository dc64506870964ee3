// The read-only DICOM tag browser of the image on screen: every element with its tag, name, VR and
// value, sequences indented, private tags marked, long values collapsed, a filter, Escape to close.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DicomTag } from '@contract/index';
import { api } from '../../api/client';

/** Values longer than this start collapsed. */
export const COLLAPSE_CHARS = 80;

export function TagBrowser({ instanceId, frame, onClose }: { instanceId: string; frame: number; onClose(): void }) {
  const [tags, setTags] = useState<DicomTag[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const box = useRef<HTMLInputElement | null>(null);

  useEffect(() => {
    let live = true;
    api.call('images.tags', { instanceId }).then(
      (r) => {
        if (!live) return;
        setTags(r.tags);
        setTruncated(r.truncated);
      },
      (e: unknown) => live && setError(e instanceof Error ? e.message : 'The tags could not be read.'),
    );
    box.current?.focus();
    return () => {
      live = false;
    };
  }, [instanceId]);

  const shown = useMemo(() => {
    if (!tags) return [];
    const q = filter.trim().toLowerCase();
    if (!q) return tags;
    return tags.filter((t) => t.tag.toLowerCase().includes(q) || t.name.toLowerCase().includes(q) || t.value.toLowerCase().includes(q));
  }, [tags, filter]);

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        className="modal tag-browser"
        role="dialog"
        aria-modal="true"
        aria-labelledby="tag-browser-title"
        data-testid="tag-browser"
        onKeyDown={(e) => {
          // The viewer's shortcuts stay out of the dialog; Escape closes it.
          e.stopPropagation();
          if (e.key === 'Escape') onClose();
        }}
      >
        <header className="modal-head">
          <h2 id="tag-browser-title">DICOM tags</h2>
          <span className="muted small">Read-only{frame > 0 ? ` · the file of frame ${frame + 1}` : ''}</span>
          <button type="button" className="btn-quiet" onClick={onClose} title="Close (Escape)">
            Close
          </button>
        </header>
        <label htmlFor="tag-filter">Filter by tag, name or value</label>
        <input id="tag-filter" ref={box} value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. 0028, Spacing, MONOCHROME" />
        {error && <p className="error" role="alert">{error}</p>}
        {!tags && !error && <p className="muted">Reading the file…</p>}
        {tags && (
          <>
            <p className="muted small" aria-live="polite">
              {shown.length} of {tags.length} elements{truncated ? ' (the file has more; the first 5000 are listed)' : ''}. Private tags are a vendor's own, marked "private".
            </p>
            <div className="tag-table-wrap">
              <table className="tag-table">
                <thead>
                  <tr>
                    <th scope="col">Tag</th>
                    <th scope="col">Name</th>
                    <th scope="col">VR</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((t, i) => (
                    <tr key={`${t.tag}-${i}`} className={t.private ? 'private' : undefined} data-testid="tag-row" data-tag={t.tag}>
                      <td className="mono">
                        <span className={`indent-${Math.min(t.depth, 6)}`}>{t.tag}</span>
                      </td>
                      <td>
                        {t.name}
                        {t.private ? <span className="badge" title="A vendor's private element">private</span> : null}
                      </td>
                      <td className="mono">{t.vr}</td>
                      <td className="tag-value">
                        {t.value.length > COLLAPSE_CHARS ? (
                          <details>
                            <summary>
                              {t.value.slice(0, COLLAPSE_CHARS)}… <span className="muted">({t.value.length}{t.truncated ? '+' : ''} characters: show all)</span>
                            </summary>
                            <span className="mono wrap">{t.value}</span>
                            {t.truncated ? <span className="muted"> … cut at {t.value.length} characters</span> : null}
                          </details>
                        ) : (
                          <span className="mono">{t.value}</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </div>
    </div>
  );
}
