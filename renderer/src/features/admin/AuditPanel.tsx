// The audit log: filters (actor, action, object, outcome, date range), paging, chain
// verification and CSV export of the filtered rows.
import { useEffect, useState } from 'react';
import type { AuditFilterInput, AuditRowView } from '@contract/index';
import { api } from '../../api/client';
import { formatWhen } from '../../app/format';

/** What common actions mean, in words; others show as recorded. */
const ACTION_LABELS: Record<string, string> = {
  'auth.login': 'Sign-in',
  'auth.logout': 'Signed out',
  'study.open': 'Opened a study',
  'dicom.import': 'Imported images',
  'report.create': 'Started a report',
  'report.sign': 'Signed a report',
  'report.addAddendum': 'Added a note to a signed report',
  'report.acceptAi': 'Accepted the AI finding',
  'report.rejectAi': 'Rejected the AI finding',
  'report.saveDraft': 'Saved a report draft',
  'report.exportPdf': 'Exported a report PDF',
  'report.exportDicom': 'Exported a report as DICOM',
  'report.addKeyImage': 'Added a key image',
  'report.removeKeyImage': 'Removed a key image',
  'report.markPreliminary': 'Marked a report preliminary',
  'report.saveNotes': 'Saved report notes',
  'report.patientSummary': 'Patient read their results',
  'report.key-image': 'Asked for a key image',
  'report.verify': 'Checked a report signature',
  'message.send': 'Sent a message',
  'message.read-thread': 'Read a conversation',
  'upload.submit': 'Sent images for review',
  'upload.view': 'Opened a review item',
  'upload.approve': 'Approved an upload',
  'upload.reject': 'Rejected an upload',
  'upload.notes': 'Wrote notes on an upload',
  'auth.changePassword': 'Changed their password',
  'auth.lockout': 'Account locked after failed sign-ins',
  'auth.sessionExpired': 'Session expired',
  'users.create': 'Created an account',
  'users.update': 'Changed an account',
  'users.setRole': 'Changed the role of an account',
  'users.lock': 'Locked an account',
  'users.unlock': 'Unlocked an account',
  'users.issueResetCode': 'Issued a password reset code',
  'users.forceLogout': 'Signed an account out',
  'sync.run': 'Synchronised with the hospital server',
  'sync.push': 'Sent a result to the hospital server',
  'sync.setSettings': 'Changed the hospital server settings',
  'dimse.setSettings': 'Changed the DIMSE settings',
  'dimse.associate': 'Refused a DIMSE connection',
  'dimse.receive': 'Received images over DIMSE',
  'dimse.echo': 'Checked the PACS connection (C-ECHO)',
  'pacs.find': 'Searched the hospital archive (PACS or DICOMweb)',
  'pacs.retrieve': 'Retrieved a study from the hospital archive',
  'pacs.cancel': 'Cancelled a retrieve from the hospital archive',
  'outbox.retry': 'Retried sending a result',
  'outbox.cancel': 'Cancelled sending a result',
  'ai.run': 'Ran the AI model',
  'audit.export': 'Exported the audit log',
  'audit.verify': 'Checked the audit chain',
  'settings.update': 'Changed settings',
  'patients.search': 'Searched patient records',
  'tips.save': 'Saved a health tip',
  'tips.delete': 'Deleted a health tip',
};

/** "aboutReport" -> "about report" */
const words = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();

/** The JSON detail as "files: 3 · imported: 3", or the text as stored when it is not JSON. */
export function readableDetail(detail: string | null): string {
  if (!detail) return '';
  let value: unknown;
  try {
    value = JSON.parse(detail);
  } catch {
    return detail;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${words(k)}: ${v === true ? 'yes' : v === false ? 'no' : v === null ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}

const PAGE = 50;
/** Inputs fill their grid cell, so the filter and form rows line up without overlapping. */
const FULL = { width: '100%' } as const;
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function AuditPanel() {
  const [filter, setFilter] = useState({ actor: '', action: '', objectId: '', outcome: '', from: '', to: '' });
  const [applied, setApplied] = useState<AuditFilterInput>({});
  const [offset, setOffset] = useState(0);
  const [rows, setRows] = useState<AuditRowView[]>([]);
  const [names, setNames] = useState<Record<string, string>>({});
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [verify, setVerify] = useState<string | null>(null);

  useEffect(() => {
    api.call('audit.list', { ...applied, limit: PAGE, offset }).then(
      (r) => {
        setRows(r.rows);
        setNames(r.names);
        setTotal(r.total);
        setError(null);
      },
      (e: unknown) => setError(msg(e)),
    );
  }, [applied, offset]);

  const apply = (): void => {
    const f: AuditFilterInput = {};
    if (filter.actor) f.actor = filter.actor;
    if (filter.action) f.action = filter.action;
    if (filter.objectId) f.objectId = filter.objectId;
    if (filter.outcome) f.outcome = filter.outcome as NonNullable<AuditFilterInput['outcome']>;
    if (filter.from) f.from = new Date(filter.from).toISOString();
    if (filter.to) f.to = new Date(filter.to).toISOString();
    setOffset(0);
    setApplied(f);
  };

  const exportCsv = async (): Promise<void> => {
    try {
      const r = await api.call('audit.exportCsv', applied);
      const url = URL.createObjectURL(new Blob([r.csv], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `audit-${new Date().toISOString().slice(0, 10)}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(msg(e));
    }
  };

  const set = (k: keyof typeof filter) => (e: { target: { value: string } }) => setFilter({ ...filter, [k]: e.target.value });
  return (
    <div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          apply();
        }}
        style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(160px, 1fr))', gap: 8, alignItems: 'end' }}
        aria-label="Audit filters"
      >
        <div><label htmlFor="f-actor">Actor</label><input style={FULL} id="f-actor" value={filter.actor} onChange={set('actor')} /></div>
        <div><label htmlFor="f-action">Action (or prefix)</label><input style={FULL} id="f-action" value={filter.action} onChange={set('action')} placeholder="auth" /></div>
        <div><label htmlFor="f-object">Object id</label><input style={FULL} id="f-object" value={filter.objectId} onChange={set('objectId')} /></div>
        <div>
          <label htmlFor="f-outcome">Outcome</label>
          <select style={FULL} id="f-outcome" value={filter.outcome} onChange={set('outcome')}>
            <option value="">any</option><option value="success">success</option><option value="failure">failure</option><option value="refused">refused</option>
          </select>
        </div>
        <div><label htmlFor="f-from">From</label><input style={FULL} id="f-from" type="datetime-local" value={filter.from} onChange={set('from')} /></div>
        <div><label htmlFor="f-to">To</label><input style={FULL} id="f-to" type="datetime-local" value={filter.to} onChange={set('to')} /></div>
        <div style={{ display: 'flex', gap: 4 }}>
          <button type="submit" className="primary">Filter</button>
          <button type="button" onClick={() => void exportCsv()}>Export CSV</button>
        </div>
      </form>
      <div style={{ display: 'flex', gap: 8, alignItems: 'center', margin: '12px 0' }}>
        <button
          type="button"
          onClick={() =>
            void api.call('audit.verify', {}).then(
              (r) => setVerify(r.ok ? `Chain intact: ${r.checked} rows checked.` : `Chain BROKEN at row ${r.firstBrokenId}: ${r.reason}`),
              (e: unknown) => setError(msg(e)),
            )
          }
        >
          Verify chain
        </button>
        {verify && <span role="status" data-testid="audit-verify" className={verify.startsWith('Chain intact') ? 'ok' : 'error'}>{verify}</span>}
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <table data-testid="audit-table">
        <thead>
          <tr><th>#</th><th>When</th><th>Actor</th><th>Action</th><th>Object</th><th>Outcome</th><th>Detail</th></tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id}>
              <td>{r.id}</td>
              <td><time dateTime={r.at}>{formatWhen(r.at)}</time></td>
              <td title={r.actor}>{(r.actorId && names[`user:${r.actorId}`]) || r.actor}</td>
              <td title={r.action}>{ACTION_LABELS[r.action] ?? r.action}</td>
              <td title={r.objectId ?? undefined}>{r.objectType ? names[`${r.objectType}:${r.objectId ?? ''}`] ?? `${words(r.objectType)}${r.objectId ? ` ${r.objectId}` : ''}` : ''}</td>
              <td className={r.outcome === 'success' ? '' : 'error'}>{r.outcome}</td>
              <td className="muted" data-testid="audit-detail">{readableDetail(r.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div style={{ display: 'flex', gap: 8, alignItems: 'center', marginTop: 8 }}>
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Newer</button>
        <span className="muted">{total === 0 ? 'No rows' : `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}`}</span>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>Older</button>
      </div>
    </div>
  );
}
