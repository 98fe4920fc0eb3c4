-- 0002: trust.  The hash-chained, append-only log; least-privilege roles;
-- and the lookups behind the checks that need what is stored already
-- (replayed sequence numbers, runoffs without their round 1, a photo or a
-- set of figures seen at another unit).

SET search_path = tallyfeed, pg_catalog;

-- The chain.  Each collector writes one chain (named in its configuration);
-- every row it writes to message or quarantine takes the next link, and
-- row_hash = SHA-256 of the previous link's row_hash and this row's own
-- content (see daemon/chain.h for the exact bytes).  An edited, deleted or
-- inserted row breaks the chain where it stands; `tallyfeed verify` finds it.
-- received_at is set by the collector, to the millisecond, because the
-- hash covers it.
ALTER TABLE message ALTER COLUMN received_at DROP DEFAULT;
ALTER TABLE message
    ADD COLUMN chain    text NOT NULL,
    ADD COLUMN link     bigint NOT NULL CHECK (link >= 1),
    ADD COLUMN row_hash bytea NOT NULL CHECK (length(row_hash) = 32),
    ADD UNIQUE (chain, link);
ALTER TABLE quarantine ALTER COLUMN received_at DROP DEFAULT;
ALTER TABLE quarantine
    ADD COLUMN chain    text NOT NULL,
    ADD COLUMN link     bigint NOT NULL CHECK (link >= 1),
    ADD COLUMN row_hash bytea NOT NULL CHECK (length(row_hash) = 32),
    ADD UNIQUE (chain, link);

-- The newest link of each chain, written in the same transaction as the
-- rows: deleting the last rows of a chain leaves the head pointing past them.
CREATE TABLE chain_head (
    chain       text PRIMARY KEY,
    link        bigint NOT NULL,
    row_hash    bytea NOT NULL CHECK (length(row_hash) = 32),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Append-only: no role, not even the owner, updates or deletes the log
-- without first disabling these triggers (which takes the table's owner
-- or a superuser, and which `tallyfeed verify` would then catch).
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'tallyfeed.%: the log is append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER message_append_only BEFORE UPDATE OR DELETE ON message
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER message_no_truncate BEFORE TRUNCATE ON message
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER result_append_only BEFORE UPDATE OR DELETE ON result
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER result_no_truncate BEFORE TRUNCATE ON result
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER candidate_append_only BEFORE UPDATE OR DELETE ON candidate
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER candidate_no_truncate BEFORE TRUNCATE ON candidate
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER quarantine_append_only BEFORE UPDATE OR DELETE ON quarantine
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER quarantine_no_truncate BEFORE TRUNCATE ON quarantine
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

CREATE INDEX message_agent_sequence_idx ON message (agent_id, sequence);
CREATE INDEX result_photo_idx ON result (sheet_photo_sha256)
    WHERE sheet_photo_sha256 IS NOT NULL;
CREATE INDEX result_figures_idx ON result (committee, registered, took_part, ballots_valid);

-- What the store must know about a batch before it writes it, one row per
-- finding, item = the 1-based position in the arrays:
--   duplicate          this message id is stored
--   revision_exists    another message holds this unit/committee/round/revision
--   replayed           this agent's sequence number is stored under another message id
--   prior              for a runoff (round 2): the latest revision of round 1; for
--                      a re-election (round 3 on): of the latest earlier round;
--                      whether its election was valid and the seats it left unfilled
--   photo_reused       the same sheet photo hash is stored for another unit
--   identical_figures  another unit's same committee has the same six figures
--                      (electorate, took part, ballots issued/returned/valid/
--                      invalid); only from 100 registered up, where a match is
--                      too unlikely to be chance
CREATE FUNCTION batch_checks(p_ids text[], p_units text[], p_committees text[],
                             p_rounds integer[], p_revisions integer[],
                             p_agents text[], p_sequences bigint[], p_photos text[],
                             p_registered integer[], p_took_part integer[],
                             p_issued integer[], p_returned integer[],
                             p_valid integer[], p_invalid integer[])
RETURNS TABLE (kind text, item integer, election_valid boolean,
               unfilled_head integer, unfilled_deputy integer, unfilled_member integer)
LANGUAGE sql STABLE
SET search_path = tallyfeed, pg_catalog
-- Every lookup here is by key, a batch's worth of index probes.  On
-- election night the tables grow from empty faster than autovacuum
-- re-analyses them; planned from statistics that say "empty", these joins
-- became hash joins over whole tables, and a batch cost as much as the
-- table was large (seen in tests/bench/ingest: one run in four stalled for
-- a minute).  So: index probes, whatever the statistics say.
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $$
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
    WHERE k.registered >= 100
$$;

-- Least privilege.  Roles are cluster-wide: create each once, and let a
-- second database's migration (or a parallel one) find it there.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['tallyfeed_owner', 'tallyfeed_writer', 'tallyfeed_reader'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

-- The owner owns the schema and everything in it; migrations run as a
-- login role that is a member of it.
DO $$
DECLARE
    o record;
BEGIN
    EXECUTE 'ALTER SCHEMA tallyfeed OWNER TO tallyfeed_owner';
    FOR o IN SELECT c.relname, c.relkind FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'tallyfeed' AND c.relkind IN ('r', 'v', 'm') LOOP
        EXECUTE format('ALTER %s tallyfeed.%I OWNER TO tallyfeed_owner',
                       CASE o.relkind WHEN 'r' THEN 'TABLE' WHEN 'v' THEN 'VIEW'
                                      ELSE 'MATERIALIZED VIEW' END, o.relname);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS f FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'tallyfeed' LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO tallyfeed_owner', o.f);
    END LOOP;
END
$$;

REVOKE ALL ON SCHEMA tallyfeed FROM PUBLIC;
GRANT USAGE ON SCHEMA tallyfeed TO tallyfeed_writer, tallyfeed_reader;
-- Readers (the console, the web view) read everything and write nothing.
GRANT SELECT ON ALL TABLES IN SCHEMA tallyfeed TO tallyfeed_reader;
-- Writers (collectors) add to the log and never change it: INSERT, no
-- UPDATE or DELETE; only the agents' state and the chain head are updated.
GRANT SELECT ON ALL TABLES IN SCHEMA tallyfeed TO tallyfeed_writer;
GRANT INSERT ON message, result, candidate, quarantine TO tallyfeed_writer;
GRANT INSERT, UPDATE ON agent_status, chain_head TO tallyfeed_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA tallyfeed TO tallyfeed_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE tallyfeed_owner IN SCHEMA tallyfeed
    GRANT SELECT ON TABLES TO tallyfeed_reader, tallyfeed_writer;
