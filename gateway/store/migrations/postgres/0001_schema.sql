-- The PostgreSQL schema: the SQLite schema after its migrations 0001-0009,
-- in PostgreSQL's types. See the SQLite migrations for why each part is there.

-- Received messages; a resend (same authenticated origin, sender and control
-- id) is recognised by the unique index and not stored twice.
CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    sender       TEXT NOT NULL,
    control_id   TEXT NOT NULL,
    format       TEXT NOT NULL,
    received_ms  BIGINT NOT NULL,
    body         BYTEA NOT NULL,
    patient      TEXT,
    origin       TEXT NOT NULL DEFAULT '',
    content_hash TEXT
);
CREATE UNIQUE INDEX messages_by_origin_sender_and_control_id ON messages (origin, sender, control_id);
CREATE INDEX messages_by_patient ON messages (patient, received_ms);

-- The delivery queue. `claim` and `claimed_until`: the one attempt in flight
-- and its lease (docs/decisions/0005-delivery-claims.md); replicas claim with
-- FOR UPDATE SKIP LOCKED.
CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages (id),
    receiver        TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead', 'withheld')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    last_error      TEXT,
    updated_ms      BIGINT NOT NULL,
    claim           TEXT,
    claimed_until   BIGINT
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX deliveries_by_message ON deliveries (message_id);
CREATE INDEX deliveries_head_per_receiver ON deliveries (receiver, state, id);

-- The audit log (NEN 7513): append-only, each record MAC'd over every column
-- and linked to the one before (zorgpoort-audit's chain module). Writers
-- append one at a time under an advisory lock, so replicas keep one chain.
CREATE TABLE audit_log (
    sequence       BIGINT PRIMARY KEY,
    recorded_ms    BIGINT NOT NULL,
    patient        TEXT,
    organization   TEXT,
    event          TEXT NOT NULL,
    previous       BYTEA NOT NULL,
    hash           BYTEA NOT NULL,
    anchored       BIGINT,
    purged_through BIGINT,
    purged_hash    BYTEA
);
CREATE INDEX audit_by_patient ON audit_log (patient, recorded_ms);
CREATE INDEX audit_by_time ON audit_log (recorded_ms);

-- No UPDATE ever, and DELETE only by the purge after the retention period,
-- which says so for its own transaction (`SET LOCAL zorgpoort.purging`).
-- Whoever can drop this trigger can change rows; the MACs are what find it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('zorgpoort.purging', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Where the chain starts once old records are purged.
CREATE TABLE audit_checkpoint (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL,
    hash     BYTEA NOT NULL
);

-- A PostgreSQL store never held records from before the keyed chain.
CREATE TABLE audit_keying (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    legacy_through BIGINT NOT NULL
);
INSERT INTO audit_keying (id, legacy_through) VALUES (1, 0);

-- Patients' choices (FHIR Consent), by patient (BSN).
CREATE TABLE consents (
    id          TEXT PRIMARY KEY,
    patient     TEXT NOT NULL,
    recorded_by TEXT,
    resource    TEXT NOT NULL,
    updated_ms  BIGINT NOT NULL
);
CREATE INDEX consents_by_patient ON consents (patient);

-- eOverdracht handover Tasks; `version` guards concurrent changes.
CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    requester   TEXT NOT NULL,
    owner       TEXT NOT NULL,
    patient     TEXT,
    status      TEXT NOT NULL,
    document    TEXT NOT NULL REFERENCES messages (id),
    composition TEXT NOT NULL,
    resource    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL,
    due_ms      BIGINT NOT NULL,
    notified_ms BIGINT,
    flagged     BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX tasks_by_requester ON tasks (requester, updated_ms);
CREATE INDEX tasks_by_owner ON tasks (owner, updated_ms);
CREATE INDEX tasks_by_composition ON tasks (composition);
CREATE INDEX tasks_to_follow ON tasks (status, notified_ms, flagged, due_ms);
