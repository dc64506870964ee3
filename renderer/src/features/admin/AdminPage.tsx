// The Administration page: users, the audit log, workstation settings and the admin's own
// account, as tabs. Admin only (the frame shows it to admins; the main process enforces it).
import { useState } from 'react';
import { UsersPanel } from './UsersPanel';
import { AuditPanel } from './AuditPanel';
import { SettingsPanel } from './SettingsPanel';
import { AccountPanel } from '../auth/AccountPanel';
import { ServerSettings } from './ServerSettings';
import { SyncStatusPanel } from '../sync/SyncStatusPanel';
import { ModelRegistryPanel } from '../research/ModelRegistryPanel';
import { PatientPagesPanel } from './PatientPagesPanel';
import { DimsePanel } from './DimsePanel';

const TABS = [
  { id: 'users', label: 'Users' },
  { id: 'audit', label: 'Audit log' },
  { id: 'settings', label: 'Settings' },
  { id: 'patients', label: 'Patient pages' },
  { id: 'server', label: 'Hospital server' },
  { id: 'dimse', label: 'DIMSE' },
  { id: 'models', label: 'Models' },
  { id: 'account', label: 'My account' },
] as const;
type TabId = (typeof TABS)[number]['id'];

export function AdminPage() {
  const [tab, setTab] = useState<TabId>('users');
  return (
    <section className="page" aria-labelledby="admin-title">
      <h1 id="admin-title">Administration</h1>
      <div role="tablist" aria-label="Administration" style={{ display: 'flex', gap: 4, marginBottom: 16 }}>
        {TABS.map((t) => (
          <button key={t.id} type="button" role="tab" aria-selected={tab === t.id} className={tab === t.id ? 'nav-item active' : 'nav-item'} style={{ width: 'auto' }} onClick={() => setTab(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab === 'users' && <UsersPanel />}
        {tab === 'audit' && <AuditPanel />}
        {tab === 'settings' && <SettingsPanel />}
        {tab === 'patients' && <PatientPagesPanel />}
        {tab === 'server' && (
          <div style={{ display: 'grid', gap: 24 }}>
            <ServerSettings />
            <SyncStatusPanel />
          </div>
        )}
        {tab === 'dimse' && <DimsePanel />}
        {tab === 'models' && <ModelRegistryPanel />}
        {tab === 'account' && <AccountPanel />}
      </div>
    </section>
  );
}
