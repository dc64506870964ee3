-- The outbox can also send a study's source images (so the SEG's and SR's references resolve on
-- the server): such a row points at the encrypted blob the image already lives in instead of
-- holding a copy. Rebuilt because SQLite cannot change a column's NOT NULL or a CHECK in place.
CREATE TABLE sync_outbox_v2 (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  kind                TEXT NOT NULL CHECK (kind IN ('seg', 'sr', 'pdf', 'image', 'other')),
  sop_instance_uid    TEXT NOT NULL UNIQUE,
  sop_class_uid       TEXT NOT NULL,
  study_instance_uid  TEXT NOT NULL,
  label               TEXT NOT NULL,
  -- Either the Part 10 file itself, or the hash of the blob holding it (source images).
  content             BLOB,
  blob_hash           TEXT REFERENCES blobs (hash),
  size_bytes          INTEGER NOT NULL,
  content_sha256      TEXT NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
  attempts            INTEGER NOT NULL DEFAULT 0,
  last_error          TEXT,
  next_attempt_at     TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  sent_at             TEXT,
  CHECK ((content IS NULL) <> (blob_hash IS NULL))
) STRICT;
INSERT INTO sync_outbox_v2 (id, kind, sop_instance_uid, sop_class_uid, study_instance_uid, label, content, blob_hash, size_bytes, content_sha256, state, attempts, last_error, next_attempt_at, created_at, updated_at, sent_at)
  SELECT id, kind, sop_instance_uid, sop_class_uid, study_instance_uid, label, content, NULL, length(content), content_sha256, state, attempts, last_error, next_attempt_at, created_at, updated_at, sent_at FROM sync_outbox;
DROP TABLE sync_outbox;
ALTER TABLE sync_outbox_v2 RENAME TO sync_outbox;
CREATE INDEX sync_outbox_due ON sync_outbox (state, next_attempt_at);
