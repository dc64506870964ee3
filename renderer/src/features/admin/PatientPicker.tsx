// Finding the patient record a patient account is linked to: the admin types the hospital
// Patient ID (from the request form or wristband) or part of the name, and picks one of the
// matches. The record's internal id, which no person knows, only travels behind the scenes.
import { useState, type KeyboardEvent } from 'react';
import type { PatientMatch } from '@contract/index';
import { api } from '../../api/client';

/** DICOM YYYYMMDD as YYYY-MM-DD (unambiguous for the admin comparing with a request form). */
const birth = (d: string | null): string => (d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : 'unknown');

export function describePatient(p: PatientMatch): string {
  return `${p.displayName} (Patient ID ${p.dicomPatientId ?? 'none'}, born ${birth(p.birthDate)})`;
}

export function PatientPicker({ idPrefix, value, onChange }: { idPrefix: string; value: PatientMatch | null; onChange: (p: PatientMatch | null) => void }) {
  const [query, setQuery] = useState('');
  const [matches, setMatches] = useState<PatientMatch[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputId = `${idPrefix}-patient-search`;

  // Searches only when asked (Enter or Find), not on every key: each search is an audit row.
  const find = (): void => {
    const q = query.trim();
    if (!q) {
      setError('Type the hospital Patient ID or part of the name first.');
      return;
    }
    setBusy(true);
    setError(null);
    api.call('patients.search', { query: q }).then(
      (r) => {
        setMatches(r.patients);
        setBusy(false);
      },
      (e: unknown) => {
        setError(e instanceof Error ? e.message : String(e));
        setMatches(null);
        setBusy(false);
      },
    );
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    // Enter searches here; it must not submit the account form around the picker.
    if (e.key === 'Enter') {
      e.preventDefault();
      find();
    }
  };

  if (value) {
    return (
      <div className="patient-picker" data-testid={`${idPrefix}-patient-chosen`}>
        <span>
          Linked patient record: <strong>{describePatient(value)}</strong>
        </span>{' '}
        <button type="button" onClick={() => onChange(null)}>
          Change
        </button>
      </div>
    );
  }

  return (
    <div className="patient-picker">
      <label htmlFor={inputId}>
        Find patient (hospital Patient ID or name)
      </label>
      <div style={{ display: 'flex', gap: 8 }}>
        <input id={inputId} type="search" maxLength={64} autoComplete="off" value={query} onChange={(e) => setQuery(e.target.value)} onKeyDown={onKey} style={{ flex: 1 }} />
        <button type="button" onClick={find} disabled={busy}>
          Find
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {matches && matches.length === 0 && (
        <p role="status" className="muted">
          No patient record matches. Check the Patient ID on the request, or try part of the family name.
        </p>
      )}
      {matches && matches.length > 0 && (
        <table data-testid={`${idPrefix}-patient-matches`}>
          <caption className="muted" style={{ textAlign: 'left' }}>
            {matches.length === 20 ? 'The first 20 matching patient records: type more to narrow them.' : `${matches.length} matching patient record(s)`}
          </caption>
          <thead>
            <tr>
              <th>Name</th>
              <th>Patient ID</th>
              <th>Birth date</th>
              <th>Studies</th>
              <th>Already linked to</th>
              <th>Action</th>
            </tr>
          </thead>
          <tbody>
            {matches.map((p) => (
              <tr key={p.id}>
                <td>{p.displayName}</td>
                <td>{p.dicomPatientId ?? '–'}</td>
                <td>{birth(p.birthDate)}</td>
                <td>{p.studyCount}</td>
                <td>{p.linkedUsername ?? '–'}</td>
                <td>
                  <button type="button" aria-label={`Choose ${describePatient(p)}`} onClick={() => onChange(p)}>
                    Choose
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
