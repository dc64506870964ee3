-- AI results per frame: a multi-frame (enhanced) image holds a whole series in one instance, so
-- its results are keyed by (instance, frame), and a series' key slice names its frame too.
-- SQLite cannot change a primary key in place: the table is rebuilt, old rows becoming frame 0.
-- Nothing references ai_instance_results, so dropping the old table loses no link.

CREATE TABLE ai_instance_results_new (
  instance_id   TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  -- 0-based frame of the instance (0 for single-frame images).
  frame         INTEGER NOT NULL DEFAULT 0 CHECK (frame >= 0),
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
  created_at    TEXT NOT NULL,
  PRIMARY KEY (instance_id, frame)
) STRICT;

INSERT INTO ai_instance_results_new (instance_id, frame, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, error, created_at)
  SELECT instance_id, 0, study_id, series_id, model_id, model_version, runtime, label, confidence, probabilities, area_px, area_mm2, mask_width, mask_height, mask, ms, error, created_at
  FROM ai_instance_results;

DROP TABLE ai_instance_results;
ALTER TABLE ai_instance_results_new RENAME TO ai_instance_results;
CREATE INDEX ai_instance_results_study ON ai_instance_results (study_id, series_id);

-- The key slice's frame within key_instance_id; 0 for results stored before this migration
-- (they scored frame 0 only), null when there is no key slice.
ALTER TABLE ai_series_results ADD COLUMN key_frame INTEGER;
UPDATE ai_series_results SET key_frame = 0 WHERE key_instance_id IS NOT NULL;
