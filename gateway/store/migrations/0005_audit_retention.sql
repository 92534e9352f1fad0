-- Where the audit chain starts once old records are purged after the
-- retention period: the number and hash of the last purged record.
CREATE TABLE audit_checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL,
    hash     BLOB NOT NULL
);
