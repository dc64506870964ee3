// The app frame: header with the signed-in user and the notification bell, navigation limited to
// what the role may use (from the contract's page table, the Messages item with its unread
// count), the page, and the status bar. Alt+1..9 switch pages; Alt+N opens the notifications.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ROLE_LABELS, pagesFor, type PageId } from '@contract/index';
import { useSession } from './session';
import { PAGE_COMPONENTS } from './pages';
import { StatusBar } from './StatusBar';
import { NavigationContext, type NavigationValue } from './navigation';
import { NotificationContext, useNotificationState } from './notifications';
import { NotificationBell } from './NotificationBell';

export function AppFrame() {
  const { user, signOut } = useSession();
  const pages = useMemo(() => pagesFor(user.role), [user.role]);
  const [current, setCurrent] = useState<PageId>(pages[0]?.id ?? 'about');
  const [studyId, setStudyId] = useState<string | null>(null);
  const [reportFor, setReportFor] = useState<string | null>(null);
  const intent = useRef<{ page: PageId; objectId: string } | null>(null);
  const notifications = useNotificationState();
  const go = useCallback((page: PageId, objectId?: string): void => {
    intent.current = objectId ? { page, objectId } : null;
    setCurrent(page);
  }, []);
  const navigation = useMemo<NavigationValue>(
    () => ({
      page: current,
      studyId,
      go,
      openStudy: (id) => {
        setStudyId(id);
        if (pages.some((p) => p.id === 'viewer')) setCurrent('viewer');
      },
      reportFor,
      openReport: (id) => {
        setReportFor(id);
        if (pages.some((p) => p.id === 'reports')) setCurrent('reports');
      },
      clearReportFor: () => setReportFor(null),
      takeObject: (page) => {
        const i = intent.current;
        if (!i || i.page !== page) return null;
        intent.current = null;
        return i.objectId;
      },
    }),
    [current, studyId, pages, reportFor, go],
  );

  // After every page change, focus goes to the page's heading (screen readers announce the new
  // page; Tab starts from its top). Pages that load their code late get a few frames to appear.
  const mainRef = useRef<HTMLElement | null>(null);
  const focusHeading = useCallback((): boolean => {
    const h = mainRef.current?.querySelector<HTMLElement>('h1');
    if (!h) return false;
    if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
    h.focus({ preventScroll: true });
    return true;
  }, []);
  useEffect(() => {
    let tries = 0;
    let frame = 0;
    const attempt = (): void => {
      if (focusHeading() || ++tries > 60) return;
      frame = requestAnimationFrame(attempt);
    };
    attempt();
    return () => cancelAnimationFrame(frame);
  }, [current, focusHeading]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number.parseInt(e.key, 10);
      const page = Number.isInteger(n) ? pages[n - 1] : undefined;
      if (page) {
        e.preventDefault();
        go(page.id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [pages, go]);

  const Page = PAGE_COMPONENTS[current];
  const currentLabel = pages.find((p) => p.id === current)?.label ?? '';
  const { unreadMessages, unreadUrgent } = notifications.counts;

  return (
    <NavigationContext.Provider value={navigation}>
    <NotificationContext.Provider value={notifications}>
    <div className="app-frame">
      <a
        href="#app-main"
        className="skip-link"
        onClick={(e) => {
          e.preventDefault();
          if (!focusHeading()) mainRef.current?.focus();
        }}
      >
        Skip to the page
      </a>
      <header className="app-header">
        <span className="app-title">TumorPredict Workstation</span>
        <span className="app-user" data-testid="signed-in-user">
          {user.displayName} · {ROLE_LABELS[user.role]}
        </span>
        <NotificationBell />
        <button type="button" className="btn-quiet" onClick={() => void signOut()} title="Sign out">
          Sign out
        </button>
      </header>
      <nav className="app-nav" aria-label="Main navigation">
        <ul>
          {pages.map((p, i) => {
            const badge = p.id === 'messages' && unreadMessages > 0;
            return (
              <li key={p.id}>
                <button
                  type="button"
                  className={p.id === current ? 'nav-item active' : 'nav-item'}
                  aria-current={p.id === current ? 'page' : undefined}
                  aria-describedby={badge ? 'messages-badge-text' : undefined}
                  title={`${p.label} (Alt+${i + 1})`}
                  data-page={p.id}
                  onClick={() => go(p.id)}
                >
                  {p.label}
                  {badge && (
                    <>
                      <span className={unreadUrgent ? 'nav-badge urgent' : 'nav-badge'} data-testid="messages-badge" aria-hidden="true">
                        {unreadMessages}
                      </span>
                      <span id="messages-badge-text" hidden>
                        {unreadMessages} unread{unreadUrgent ? `, ${unreadUrgent} urgent` : ''}
                      </span>
                    </>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="app-main" ref={mainRef} className="app-main" aria-label={currentLabel} tabIndex={-1}>
        <Page />
      </main>
      <StatusBar />
    </div>
    </NotificationContext.Provider>
    </NavigationContext.Provider>
  );
}
