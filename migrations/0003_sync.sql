-- Hospital-server sync (DICOMweb): its settings, the state of the last runs, the instances
-- already pulled (so a re-run fetches nothing twice) and the durable outbox of results to send.

-- One row: the server settings as JSON validated by the contract's schema. The password or
-- token is never here: it lives in the OS keychain.
CREATE TABLE sync_config (
  one        INTEGER PRIMARY KEY CHECK (one = 1),
  settings   TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
) STRICT;

CREATE TABLE sync_state (
  one             INTEGER PRIMARY KEY CHECK (one = 1),
  last_success_at TEXT,
  last_attempt_at TEXT,
  last_error      TEXT,
  -- JSON summary of the last run (counts only, no patient data).
  last_run        TEXT
) STRICT;
INSERT INTO sync_state (one) VALUES (1);

-- Every instance fetched from the server and handed to the import pipeline, by SOP Instance UID.
CREATE TABLE sync_pulled_instances (
  sop_instance_uid    TEXT PRIMARY KEY,
  study_instance_uid  TEXT NOT NULL,
  series_instance_uid TEXT NOT NULL,
  -- What the import pipeline said: imported, duplicate, conflict or refused.
  import_status       TEXT NOT NULL,
  pulled_at           TEXT NOT NULL
) STRICT;
CREATE INDEX sync_pulled_study ON sync_pulled_instances (study_instance_uid);
CREATE INDEX sync_pulled_series ON sync_pulled_instances (series_instance_uid);

-- The server's instance count of a study when it was last pulled completely: a study whose count
-- has not changed since is not asked about again.
CREATE TABLE sync_pulled_studies (
  study_instance_uid TEXT PRIMARY KEY,
  remote_instances   INTEGER NOT NULL,
  completed_at       TEXT NOT NULL
) STRICT;

-- The durable outbox. A row is written in the same transaction that creates the result, so a
-- result never exists without its row; the SOP Instance UID is unique, so it is sent once.
CREATE TABLE sync_outbox (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  kind                TEXT NOT NULL CHECK (kind IN ('seg', 'sr', 'pdf', 'other')),
  sop_instance_uid    TEXT NOT NULL UNIQUE,
  sop_class_uid       TEXT NOT NULL,
  study_instance_uid  TEXT NOT NULL,
  label               TEXT NOT NULL,
  -- The Part 10 file itself (inside the encrypted database, written with its row in one transaction).
  content             BLOB NOT NULL,
  content_sha256      TEXT NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
  attempts            INTEGER NOT NULL DEFAULT 0,
  last_error          TEXT,
  next_attempt_at     TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  sent_at             TEXT
) STRICT;
CREATE INDEX sync_outbox_due ON sync_outbox (state, next_attempt_at);
