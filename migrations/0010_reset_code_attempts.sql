-- Wrong reset codes are counted: a code dies after as many wrong tries as lock an account.
ALTER TABLE reset_codes ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
