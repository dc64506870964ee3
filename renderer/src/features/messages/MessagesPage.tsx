// Messages between a patient and the care team. A radiologist sees the department inbox (one
// conversation per patient, unread ones in bold) beside the open conversation and answers it; a
// patient sees their one conversation in large type and may ask about one of their signed
// reports, marking a message urgent (with the plain word not to wait for a reply in an
// emergency). Bodies are rendered as text, never as HTML. A new message arrives as a live
// notification, which refreshes the page; it also asks every MESSAGE_POLL_MS while open. Opening
// a conversation is what marks it read (and audits it), so a refresh reopens one only when
// something new arrived.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { DONT_WAIT_SENTENCE, MAX_MESSAGE_CHARS, MESSAGE_POLL_MS, type Message, type MessageInboxRow, type MessageThread, type PatientSummary } from '@contract/index';
import { api } from '../../api/client';
import { useSession } from '../../app/session';
import { useNavigation } from '../../app/navigation';
import { useNotifications } from '../../app/notifications';
import { scanDate, signedOn } from '../patient/PatientPage';
import { takeAskedReport } from './ask';
import './messages.css';

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs `tick` every MESSAGE_POLL_MS while mounted, and at once when a notification arrives (the latest `tick`). */
function usePoll(tick: () => void): void {
  const ref = useRef(tick);
  ref.current = tick;
  const { version } = useNotifications();
  useEffect(() => {
    const timer = window.setInterval(() => ref.current(), MESSAGE_POLL_MS);
    return () => window.clearInterval(timer);
  }, []);
  useEffect(() => {
    if (version > 0) ref.current();
  }, [version]);
}

export function MessagesPage() {
  const { user } = useSession();
  return user.role === 'patient' ? <PatientMessages /> : <CareTeamMessages />;
}

// ---- shared ----------------------------------------------------------------------------------

function MessageItem({ message, patientView }: { message: Message; patientView: boolean }) {
  const who = message.senderRole === 'radiologist' ? `${message.senderName} (care team)` : message.senderName;
  const read = message.mine ? (message.readAt ? (patientView ? 'Read by the care team' : 'Read by the patient') : 'Not read yet') : null;
  return (
    <li className={message.mine ? 'message mine' : 'message'} data-testid="message" data-mine={message.mine} aria-label={`${message.mine ? 'You' : who}, ${signedOn(message.createdAt)}`}>
      <p className="message-meta">
        {message.urgent && <span className="urgent-tag">Urgent</span>}
        <span>{message.mine ? 'You' : who}</span> · <time dateTime={message.createdAt}>{signedOn(message.createdAt)}</time>
        {read && <span data-testid="message-read-state"> · {read}</span>}
      </p>
      <p className="message-body" data-testid="message-body">
        {message.body}
      </p>
      {message.report && (
        <p className="message-report" data-testid="message-report">
          About the report on the scan of {scanDate(message.report.studyDate)}
        </p>
      )}
    </li>
  );
}

function MessageList({ messages, patientView, label }: { messages: Message[]; patientView: boolean; label: string }) {
  const end = useRef<HTMLLIElement>(null);
  const last = messages.at(-1)?.id;
  // A new message scrolls into view. Braces, not an arrow's value: newer Chromium returns a
  // promise from scrollIntoView, which React would take for the effect's cleanup.
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'end' });
  }, [last]);
  if (!messages.length) {
    return (
      <p role="status" className="muted" data-testid="messages-empty">
        {patientView ? 'No messages yet. Write to your care team below.' : 'No messages with this patient yet. You can start the conversation below.'}
      </p>
    );
  }
  return (
    <ol className="message-list" aria-label={label} data-testid="message-list">
      {messages.map((m) => (
        <MessageItem key={m.id} message={m} patientView={patientView} />
      ))}
      <li ref={end} aria-hidden="true" />
    </ol>
  );
}

interface ComposerProps {
  label: string;
  placeholder: string;
  /** Sends the trimmed text; rejects with the workstation's sentence (the text stays in the box). */
  onSend(body: string): Promise<void>;
  children?: ReactNode;
}

function Composer({ label, placeholder, onSend, children }: ComposerProps) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const length = text.trim().length;
  const over = length > MAX_MESSAGE_CHARS;
  const canSend = !busy && length > 0 && !over;

  const send = (): void => {
    if (!canSend) {
      if (length === 0) setError('Write a message before sending.');
      return;
    }
    setBusy(true);
    setError(null);
    onSend(text.trim()).then(
      () => {
        setText('');
        setBusy(false);
      },
      (e: unknown) => {
        setError(errorText(e));
        setBusy(false);
      },
    );
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {children}
      <label htmlFor="message-text" className="muted">
        {label}
      </label>
      <textarea id="message-text" data-testid="message-text" value={text} placeholder={placeholder} onChange={(e) => setText(e.target.value)} onKeyDown={onKeyDown} aria-describedby="message-count" aria-invalid={over} />
      <div className="composer-row">
        <span id="message-count" className={over ? 'composer-count over' : 'composer-count'} data-testid="message-count">
          {length} / {MAX_MESSAGE_CHARS} characters{over ? ': too long' : ''} · Ctrl+Enter sends
        </span>
        <button type="submit" className="primary" disabled={!canSend} aria-keyshortcuts="Control+Enter">
          {busy ? 'Sending…' : 'Send'}
        </button>
      </div>
      {error && (
        <p role="alert" className="composer-error" data-testid="send-error">
          {error}
        </p>
      )}
    </form>
  );
}

// ---- the care team ---------------------------------------------------------------------------

type Loadable<T> = { status: 'loading' } | { status: 'error'; message: string } | { status: 'ready'; value: T };

function CareTeamMessages() {
  const navigation = useNavigation();
  const [inbox, setInbox] = useState<Loadable<MessageInboxRow[]>>({ status: 'loading' });
  const [selected, setSelected] = useState<string | null>(null);
  // A notification may send this page to one conversation.
  const [wanted] = useState(() => navigation.takeObject('messages'));
  const [thread, setThread] = useState<Loadable<MessageThread> | null>(null);

  const loadInbox = useCallback((): Promise<MessageInboxRow[] | null> => {
    return api.call('messages.inbox', { limit: 200 }).then(
      (r) => {
        setInbox({ status: 'ready', value: r.rows });
        return r.rows;
      },
      (e: unknown) => {
        setInbox({ status: 'error', message: errorText(e) });
        return null;
      },
    );
  }, []);

  const openThread = useCallback(
    (patientId: string, quiet = false): void => {
      if (!quiet) setThread({ status: 'loading' });
      api.call('messages.thread', { patientId }).then(
        (t) => {
          setThread({ status: 'ready', value: t });
          // Opening marked the patient's messages read: the inbox count follows.
          void loadInbox();
        },
        (e: unknown) => setThread({ status: 'error', message: errorText(e) }),
      );
    },
    [loadInbox],
  );

  useEffect(() => void loadInbox(), [loadInbox]);

  const select = (patientId: string): void => {
    setSelected(patientId);
    openThread(patientId);
  };
  useEffect(() => {
    if (wanted) {
      setSelected(wanted);
      openThread(wanted);
    }
  }, [wanted, openThread]);

  usePoll(() => {
    void loadInbox().then((rows) => {
      if (!rows || !selected || thread?.status !== 'ready') return;
      const row = rows.find((r) => r.patientId === selected);
      const shownLast = thread.value.messages.at(-1)?.createdAt ?? '';
      // Reopen (and so mark read) only when this conversation has something the page does not show.
      if (row && (row.unread > 0 || row.lastAt !== shownLast)) openThread(selected, true);
    });
  });

  const rows = inbox.status === 'ready' ? inbox.value : [];
  const open = thread?.status === 'ready' ? thread.value : null;

  return (
    <section className="page messages-page" aria-labelledby="messages-title">
      <h1 id="messages-title">Messages</h1>
      <div className="messages-layout">
        <nav className="messages-inbox" aria-label="Patient conversations" aria-busy={inbox.status === 'loading'}>
          {inbox.status === 'loading' && (
            <p role="status" className="muted" style={{ padding: 12 }}>
              Loading conversations…
            </p>
          )}
          {inbox.status === 'error' && (
            <div role="alert" className="error" style={{ padding: 12 }} data-testid="inbox-error">
              <p>{inbox.message}</p>
              <button type="button" onClick={() => void loadInbox()}>
                Try again
              </button>
            </div>
          )}
          {inbox.status === 'ready' && rows.length === 0 && (
            <p role="status" className="muted" style={{ padding: 12 }} data-testid="inbox-empty">
              No messages from patients yet.
            </p>
          )}
          {rows.length > 0 && (
            <ul data-testid="inbox">
              {rows.map((r) => {
                const name = `${r.patientName}${r.dicomPatientId ? ` (${r.dicomPatientId})` : ''}`;
                return (
                  <li key={r.patientId}>
                    <button
                      type="button"
                      className={`inbox-item${r.unread ? ' unread' : ''}${r.urgent ? ' urgent' : ''}`}
                      aria-current={r.patientId === selected ? 'true' : undefined}
                      aria-label={`${r.urgent ? 'Urgent: ' : ''}${name}${r.unread ? `, ${r.unread} unread` : ''}`}
                      data-testid="inbox-item"
                      data-patient-id={r.patientId}
                      data-unread={r.unread}
                      data-urgent={r.urgent}
                      onClick={() => select(r.patientId)}
                    >
                      <span className="inbox-head">
                        {r.urgent && <span className="urgent-tag">Urgent</span>}
                        <span className="inbox-name">{name}</span>
                        {r.unread > 0 && (
                          <span className="inbox-count" aria-hidden="true">
                            {r.unread}
                          </span>
                        )}
                      </span>
                      <span className="inbox-preview" style={{ display: 'block' }}>
                        {r.lastSenderRole === 'radiologist' ? 'Care team: ' : ''}
                        {r.lastPreview}
                      </span>
                      <time className="inbox-time" dateTime={r.lastAt}>
                        {signedOn(r.lastAt)}
                      </time>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </nav>
        <div className="messages-conversation" aria-live="polite" aria-busy={thread?.status === 'loading'}>
          {!thread && <p className="muted">Choose a conversation on the left to read and answer it.</p>}
          {thread?.status === 'loading' && (
            <p role="status" className="muted">
              Loading the conversation…
            </p>
          )}
          {thread?.status === 'error' && (
            <div role="alert" className="error" data-testid="thread-error">
              <p>{thread.message}</p>
              {selected && (
                <button type="button" onClick={() => openThread(selected)}>
                  Try again
                </button>
              )}
            </div>
          )}
          {open && (
            <>
              <h2 style={{ margin: '0 0 8px' }} data-testid="thread-title">
                {open.patient.displayName}
                {open.patient.dicomPatientId ? ` (${open.patient.dicomPatientId})` : ''}
              </h2>
              <MessageList messages={open.messages} patientView={false} label={`Conversation with ${open.patient.displayName}, oldest first`} />
              <Composer
                key={open.patient.id}
                label={`Reply to ${open.patient.displayName}`}
                placeholder="Your reply, signed with your name"
                onSend={async (body) => {
                  await api.call('messages.send', { patientId: open.patient.id, body });
                  openThread(open.patient.id, true);
                }}
              />
            </>
          )}
        </div>
      </div>
    </section>
  );
}

// ---- the patient -----------------------------------------------------------------------------

function PatientMessages() {
  const navigation = useNavigation();
  const [urgent, setUrgent] = useState(false);
  const [thread, setThread] = useState<Loadable<MessageThread>>({ status: 'loading' });
  const [reports, setReports] = useState<PatientSummary[]>([]);
  const [reportId, setReportId] = useState<string>(() => takeAskedReport() ?? '');

  const load = useCallback((quiet = false): void => {
    if (!quiet) setThread({ status: 'loading' });
    api.call('messages.thread', {}).then(
      (t) => setThread({ status: 'ready', value: t }),
      (e: unknown) => setThread({ status: 'error', message: errorText(e) }),
    );
  }, []);
  useEffect(() => load(), [load]);
  useEffect(() => {
    // The picker is a convenience: without it the patient can still write.
    api.call('reports.patientSummary', {}).then(
      (r) => setReports([...r.summaries].sort((a, b) => b.signedAt.localeCompare(a.signedAt))),
      () => setReports([]),
    );
  }, []);

  usePoll(() => {
    if (thread.status !== 'ready') return;
    // Only a new reply reopens the conversation (reading it is what marks it read).
    void api.call('messages.unreadCount', {}).then((r) => {
      if (r.unread > 0) load(true);
    }, () => undefined);
  });

  return (
    <section className="page messages-page patient-messages" aria-labelledby="messages-title" aria-busy={thread.status === 'loading'}>
      <h1 id="messages-title">Messages</h1>
      <p className="muted" style={{ marginTop: 0 }}>
        Your conversation with your care team (the radiologists who read your scans). They answer during working hours; in an emergency, call for help instead.
      </p>
      {thread.status === 'loading' && (
        <p role="status" className="muted">
          Loading your messages…
        </p>
      )}
      {thread.status === 'error' && (
        <div role="alert" className="patient-error" data-testid="thread-error">
          <p>{thread.message}</p>
          <button type="button" onClick={() => load()}>
            Try again
          </button>
        </div>
      )}
      {thread.status === 'ready' && (
        <div className="messages-conversation" aria-live="polite">
          <MessageList messages={thread.value.messages} patientView label="Your messages with the care team, oldest first" />
          <Composer
            label="Write to your care team"
            placeholder="Your question or message"
            onSend={async (body) => {
              await api.call('messages.send', { body, ...(reportId ? { reportId } : {}), ...(urgent ? { urgent: true } : {}) });
              setReportId('');
              setUrgent(false);
              load(true);
            }}
          >
            <div className="urgent-choice">
              <label htmlFor="message-urgent" className="urgent-label">
                <input id="message-urgent" data-testid="message-urgent" type="checkbox" checked={urgent} onChange={(e) => setUrgent(e.target.checked)} aria-describedby={urgent ? 'urgent-warning' : undefined} />
                This is urgent
              </label>
              {urgent && (
                <p id="urgent-warning" className="notice-block urgent-warning" role="alert" data-testid="urgent-warning">
                  {DONT_WAIT_SENTENCE}{' '}
                  <button type="button" className="danger" onClick={() => navigation.go('emergency')}>
                    Emergency numbers
                  </button>
                </p>
              )}
            </div>
            {reports.length > 0 && (
              <p style={{ margin: '0 0 8px' }}>
                <label htmlFor="message-report">Ask about this report </label>
                <select id="message-report" data-testid="message-report-picker" value={reportId} onChange={(e) => setReportId(e.target.value)}>
                  <option value="">No particular report</option>
                  {reports.map((r) => (
                    <option key={r.reportId} value={r.reportId}>
                      Scan of {scanDate(r.studyDate)}, signed by {r.signedByName || 'the radiologist'}
                    </option>
                  ))}
                </select>
              </p>
            )}
          </Composer>
        </div>
      )}
    </section>
  );
}
