-- Background scoring of arriving studies: a study the queue could not score (not MR, no image
-- series, every image refused by the decoder or the model) keeps why, with the model it was
-- tried for, so a restart does not try it again for the same model. Queued and running states
-- live in memory (a restart rebuilds the queue from the studies without a result).
CREATE TABLE ai_background (
  study_id      TEXT PRIMARY KEY REFERENCES studies (id) ON DELETE CASCADE,
  state         TEXT NOT NULL CHECK (state IN ('skipped', 'failed')),
  -- One sentence, no patient data.
  reason        TEXT NOT NULL,
  model_id      TEXT,
  model_version TEXT,
  updated_at    TEXT NOT NULL
) STRICT;
