-- 0008: trust, second part.  Every function of the schema resolves names
-- with pg_catalog first and pg_temp last, as the programs' own sessions do
-- (daemon/db.c): no object of another user's making, in our schema or a
-- temporary one, stands in for a built-in.

SET search_path = pg_catalog, tallyfeed, pg_temp;

DO $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'tallyfeed' LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, tallyfeed, pg_temp',
                       f.sig);
    END LOOP;
END
$$;

-- A heartbeat's time is its envelope's creation time, which protocol 2
-- signs; one not newer than the newest stored for its agent is not applied
-- (a replayed heartbeat cannot make a silent township look alive).
ALTER TABLE tallyfeed.agent_status ADD COLUMN heartbeat_created_at timestamptz;

-- Every head a collector signed (daemon/chain.h says the bytes), written in
-- the transaction that moved it.  Append-only like the log; an outsider
-- copies it (`tallyfeed heads --out FILE`) so that `tallyfeed verify
-- --heads FILE` can tell a chain rewritten later, by anyone who can write
-- here, from the one the collector signed.
CREATE TABLE tallyfeed.signed_head (
    chain       text NOT NULL,
    link        bigint NOT NULL CHECK (link >= 1),
    row_hash    bytea NOT NULL CHECK (length(row_hash) = 32),
    signed_at   timestamptz NOT NULL,
    signer      text NOT NULL,
    sign_public bytea NOT NULL CHECK (length(sign_public) = 32),
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    PRIMARY KEY (chain, link)
);
CREATE TRIGGER signed_head_append_only BEFORE UPDATE OR DELETE ON tallyfeed.signed_head
    FOR EACH ROW EXECUTE FUNCTION tallyfeed.refuse_change();
CREATE TRIGGER signed_head_no_truncate BEFORE TRUNCATE ON tallyfeed.signed_head
    FOR EACH STATEMENT EXECUTE FUNCTION tallyfeed.refuse_change();
ALTER TABLE tallyfeed.signed_head OWNER TO tallyfeed_owner;
GRANT SELECT ON tallyfeed.signed_head TO tallyfeed_reader, tallyfeed_writer;
GRANT INSERT ON tallyfeed.signed_head TO tallyfeed_writer;

-- What the migrations made of the schema's views, functions, triggers and
-- constraints (daemon/db.h, tf_db_schema_digest), recorded by `tallyfeed db
-- migrate` after it migrates and printed; `tallyfeed verify` compares the
-- schema with it, so a redefined result_current or a dropped trigger
-- shows.  Keep the printed digest elsewhere too: whoever can redefine a
-- view can write here.
CREATE TABLE tallyfeed.schema_digest (
    id          bigserial PRIMARY KEY,
    migration   integer NOT NULL,
    digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tallyfeed.schema_digest OWNER TO tallyfeed_owner;
GRANT SELECT ON tallyfeed.schema_digest TO tallyfeed_reader, tallyfeed_writer;
