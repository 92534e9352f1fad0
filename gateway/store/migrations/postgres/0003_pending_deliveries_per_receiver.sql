-- The head of each receiver's queue without reading the rest; see the SQLite
-- migration 0011_pending_deliveries_per_receiver.sql.
DROP INDEX deliveries_head_per_receiver;
CREATE INDEX deliveries_pending_per_receiver ON deliveries (receiver, id) WHERE state = 'pending';
