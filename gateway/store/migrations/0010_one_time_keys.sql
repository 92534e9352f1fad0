-- Keys that may be used once, such as a client assertion's issuer and jti
-- (RFC 7523): kept until they expire, shared by every gateway on the store.
CREATE TABLE one_time_keys (
    key        TEXT PRIMARY KEY,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX one_time_keys_by_expiry ON one_time_keys (expires_ms);
