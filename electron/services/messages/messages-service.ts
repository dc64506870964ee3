// Secure messages between a patient and the care team (the radiologists of this workstation):
// one conversation per patient record, a department inbox. A patient's conversation is always
// the one their account is linked to, whatever they ask for; a radiologist names the patient.
// Bodies live only in the encrypted database: audit rows name the patient id, never the text,
// and nothing here logs.
import crypto from 'node:crypto';
import { MAX_MESSAGE_CHARS, MESSAGE_PREVIEW_CHARS, WorkstationError, type Message, type MessageInboxRow, type MessageSenderRole, type MessageThread, type Role } from '../../contract';
import type { AuditLog } from '../audit';
import type { Db } from '../store';

export interface MessageActor {
  userId: string;
  username: string;
  role: Role;
  /** The patient record a patient account is linked to; null for staff. */
  patientId: string | null;
}

export interface MessagesServiceOptions {
  db: () => Db;
  audit: Pick<AuditLog, 'append'>;
  /** After a message is stored (notifications hook); must not throw. */
  onSent?: (e: { messageId: string; patientId: string; senderRole: MessageSenderRole; senderUserId: string; urgent: boolean }) => void;
  /** After someone opened a conversation (their message notifications for it are read); must not throw. */
  onThreadRead?: (e: { userId: string; patientId: string }) => void;
}

export interface MessagesService {
  inbox(actor: MessageActor, page: { limit: number; offset: number }): { rows: MessageInboxRow[]; total: number };
  thread(actor: MessageActor, patientId?: string): MessageThread;
  send(actor: MessageActor, req: { patientId?: string | undefined; body: string; reportId?: string | undefined; urgent?: boolean | undefined }): Message;
  unreadCount(actor: MessageActor): number;
}

interface MessageRow {
  id: string;
  patient_id: string;
  sender_user_id: string;
  sender_role: MessageSenderRole;
  sender_name: string;
  body: string;
  report_id: string | null;
  study_date: string | null;
  created_at: string;
  read_at: string | null;
  urgent: number;
}

interface PatientRow {
  id: string;
  display_name: string;
  dicom_patient_id: string | null;
}

/** Said to a patient account whose record link is missing: only staff can fix it. */
export const UNLINKED_PATIENT_SENTENCE = 'Your account is not linked to your patient record yet, so messages cannot be sent or read. Please ask the front desk to link it.';
/** The same answer whether the conversation exists or not, so a patient learns nothing about other records. */
const NO_SUCH_CONVERSATION = 'There is no such conversation for you.';

const senderRoleOf = (role: Role): MessageSenderRole => {
  if (role === 'patient' || role === 'radiologist') return role;
  // The permission matrix keeps other roles out; this guards a caller that bypasses it.
  throw new WorkstationError('FORBIDDEN', 'Only a patient and the care team (radiologists) can use messages.');
};

/** The first MESSAGE_PREVIEW_CHARS characters on one line. */
export function messagePreview(body: string): string {
  return body.replace(/\s+/g, ' ').trim().slice(0, MESSAGE_PREVIEW_CHARS);
}

export function createMessagesService(options: MessagesServiceOptions): MessagesService {
  const { db, audit } = options;
  const now = (): string => new Date().toISOString();

  const auditRow = (actor: MessageActor, action: 'message.send' | 'message.read-thread', patientId: string, outcome: 'success' | 'refused', detail: Record<string, string | number | boolean | null> | null = null): void => {
    audit.append({ actorId: actor.userId || null, actor: actor.username, action, objectType: 'patient', objectId: patientId, outcome, detail });
  };

  const patientRow = (patientId: string): PatientRow | undefined =>
    db().prepare('SELECT id, display_name, dicom_patient_id FROM patients WHERE id = ?').get(patientId) as PatientRow | undefined;

  /**
   * The conversation the actor may use: a patient's own (a different id is NOT_FOUND, exactly as
   * for a record that does not exist); for a radiologist, the named patient record.
   */
  const conversationOf = (actor: MessageActor, requested: string | undefined, action: 'message.send' | 'message.read-thread'): PatientRow => {
    const role = senderRoleOf(actor.role);
    if (role === 'patient') {
      if (!actor.patientId) throw new WorkstationError('NOT_FOUND', UNLINKED_PATIENT_SENTENCE);
      if (requested !== undefined && requested !== actor.patientId) {
        auditRow(actor, action, requested, 'refused', { code: 'NOT_FOUND' });
        throw new WorkstationError('NOT_FOUND', NO_SUCH_CONVERSATION);
      }
      const own = patientRow(actor.patientId);
      if (!own) throw new WorkstationError('NOT_FOUND', UNLINKED_PATIENT_SENTENCE);
      return own;
    }
    if (!requested) throw new WorkstationError('INVALID_INPUT', 'Choose the patient whose conversation to open.', { details: { fields: ['patientId'] } });
    const row = patientRow(requested);
    if (!row) throw new WorkstationError('NOT_FOUND', 'There is no such patient record in the workstation.');
    return row;
  };

  const toMessage = (r: MessageRow, actorRole: MessageSenderRole): Message => ({
    id: r.id,
    patientId: r.patient_id,
    senderRole: r.sender_role,
    senderName: r.sender_name,
    mine: r.sender_role === actorRole,
    body: r.body,
    createdAt: r.created_at,
    readAt: r.read_at,
    report: r.report_id ? { reportId: r.report_id, studyDate: r.study_date } : null,
    urgent: r.urgent === 1,
  });

  const SELECT_MESSAGES = `SELECT m.id, m.patient_id, m.sender_user_id, m.sender_role, u.display_name AS sender_name, m.body, m.report_id,
                                  s.study_date, m.created_at, m.read_at, m.urgent
                           FROM messages m
                           JOIN users u ON u.id = m.sender_user_id
                           LEFT JOIN reports r ON r.id = m.report_id
                           LEFT JOIN studies s ON s.id = r.study_id`;

  return {
    inbox(actor, page) {
      if (senderRoleOf(actor.role) !== 'radiologist') throw new WorkstationError('FORBIDDEN', 'The inbox is for the care team.');
      const conn = db();
      // The last message of each conversation is its highest rowid (rows are inserted in time order).
      const rows = conn
        .prepare(
          // A conversation is urgent while a message the patient marked urgent is newer than the
          // care team's last reply; urgent ones come first.
          `SELECT agg.patient_id, p.display_name, p.dicom_patient_id, agg.unread, agg.total,
                  last.body AS last_body, last.created_at AS last_at, last.sender_role AS last_role,
                  (agg.last_urgent IS NOT NULL AND (agg.last_reply IS NULL OR agg.last_urgent > agg.last_reply)) AS urgent
           FROM (SELECT patient_id, max(rowid) AS last_rowid, count(*) AS total,
                        sum(CASE WHEN sender_role = 'patient' AND read_at IS NULL THEN 1 ELSE 0 END) AS unread,
                        max(CASE WHEN sender_role = 'radiologist' THEN rowid END) AS last_reply,
                        max(CASE WHEN sender_role = 'patient' AND urgent = 1 THEN rowid END) AS last_urgent
                 FROM messages GROUP BY patient_id) agg
           JOIN messages last ON last.rowid = agg.last_rowid
           JOIN patients p ON p.id = agg.patient_id
           ORDER BY urgent DESC, last.created_at DESC, last.rowid DESC
           LIMIT ? OFFSET ?`,
        )
        .all(page.limit, page.offset) as { patient_id: string; display_name: string; dicom_patient_id: string | null; unread: number; total: number; last_body: string; last_at: string; last_role: MessageSenderRole; urgent: number }[];
      const { n } = conn.prepare('SELECT count(DISTINCT patient_id) AS n FROM messages').get() as { n: number };
      return {
        total: n,
        rows: rows.map((r) => ({
          patientId: r.patient_id,
          patientName: r.display_name,
          dicomPatientId: r.dicom_patient_id,
          lastPreview: messagePreview(r.last_body),
          lastAt: r.last_at,
          lastSenderRole: r.last_role,
          unread: r.unread,
          total: r.total,
          urgent: r.urgent === 1,
        })),
      };
    },

    thread(actor, patientId) {
      const role = senderRoleOf(actor.role);
      const patient = conversationOf(actor, patientId, 'message.read-thread');
      const conn = db();
      const readAt = now();
      // Reading marks the other side's messages read; the reply shows them as read before this read.
      conn.transaction(() => {
        const marked = conn.prepare('UPDATE messages SET read_at = ? WHERE patient_id = ? AND sender_role <> ? AND read_at IS NULL').run(readAt, patient.id, role).changes;
        auditRow(actor, 'message.read-thread', patient.id, 'success', { marked });
      })();
      try {
        options.onThreadRead?.({ userId: actor.userId, patientId: patient.id });
      } catch {
        /* a notification hook never fails the read */
      }
      const rows = conn.prepare(`${SELECT_MESSAGES} WHERE m.patient_id = ? ORDER BY m.created_at, m.rowid`).all(patient.id) as MessageRow[];
      return {
        patient: { id: patient.id, displayName: patient.display_name, dicomPatientId: patient.dicom_patient_id },
        messages: rows.map((r) => toMessage(r, role)),
      };
    },

    send(actor, req) {
      const role = senderRoleOf(actor.role);
      const patient = conversationOf(actor, req.patientId, 'message.send');
      // The contract trims and bounds it; checked again because a service may be called directly.
      const body = req.body.trim();
      const urgent = req.urgent === true;
      if (urgent && role !== 'patient') throw new WorkstationError('INVALID_INPUT', 'Only a patient marks a message urgent.', { details: { fields: ['urgent'] } });
      if (!body || body.length > MAX_MESSAGE_CHARS) throw new WorkstationError('INVALID_INPUT', `A message must have 1 to ${MAX_MESSAGE_CHARS} characters.`, { details: { fields: ['body'] } });
      if (req.reportId) {
        const report = db().prepare(`SELECT 1 FROM reports WHERE id = ? AND patient_id = ? AND status IN ('final', 'rejected')`).get(req.reportId, patient.id);
        // Someone else's report and an unsigned one get the same answer: nothing is revealed.
        if (!report) throw new WorkstationError('NOT_FOUND', 'There is no signed report with this id for this patient.', { details: { fields: ['reportId'] } });
      }
      const id = crypto.randomUUID();
      const conn = db();
      conn.transaction(() => {
        conn
          .prepare('INSERT INTO messages (id, patient_id, sender_user_id, sender_role, body, report_id, created_at, read_at, urgent) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)')
          .run(id, patient.id, actor.userId, role, body, req.reportId ?? null, now(), urgent ? 1 : 0);
        auditRow(actor, 'message.send', patient.id, 'success', { messageId: id, aboutReport: req.reportId ? true : false, urgent });
      })();
      try {
        options.onSent?.({ messageId: id, patientId: patient.id, senderRole: role, senderUserId: actor.userId, urgent });
      } catch {
        /* a notification hook never fails the send: the message is stored */
      }
      const row = conn.prepare(`${SELECT_MESSAGES} WHERE m.id = ?`).get(id) as MessageRow;
      return toMessage(row, role);
    },

    unreadCount(actor) {
      const role = senderRoleOf(actor.role);
      if (role === 'radiologist') {
        return (db().prepare(`SELECT count(*) AS n FROM messages WHERE sender_role = 'patient' AND read_at IS NULL`).get() as { n: number }).n;
      }
      if (!actor.patientId) return 0;
      return (db().prepare(`SELECT count(*) AS n FROM messages WHERE patient_id = ? AND sender_role = 'radiologist' AND read_at IS NULL`).get(actor.patientId) as { n: number }).n;
    },
  };
}
