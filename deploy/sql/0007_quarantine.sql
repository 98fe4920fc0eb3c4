-- 0007: a quarantine that cannot fill the database's disk.  Identical bytes
-- are kept once (the collector looks for their SHA-256 before it inserts),
-- and past its sender's quarantine budget (collector/quarantine_bytes_per_hour)
-- a refused frame keeps only its SHA-256, its size, its reason and its
-- first bytes.  raw_sha256 is always the digest of the whole frame.

SET search_path = tallyfeed, pg_catalog;

-- The frame's size as received; raw holds all of it when length(raw) =
-- raw_size, its first bytes otherwise.  NULL in rows written before 0007
-- (which hold their frame whole).
ALTER TABLE quarantine ADD COLUMN raw_size bigint
    CHECK (raw_size IS NULL OR raw_size >= length(raw));

CREATE INDEX quarantine_raw_sha256 ON quarantine (raw_sha256);
