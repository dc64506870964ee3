// Health tips for patients: short pages an admin keeps, each with its sources and who reviewed it.
// The text is Markdown rendered without HTML (Markdown.tsx).
import { useEffect, useState } from 'react';
import type { HealthTip } from '@contract/index';
import { api } from '../../api/client';
import { useNavigation } from '../../app/navigation';
import { Markdown } from './Markdown';
import './care.css';

export function TipsPage() {
  const navigation = useNavigation();
  const [tips, setTips] = useState<HealthTip[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [wanted] = useState(() => navigation.takeObject('tips'));
  useEffect(() => {
    api.call('tips.list', {}).then((r) => setTips(r.tips), (e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  useEffect(() => {
    if (tips && wanted) document.getElementById(`tip-${wanted}`)?.scrollIntoView();
  }, [tips, wanted]);

  return (
    <section className="page care-page" aria-labelledby="tips-title" aria-busy={tips === null && !error}>
      <h1 id="tips-title">Health tips</h1>
      <p className="muted">Short explanations from your hospital. They do not replace a talk with your doctor.</p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {tips?.length === 0 && <p className="muted">No health tips have been written yet.</p>}
      {tips && tips.length > 1 && (
        <ul className="tips-toc" aria-label="Topics">
          {tips.map((t) => (
            <li key={t.id}>
              <button type="button" onClick={() => document.getElementById(`tip-${t.id}`)?.scrollIntoView()}>
                {t.title}
              </button>
            </li>
          ))}
        </ul>
      )}
      {tips?.map((t) => (
        <article key={t.id} id={`tip-${t.id}`} className="care-card" aria-labelledby={`tip-title-${t.id}`} data-testid="health-tip" tabIndex={-1}>
          <h2 id={`tip-title-${t.id}`}>{t.title}</h2>
          <Markdown source={t.bodyMarkdown} />
          {t.sources.length > 0 && (
            <div className="tip-sources">
              Sources:
              <ul>
                {t.sources.map((s) => (
                  <li key={s.url}>
                    <a href={s.url} target="_blank" rel="noopener noreferrer">
                      {s.title}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          )}
          <p className="tip-sources">{t.reviewedOn ? `Reviewed by ${t.reviewedBy || 'the hospital'} on ${t.reviewedOn}.` : t.reviewedBy || 'Not reviewed yet.'}</p>
        </article>
      ))}
    </section>
  );
}
