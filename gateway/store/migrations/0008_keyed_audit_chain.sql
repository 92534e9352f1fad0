-- The audit chain becomes keyed: each new record's `hash` is an HMAC-SHA256,
-- under a key kept outside the database, over every column of the record
-- (see zorgpoort-audit's chain module), no longer SHA-256(previous ‖ event).
--
-- anchored: the last record its writer had anchored outside the database
--   (0: none yet), so an anchor file rolled back to an older copy is found.
-- purged_through, purged_hash: on a purge record, the checkpoint the purge
--   left, so a checkpoint set by anyone without the key is found.
-- All three are NULL in the records written before this migration.
ALTER TABLE audit_log ADD COLUMN anchored INTEGER;
ALTER TABLE audit_log ADD COLUMN purged_through INTEGER;
ALTER TABLE audit_log ADD COLUMN purged_hash BLOB;

-- Records up to legacy_through were written before the key and are checked
-- the old (keyless) way; `audit verify` reports them as unkeyed legacy
-- records. A purge checkpoint from before the key counts as legacy too.
CREATE TABLE audit_keying (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    legacy_through INTEGER NOT NULL
);
INSERT INTO audit_keying (id, legacy_through)
SELECT 1, MAX(
    COALESCE((SELECT MAX(sequence) FROM audit_log), 0),
    COALESCE((SELECT sequence FROM audit_checkpoint WHERE id = 1), 0)
);
