// Import for the browser host and the desktop app alike: a file picker, a folder picker
// (webkitdirectory) and drag and drop, feeding import.upload with progress and cancel.
import { keysOf } from '../../app/shortcuts';
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { IMPORT_PROGRESS_EVENT, importProgressSchema, type ImportProgress, type ImportReport } from '@contract/index';
import { api } from '../../api/client';
import { uploadFiles, type UploadProgress } from './upload';

/** Files inside dropped folders, read through the File and Directory Entries API. */
async function filesFromDrop(e: DragEvent): Promise<File[]> {
  const items = [...e.dataTransfer.items];
  const entries = items.map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
  if (entries.length === 0) return [...e.dataTransfer.files];
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const b of batch) await walk(b);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return out;
}

export function ImportPanel(props: { onImported(reports: ImportReport[]): void }) {
  const [busy, setBusy] = useState(false);
  const [upload, setUpload] = useState<UploadProgress | null>(null);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const importId = useRef<string | null>(null);
  const filesInput = useRef<HTMLInputElement | null>(null);
  const folderInput = useRef<HTMLInputElement | null>(null);

  useEffect(
    () =>
      api.onEvent((evt) => {
        if (evt.event !== IMPORT_PROGRESS_EVENT) return;
        const p = importProgressSchema.safeParse(evt.data);
        if (p.success) {
          importId.current = p.data.importId;
          setProgress(p.data);
        }
      }),
    [],
  );

  const start = (files: File[]): void => {
    if (busy || files.length === 0) return;
    const c = new AbortController();
    controller.current = c;
    importId.current = null;
    setBusy(true);
    setError(null);
    setMessage(null);
    setProgress(null);
    setUpload({ phase: 'uploading', sentBytes: 0, totalBytes: 1, files: files.length });
    uploadFiles(files, { signal: c.signal, onProgress: setUpload }).then(
      (reports) => {
        const sum = (k: 'imported' | 'duplicates' | 'conflicts' | 'refused'): number => reports.reduce((n, r) => n + r[k], 0);
        const refused = reports.flatMap((r) => r.entries.filter((e) => e.status === 'refused'));
        setMessage(
          `Imported ${sum('imported')} image(s); ${sum('duplicates')} already stored, ${sum('conflicts')} conflicting, ${sum('refused')} refused` +
            (refused[0] ? ` (e.g. ${refused[0].path}: ${refused[0].reason})` : '') +
            (reports.some((r) => r.cancelled) ? '. The import was cancelled.' : '.'),
        );
        setBusy(false);
        props.onImported(reports);
      },
      (e: unknown) => {
        setError(e instanceof Error ? e.message : 'The import failed.');
        setBusy(false);
        props.onImported([]);
      },
    );
  };

  const cancel = (): void => {
    controller.current?.abort();
    if (importId.current) void api.call('import.cancel', { importId: importId.current }).catch(() => {});
  };

  return (
    <div
      className={dragging ? 'import-panel dragging' : 'import-panel'}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        void filesFromDrop(e).then(start, () => setError('The dropped items could not be read.'));
      }}
      data-testid="import-panel"
    >
      <span className="muted">Import DICOM: drop files or folders here, or</span>
      <button type="button" onClick={() => filesInput.current?.click()} disabled={busy} title="Choose DICOM files to import (Alt+O)">
        Choose files…
      </button>
      <button type="button" onClick={() => folderInput.current?.click()} disabled={busy} title="Choose a folder; every file in it and its sub-folders is imported (Alt+Shift+O)">
        Choose folder…
      </button>
      <input
        ref={filesInput}
        type="file"
        multiple
        hidden
        data-testid="import-files"
        onChange={(e) => {
          start([...(e.target.files ?? [])]);
          e.target.value = '';
        }}
      />
      <input
        ref={(el) => {
          folderInput.current = el;
          el?.setAttribute('webkitdirectory', '');
        }}
        type="file"
        multiple
        hidden
        data-testid="import-folder"
        onChange={(e) => {
          start([...(e.target.files ?? [])]);
          e.target.value = '';
        }}
      />
      {busy && (
        <span className="import-progress" aria-live="polite">
          {upload?.phase === 'uploading'
            ? `Sending ${Math.round((100 * (upload.sentBytes ?? 0)) / Math.max(1, upload.totalBytes))}% of ${upload.files} file(s)…`
            : progress
              ? `Importing ${progress.done} of ${progress.total}…`
              : 'Importing…'}
          <progress
            max={upload?.phase === 'uploading' ? upload.totalBytes : Math.max(1, progress?.total ?? 1)}
            value={upload?.phase === 'uploading' ? upload.sentBytes : (progress?.done ?? 0)}
            aria-label="Import progress"
          />
          <button type="button" onClick={cancel} title="Cancel the import (files already imported stay)">
            Cancel
          </button>
        </span>
      )}
      {message && <span className="ok" role="status">{message}</span>}
      {error && <span className="error" role="alert">{error}</span>}
    </div>
  );
}

/** Global shortcuts for the pickers, installed by the worklist. */
export function useImportShortcuts(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      // Alt+O / Alt+Shift+O: Ctrl+O and Ctrl+Shift+O belong to the browser (open file, bookmarks).
      const k = keysOf(e);
      if (k !== 'Alt+O' && k !== 'Alt+Shift+O') return;
      e.preventDefault();
      const input = document.querySelector<HTMLInputElement>(k === 'Alt+Shift+O' ? '[data-testid="import-folder"]' : '[data-testid="import-files"]');
      input?.click();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
