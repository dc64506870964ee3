// "Export de-identified copy" of a DICOM data set: a destination folder, progress from the
// datasets.exportProgress events, cancel, and a result line. Only de-identified copies leave.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { DEID_EXPORT_PROGRESS_EVENT, deidExportProgressSchema, type DeidExportProgress, type DeidExportResult, type DeidOptionsInput } from '@contract/index';
import { api } from '../../api/client';

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function resultLine(r: DeidExportResult): string {
  let line = `${r.written} file${r.written === 1 ? '' : 's'} written to ${r.destination}`;
  if (r.cancelled) line += ` (cancelled; ${r.total - r.written - r.refused.length} not written)`;
  if (r.refused.length) line += `; ${r.refused.length} withheld (e.g. ${r.refused[0]!.itemId}: ${r.refused[0]!.reason})`;
  return line + '.';
}

export function DeidExportPanel({ datasetId, datasetName }: { datasetId: string; datasetName: string }) {
  const [destination, setDestination] = useState('');
  // The profile's options, chosen for each export (PS3.15 E.3): how dates leave, and Clean Descriptors.
  const [temporal, setTemporal] = useState<DeidOptionsInput['temporal']>('modified');
  const [cleanDescriptors, setCleanDescriptors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<DeidExportProgress | null>(null);
  const [result, setResult] = useState<DeidExportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const exportId = useRef<string | null>(null);
  const running = useRef(false);

  useEffect(
    () =>
      api.onEvent((evt) => {
        if (evt.event !== DEID_EXPORT_PROGRESS_EVENT || !running.current) return;
        const p = deidExportProgressSchema.safeParse(evt.data);
        if (!p.success || p.data.datasetId !== datasetId) return;
        exportId.current = p.data.exportId;
        setProgress(p.data);
      }),
    [datasetId],
  );
  // Another data set selected: start clean.
  useEffect(() => {
    setResult(null);
    setError(null);
    setProgress(null);
  }, [datasetId]);

  const start = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setResult(null);
    setProgress(null);
    exportId.current = null;
    running.current = true;
    try {
      setResult(await api.call('datasets.exportDeidentified', { datasetId, destination: destination.trim(), options: { temporal, cleanDescriptors } }));
    } catch (err) {
      setError(msg(err));
    } finally {
      running.current = false;
      setBusy(false);
    }
  };
  const cancel = (): void => {
    if (exportId.current) void api.call('datasets.cancelExport', { exportId: exportId.current }).catch((err: unknown) => setError(msg(err)));
  };

  return (
    <form className="research-row deid-export" onSubmit={(e) => void start(e)} aria-label={`Export de-identified copy of ${datasetName}`} data-testid="deid-export">
      <input
        aria-label="Destination folder"
        placeholder="/path/to/new or empty folder for the de-identified copies"
        value={destination}
        onChange={(e) => setDestination(e.target.value)}
        className="grow"
        disabled={busy}
        required
      />
      <label title="How dates and times leave: removed (basic profile), shifted by one secret offset per data set (intervals kept), or kept as they are">
        Dates{' '}
        <select aria-label="Dates in the copies" value={temporal} onChange={(e) => setTemporal(e.target.value as DeidOptionsInput['temporal'])} disabled={busy}>
          <option value="modified">shifted (intervals kept)</option>
          <option value="remove">removed</option>
          <option value="full">kept as they are</option>
        </select>
      </label>
      <label title="Clean Descriptors option: series and study descriptions keep their known-safe imaging words (T1, AXIAL, BRAIN...) instead of being removed">
        <input type="checkbox" checked={cleanDescriptors} onChange={(e) => setCleanDescriptors(e.target.checked)} disabled={busy} /> Keep cleaned descriptions
      </label>
      <button type="submit" disabled={busy || !destination.trim()} title="Write de-identified copies (PS3.15 basic profile) of every file to the folder (Enter)">
        Export de-identified copy
      </button>
      {busy ? (
        <>
          <progress max={progress?.total || 1} value={progress?.done ?? 0} aria-label={`Export progress ${progress?.done ?? 0} of ${progress?.total ?? '?'}`} />
          <span className="muted">{progress ? `${progress.done}/${progress.total}` : 'starting…'}</span>
          <button type="button" onClick={cancel} disabled={!exportId.current} title="Stop after the current file; the files written so far are complete">
            Cancel export
          </button>
        </>
      ) : null}
      {result ? <p className="deid-result" role="status" data-testid="deid-export-result">{resultLine(result)}</p> : null}
      {error ? <p className="error" role="alert">{error}</p> : null}
    </form>
  );
}
