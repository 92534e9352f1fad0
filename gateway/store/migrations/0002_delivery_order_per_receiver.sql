-- Deliveries leave in order per receiver: only the oldest pending delivery
-- of a receiver is ever due. This index finds it.
CREATE INDEX deliveries_head_per_receiver ON deliveries (receiver, state, id);
