-- DICOM index: patients (extending 0001's minimal table), studies, series and instances, the
-- encrypted blob registry and its key-encryption key. Pixel data lives in the blob files, not here.

-- Patients as DICOM names them. dicom_key is the identity used to merge imports
-- (IssuerOfPatientID + PatientID, or name + birth date when the file has no PatientID).
ALTER TABLE patients ADD COLUMN dicom_key TEXT;
ALTER TABLE patients ADD COLUMN dicom_patient_id TEXT;
ALTER TABLE patients ADD COLUMN birth_date TEXT;
ALTER TABLE patients ADD COLUMN sex TEXT;
ALTER TABLE patients ADD COLUMN updated_at TEXT;
CREATE UNIQUE INDEX patients_dicom_key ON patients (dicom_key) WHERE dicom_key IS NOT NULL;
CREATE INDEX patients_display_name ON patients (display_name COLLATE NOCASE);

-- The key-encryption key of the blob store: 32 random bytes made on first use. Each blob's own
-- AES-256-GCM key is HMAC-SHA256(kek, sha256 of its plaintext), so the key material lives only
-- inside this encrypted database and a blob can be written without a database round trip.
CREATE TABLE blob_keyring (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  kek        BLOB NOT NULL CHECK (length(kek) = 32),
  created_at TEXT NOT NULL
) STRICT;

-- One row per encrypted file under <data>/blobs/, named by the sha256 of its plaintext.
CREATE TABLE blobs (
  hash       TEXT PRIMARY KEY CHECK (length(hash) = 64),
  size       INTEGER NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE studies (
  id                 TEXT PRIMARY KEY,
  patient_id         TEXT NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
  study_instance_uid TEXT NOT NULL UNIQUE,
  study_date         TEXT,
  study_time         TEXT,
  accession_number   TEXT,
  description        TEXT,
  referring_physician TEXT,
  modalities         TEXT NOT NULL DEFAULT '',
  -- Derived (not acquired) images, e.g. the bundled demo study: the viewer labels them.
  derived            INTEGER NOT NULL DEFAULT 0 CHECK (derived IN (0, 1)),
  series_count       INTEGER NOT NULL DEFAULT 0,
  instance_count     INTEGER NOT NULL DEFAULT 0,
  conflict_count     INTEGER NOT NULL DEFAULT 0,
  imported_at        TEXT NOT NULL,
  updated_at         TEXT NOT NULL
) STRICT;
-- Worklist sorts and filters.
CREATE INDEX studies_patient ON studies (patient_id);
CREATE INDEX studies_date ON studies (study_date DESC, study_time DESC);
CREATE INDEX studies_imported ON studies (imported_at DESC);
CREATE INDEX studies_modalities ON studies (modalities);

CREATE TABLE series (
  id                  TEXT PRIMARY KEY,
  study_id            TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  series_instance_uid TEXT NOT NULL UNIQUE,
  modality            TEXT,
  series_number       INTEGER,
  description         TEXT,
  body_part           TEXT,
  instance_count      INTEGER NOT NULL DEFAULT 0,
  imported_at         TEXT NOT NULL
) STRICT;
CREATE INDEX series_study ON series (study_id, series_number);

CREATE TABLE instances (
  id                   TEXT PRIMARY KEY,
  series_id            TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  sop_instance_uid     TEXT NOT NULL,
  sop_class_uid        TEXT,
  instance_number      INTEGER,
  transfer_syntax      TEXT NOT NULL,
  rows                 INTEGER NOT NULL,
  columns              INTEGER NOT NULL,
  frames               INTEGER NOT NULL,
  samples_per_pixel    INTEGER NOT NULL,
  bits_allocated       INTEGER NOT NULL,
  bits_stored          INTEGER NOT NULL,
  pixel_representation INTEGER NOT NULL,
  photometric          TEXT NOT NULL,
  -- JSON arrays as written in the file ([row, column] mm; [x, y, z]; six cosines); null when absent.
  pixel_spacing        TEXT,
  image_position       TEXT,
  image_orientation    TEXT,
  slice_location       REAL,
  window_center        REAL,
  window_width         REAL,
  rescale_slope        REAL NOT NULL DEFAULT 1,
  rescale_intercept    REAL NOT NULL DEFAULT 0,
  -- sha256 of the file's bytes; also the name of its encrypted blob.
  content_sha256       TEXT NOT NULL UNIQUE REFERENCES blobs (hash),
  size_bytes           INTEGER NOT NULL,
  -- Set when this SOP Instance UID was already stored with other content: the first copy stays
  -- the instance of record, this one is kept beside it for a person to resolve.
  conflict_of          TEXT REFERENCES instances (id) ON DELETE SET NULL,
  imported_at          TEXT NOT NULL,
  imported_by          TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX instances_sop ON instances (sop_instance_uid) WHERE conflict_of IS NULL;
CREATE INDEX instances_sop_all ON instances (sop_instance_uid);
CREATE INDEX instances_series ON instances (series_id, instance_number);
CREATE INDEX instances_conflict ON instances (conflict_of) WHERE conflict_of IS NOT NULL;
