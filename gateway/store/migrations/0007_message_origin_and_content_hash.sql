-- A message is the same one only when the same authenticated organisation
-- (`origin`, '' when the sender was not authenticated) sent the same sender
-- and control id: another organisation cannot squat a control id and have
-- the real message dropped as its duplicate. `content_hash` tells a resend
-- (same content) from a control id reused for other content, which is
-- refused; NULL for rows stored before it, and for derived rows that are
-- not compared.
ALTER TABLE messages ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN content_hash TEXT;
DROP INDEX messages_by_sender_and_control_id;
CREATE UNIQUE INDEX messages_by_origin_sender_and_control_id ON messages (origin, sender, control_id);
