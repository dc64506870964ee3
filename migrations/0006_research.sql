-- Research workspace: registered local data sets (their items and content hash), the model
-- registry's state (research, active for clinical use, retired), scoring runs and their per-item
-- results, written as items complete so an interrupted run resumes where it stopped.

CREATE TABLE research_datasets (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  -- folders: one sub-folder per class; csv: path,label[,mask]; dicom: DICOM files (class sub-folders optional)
  kind         TEXT NOT NULL CHECK (kind IN ('folders', 'csv', 'dicom')),
  source       TEXT NOT NULL,
  -- sha256 over every item's id, label and file sha256: ties a run to exactly what it scored.
  content_hash TEXT NOT NULL,
  item_count   INTEGER NOT NULL,
  -- JSON {class: count}; unlabelled items count under "(none)".
  class_counts TEXT NOT NULL,
  -- JSON [{itemId, label, png}] small grey PNG thumbnails as base64 (pixels only, no headers).
  thumbnails   TEXT NOT NULL,
  -- Per-data-set secret for de-identification (pseudonyms, date shift, UIDs). Never exported.
  deid_secret  BLOB NOT NULL,
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL
) STRICT;

CREATE TABLE research_items (
  dataset_id TEXT NOT NULL REFERENCES research_datasets (id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  item_id    TEXT NOT NULL,
  label      TEXT,
  file       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  mask_file  TEXT,
  PRIMARY KEY (dataset_id, idx),
  UNIQUE (dataset_id, item_id)
) STRICT;

-- Registry state of installed models. A model folder without a row is installed for research.
CREATE TABLE research_models (
  model_id     TEXT PRIMARY KEY,
  version      TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('research', 'active', 'retired')),
  card_sha256  TEXT NOT NULL,
  installed_at TEXT NOT NULL,
  installed_by TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  updated_by   TEXT NOT NULL
) STRICT;

-- One run scores one data set with one model. A row left 'running' or 'queued' by a process
-- that is gone is reported as 'interrupted' and can be resumed.
CREATE TABLE research_runs (
  id            TEXT PRIMARY KEY,
  -- Runs started together (one per model) share a batch id.
  batch_id      TEXT NOT NULL,
  dataset_id    TEXT NOT NULL REFERENCES research_datasets (id),
  dataset_hash  TEXT NOT NULL,
  model_id      TEXT NOT NULL,
  model_version TEXT NOT NULL,
  card_sha256   TEXT NOT NULL,
  runtime       TEXT,
  -- JSON of the settings that change results (batch size, masks, classes).
  settings      TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'interrupted', 'cancelled', 'done', 'failed')),
  total         INTEGER NOT NULL,
  done          INTEGER NOT NULL DEFAULT 0,
  failed        INTEGER NOT NULL DEFAULT 0,
  -- Wall-clock milliseconds spent scoring, summed over sessions (throughput).
  scoring_ms    REAL NOT NULL DEFAULT 0,
  -- The process scoring it now: a run whose process is gone was interrupted (crash or kill).
  owner_pid     INTEGER,
  error         TEXT,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  finished_at   TEXT
) STRICT;
CREATE INDEX research_runs_dataset ON research_runs (dataset_id);

CREATE TABLE research_results (
  run_id        TEXT NOT NULL REFERENCES research_runs (id) ON DELETE CASCADE,
  idx           INTEGER NOT NULL,
  ok            INTEGER NOT NULL CHECK (ok IN (0, 1)),
  label         TEXT,
  confidence    REAL,
  -- JSON {class: probability}
  probabilities TEXT,
  dice          REAL,
  ms            REAL,
  error         TEXT,
  PRIMARY KEY (run_id, idx)
) STRICT;
