-- 0005: what the dashboard (tallyfeed-web) asks besides the rollups: where
-- an area or a unit sits (its path from the province down), and each
-- unit's state per committee, the last step of the drill-down.

SET search_path = tallyfeed, pg_catalog;

-- Every area and unit with the code of the one it sits in.
CREATE VIEW area_tree AS
SELECT (code || '0000000000')::text AS code, name, 'province'::text AS level,
       NULL::text AS parent_code
FROM province
UNION ALL SELECT code::text, name, 'prefecture', (province_code || '0000000000')::text
FROM prefecture
UNION ALL SELECT code::text, name, 'county', prefecture_code::text FROM county
UNION ALL SELECT code::text, name, 'township', county_code::text FROM township
UNION ALL SELECT code::text, name, 'unit', township_code::text FROM unit;

-- From the province (depth 0) down to the area or unit with code p_code.
CREATE FUNCTION area_path(p_code text)
RETURNS TABLE (depth integer, code text, name text, level text)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    WITH RECURSIVE up (height, code, name, level, parent_code) AS (
        SELECT 0, t.code, t.name, t.level, t.parent_code
        FROM area_tree t WHERE t.code = p_code
        UNION ALL
        SELECT up.height + 1, t.code, t.name, t.level, t.parent_code
        FROM up JOIN area_tree t ON t.code = up.parent_code
    )
    SELECT (max(height) OVER () - height)::integer, code, name, level
    FROM up
    ORDER BY 1
$$;

-- Per unit and committee it elects: reported or not, the figures and
-- outcome of round 1's latest revision, the runoff owed, how many rounds
-- and revisions are stored, when the last arrived, and the flags.
CREATE VIEW unit_status AS
SELECT up.unit_code::text, up.unit_name, up.township_code::text, up.county_code::text,
       up.prefecture_code::text, up.province_code::text, c.committee,
       o.unit_code IS NOT NULL AS reported,
       o.registered, o.took_part,
       round(100.0 * o.took_part / nullif(o.registered, 0), 2) AS turnout,
       o.election_valid, o.seats_total, o.seats_filled, o.runoff_needed,
       h.rounds, coalesce(h.revisions, 0) AS revisions, h.last_received_at,
       h.warnings
FROM unit_place up
CROSS JOIN LATERAL (VALUES (up.mass_committee), ('party_branch')) AS c(committee)
LEFT JOIN committee_outcome o ON o.unit_code = up.unit_code AND o.committee = c.committee
LEFT JOIN LATERAL (
    SELECT max(r.round)::integer AS rounds, count(*)::integer AS revisions,
           max(m.received_at) AS last_received_at,
           (SELECT string_agg(DISTINCT w, ' ' ORDER BY w)
            FROM result_current rc, unnest(rc.warnings) AS w
            WHERE rc.unit_code = up.unit_code AND rc.committee = c.committee) AS warnings
    FROM result r
    JOIN message m ON m.message_id = r.message_id
    WHERE r.unit_code = up.unit_code AND r.committee = c.committee
) h ON true;

ALTER VIEW area_tree OWNER TO tallyfeed_owner;
ALTER FUNCTION area_path(text) OWNER TO tallyfeed_owner;
ALTER VIEW unit_status OWNER TO tallyfeed_owner;
GRANT SELECT ON area_tree, unit_status TO tallyfeed_reader, tallyfeed_writer;
