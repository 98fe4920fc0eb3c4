-- 0006: the township status the county's ops staff watch (`tallyfeed
-- status`): per township, its agent's last heartbeat (spool depth, oldest
-- pending age), the results it has had accepted and rejected, and when
-- the last arrived.  A township no agent has been heard from is listed too.

SET search_path = tallyfeed, pg_catalog;

-- The township the agent's certificate names, written with each heartbeat.
ALTER TABLE agent_status ADD COLUMN township_code char(12);

CREATE VIEW township_status AS
WITH accepted AS (
    SELECT m.agent_id, count(*) AS results, max(m.received_at) AS last_result_at
    FROM message m JOIN result r ON r.message_id = m.message_id
    GROUP BY m.agent_id
),
rejected AS (
    SELECT agent_id, count(*) AS rejected, max(received_at) AS last_rejected_at
    FROM quarantine WHERE agent_id IS NOT NULL
    GROUP BY agent_id
),
agent AS (
    -- An agent's township: its certificate's (heartbeats), else the units
    -- of the results it sent.
    SELECT a.agent_id,
           coalesce(s.township_code::text,
                    (SELECT min(u.township_code)::text FROM message m
                     JOIN result r ON r.message_id = m.message_id
                     JOIN unit u ON u.code = r.unit_code
                     WHERE m.agent_id = a.agent_id)) AS township_code
    FROM (SELECT agent_id FROM agent_status UNION SELECT agent_id FROM accepted) a
    LEFT JOIN agent_status s ON s.agent_id = a.agent_id
)
SELECT t.code::text AS township_code, t.name AS township_name, t.county_code::text AS county_code,
       ag.agent_id, s.last_seen AS last_heartbeat,
       floor(extract(epoch FROM now() - s.last_seen))::bigint AS heartbeat_age_s,
       s.spool_depth, s.oldest_pending_age_s,
       coalesce(ac.results, 0) AS accepted, coalesce(rj.rejected, 0) AS rejected,
       ac.last_result_at
FROM township t
LEFT JOIN agent ag ON ag.township_code = t.code::text
LEFT JOIN agent_status s ON s.agent_id = ag.agent_id
LEFT JOIN accepted ac ON ac.agent_id = ag.agent_id
LEFT JOIN rejected rj ON rj.agent_id = ag.agent_id;

ALTER VIEW township_status OWNER TO tallyfeed_owner;
GRANT SELECT ON township_status TO tallyfeed_reader, tallyfeed_writer;
