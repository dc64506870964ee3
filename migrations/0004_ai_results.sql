-- Stored AI results: one run per study (its state and the model that produced it), the result of
-- every scored image with its tumor mask, and the per-series finding. Replaced when re-run.

-- The latest run of a study. A row left 'running' by a crash is reported as interrupted.
CREATE TABLE ai_runs (
  study_id      TEXT PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
  status        TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
  model_id      TEXT,
  model_version TEXT,
  runtime       TEXT,
  total         INTEGER NOT NULL DEFAULT 0,
  done          INTEGER NOT NULL DEFAULT 0,
  -- Why the run failed, as a sentence for the radiologist; null otherwise.
  error         TEXT,
  started_at    TEXT NOT NULL,
  finished_at   TEXT,
  started_by    TEXT NOT NULL
) STRICT;

-- One row per scored (or unscorable) image of a run. label is null when the image could not be
-- scored; error then says why. The mask is the image-sized 0/1 map, raw-deflated; null when empty.
CREATE TABLE ai_instance_results (
  instance_id   TEXT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
  study_id      TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  series_id     TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  model_id      TEXT NOT NULL,
  model_version TEXT NOT NULL,
  runtime       TEXT NOT NULL,
  label         TEXT,
  confidence    REAL,
  -- JSON object: class name -> calibrated probability.
  probabilities TEXT,
  area_px       INTEGER NOT NULL DEFAULT 0,
  area_mm2      REAL,
  mask_width    INTEGER NOT NULL,
  mask_height   INTEGER NOT NULL,
  mask          BLOB,
  ms            REAL NOT NULL DEFAULT 0,
  error         TEXT,
  created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX ai_instance_results_study ON ai_instance_results (study_id, series_id);

CREATE TABLE ai_series_results (
  series_id       TEXT PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE,
  study_id        TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  model_id        TEXT NOT NULL,
  model_version   TEXT NOT NULL,
  runtime         TEXT NOT NULL,
  label           TEXT NOT NULL,
  confidence      REAL NOT NULL,
  key_instance_id TEXT REFERENCES instances (id) ON DELETE SET NULL,
  slices          INTEGER NOT NULL,
  -- JSON object: label -> number of slices.
  counts          TEXT NOT NULL,
  created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX ai_series_results_study ON ai_series_results (study_id);
