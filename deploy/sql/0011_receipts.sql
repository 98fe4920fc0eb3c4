-- 0011: a quarantined frame is known by its bytes, not by the message id it
-- claims.  A refused envelope's message id is not proven (its signature may
-- be what failed), so a frame refused first under someone else's message id
-- must not keep that message's own refused frame out of the quarantine, nor
-- lend it its row: the collector's receipt of a REJECTED message names the
-- quarantine row of exactly the bytes it received (raw_sha256).

SET search_path = tallyfeed, pg_catalog;

ALTER TABLE quarantine DROP CONSTRAINT quarantine_message_id_key;
CREATE INDEX quarantine_message_id ON quarantine (message_id);
