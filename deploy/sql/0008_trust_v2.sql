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
