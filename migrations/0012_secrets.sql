-- Secrets (the hospital server's password or token, site keys) for data folders in passphrase
-- mode, where no OS keychain holds them: AES-256-GCM under a key derived (HKDF-SHA256) from the
-- database key, so they are encrypted twice at rest and never readable without the passphrase.
-- The secret's name is the GCM additional data: a value cannot be moved to another name.
CREATE TABLE secrets (
  name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 128),
  nonce       BLOB NOT NULL CHECK (length(nonce) = 12),
  ciphertext  BLOB NOT NULL,
  tag         BLOB NOT NULL CHECK (length(tag) = 16),
  updated_at  TEXT NOT NULL
) STRICT;
