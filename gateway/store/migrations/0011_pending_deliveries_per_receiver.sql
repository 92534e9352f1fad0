-- The head of each receiver's queue (its oldest pending delivery) found
-- without reading the rest: an index of pending deliveries only, by
-- receiver and order. Claiming walks it receiver by receiver, so a claim
-- costs the same with ten pending deliveries or a million (a backlog after
-- a receiver's outage), and delivered rows never slow it down. It replaces
-- the index over all deliveries by receiver and state.
DROP INDEX deliveries_head_per_receiver;
CREATE INDEX deliveries_pending_per_receiver ON deliveries (receiver, id) WHERE state = 'pending';
