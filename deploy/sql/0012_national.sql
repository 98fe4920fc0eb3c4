-- 0012: a national database, made of the provinces' own by PostgreSQL's
-- logical replication.  Each province's database publishes its registry,
-- its log (every signed envelope, every refused frame, the chains and the
-- heads its collectors signed), its results and its townships' tallies
-- (`tallyfeed db publish`: publication tallyfeed_national); the national
-- database, migrated like any other and holding no registry of its own,
-- subscribes to each (`tallyfeed db subscribe`: subscription
-- tallyfeed_CODE) and answers totals, progress and composition for the
-- country by province with the functions of 0009, from the same tables.
--
-- Replication applies rows by name and key, so nothing two provinces store
-- may share a key in the national database.  Codes begin with the
-- province's; message ids are random 16 bytes; chains are named by their
-- collectors (which must differ across the country; `db subscribe` refuses
-- a province whose chain the national database has already).  Only the
-- serial ids of message and quarantine are each database's own: they are
-- not published, and the national database numbers the rows as they
-- arrive.  So each table is applied by a key that holds everywhere: the
-- message id for message, the chain and link for quarantine.  The other
-- published tables are applied by their primary keys.

SET search_path = tallyfeed, pg_catalog;

ALTER TABLE message REPLICA IDENTITY USING INDEX message_message_id_key;
ALTER TABLE quarantine REPLICA IDENTITY USING INDEX quarantine_chain_link_key;

-- Per province the national database subscribes to (subscription
-- tallyfeed_CODE, in this database): how far its rows have come.
--   state         streaming; copying (the first copy of its tables, figures
--                 incomplete until every table is ready); stopped (no
--                 apply worker: it is starting, or failing, and then
--                 apply_errors counts and this server's log says why);
--                 disabled; no tables; on a standby (of the national
--                 database: the subscriptions' workers run on its primary,
--                 which alone can say)
--   as_of         while streaming: the time (the province server's clock)
--                 of the last position that server said it had sent
--                 everything up to (pg_stat_subscription.latest_end_time).
--                 Changes arrive and are applied in commit order, so every
--                 result the province had committed by then is here.  An
--                 idle province says so only when asked, about every
--                 wal_receiver_timeout / 2 of this server (30 s by default),
--                 so as_of may lag by that much with nothing missing.
--   behind_s      now() - as_of: at most this many seconds of the
--                 province's results can be missing here (the two servers'
--                 clocks assumed in step)
--   last_heard_s  seconds since the province's server last sent anything
CREATE VIEW province_replication AS
SELECT (p.code || '0000000000')::text AS code, p.name, s.subname::text AS subscription,
       CASE WHEN pg_is_in_recovery() THEN 'on a standby'
            WHEN NOT s.subenabled THEN 'disabled'
            WHEN w.pid IS NULL THEN 'stopped'
            WHEN t.total = 0 THEN 'no tables'
            WHEN t.ready < t.total THEN 'copying'
            ELSE 'streaming' END AS state,
       t.ready AS tables_ready, t.total AS tables,
       CASE WHEN s.subenabled AND w.pid IS NOT NULL AND t.total > 0 AND t.ready = t.total
            THEN w.latest_end_time END AS as_of,
       CASE WHEN s.subenabled AND w.pid IS NOT NULL AND t.total > 0 AND t.ready = t.total
            THEN round(extract(epoch FROM now() - w.latest_end_time), 1) END AS behind_s,
       round(extract(epoch FROM now() - w.last_msg_receipt_time), 1) AS last_heard_s,
       coalesce(e.apply_error_count, 0) AS apply_errors,
       coalesce(e.sync_error_count, 0) AS sync_errors
FROM pg_subscription s
JOIN province p ON s.subname = 'tallyfeed_' || p.code
LEFT JOIN pg_stat_subscription w ON w.subid = s.oid AND w.relid IS NULL
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE r.srsubstate = 'r') AS ready, count(*) AS total
    FROM pg_subscription_rel r WHERE r.srsubid = s.oid
) t
LEFT JOIN pg_stat_subscription_stats e ON e.subid = s.oid
WHERE s.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());

ALTER VIEW province_replication OWNER TO tallyfeed_owner;
GRANT SELECT ON province_replication TO tallyfeed_reader, tallyfeed_writer;
