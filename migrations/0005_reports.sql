-- Reports: one per study, its life cycle (draft, preliminary, final, rejected), the signed content
-- hash, key images, and addenda. A signed report is never edited: triggers refuse it.

CREATE TABLE reports (
  id              TEXT PRIMARY KEY,
  study_id        TEXT NOT NULL UNIQUE REFERENCES studies (id) ON DELETE RESTRICT,
  patient_id      TEXT NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  status          TEXT NOT NULL CHECK (status IN ('draft', 'preliminary', 'final', 'rejected')),
  -- JSON: the template's sections, each {text, origin} (origin: ai, ai-accepted, ai-edited, human).
  sections        TEXT NOT NULL,
  -- The AI finding the draft was filled from (JSON snapshot), or null when there was none.
  ai_finding      TEXT,
  ai_decision     TEXT NOT NULL CHECK (ai_decision IN ('none', 'pending', 'accepted', 'rejected')),
  reject_reason   TEXT,
  -- Internal doctor's notes: never exported, not part of the signed content.
  notes           TEXT NOT NULL DEFAULT '',
  -- Bumped by every saved edit; a save names the revision it started from.
  revision        INTEGER NOT NULL DEFAULT 1,
  created_by      TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_by      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  preliminary_by  TEXT,
  preliminary_at  TEXT,
  signed_by       TEXT REFERENCES users (id) ON DELETE RESTRICT,
  signed_by_name  TEXT,
  signed_at       TEXT,
  -- sha256 of the canonical JSON of the signed content (`tumorpredict report verify ID`).
  content_hash    TEXT,
  -- The DICOM objects made at signing (also queued in sync_outbox in the same transaction).
  sr_sop_uid      TEXT,
  pdf_sop_uid     TEXT,
  CHECK ((status IN ('final', 'rejected')) = (content_hash IS NOT NULL AND signed_at IS NOT NULL AND signed_by IS NOT NULL)),
  CHECK (status <> 'rejected' OR (ai_decision = 'rejected' AND reject_reason IS NOT NULL)),
  CHECK (status <> 'final' OR ai_decision <> 'rejected')
) STRICT;
CREATE INDEX reports_status ON reports (status, updated_at DESC);
CREATE INDEX reports_patient ON reports (patient_id);

-- A signed report's content, status and signature are frozen; only the internal notes change.
CREATE TRIGGER reports_signed_frozen BEFORE UPDATE ON reports
WHEN OLD.status IN ('final', 'rejected') AND (
  NEW.status IS NOT OLD.status OR NEW.sections IS NOT OLD.sections OR NEW.ai_finding IS NOT OLD.ai_finding
  OR NEW.ai_decision IS NOT OLD.ai_decision OR NEW.reject_reason IS NOT OLD.reject_reason
  OR NEW.signed_by IS NOT OLD.signed_by OR NEW.signed_by_name IS NOT OLD.signed_by_name OR NEW.signed_at IS NOT OLD.signed_at
  OR NEW.content_hash IS NOT OLD.content_hash OR NEW.study_id IS NOT OLD.study_id OR NEW.patient_id IS NOT OLD.patient_id
  OR NEW.sr_sop_uid IS NOT OLD.sr_sop_uid OR NEW.pdf_sop_uid IS NOT OLD.pdf_sop_uid)
BEGIN
  SELECT RAISE(ABORT, 'a signed report cannot be changed; add an addendum');
END;
CREATE TRIGGER reports_signed_no_delete BEFORE DELETE ON reports
WHEN OLD.status IN ('final', 'rejected')
BEGIN
  SELECT RAISE(ABORT, 'a signed report cannot be deleted');
END;

-- Key images captured from the viewer with the overlay (PNG, inside the encrypted database).
CREATE TABLE report_key_images (
  id          TEXT PRIMARY KEY,
  report_id   TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  caption     TEXT NOT NULL DEFAULT '',
  instance_id TEXT,
  png         BLOB NOT NULL,
  sha256      TEXT NOT NULL,
  width       INTEGER NOT NULL,
  height      INTEGER NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (report_id, seq)
) STRICT;

-- Key images of a signed report are part of its signed content.
CREATE TRIGGER report_key_images_frozen_insert BEFORE INSERT ON report_key_images
WHEN (SELECT status FROM reports WHERE id = NEW.report_id) IN ('final', 'rejected')
BEGIN
  SELECT RAISE(ABORT, 'a signed report cannot be changed; add an addendum');
END;
CREATE TRIGGER report_key_images_frozen_update BEFORE UPDATE ON report_key_images
WHEN (SELECT status FROM reports WHERE id = OLD.report_id) IN ('final', 'rejected')
BEGIN
  SELECT RAISE(ABORT, 'a signed report cannot be changed; add an addendum');
END;
CREATE TRIGGER report_key_images_frozen_delete BEFORE DELETE ON report_key_images
WHEN (SELECT status FROM reports WHERE id = OLD.report_id) IN ('final', 'rejected')
BEGIN
  SELECT RAISE(ABORT, 'a signed report cannot be changed; add an addendum');
END;

-- Addenda: appended to a signed report, each signed and dated when written, never edited.
CREATE TABLE report_addenda (
  id             TEXT PRIMARY KEY,
  report_id      TEXT NOT NULL REFERENCES reports (id) ON DELETE RESTRICT,
  seq            INTEGER NOT NULL,
  text           TEXT NOT NULL,
  signed_by      TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  signed_by_name TEXT NOT NULL,
  signed_at      TEXT NOT NULL,
  content_hash   TEXT NOT NULL,
  pdf_sop_uid    TEXT,
  UNIQUE (report_id, seq)
) STRICT;
CREATE TRIGGER report_addenda_no_update BEFORE UPDATE ON report_addenda
BEGIN
  SELECT RAISE(ABORT, 'an addendum cannot be changed; add another addendum');
END;
CREATE TRIGGER report_addenda_no_delete BEFORE DELETE ON report_addenda
BEGIN
  SELECT RAISE(ABORT, 'an addendum cannot be deleted');
END;
