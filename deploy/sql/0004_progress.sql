-- 0004: progress and the questions the provincial office asks of one area
-- or one unit: what is outstanding, where a runoff is owed, and every
-- revision of a unit's results with who sent it.

SET search_path = tallyfeed, pg_catalog;

-- Per area of a level and committee: units expected, reported (round 1
-- stored), valid elections, first-round successes (valid, every seat filled
-- in round 1), runoffs pending, invalid elections, outstanding.
CREATE FUNCTION progress(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text, committee text, expected bigint, reported bigint,
               outstanding bigint, valid bigint, first_round_success bigint,
               runoffs_pending bigint, invalid bigint)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    WITH expected AS (
        SELECT au.area_code, au.unit_code, c.committee
        FROM area_units(p_level, p_under) au
        CROSS JOIN LATERAL (VALUES (au.mass_committee), ('party_branch')) AS c(committee)
    )
    SELECT e.area_code, a.name, e.committee,
           count(*),
           count(o.unit_code),
           count(*) - count(o.unit_code),
           count(*) FILTER (WHERE o.election_valid),
           count(*) FILTER (WHERE o.election_valid AND o.seats_filled = o.seats_total),
           count(*) FILTER (WHERE o.runoff_needed),
           count(*) FILTER (WHERE NOT o.election_valid)
    FROM expected e
    JOIN area a ON a.code = e.area_code AND a.level = p_level
    LEFT JOIN committee_outcome o ON o.unit_code = e.unit_code AND o.committee = e.committee
    GROUP BY e.area_code, a.name, e.committee
    ORDER BY e.area_code, e.committee
$$;

-- The units and committees with no round 1 stored, inside an area.
CREATE VIEW outstanding AS
SELECT up.unit_code, up.unit_name, up.township_code, t.name AS township_name,
       up.county_code, up.prefecture_code, up.province_code, c.committee
FROM unit_place up
JOIN township t ON t.code = up.township_code
CROSS JOIN LATERAL (VALUES (up.mass_committee), ('party_branch')) AS c(committee)
WHERE NOT EXISTS (SELECT 1 FROM result r
                  WHERE r.unit_code = up.unit_code AND r.committee = c.committee
                    AND r.round = 1);

-- Where a runoff is owed: a valid round 1 left seats, and no round 2 is stored.
CREATE VIEW runoff_pending AS
SELECT up.unit_code, up.unit_name, up.township_code, t.name AS township_name,
       up.county_code, up.prefecture_code, up.province_code, o.committee,
       o.seats_total, o.seats_filled, o.seats_total - o.seats_filled AS seats_open
FROM committee_outcome o
JOIN unit_place up ON up.unit_code = o.unit_code
JOIN township t ON t.code = up.township_code
WHERE o.runoff_needed;

-- Every revision of every round of a unit's results: who sent it, when,
-- whether it counts, its flags, and what the signature rests on.
CREATE VIEW unit_history AS
SELECT r.unit_code, r.committee, r.round, r.revision,
       (r.revision = max(r.revision) OVER (PARTITION BY r.unit_code, r.committee, r.round))
           AS counts,
       m.agent_id, m.sequence, m.created_at, m.received_at, encode(m.message_id, 'hex') AS message_id,
       r.registered, r.took_part, r.ballots_valid, r.election_valid, r.seats_filled,
       r.seats_head + r.seats_deputy + r.seats_member AS seats_total,
       array_to_string(r.warnings, ' ') AS warnings,
       length(m.signature) AS signature_bytes, encode(m.envelope_sha256, 'hex') AS envelope_sha256,
       m.chain, m.link
FROM result r
JOIN message m ON m.message_id = r.message_id;

ALTER FUNCTION progress(text, text) OWNER TO tallyfeed_owner;
ALTER VIEW outstanding OWNER TO tallyfeed_owner;
ALTER VIEW runoff_pending OWNER TO tallyfeed_owner;
ALTER VIEW unit_history OWNER TO tallyfeed_owner;
GRANT SELECT ON outstanding, runoff_pending, unit_history TO tallyfeed_reader, tallyfeed_writer;
