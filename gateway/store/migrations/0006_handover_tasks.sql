-- The BgZ gathers what the gateway holds for a patient.
CREATE INDEX messages_by_patient ON messages (patient, received_ms);

-- eOverdracht: one row per handover Task the gateway holds for a sender.
-- `version` guards concurrent status changes (optimistic locking).
CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    requester   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    patient     TEXT,
    status      TEXT NOT NULL,
    document    TEXT NOT NULL REFERENCES messages (id),
    composition TEXT NOT NULL,
    resource    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    due_ms      INTEGER NOT NULL,
    notified_ms INTEGER,
    flagged     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tasks_by_requester ON tasks (requester, updated_ms);
CREATE INDEX tasks_by_owner ON tasks (owner, updated_ms);
CREATE INDEX tasks_by_composition ON tasks (composition);
-- What the follow-up loop looks at: not yet notified, or waiting for pickup.
CREATE INDEX tasks_to_follow ON tasks (status, notified_ms, flagged, due_ms);
