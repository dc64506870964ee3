// Autosave of a draft: each edit is sent 300 ms after the last keystroke (and at once on blur
// and when the page unloads), one save in flight at a time, always from the latest revision.
// The window of loss is the edits of the last 300 ms before a crash; every acknowledged save is durable.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ReportSectionKey } from '@contract/index';
import { api } from '../../api/client';

export const AUTOSAVE_DEBOUNCE_MS = 300;
export type SaveState = 'saved' | 'pending' | 'saving' | 'error';

export function useAutosave(reportId: string, initialRevision: number, onSaved: (revision: number) => void) {
  const revision = useRef(initialRevision);
  const pending = useRef<{ sections: Partial<Record<ReportSectionKey, string>>; notes?: string } | null>(null);
  const inFlight = useRef<Promise<void> | null>(null);
  const timer = useRef<number | null>(null);
  const [state, setState] = useState<SaveState>('saved');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    revision.current = initialRevision;
  }, [initialRevision]);

  const flush = useCallback(async (): Promise<void> => {
    if (timer.current !== null) {
      window.clearTimeout(timer.current);
      timer.current = null;
    }
    if (inFlight.current) await inFlight.current;
    const batch = pending.current;
    if (!batch) return;
    pending.current = null;
    setState('saving');
    inFlight.current = api
      .call('reports.saveDraft', { reportId, baseRevision: revision.current, sections: batch.sections, ...(batch.notes !== undefined ? { notes: batch.notes } : {}) })
      .then((r) => {
        revision.current = r.revision;
        onSaved(r.revision);
        setError(null);
        setState(pending.current ? 'pending' : 'saved');
      })
      .catch((e: unknown) => {
        // Keep the unsaved edit so the next keystroke or blur retries it.
        pending.current = { sections: { ...batch.sections, ...(pending.current?.sections ?? {}) }, notes: pending.current?.notes ?? batch.notes };
        setError(e instanceof Error ? e.message : 'The draft could not be saved.');
        setState('error');
      })
      .finally(() => {
        inFlight.current = null;
      });
    await inFlight.current;
  }, [reportId, onSaved]);

  const edit = useCallback(
    (change: { section?: ReportSectionKey; text?: string; notes?: string }) => {
      const next = pending.current ?? { sections: {} };
      if (change.section && change.text !== undefined) next.sections[change.section] = change.text;
      if (change.notes !== undefined) next.notes = change.notes;
      pending.current = next;
      setState('pending');
      if (timer.current !== null) window.clearTimeout(timer.current);
      timer.current = window.setTimeout(() => void flush(), AUTOSAVE_DEBOUNCE_MS);
    },
    [flush],
  );

  useEffect(() => {
    const onUnload = (): void => void flush();
    window.addEventListener('beforeunload', onUnload);
    window.addEventListener('pagehide', onUnload);
    return () => {
      window.removeEventListener('beforeunload', onUnload);
      window.removeEventListener('pagehide', onUnload);
      void flush();
    };
  }, [flush]);

  return { edit, flush, state, error, revision };
}
