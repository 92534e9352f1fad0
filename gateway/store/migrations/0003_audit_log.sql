-- The audit log (NEN 7513): append-only, each record chained to the one
-- before by hash (see zorgpoort-audit). The patient column serves the
-- patient's right to see who accessed their data.
CREATE TABLE audit_log (
    sequence     INTEGER PRIMARY KEY,
    recorded_ms  INTEGER NOT NULL,
    patient      TEXT,
    organization TEXT,
    event        TEXT NOT NULL,
    previous     BLOB NOT NULL,
    hash         BLOB NOT NULL
);
CREATE INDEX audit_by_patient ON audit_log (patient, recorded_ms);
CREATE INDEX audit_by_time ON audit_log (recorded_ms);

CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Whose data a message holds, for the audit events of its deliveries.
ALTER TABLE messages ADD COLUMN patient TEXT;
