// Passphrase mode: the database stays locked until someone who knows the passphrase enters it.
import { useState, type FormEvent } from 'react';
import type { SetupStatus } from '@contract/index';
import { api } from '../../api/client';
import { ErrorLine, Field, messageOf } from './forms';

export function UnlockDatabase(props: { status: SetupStatus; onUnlocked: () => void }) {
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.call('auth.unlockDatabase', { passphrase });
      props.onUnlocked();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
      setPassphrase('');
    }
  };
  return (
    <div className="center-screen">
      <form className="card" onSubmit={(e) => void submit(e)} aria-labelledby="unlock-title">
        <h1 id="unlock-title">Unlock the database</h1>
        <p className="muted">{props.status.modeStatement}</p>
        <Field label="Database passphrase" id="unlock-passphrase" type="password" required autoFocus value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
        <ErrorLine error={error} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>{busy ? 'Unlocking…' : 'Unlock'}</button>
        </div>
      </form>
    </div>
  );
}
