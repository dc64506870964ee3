-- Secure messages between a patient and their care team: one conversation per patient record,
-- read and answered by any radiologist (a department inbox). Bodies are plain text and live only
-- here, in the encrypted database: audit rows and logs name the patient id, never the text.

CREATE TABLE messages (
  id             TEXT PRIMARY KEY,
  patient_id     TEXT NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  sender_user_id TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  sender_role    TEXT NOT NULL CHECK (sender_role IN ('patient', 'radiologist')),
  -- Trimmed by the API; SQLite counts characters, so the API's limit is the stricter one.
  body           TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
  -- The signed report of this patient the message is about, if any.
  report_id      TEXT REFERENCES reports (id) ON DELETE RESTRICT,
  created_at     TEXT NOT NULL,
  -- When the other side first read it (any radiologist, for a patient's message).
  read_at        TEXT
) STRICT;
-- The thread, oldest first, and the inbox's per-patient aggregate.
CREATE INDEX messages_thread ON messages (patient_id, created_at);
-- Unread counts for the badges: only unread rows are in it.
CREATE INDEX messages_unread ON messages (sender_role, patient_id) WHERE read_at IS NULL;
