// The folder picker: a dialog that walks this machine's folders (sub-folders and CSV files, links
// marked) so a researcher picks a data set instead of typing a path. Keyboard: arrows and Enter in
// the list, Backspace goes up, Escape closes.
import { useEffect, useRef, useState } from 'react';
import type { FolderListing } from '@contract/index';
import { api } from '../../api/client';
import { msg } from './shared';

export function FolderPicker({ start, onPick, onClose }: { start: string | null; onPick: (path: string) => void; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement | null>(null);
  const [listing, setListing] = useState<FolderListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const go = (p?: string): void => {
    setError(null);
    void api.call('datasets.browse', p ? { path: p } : {}).then(setListing, (e: unknown) => setError(msg(e)));
  };
  useEffect(() => {
    ref.current?.showModal();
    go(start ?? undefined);
  }, []);
  return (
    <dialog ref={ref} className="folder-picker" aria-labelledby="picker-title" onClose={onClose} onCancel={onClose} data-testid="folder-picker">
      <h2 id="picker-title">Choose a data set folder or CSV file</h2>
      <div className="research-row">
        <button type="button" onClick={() => listing?.parent && go(listing.parent)} disabled={!listing?.parent} title="Up one folder (Backspace)">Up</button>
        <button type="button" onClick={() => go(listing?.home)} title="Your home folder">Home</button>
        <code className="picker-path" data-testid="picker-path">{listing?.path ?? '…'}</code>
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <ul
        className="picker-list"
        aria-label={`Contents of ${listing?.path ?? ''}`}
        onKeyDown={(e) => {
          if (e.key === 'Backspace' && listing?.parent) {
            e.preventDefault();
            go(listing.parent);
          }
        }}
      >
        {listing?.entries.map((e) => (
          <li key={e.path}>
            <button
              type="button"
              className={`picker-entry ${e.kind}`}
              onClick={() => (e.kind === 'folder' ? go(e.path) : onPick(e.path))}
              title={e.kind === 'folder' ? `Open ${e.name}` : `Choose ${e.name}`}
            >
              <span className="badge" aria-hidden="true">{e.kind === 'folder' ? 'folder' : 'CSV'}</span> {e.name}
              {e.link ? <span className="muted"> (link)</span> : null}
            </button>
          </li>
        ))}
        {listing && listing.entries.length === 0 ? <li className="muted">No sub-folders or CSV files here.</li> : null}
        {listing?.truncated ? <li className="muted">More entries than shown; open a sub-folder.</li> : null}
      </ul>
      <div className="research-row">
        <button type="button" className="primary" disabled={!listing} onClick={() => listing && onPick(listing.path)}>
          Choose this folder
        </button>
        <button type="button" onClick={() => ref.current?.close()}>Cancel</button>
      </div>
    </dialog>
  );
}
