-- Received messages, one row each; a resend (same sender and control id) is
-- recognised by the unique index and not stored twice.
CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    sender      TEXT NOT NULL,
    control_id  TEXT NOT NULL,
    format      TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    body        BLOB NOT NULL,
    bundle      TEXT
);
CREATE UNIQUE INDEX messages_by_sender_and_control_id ON messages (sender, control_id);

-- One row per receiver of a message: the delivery queue and its history.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL REFERENCES messages (id),
    receiver        TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    updated_ms      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_ms);
CREATE INDEX deliveries_by_message ON deliveries (message_id);
