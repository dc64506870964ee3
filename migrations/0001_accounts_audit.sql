-- Accounts, sessions, reset codes, settings, the hash-chained audit log and a minimal patients
-- table that later migrations extend. The migrator wraps this file in one transaction.

CREATE TABLE patients (
  id           TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  created_at   TEXT NOT NULL
) STRICT;

CREATE TABLE users (
  id                  TEXT PRIMARY KEY,
  username            TEXT NOT NULL COLLATE NOCASE UNIQUE,
  display_name        TEXT NOT NULL,
  role                TEXT NOT NULL CHECK (role IN ('admin', 'radiologist', 'researcher', 'patient')),
  -- A patient account sees exactly one patient record; staff accounts see none through this link.
  patient_id          TEXT REFERENCES patients (id) ON DELETE RESTRICT,
  password_hash       TEXT,
  password_changed_at TEXT,
  failed_attempts     INTEGER NOT NULL DEFAULT 0,
  locked_until        TEXT,
  -- Locked by an admin: stays locked until an admin unlocks it.
  admin_locked        INTEGER NOT NULL DEFAULT 0 CHECK (admin_locked IN (0, 1)),
  totp_secret         TEXT,
  totp_pending_secret TEXT,
  totp_last_step      INTEGER,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  last_login_at       TEXT,
  CHECK ((role = 'patient') = (patient_id IS NOT NULL))
) STRICT;
CREATE INDEX users_role ON users (role);

CREATE TABLE sessions (
  -- sha256 of the token; the token itself lives only with the connection that holds it.
  token_hash   TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  transport    TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE reset_codes (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash  TEXT NOT NULL UNIQUE,
  issued_by  TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at    TEXT
) STRICT;
CREATE INDEX reset_codes_user ON reset_codes (user_id);

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
) STRICT;

-- Append-only: ids never reused (AUTOINCREMENT), triggers refuse UPDATE and DELETE, and each row
-- carries the hash of the one before it, so `tumorpredict audit verify` finds any edit.
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  actor_id    TEXT,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  object_type TEXT,
  object_id   TEXT,
  outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'refused')),
  detail      TEXT,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_action ON audit_log (action);
CREATE INDEX audit_log_object ON audit_log (object_id);

-- The head of the chain, kept by a trigger in the same transaction as each insert, so a deleted
-- tail (which leaves a valid shorter chain) is found too.
CREATE TABLE audit_head (
  one       INTEGER PRIMARY KEY CHECK (one = 1),
  last_id   INTEGER NOT NULL,
  last_hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (one, last_id, last_hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
BEGIN
  UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash WHERE one = 1;
END;
