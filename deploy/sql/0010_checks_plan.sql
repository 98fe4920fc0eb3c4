-- 0010: the collector's per-batch checks (0002) planned once per session,
-- not at every batch.  A SQL function with SET clauses is planned at each
-- call; batch_checks' six branches took 2 to 3 ms to plan against well
-- under 1 ms to run, the largest fixed cost of a small batch (collector -v
-- timing: checks 2.2 ms of a 4.9 ms transaction for one message).  As
-- PL/pgSQL its query's plan is cached by the session, and generic (it is
-- index probes for any batch size, as the SET clauses below already force;
-- a custom plan would be planned again each call).  Same query, same rows.

SET search_path = tallyfeed, pg_catalog;

CREATE OR REPLACE FUNCTION batch_checks(p_ids text[], p_units text[], p_committees text[],
                             p_rounds integer[], p_revisions integer[],
                             p_agents text[], p_sequences bigint[], p_photos text[],
                             p_registered integer[], p_took_part integer[],
                             p_issued integer[], p_returned integer[],
                             p_valid integer[], p_invalid integer[])
RETURNS TABLE (kind text, item integer, election_valid boolean,
               unfilled_head integer, unfilled_deputy integer, unfilled_member integer)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, tallyfeed, pg_temp
-- Every lookup here is by key, a batch's worth of index probes.  On
-- election night the tables grow from empty faster than autovacuum
-- re-analyses them; planned from statistics that say "empty", these joins
-- became hash joins over whole tables, and a batch cost as much as the
-- table was large (seen in tests/bench/ingest: one run in four stalled for
-- a minute).  So: index probes, whatever the statistics say.
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    -- unit as char(12), the column's type: compared as text, the indexes
    -- on result (unit_code, ...) would go unused and every batch would
    -- read the whole table.
    WITH k AS (
        SELECT id, unit::char(12) AS unit, committee, round, revision, agent, sequence, photo,
               registered, took_part, issued, returned, valid, invalid, i
        FROM unnest(p_ids, p_units, p_committees, p_rounds, p_revisions, p_agents,
                    p_sequences, p_photos, p_registered, p_took_part, p_issued,
                    p_returned, p_valid, p_invalid) WITH ORDINALITY
            AS u(id, unit, committee, round, revision, agent, sequence, photo, registered,
                 took_part, issued, returned, valid, invalid, i)
    )
    SELECT 'duplicate', k.i::integer, NULL::boolean, NULL::integer, NULL::integer, NULL::integer
    FROM k JOIN message m ON m.message_id = decode(k.id, 'hex')
    UNION ALL
    SELECT 'revision_exists', k.i::integer, NULL, NULL, NULL, NULL
    FROM k JOIN result r ON r.unit_code = k.unit AND r.committee = k.committee
                        AND r.round = k.round AND r.revision = k.revision
    UNION ALL
    SELECT 'replayed', k.i::integer, NULL, NULL, NULL, NULL
    FROM k JOIN message m ON m.agent_id = k.agent AND m.sequence = k.sequence
                         AND m.message_id <> decode(k.id, 'hex')
    UNION ALL
    SELECT 'prior', k.i::integer, p.election_valid,
           p.seats_head - count(c.*) FILTER (WHERE c.position_won = 'head')::integer,
           p.seats_deputy - count(c.*) FILTER (WHERE c.position_won = 'deputy')::integer,
           p.seats_member - count(c.*) FILTER (WHERE c.position_won = 'member')::integer
    FROM k
    JOIN LATERAL (SELECT * FROM result r
                  WHERE r.unit_code = k.unit AND r.committee = k.committee
                    AND r.round < k.round AND (k.round > 2 OR r.round = 1)
                  ORDER BY r.round DESC, r.revision DESC LIMIT 1) p ON true
    LEFT JOIN candidate c ON c.message_id = p.message_id AND c.elected
    WHERE k.round >= 2
    GROUP BY k.i, p.election_valid, p.seats_head, p.seats_deputy, p.seats_member
    UNION ALL
    SELECT DISTINCT 'photo_reused', k.i::integer, NULL::boolean, NULL::integer, NULL::integer,
           NULL::integer
    FROM k JOIN result r ON r.sheet_photo_sha256 = decode(k.photo, 'hex')
                        AND r.unit_code <> k.unit
    WHERE k.photo <> ''
    UNION ALL
    SELECT DISTINCT 'identical_figures', k.i::integer, NULL::boolean, NULL::integer,
           NULL::integer, NULL::integer
    FROM k JOIN result r ON r.committee = k.committee AND r.registered = k.registered
                        AND r.took_part = k.took_part AND r.ballots_valid = k.valid
                        AND r.ballots_issued = k.issued AND r.ballots_returned = k.returned
                        AND r.ballots_invalid = k.invalid AND r.unit_code <> k.unit
    WHERE k.registered >= 100;
END
$$;

