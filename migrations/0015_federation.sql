-- Federated learning: a workstation is a site (trains the classification head on its own data and
-- sends signed update packages), a coordinator (holds rounds, merges, gates, publishes), or both.
-- No image, path, patient or study identifier is stored here beyond what the research tables hold.

-- Features of research images under a model's backbone (sha256 of the ONNX file with its head
-- zeroed): extracted once per image and backbone, reused by every round and head version.
CREATE TABLE federation_features (
  backbone    TEXT NOT NULL,
  item_sha256 TEXT NOT NULL,
  dim         INTEGER NOT NULL CHECK (dim > 0),
  -- float32 little-endian, dim values
  features    BLOB NOT NULL,
  PRIMARY KEY (backbone, item_sha256)
) STRICT;

-- This workstation as a site: its id and Ed25519 public key (the private key is a secret), and the
-- coordinator it is enrolled with (URL and pinned certificate; the token is a secret).
CREATE TABLE federation_identity (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  site_id          TEXT NOT NULL,
  public_key       TEXT NOT NULL,
  coordinator_url  TEXT,
  coordinator_cert TEXT,
  -- the global model last pulled from the coordinator (a registry model id)
  global_model     TEXT,
  created_at       TEXT NOT NULL,
  created_by       TEXT NOT NULL
) STRICT;

-- Update packages this site built, and what became of them.
CREATE TABLE federation_outbox (
  id           TEXT PRIMARY KEY,
  round        INTEGER NOT NULL,
  dataset_id   TEXT NOT NULL,
  parent_model TEXT NOT NULL,
  sha256       TEXT NOT NULL,
  -- JSON manifest (the closed schema: counts, settings, hashes)
  manifest     TEXT NOT NULL,
  package      BLOB NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('built', 'accepted', 'refused')),
  detail       TEXT,
  created_at   TEXT NOT NULL,
  created_by   TEXT NOT NULL,
  sent_at      TEXT
) STRICT;

-- Privacy spent per site and round, at both ends: a site's own ledger, and the coordinator's,
-- recomputed from each accepted package's parameters. RDP over the accountant's orders (JSON).
CREATE TABLE federation_privacy (
  side             TEXT NOT NULL CHECK (side IN ('site', 'coordinator')),
  site_id          TEXT NOT NULL,
  round            INTEGER NOT NULL,
  -- the package it was spent for (site: outbox id; coordinator: package id)
  ref              TEXT NOT NULL,
  sample_rate      REAL NOT NULL,
  noise_multiplier REAL NOT NULL,
  steps            INTEGER NOT NULL,
  delta            REAL NOT NULL,
  rdp              TEXT NOT NULL,
  epsilon_round    REAL NOT NULL,
  at               TEXT NOT NULL,
  PRIMARY KEY (side, site_id, ref)
) STRICT;

-- Coordinator: the federation's settings, and the current global model (a registry model id).
CREATE TABLE federation_coordinator (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  reference_dataset TEXT,
  public_url        TEXT,
  -- PEM of the HTTPS certificate sites pin; its private key is a secret
  certificate       TEXT,
  global_model      TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  updated_by        TEXT NOT NULL
) STRICT;

-- Coordinator: the sites it accepts packages from (the token is kept only as its sha256).
CREATE TABLE federation_sites (
  site_id       TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  public_key    TEXT NOT NULL,
  token_sha256  TEXT NOT NULL UNIQUE,
  status        TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  registered_at TEXT NOT NULL,
  registered_by TEXT NOT NULL
) STRICT;

CREATE TABLE federation_rounds (
  round              INTEGER PRIMARY KEY,
  state              TEXT NOT NULL CHECK (state IN ('open', 'evaluating', 'candidate', 'gate-failed', 'approved', 'rejected', 'failed', 'rolled-back')),
  parent_model       TEXT NOT NULL,
  parent_version     TEXT NOT NULL,
  parent_card_sha256 TEXT NOT NULL,
  parent_head_sha256 TEXT NOT NULL,
  -- JSON: rule, quorum, share cap, norm limits, gate margins, suggested training settings
  settings           TEXT NOT NULL,
  deadline           TEXT,
  opened_at          TEXT NOT NULL,
  opened_by          TEXT NOT NULL,
  -- npz of the merged head, and what went into it (JSON: shares, outvoted sites)
  candidate          BLOB,
  candidate_sha256   TEXT,
  aggregation        TEXT,
  -- JSON gate result (reference-set metrics of current and candidate, checks)
  gate               TEXT,
  model_id           TEXT,
  model_version      TEXT,
  model_card_sha256  TEXT,
  closed_at          TEXT,
  decided_at         TEXT,
  decided_by         TEXT,
  note               TEXT
) STRICT;

-- Coordinator: every package received, accepted or refused with its reason.
CREATE TABLE federation_packages (
  id          TEXT PRIMARY KEY,
  round       INTEGER,
  site_id     TEXT,
  sha256      TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('accepted', 'refused', 'outvoted', 'merged')),
  reason      TEXT,
  samples     INTEGER,
  epsilon     REAL,
  manifest    TEXT,
  package     BLOB,
  via         TEXT NOT NULL CHECK (via IN ('https', 'file')),
  received_at TEXT NOT NULL
) STRICT;
CREATE INDEX federation_packages_round ON federation_packages (round, status);

-- Coordinator: sites' evaluations of a round's candidate (confusion matrices only, JSON).
CREATE TABLE federation_evaluations (
  round       INTEGER NOT NULL REFERENCES federation_rounds (round),
  site_id     TEXT NOT NULL,
  current     TEXT NOT NULL,
  candidate   TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (round, site_id)
) STRICT;
