// The radiologist's worklist: studies with patient, date, modality, description, AI status and
// report status; sort, filter and search; keyboard selection; Enter or double-click opens the
// study in the viewer. Import (files, folder, drag and drop) sits above the list.
import { useCallback, useEffect, useRef, useState } from 'react';
import { AI_BACKGROUND_EVENT, AI_NOTICE, aiBackgroundEventSchema, type AiStudyStatus, type StudySummary } from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import { labelText, percent } from '../viewer/ai-format';
import { preloadViewer } from '../viewer/ViewerPage';
import { ImportPanel, useImportShortcuts } from './ImportPanel';
import './worklist.css';

type SortKey = 'studyDate' | 'patientName' | 'importedAt' | 'modality' | 'instanceCount';
const PAGE = 50;
const MODALITIES = ['', 'MR', 'CT', 'PT', 'CR', 'DX', 'US', 'OT'];

function formatDate(d: string | null): string {
  return d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : (d ?? '—');
}

function dicomDate(isoDate: string): string | undefined {
  return /^\d{4}-\d{2}-\d{2}$/.test(isoDate) ? isoDate.replaceAll('-', '') : undefined;
}

/** The AI column in words (never colour alone): a finding, or where the study stands in scoring. */
export function aiStatusText(s: AiStudyStatus | undefined): string {
  if (!s) return 'Not run';
  if (s.status === 'running') return 'Scoring…';
  if (s.background === 'queued') return 'Queued';
  if (s.background === 'skipped') return 'Skipped';
  if (s.background === 'failed' || s.status === 'failed') return 'Failed';
  if (s.background === 'off') return 'Off: not scored';
  if (s.status === 'not-run') return 'Not run';
  const finding = s.label ? `${labelText(s.label)}${s.confidence !== null && s.label !== 'not recognised' ? ' ' + percent(s.confidence) : ''}` : 'No finding';
  return s.status === 'cancelled' ? `${finding} (partial)` : finding;
}

/** The cell's accessible name: what the column says, with why a study was skipped or failed. */
export function aiStatusLabel(s: AiStudyStatus | undefined): string {
  const text = aiStatusText(s);
  const scored = s && (s.status === 'done' || s.status === 'cancelled') && !s.background;
  return `AI: ${scored ? `scored, ${text}` : text}${s?.reason ? `. ${s.reason}` : ''}`;
}

/** The CSS class of the cell: the background state when there is one, else the run status. */
function aiClass(s: AiStudyStatus | undefined): string {
  if (!s) return 'ai-not-run';
  if (s.status === 'running') return 'ai-running';
  return `ai-${s.background ?? s.status}`;
}

const REPORT_STATUS_TEXT: Record<string, string> = {
  none: 'Not started',
  draft: 'Draft',
  preliminary: 'Preliminary',
  final: 'Signed',
  rejected: 'AI rejected',
};

export function WorklistPage() {
  const { openStudy } = useNavigation();
  const [rows, setRows] = useState<StudySummary[]>([]);
  const [total, setTotal] = useState(0);
  const [ai, setAi] = useState<Map<string, AiStudyStatus>>(new Map());
  const [reportStatus, setReportStatus] = useState<Map<string, string>>(new Map());
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [modality, setModality] = useState('');
  const [dateFrom, setDateFrom] = useState('');
  const [dateTo, setDateTo] = useState('');
  const [sort, setSort] = useState<SortKey>('studyDate');
  const [direction, setDirection] = useState<'asc' | 'desc'>('desc');
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [reload, setReload] = useState(0);
  const searchRef = useRef<HTMLInputElement | null>(null);
  const tableRef = useRef<HTMLTableSectionElement | null>(null);
  useImportShortcuts();
  // The first study opened should not wait for the viewer's code to download.
  useEffect(() => {
    const t = setTimeout(preloadViewer, 300);
    return () => clearTimeout(t);
  }, []);

  // Debounce typing in the search box.
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(search.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [search]);

  useEffect(() => {
    let live = true;
    setLoading(true);
    const from = dicomDate(dateFrom);
    const to = dicomDate(dateTo);
    api
      .call('studies.list', {
        sort,
        direction,
        limit: PAGE,
        offset,
        ...(query ? { search: query } : {}),
        ...(modality ? { modality } : {}),
        ...(from ? { dateFrom: from } : {}),
        ...(to ? { dateTo: to } : {}),
      })
      .then(
        (r) => {
          if (!live) return;
          setRows(r.rows);
          setTotal(r.total);
          setError(null);
          setLoading(false);
          setSelected((s) => Math.min(s, Math.max(0, r.rows.length - 1)));
        },
        (e: unknown) => {
          if (!live) return;
          setError(e instanceof Error ? e.message : 'The worklist could not be loaded.');
          setLoading(false);
        },
      );
    return () => {
      live = false;
    };
  }, [query, modality, dateFrom, dateTo, sort, direction, offset, reload]);

  // Report status of the visible studies.
  useEffect(() => {
    if (rows.length === 0) return;
    let live = true;
    api.call('reports.statusForStudies', { studyIds: rows.map((r) => r.studyId) }).then(
      (r) => live && setReportStatus(new Map(r.statuses.map((s) => [s.studyId, s.status]))),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [rows]);

  // AI status of the visible studies: fetched again when the background queue says a study
  // changed (ai.background events), and polled while one is queued or being scored (a run
  // started elsewhere sends no event).
  const [aiTick, setAiTick] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const visible = new Set(rows.map((r) => r.studyId));
    const off = api.onEvent((evt) => {
      if (evt.event !== AI_BACKGROUND_EVENT) return;
      const e = aiBackgroundEventSchema.safeParse(evt.data);
      if (!e.success) return;
      // A burst of events (a queue rebuilt) costs one call.
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        // A study not on the list yet has just arrived (sync, DIMSE): the list is read again.
        if (!visible.has(e.data.studyId) && e.data.state === 'queued') setReload((n) => n + 1);
        else setAiTick((n) => n + 1);
      }, 250);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [rows]);
  useEffect(() => {
    if (rows.length === 0) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fetchStatuses = (): void => {
      api.call('ai.studyStatuses', { studyIds: rows.map((r) => r.studyId) }).then(
        (r) => {
          if (!live) return;
          setAi(new Map(r.statuses.map((s) => [s.studyId, s])));
          if (r.statuses.some((s) => s.status === 'running' || s.background === 'queued')) timer = setTimeout(fetchStatuses, 3000);
        },
        () => {},
      );
    };
    fetchStatuses();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [rows, aiTick]);

  const open = useCallback(
    (row: StudySummary | undefined) => {
      if (!row) return;
      // The bench measures from here to the viewer's first rendered image.
      for (const m of ['tp:open-study', 'tp:viewer-mount', 'tp:study-loaded', 'tp:image-loaded', 'tp:first-image']) performance.clearMarks(m);
      performance.mark('tp:open-study');
      openStudy(row.studyId);
    },
    [openStudy],
  );

  const sortBy = (key: SortKey): void => {
    if (sort === key) setDirection((d) => (d === 'asc' ? 'desc' : 'asc'));
    else {
      setSort(key);
      setDirection(key === 'patientName' || key === 'modality' ? 'asc' : 'desc');
    }
    setOffset(0);
  };

  // "/" focuses the search box from anywhere on the page.
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement | null;
      if (e.key === '/' && !(t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA'))) {
        e.preventDefault();
        searchRef.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const onTableKey = (e: React.KeyboardEvent): void => {
    if (e.key === 'ArrowDown') setSelected((s) => Math.min(rows.length - 1, s + 1));
    else if (e.key === 'ArrowUp') setSelected((s) => Math.max(0, s - 1));
    else if (e.key === 'Home') setSelected(0);
    else if (e.key === 'End') setSelected(rows.length - 1);
    else if (e.key === 'Enter') open(rows[selected]);
    else return;
    e.preventDefault();
  };

  useEffect(() => {
    const tr = tableRef.current?.querySelectorAll('tr')[selected];
    if (tr && tableRef.current?.contains(document.activeElement)) (tr as HTMLElement).focus();
  }, [selected]);

  const header = (key: SortKey | null, label: string) => {
    if (!key) return <th scope="col">{label}</th>;
    const active = sort === key;
    return (
      <th scope="col" aria-sort={active ? (direction === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button type="button" className="th-sort" onClick={() => sortBy(key)} title={`Sort by ${label.toLowerCase()}`}>
          {label} {active ? (direction === 'asc' ? '▲' : '▼') : ''}
        </button>
      </th>
    );
  };

  return (
    <section className="page worklist-page" aria-labelledby="worklist-title">
      <h1 id="worklist-title">Worklist</h1>
      <ImportPanel onImported={() => setReload((n) => n + 1)} />
      <div className="worklist-filters" role="search">
        <input
          ref={searchRef}
          type="search"
          placeholder="Search patient, ID, accession, description (/)"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          aria-label="Search studies"
          title="Search patient name, patient ID, accession number or description (/)"
          data-testid="worklist-search"
        />
        <select value={modality} onChange={(e) => { setModality(e.target.value); setOffset(0); }} aria-label="Modality" title="Show one modality only">
          {MODALITIES.map((m) => (
            <option key={m} value={m}>
              {m || 'All modalities'}
            </option>
          ))}
        </select>
        <label className="inline">
          From <input type="date" value={dateFrom} onChange={(e) => { setDateFrom(e.target.value); setOffset(0); }} title="Studies on or after this date" />
        </label>
        <label className="inline">
          To <input type="date" value={dateTo} onChange={(e) => { setDateTo(e.target.value); setOffset(0); }} title="Studies on or before this date" />
        </label>
        <button type="button" onClick={() => setReload((n) => n + 1)} title="Refresh the worklist">
          Refresh
        </button>
        <span className="muted" aria-live="polite">
          {loading ? 'Loading…' : `${total} stud${total === 1 ? 'y' : 'ies'}`}
        </span>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      <div className="worklist-table-wrap">
        <table className="worklist-table" aria-label="Studies" data-testid="worklist-table">
          <thead>
            <tr>
              {header('patientName', 'Patient')}
              {header(null, 'Patient ID')}
              {header('studyDate', 'Date')}
              {header('modality', 'Modality')}
              {header(null, 'Description')}
              {header('instanceCount', 'Images')}
              {header(null, 'AI')}
              {header(null, 'Report')}
            </tr>
          </thead>
          <tbody ref={tableRef} onKeyDown={onTableKey}>
            {rows.map((r, i) => {
              const s = ai.get(r.studyId);
              return (
                <tr
                  key={r.studyId}
                  tabIndex={i === selected ? 0 : -1}
                  aria-selected={i === selected}
                  className={i === selected ? 'selected' : undefined}
                  onClick={() => setSelected(i)}
                  onDoubleClick={() => open(r)}
                  onFocus={() => setSelected(i)}
                  title="Open with Enter or a double-click"
                  data-study-id={r.studyId}
                >
                  <td>
                    {r.patientName}
                    {r.derived && <span className="tag" title="Derived images (e.g. the demo study)">derived</span>}
                  </td>
                  <td>{r.patientDicomId ?? '—'}</td>
                  <td>{formatDate(r.studyDate)}</td>
                  <td>{r.modalities.join(', ') || '—'}</td>
                  <td className="desc">{r.description ?? '—'}</td>
                  <td className="num">{r.instanceCount}</td>
                  <td className={`ai-status ${aiClass(s)}`} data-testid="ai-status-cell" aria-label={aiStatusLabel(s)} title={s?.reason ?? undefined}>
                    {aiStatusText(s)}
                    {s?.reason && <span className="ai-reason">{s.reason}</span>}
                  </td>
                  <td className={`report-status report-${reportStatus.get(r.studyId) ?? 'none'}`} data-testid="report-status-cell">
                    {REPORT_STATUS_TEXT[reportStatus.get(r.studyId) ?? 'none'] ?? '—'}
                  </td>
                </tr>
              );
            })}
            {!loading && rows.length === 0 && (
              <tr>
                <td colSpan={8} className="muted">
                  No studies match. Import DICOM files above, or clear the filters.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="worklist-pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))} title="Previous page">
          Previous
        </button>
        <span className="muted">
          {total === 0 ? 0 : offset + 1}–{Math.min(total, offset + PAGE)} of {total}
        </span>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)} title="Next page">
          Next
        </button>
        <span className="muted small">{AI_NOTICE} Keys: / search · ↑/↓ select · Enter open · Alt+O import files · Alt+Shift+O import folder</span>
      </div>
    </section>
  );
}
