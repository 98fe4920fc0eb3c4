-- 0009: the figures of each township, kept as results arrive, so that the
-- province's and the country's totals, progress and composition add up a
-- few thousand township rows instead of scanning every result and every
-- candidate when asked (the whole country, 1.2 M results and 9 M candidate
-- rows: 18 s, 18 s and 85 s before; tests/bench/national).
--
-- township_tally holds, per township and committee, what the three
-- rollups need of the stored results: the latest revision of each round
-- counts, exactly as in totals (0003), progress (0004) and composition
-- (0003), which tally_compute follows line by line.  It is derived: the
-- collector never writes it.  A trigger names, in the transaction that
-- stores the results, their townships as pending (tally_pending); a
-- pending township's row is computed again later, off the path of the
-- collector's commit, by tally_refresh (each collector's tallier thread
-- calls it every half second), and until then the rollups compute that
-- township from its results as they answer: in every snapshot a township
-- is either pending or its row is up to date with its stored results, so
-- the figures are right the moment the results are committed.
-- `tallyfeed verify` recomputes every row that is not pending from the
-- stored results (which it checks against the signed envelopes) and names
-- any township whose row differs.

SET search_path = tallyfeed, pg_catalog;

CREATE TABLE township_tally (
    township_code   char(12) NOT NULL REFERENCES township,
    committee       text NOT NULL CHECK (committee IN ('villagers', 'residents', 'party_branch')),
    -- units expected: whose mass committee this is (every unit for the
    -- Party branch), from the registry
    units           bigint NOT NULL,
    -- committee_outcome (round 1, latest revision) of the township's units
    reported        bigint NOT NULL,
    registered      bigint NOT NULL,
    excused         bigint NOT NULL,
    took_part       bigint NOT NULL,
    valid           bigint NOT NULL,
    invalid         bigint NOT NULL,
    first_round_success bigint NOT NULL,
    runoffs_needed  bigint NOT NULL,
    -- elected_member (every round, latest revision) of this committee
    members         bigint NOT NULL,
    heads           bigint NOT NULL,
    women           bigint NOT NULL,
    women_heads     bigint NOT NULL,
    minorities      bigint NOT NULL,
    ages_known      bigint NOT NULL,
    age_sum         bigint NOT NULL,
    under_35        bigint NOT NULL,
    over_60         bigint NOT NULL,
    college         bigint NOT NULL,
    party_members   bigint NOT NULL,
    reelected       bigint NOT NULL,
    new_members     bigint NOT NULL,
    cross_serving   bigint NOT NULL,
    -- units whose mass committee this is, with both heads elected, and
    -- with the chair the Party secretary (一肩挑); 0 on party_branch rows
    units_both_heads bigint NOT NULL,
    one_shoulder    bigint NOT NULL,
    PRIMARY KEY (township_code, committee)
);

-- Townships whose rows are to be computed again, and how often they were
-- marked.  A transaction storing results bumps its townships' version here
-- (an upsert: the row is its until it commits).  tally_refresh reads the
-- versions, computes the rows, and deletes only the entries whose version
-- is still the one it read: a transaction that stored results for one of
-- them meanwhile has moved it on (or is waited for, and then has), so the
-- township stays pending and is computed again.  The refresh never holds a
-- row a writer needs while it computes: writers wait on it only for the
-- instant between its last DELETE and its COMMIT.  No figure is lost
-- between two collectors, or an importer and an agent, storing for one
-- township.
CREATE TABLE tally_pending (
    township_code   char(12) PRIMARY KEY,
    version         bigint NOT NULL DEFAULT 1
);

-- The rows of township_tally for these townships, from the stored results.
CREATE FUNCTION tally_compute(p_townships char(12)[])
RETURNS SETOF township_tally
LANGUAGE sql STABLE
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
    WITH u AS (
        SELECT code AS unit_code, township_code, mass_committee
        FROM unit WHERE township_code = ANY (p_townships)
    ),
    cur AS (
        SELECT DISTINCT ON (r.unit_code, r.committee, r.round) r.*
        FROM result r JOIN u ON u.unit_code = r.unit_code
        ORDER BY r.unit_code, r.committee, r.round, r.revision DESC
    ),
    outcome AS (        -- committee_outcome, for the units' own committees
        SELECT u.township_code, r1.committee, r1.registered, r1.excused, r1.took_part,
               r1.election_valid,
               r1.seats_head + r1.seats_deputy + r1.seats_member AS seats_total,
               r1.seats_filled,
               (r1.election_valid
                AND r1.seats_filled < r1.seats_head + r1.seats_deputy + r1.seats_member
                AND NOT EXISTS (SELECT 1 FROM result r2
                                WHERE r2.unit_code = r1.unit_code
                                  AND r2.committee = r1.committee AND r2.round = 2))
                   AS runoff_needed
        FROM cur r1 JOIN u ON u.unit_code = r1.unit_code
                          AND r1.committee IN (u.mass_committee, 'party_branch')
        WHERE r1.round = 1
    ),
    elected AS (        -- elected_member
        SELECT u.township_code, u.mass_committee, r.unit_code, r.committee, c.candidate_id,
               c.position_won, c.gender, c.ethnicity, c.education, c.party_member, c.reelected,
               extract(year FROM coalesce(r.held_on, current_date))::integer - c.birth_year AS age
        FROM cur r JOIN u ON u.unit_code = r.unit_code
        JOIN candidate c ON c.message_id = r.message_id AND c.elected
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
        SELECT township_code, mass_committee, unit_code,
               min(candidate_id) FILTER (WHERE committee = mass_committee
                                           AND position_won = 'head') AS chair,
               min(candidate_id) FILTER (WHERE committee = 'party_branch'
                                           AND position_won = 'head') AS secretary
        FROM elected
        GROUP BY township_code, mass_committee, unit_code
    ),
    keys AS (
        SELECT township_code, committee, sum(n) AS units FROM (
            SELECT township_code, mass_committee AS committee, count(*) AS n FROM u GROUP BY 1, 2
            UNION ALL SELECT township_code, 'party_branch', count(*) FROM u GROUP BY 1
            UNION ALL SELECT DISTINCT township_code, committee, 0 FROM elected) x
        GROUP BY 1, 2
    ),
    o AS (
        SELECT township_code, committee, count(*) AS reported,
               sum(registered) AS registered, sum(excused) AS excused,
               sum(took_part) AS took_part,
               count(*) FILTER (WHERE election_valid) AS valid,
               count(*) FILTER (WHERE NOT election_valid) AS invalid,
               count(*) FILTER (WHERE election_valid AND seats_filled = seats_total) AS first_round,
               count(*) FILTER (WHERE runoff_needed) AS runoffs
        FROM outcome GROUP BY township_code, committee
    ),
    m AS (
        SELECT township_code, committee,
               count(*) AS members,
               count(*) FILTER (WHERE position_won = 'head') AS heads,
               count(*) FILTER (WHERE gender = 'female') AS women,
               count(*) FILTER (WHERE gender = 'female' AND position_won = 'head') AS women_heads,
               count(*) FILTER (WHERE ethnicity IS NOT NULL AND ethnicity <> '汉族') AS minorities,
               count(age) AS ages_known, sum(age) AS age_sum,
               count(*) FILTER (WHERE age < 35) AS under_35,
               count(*) FILTER (WHERE age > 60) AS over_60,
               count(*) FILTER (WHERE education IN ('junior_college', 'bachelor', 'postgraduate'))
                   AS college,
               count(*) FILTER (WHERE party_member) AS party_members,
               count(*) FILTER (WHERE reelected) AS reelected,
               count(*) FILTER (WHERE NOT reelected) AS new_members,
               count(*) FILTER (WHERE on_party_committee) AS cross_serving
        FROM members GROUP BY township_code, committee
    ),
    h AS (
        SELECT township_code, mass_committee AS committee,
               count(*) FILTER (WHERE chair IS NOT NULL AND secretary IS NOT NULL) AS both_heads,
               count(*) FILTER (WHERE chair = secretary) AS same
        FROM unit_head GROUP BY township_code, mass_committee
    )
    SELECT k.township_code, k.committee, k.units::bigint,
           coalesce(o.reported, 0), coalesce(o.registered, 0), coalesce(o.excused, 0),
           coalesce(o.took_part, 0), coalesce(o.valid, 0), coalesce(o.invalid, 0),
           coalesce(o.first_round, 0), coalesce(o.runoffs, 0),
           coalesce(m.members, 0), coalesce(m.heads, 0), coalesce(m.women, 0),
           coalesce(m.women_heads, 0), coalesce(m.minorities, 0), coalesce(m.ages_known, 0),
           coalesce(m.age_sum, 0), coalesce(m.under_35, 0), coalesce(m.over_60, 0),
           coalesce(m.college, 0), coalesce(m.party_members, 0), coalesce(m.reelected, 0),
           coalesce(m.new_members, 0), coalesce(m.cross_serving, 0),
           coalesce(h.both_heads, 0), coalesce(h.same, 0)
    FROM keys k
    LEFT JOIN o ON o.township_code = k.township_code AND o.committee = k.committee
    LEFT JOIN m ON m.township_code = k.township_code AND m.committee = k.committee
    LEFT JOIN h ON h.township_code = k.township_code AND h.committee = k.committee
$$;

-- Stored results name their townships as pending (once per transaction).
CREATE FUNCTION tally_mark_results() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
BEGIN
    -- A new version even when it was pending already (see tally_pending).
    -- In code order, so that two transactions lock their townships alike.
    INSERT INTO tally_pending (township_code)
    SELECT DISTINCT u.township_code FROM new_rows n JOIN unit u ON u.code = n.unit_code
    ORDER BY 1
    ON CONFLICT (township_code) DO UPDATE SET version = tally_pending.version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER result_tally AFTER INSERT ON result
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_mark_results();

-- A unit added (the registry loaded), moved to another township or of
-- another kind: its townships' expected units change.
CREATE FUNCTION tally_mark_unit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tally_pending (township_code) VALUES (OLD.township_code)
        ON CONFLICT (township_code) DO UPDATE SET version = tally_pending.version + 1;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO tally_pending (township_code) VALUES (NEW.township_code)
        ON CONFLICT (township_code) DO UPDATE SET version = tally_pending.version + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER unit_tally_insert AFTER INSERT OR DELETE ON unit
    FOR EACH ROW EXECUTE FUNCTION tally_mark_unit();
CREATE TRIGGER unit_tally_update AFTER UPDATE OF township_code, kind ON unit
    FOR EACH ROW
    WHEN (OLD.township_code IS DISTINCT FROM NEW.township_code OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION tally_mark_unit();

-- Compute again the rows of at most p_max pending townships; their
-- number.  Called (by tallyfeed_writer) in a transaction of its own.  Two
-- refreshes (two collectors' talliers) take different townships: each
-- holds a transaction-scoped advisory lock on those it computes and passes
-- over those another holds.  The candidates are limited before any lock
-- is tried, so a call takes at most 2 * p_max locks however many are
-- pending.
CREATE FUNCTION tally_refresh(p_max integer) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
DECLARE
    towns char(12)[];
    versions bigint[];
BEGIN
    SELECT array_agg(c.township_code ORDER BY c.township_code),
           array_agg(c.version ORDER BY c.township_code)
    INTO towns, versions
    FROM (SELECT township_code, version FROM tally_pending
          ORDER BY township_code LIMIT 2 * p_max) c
    WHERE pg_try_advisory_xact_lock(29793, hashtext(c.township_code));    -- 29793: 'ta'
    IF towns IS NULL THEN
        RETURN 0;
    END IF;
    towns := towns[1:p_max];
    versions := versions[1:p_max];
    DELETE FROM township_tally WHERE township_code = ANY (towns);
    INSERT INTO township_tally SELECT * FROM tally_compute(towns);
    -- Done, unless results came meanwhile: a version moved on stays.
    DELETE FROM tally_pending p
    USING unnest(towns, versions) AS d(township_code, version)
    WHERE p.township_code = d.township_code AND p.version = d.version;
    RETURN cardinality(towns);
END
$$;
REVOKE ALL ON FUNCTION tally_refresh(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tally_refresh(integer) TO tallyfeed_writer;

-- Every township of the registry, with whatever is stored already.
INSERT INTO township_tally SELECT * FROM tally_compute(ARRAY(SELECT code FROM township));

-- The three rollups read the tallies; the scans they replace stay, under
-- the old names with _scan, for an area under a single unit (which no
-- township row can answer) and for verify to compare with.
ALTER FUNCTION totals(text, text) RENAME TO totals_scan;
ALTER FUNCTION progress(text, text) RENAME TO progress_scan;
ALTER FUNCTION composition(text, text) RENAME TO composition_scan;

-- How many leading digits of p_under its townships share: 2, 4, 6 or 9
-- (a province, prefecture, county or township code); 12 for a unit or
-- anything else; 0 for none.
CREATE FUNCTION under_prefix(p_under text) RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN p_under IS NULL THEN 0
                WHEN p_under ~ '^[0-9]{2}0{10}$' THEN 2
                WHEN p_under ~ '^[0-9]{4}0{8}$' THEN 4
                WHEN p_under ~ '^[0-9]{6}0{6}$' THEN 6
                WHEN p_under ~ '^[0-9]{9}000$' THEN 9
                ELSE 12 END
$$;

-- The area of a level a township lies in.
CREATE FUNCTION township_area(p_level text, p_township char(12)) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_level
               WHEN 'province' THEN left(p_township, 2) || '0000000000'
               WHEN 'prefecture' THEN left(p_township, 4) || '00000000'
               WHEN 'county' THEN left(p_township, 6) || '000000'
               WHEN 'township' THEN p_township::text
           END
$$;

-- The tallies per area and committee.
CREATE FUNCTION area_tally(p_level text, p_under text)
RETURNS TABLE (area_code text, committee text, units bigint, reported bigint, registered bigint,
               excused bigint, took_part bigint, valid bigint, invalid bigint,
               first_round_success bigint, runoffs_needed bigint, members bigint,
               heads bigint, women bigint, women_heads bigint, minorities bigint,
               ages_known bigint, age_sum bigint, under_35 bigint, over_60 bigint,
               college bigint, party_members bigint, reelected bigint, new_members bigint,
               cross_serving bigint, units_both_heads bigint, one_shoulder bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
    SELECT township_area(p_level, t.township_code), t.committee,
           sum(t.units)::bigint, sum(t.reported)::bigint, sum(t.registered)::bigint, sum(t.excused)::bigint,
           sum(t.took_part)::bigint, sum(t.valid)::bigint, sum(t.invalid)::bigint,
           sum(t.first_round_success)::bigint, sum(t.runoffs_needed)::bigint,
           sum(t.members)::bigint, sum(t.heads)::bigint, sum(t.women)::bigint,
           sum(t.women_heads)::bigint, sum(t.minorities)::bigint, sum(t.ages_known)::bigint,
           sum(t.age_sum)::bigint, sum(t.under_35)::bigint, sum(t.over_60)::bigint,
           sum(t.college)::bigint, sum(t.party_members)::bigint, sum(t.reelected)::bigint,
           sum(t.new_members)::bigint, sum(t.cross_serving)::bigint,
           sum(t.units_both_heads)::bigint, sum(t.one_shoulder)::bigint
    FROM (
        -- Up to date: the rows of townships not pending; the pending ones
        -- computed now from their results.
        SELECT * FROM township_tally k
        WHERE NOT EXISTS (SELECT 1 FROM tally_pending p WHERE p.township_code = k.township_code)
        UNION ALL
        SELECT * FROM tally_compute(ARRAY(
            SELECT p.township_code FROM tally_pending p
            WHERE p_under IS NULL
               OR left(p.township_code, under_prefix(p_under)) = left(p_under, under_prefix(p_under))))
    ) t
    WHERE p_under IS NULL
       OR left(t.township_code, under_prefix(p_under)) = left(p_under, under_prefix(p_under))
    GROUP BY 1, 2
$$;

CREATE FUNCTION totals(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text,
               units_expected bigint,
               villagers_expected bigint, villagers_reported bigint,
               residents_expected bigint, residents_reported bigint,
               party_expected bigint, party_reported bigint,
               electorate bigint, voters bigint, turnout numeric,
               party_members bigint, party_present bigint,
               valid_elections bigint, invalid_elections bigint, runoffs_needed bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF under_prefix(p_under) = 12 THEN
        RETURN QUERY SELECT * FROM totals_scan(p_level, p_under);
        RETURN;
    END IF;
    RETURN QUERY
    WITH t AS (
        SELECT y.area_code,
               sum(y.units) FILTER (WHERE y.committee = 'party_branch') AS units,
               coalesce(sum(y.units) FILTER (WHERE y.committee = 'villagers'), 0) AS ve,
               coalesce(sum(y.units) FILTER (WHERE y.committee = 'residents'), 0) AS re,
               coalesce(sum(y.reported) FILTER (WHERE y.committee = 'villagers'), 0) AS v,
               coalesce(sum(y.reported) FILTER (WHERE y.committee = 'residents'), 0) AS r,
               coalesce(sum(y.reported) FILTER (WHERE y.committee = 'party_branch'), 0) AS p,
               sum(y.registered) FILTER (WHERE y.committee <> 'party_branch') AS registered,
               sum(y.took_part) FILTER (WHERE y.committee <> 'party_branch') AS took_part,
               sum(y.reported) FILTER (WHERE y.committee <> 'party_branch') AS mass_reported,
               sum(y.registered - y.excused) FILTER (WHERE y.committee = 'party_branch') AS members,
               sum(y.took_part) FILTER (WHERE y.committee = 'party_branch') AS present,
               sum(y.valid) AS valid, sum(y.invalid) AS invalid, sum(y.runoffs_needed) AS runoffs
        FROM area_tally(p_level, p_under) y GROUP BY y.area_code
    )
    SELECT t.area_code, a.name, t.units::bigint, t.ve::bigint, t.v::bigint, t.re::bigint,
           t.r::bigint, t.units::bigint, t.p::bigint,
           coalesce(t.registered, 0)::bigint, coalesce(t.took_part, 0)::bigint,
           CASE WHEN t.mass_reported > 0
                THEN round(100.0 * t.took_part / nullif(t.registered, 0), 2) END,
           coalesce(t.members, 0)::bigint, coalesce(t.present, 0)::bigint,
           coalesce(t.valid, 0)::bigint, coalesce(t.invalid, 0)::bigint,
           coalesce(t.runoffs, 0)::bigint
    FROM t
    JOIN area a ON a.code = t.area_code AND a.level = p_level
    WHERE t.units > 0
    ORDER BY t.area_code;
END
$$;

CREATE FUNCTION progress(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text, committee text, expected bigint, reported bigint,
               outstanding bigint, valid bigint, first_round_success bigint,
               runoffs_pending bigint, invalid bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF under_prefix(p_under) = 12 THEN
        RETURN QUERY SELECT * FROM progress_scan(p_level, p_under);
        RETURN;
    END IF;
    RETURN QUERY
    SELECT t.area_code, a.name, t.committee, t.units, t.reported, t.units - t.reported,
           t.valid, t.first_round_success, t.runoffs_needed, t.invalid
    FROM area_tally(p_level, p_under) t
    JOIN area a ON a.code = t.area_code AND a.level = p_level
    WHERE t.units > 0
    ORDER BY t.area_code, t.committee;
END
$$;

CREATE FUNCTION composition(p_level text, p_under text DEFAULT NULL)
RETURNS TABLE (code text, name text, committee text,
               members bigint, heads bigint, women bigint, women_heads bigint,
               minorities bigint, ages_known bigint, average_age numeric,
               under_35 bigint, over_60 bigint, college bigint, party_members bigint,
               reelected bigint, new_members bigint,
               one_shoulder bigint, units_both_heads bigint, cross_serving bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, tallyfeed, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF under_prefix(p_under) = 12 THEN
        RETURN QUERY SELECT * FROM composition_scan(p_level, p_under);
        RETURN;
    END IF;
    RETURN QUERY
    SELECT t.area_code, a.name, t.committee, t.members, t.heads, t.women, t.women_heads,
           t.minorities, t.ages_known, round(t.age_sum::numeric / nullif(t.ages_known, 0), 1),
           t.under_35, t.over_60, t.college, t.party_members, t.reelected, t.new_members,
           CASE WHEN t.committee <> 'party_branch' THEN t.one_shoulder END,
           CASE WHEN t.committee <> 'party_branch' THEN t.units_both_heads END,
           CASE WHEN t.committee <> 'party_branch' THEN t.cross_serving END
    FROM area_tally(p_level, p_under) t
    JOIN area a ON a.code = t.area_code AND a.level = p_level
    WHERE t.members > 0
    ORDER BY t.area_code, t.committee;
END
$$;

ALTER TABLE township_tally OWNER TO tallyfeed_owner;
ALTER TABLE tally_pending OWNER TO tallyfeed_owner;
ALTER FUNCTION tally_compute(char(12)[]) OWNER TO tallyfeed_owner;
ALTER FUNCTION tally_mark_results() OWNER TO tallyfeed_owner;
ALTER FUNCTION tally_mark_unit() OWNER TO tallyfeed_owner;
ALTER FUNCTION tally_refresh(integer) OWNER TO tallyfeed_owner;
ALTER FUNCTION under_prefix(text) OWNER TO tallyfeed_owner;
ALTER FUNCTION township_area(text, char(12)) OWNER TO tallyfeed_owner;
ALTER FUNCTION area_tally(text, text) OWNER TO tallyfeed_owner;
ALTER FUNCTION totals(text, text) OWNER TO tallyfeed_owner;
ALTER FUNCTION progress(text, text) OWNER TO tallyfeed_owner;
ALTER FUNCTION composition(text, text) OWNER TO tallyfeed_owner;
GRANT SELECT ON township_tally, tally_pending TO tallyfeed_reader, tallyfeed_writer;
