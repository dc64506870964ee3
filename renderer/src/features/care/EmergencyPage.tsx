// Emergency: the hospital's emergency number (or, until an admin sets one, the plain advice to
// call the local emergency number), further contacts, and a clear word not to wait for a reply.
import { DONT_WAIT_SENTENCE } from '@contract/index';
import { useNavigation } from '../../app/navigation';
import { useCareInfo } from './CareTeamPage';
import './care.css';

export function EmergencyPage() {
  const { info, error } = useCareInfo();
  const navigation = useNavigation();
  return (
    <section className="page care-page" aria-labelledby="emergency-title" aria-busy={!info && !error}>
      <h1 id="emergency-title">Emergency</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {info && (
        <div className="care-card emergency-card" data-testid="emergency-card">
          <p className="emergency-text" data-testid="emergency-text">
            {info.emergency.text}
          </p>
          {info.emergency.number && (
            <a className="emergency-number" href={`tel:${info.emergency.number.replace(/[^+\d]/g, '')}`} data-testid="emergency-number">
              {info.emergency.number}
            </a>
          )}
          {info.emergency.contacts.length > 0 && (
            <ul data-testid="emergency-contacts">
              {info.emergency.contacts.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          )}
          <p>
            <strong>{DONT_WAIT_SENTENCE}</strong>
          </p>
          <p>
            <button type="button" onClick={() => navigation.go('tips', 'starter-urgent-help')}>
              Signs that need help at once
            </button>
          </p>
        </div>
      )}
    </section>
  );
}
