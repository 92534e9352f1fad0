-- One attempt at a time per delivery: a worker claims a due delivery before
-- it sends it (`claim` names that one claim, `claimed_until` is when the
-- lease ends if the worker dies), and records the result only under that
-- claim, which clears it. An unclaimed or expired delivery can be claimed.
-- See docs/decisions/0005-delivery-claims.md.
ALTER TABLE deliveries ADD COLUMN claim TEXT;
ALTER TABLE deliveries ADD COLUMN claimed_until INTEGER;
