// The doctor's dashboard: every study with its report status (pending review, all, approved,
// rejected, with counts) in one list; opening a row (or the study open in the viewer) shows the editor.
import { useCallback, useEffect, useState } from 'react';
import { DASHBOARD_FILTERS, aiLabelText, formatProbability, type DashboardFilter, type DashboardRow } from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import { REPORT_KEYS, ReportEditor } from './ReportEditor';
import './reports.css';

const FILTER_LABEL: Record<DashboardFilter, string> = { pending: 'Pending review', all: 'All', approved: 'Approved', rejected: 'Rejected' };

export function ReportsPage() {
  const nav = useNavigation();
  const [filter, setFilter] = useState<DashboardFilter>('pending');
  const [rows, setRows] = useState<DashboardRow[]>([]);
  const [counts, setCounts] = useState<Record<DashboardFilter, number> | null>(null);
  // The viewer's Report button opens its study's report here at once.
  const [open, setOpen] = useState<string | null>(nav.reportFor);
  useEffect(() => {
    if (nav.reportFor) {
      setOpen(nav.reportFor);
      nav.clearReportFor();
    }
  }, [nav]);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(() => {
    api.call('reports.dashboard', { filter, limit: 200, offset: 0 }).then(
      (d) => {
        setRows(d.rows);
        setCounts(d.counts);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, [filter]);
  useEffect(refresh, [refresh]);

  if (open) return <ReportEditor studyId={open} onClose={() => { setOpen(null); refresh(); }} />;
  return (
    <section className="page" aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      {nav.studyId ? (
        <p><button type="button" className="primary" data-testid="report-open-study" onClick={() => setOpen(nav.studyId)}>Report the study open in the viewer</button></p>
      ) : null}
      <div className="report-tabs" role="tablist">
        {DASHBOARD_FILTERS.map((f) => (
          <button key={f} type="button" role="tab" aria-selected={f === filter} className={f === filter ? 'nav-item active' : 'nav-item'} onClick={() => setFilter(f)} data-testid={`tab-${f}`}>
            {FILTER_LABEL[f]} {counts ? <span className="count">{counts[f]}</span> : null}
          </button>
        ))}
      </div>
      {error ? <p className="error" role="alert">{error}</p> : null}
      <table className="report-list">
        <thead>
          <tr><th>Patient</th><th>ID</th><th>Study date</th><th>Description</th><th>AI</th><th>Report</th><th>Updated</th></tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.studyId} tabIndex={0} data-testid="report-row" onDoubleClick={() => setOpen(r.studyId)} onKeyDown={(e) => e.key === 'Enter' && setOpen(r.studyId)}>
              <td>{r.patientName}</td>
              <td>{r.patientDicomId ?? ''}</td>
              <td>{r.studyDate ?? ''}</td>
              <td>{r.description ?? ''}</td>
              <td data-testid="report-row-ai">{r.aiLabel ? `${aiLabelText(r.aiLabel)}${r.aiConfidence !== null && r.aiConfidence > 0 ? ` ${formatProbability(r.aiConfidence, 0)}` : ''}` : '–'}</td>
              <td><span className={`status-chip status-${r.status}`}>{r.status === 'none' ? 'not started' : r.status}</span></td>
              <td>{(r.signedAt ?? r.updatedAt ?? '').slice(0, 16).replace('T', ' ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 ? <p className="muted">No studies here.</p> : null}
      <p className="muted">Enter or double-click opens the report. Shortcuts in the editor: accept {REPORT_KEYS.accept}, reject {REPORT_KEYS.reject}, sign {REPORT_KEYS.sign}.</p>
    </section>
  );
}
