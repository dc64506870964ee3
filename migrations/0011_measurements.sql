-- Radiologist measurements kept per image (an instance's frame): the kind, the points in image
-- pixel coordinates, and the figure the main process computed from them and the pixel spacing
-- (stored so a report or an SR shows exactly what the viewer showed). Only the author changes one.

CREATE TABLE measurements (
  id              TEXT PRIMARY KEY,
  study_id        TEXT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
  series_id       TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  instance_id     TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  frame           INTEGER NOT NULL DEFAULT 0 CHECK (frame >= 0),
  kind            TEXT NOT NULL CHECK (kind IN ('length', 'ellipse', 'freehand', 'angle', 'probe')),
  -- JSON [[x, y], ...]: column and row, continuous, 0..columns and 0..rows.
  points          TEXT NOT NULL,
  label           TEXT NOT NULL DEFAULT '',
  value           REAL NOT NULL,
  unit            TEXT NOT NULL CHECK (unit IN ('mm', 'px', 'mm²', 'px²', '°', '')),
  -- JSON {"major", "minor"} for areas; null otherwise.
  axes            TEXT,
  -- JSON {"mean", "sd", "min", "max", "pixels"} of the pixel values inside an area or at a probe.
  stats           TEXT,
  created_by      TEXT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
  created_by_name TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX measurements_study ON measurements (study_id, created_at);
CREATE INDEX measurements_image ON measurements (instance_id, frame);
