-- Patients' choices (FHIR Consent), by patient (BSN).
CREATE TABLE consents (
    id          TEXT PRIMARY KEY,
    patient     TEXT NOT NULL,
    recorded_by TEXT,
    resource    TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX consents_by_patient ON consents (patient);

-- A delivery can be withheld by consent: a state of its own, never silent.
CREATE TABLE deliveries_v4 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL REFERENCES messages (id),
    receiver        TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead', 'withheld')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    updated_ms      INTEGER NOT NULL
);
INSERT INTO deliveries_v4 SELECT * FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v4 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX deliveries_head_per_receiver ON deliveries (receiver, state, id);
