-- DIMSE settings (the C-STORE SCP, its allowed callers, the PACS queried and retrieved from):
-- one row of JSON validated by the contract's dimseSettingsSchema on every read.
CREATE TABLE dimse_config (
  one         INTEGER PRIMARY KEY CHECK (one = 1),
  settings    TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  updated_by  TEXT
) STRICT;
