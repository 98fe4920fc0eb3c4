-- 0003: the make-up of those elected (DOMAIN.md "What the province wants to
-- see"), per area of any level, computed from the stored candidate rows of
-- the latest revision of each result at the moment of asking.

SET search_path = tallyfeed, pg_catalog;

-- The units of each area of a level, under an area (or everywhere): one
-- definition for totals, composition and progress.
CREATE FUNCTION area_units(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (area_code text, unit_code char(12), mass_committee text)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    SELECT CASE p_level
               WHEN 'province' THEN up.province_code
               WHEN 'prefecture' THEN up.prefecture_code
               WHEN 'county' THEN up.county_code
               WHEN 'township' THEN up.township_code
           END::text,
           up.unit_code, up.mass_committee
    FROM unit_place up
    WHERE p_under IS NULL
       OR p_under IN (up.province_code, up.prefecture_code, up.county_code,
                      up.township_code, up.unit_code)
$$;

-- totals (0001) on area_units: the same figures.
CREATE OR REPLACE FUNCTION totals(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text,
               units_expected bigint,
               villagers_expected bigint, villagers_reported bigint,
               residents_expected bigint, residents_reported bigint,
               party_expected bigint, party_reported bigint,
               electorate bigint, voters bigint, turnout numeric,
               party_members bigint, party_present bigint,
               valid_elections bigint, invalid_elections bigint, runoffs_needed bigint)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    SELECT pl.area_code, a.name,
           count(*),
           count(*) FILTER (WHERE pl.mass_committee = 'villagers'),
           count(m.unit_code) FILTER (WHERE pl.mass_committee = 'villagers'),
           count(*) FILTER (WHERE pl.mass_committee = 'residents'),
           count(m.unit_code) FILTER (WHERE pl.mass_committee = 'residents'),
           count(*),
           count(pb.unit_code),
           coalesce(sum(m.registered), 0),
           coalesce(sum(m.took_part), 0),
           round(100.0 * sum(m.took_part) / nullif(sum(m.registered), 0), 2),
           coalesce(sum(pb.registered - pb.excused), 0),
           coalesce(sum(pb.took_part), 0),
           count(*) FILTER (WHERE m.election_valid) + count(*) FILTER (WHERE pb.election_valid),
           count(*) FILTER (WHERE NOT m.election_valid) + count(*) FILTER (WHERE NOT pb.election_valid),
           count(*) FILTER (WHERE m.runoff_needed) + count(*) FILTER (WHERE pb.runoff_needed)
    FROM area_units(p_level, p_under) pl
    JOIN area a ON a.code = pl.area_code AND a.level = p_level
    LEFT JOIN committee_outcome m
           ON m.unit_code = pl.unit_code AND m.committee = pl.mass_committee
    LEFT JOIN committee_outcome pb
           ON pb.unit_code = pl.unit_code AND pb.committee = 'party_branch'
    GROUP BY pl.area_code, a.name
    ORDER BY pl.area_code
$$;

-- Who holds a seat: the members elected in the latest revision of every
-- round of each unit's committee (a runoff fills the seats round 1 left).
-- age: in the year of the election.
CREATE VIEW elected_member AS
SELECT r.unit_code, r.committee, r.round, c.candidate_id, c.position_won, c.gender,
       c.ethnicity, c.education, c.party_member, c.reelected,
       extract(year FROM coalesce(r.held_on, current_date))::integer - c.birth_year AS age
FROM result_current r
JOIN candidate c ON c.message_id = r.message_id AND c.elected;

-- Per unit: its mass committee's head (主任) and its Party branch's head
-- (书记), by the pseudonymous id that is the same person in both results.
CREATE VIEW unit_heads AS
SELECT p.unit_code, p.mass_committee,
       (SELECT e.candidate_id FROM elected_member e
        WHERE e.unit_code = p.unit_code AND e.committee = p.mass_committee
          AND e.position_won = 'head' ORDER BY e.candidate_id LIMIT 1) AS chair,
       (SELECT e.candidate_id FROM elected_member e
        WHERE e.unit_code = p.unit_code AND e.committee = 'party_branch'
          AND e.position_won = 'head' ORDER BY e.candidate_id LIMIT 1) AS secretary
FROM unit_place p;

-- The make-up of those elected, per area of a level and committee:
--   members, heads; women and women heads; ethnic minorities (not 汉族);
--   ages known, average age, under 35, over 60; 大专 and above; Party
--   members; re-elected and new.  For the villagers' and residents'
--   committees also, derived from the two committees' results:
--   one_shoulder (一肩挑: units whose chair is the Party secretary) of
--   units_both_heads (units with both heads elected), and cross_serving
--   (交叉任职: members who also sit on the unit's Party committee).
CREATE FUNCTION composition(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text, committee text,
               members bigint, heads bigint, women bigint, women_heads bigint,
               minorities bigint, ages_known bigint, average_age numeric,
               under_35 bigint, over_60 bigint, college bigint, party_members bigint,
               reelected bigint, new_members bigint,
               one_shoulder bigint, units_both_heads bigint, cross_serving bigint)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
AS $$
    -- Each CTE reads the elected members once: a correlated subquery per
    -- unit (as unit_heads does) re-reads result_current every time and
    -- took 2 s for the province.
    WITH placed AS (SELECT * FROM area_units(p_level, p_under)),
    elected AS MATERIALIZED (
        SELECT pl.area_code, pl.mass_committee, e.*
        FROM placed pl JOIN elected_member e ON e.unit_code = pl.unit_code
    ),
    party AS (
        SELECT DISTINCT unit_code, candidate_id FROM elected WHERE committee = 'party_branch'
    ),
    members AS (
        SELECT e.*, (p.candidate_id IS NOT NULL) AS on_party_committee
        FROM elected e
        LEFT JOIN party p ON p.unit_code = e.unit_code AND p.candidate_id = e.candidate_id
    ),
    unit_head AS (
        SELECT unit_code,
               min(candidate_id) FILTER (WHERE committee = mass_committee
                                           AND position_won = 'head') AS chair,
               min(candidate_id) FILTER (WHERE committee = 'party_branch'
                                           AND position_won = 'head') AS secretary
        FROM elected
        GROUP BY unit_code
    ),
    heads AS (
        SELECT pl.area_code, pl.mass_committee,
               count(*) FILTER (WHERE h.chair IS NOT NULL AND h.secretary IS NOT NULL) AS both,
               count(*) FILTER (WHERE h.chair = h.secretary) AS same
        FROM placed pl JOIN unit_head h ON h.unit_code = pl.unit_code
        GROUP BY pl.area_code, pl.mass_committee
    )
    SELECT m.area_code, a.name, m.committee,
           count(*),
           count(*) FILTER (WHERE m.position_won = 'head'),
           count(*) FILTER (WHERE m.gender = 'female'),
           count(*) FILTER (WHERE m.gender = 'female' AND m.position_won = 'head'),
           count(*) FILTER (WHERE m.ethnicity IS NOT NULL AND m.ethnicity <> '汉族'),
           count(m.age),
           round(avg(m.age), 1),
           count(*) FILTER (WHERE m.age < 35),
           count(*) FILTER (WHERE m.age > 60),
           count(*) FILTER (WHERE m.education IN ('junior_college', 'bachelor', 'postgraduate')),
           count(*) FILTER (WHERE m.party_member),
           count(*) FILTER (WHERE m.reelected),
           count(*) FILTER (WHERE NOT m.reelected),
           CASE WHEN m.committee <> 'party_branch' THEN coalesce(max(h.same), 0) END,
           CASE WHEN m.committee <> 'party_branch' THEN coalesce(max(h.both), 0) END,
           CASE WHEN m.committee <> 'party_branch'
                THEN count(*) FILTER (WHERE m.on_party_committee) END
    FROM members m
    JOIN area a ON a.code = m.area_code AND a.level = p_level
    LEFT JOIN heads h ON h.area_code = m.area_code AND h.mass_committee = m.committee
    GROUP BY m.area_code, a.name, m.committee
    ORDER BY m.area_code, m.committee
$$;

ALTER VIEW elected_member OWNER TO tallyfeed_owner;
ALTER VIEW unit_heads OWNER TO tallyfeed_owner;
ALTER FUNCTION composition(text, text) OWNER TO tallyfeed_owner;
ALTER FUNCTION area_units(text, text) OWNER TO tallyfeed_owner;
GRANT SELECT ON elected_member, unit_heads TO tallyfeed_reader, tallyfeed_writer;
