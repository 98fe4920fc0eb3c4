-- 0010: the checks a batch needs before it is written (duplicate, revision
-- exists, replayed, prior round, photo reused, identical figures) move from
-- 0002's function batch_checks into a statement the collector prepares
-- once per connection (collector/store.c): a SQL function with SET clauses
-- is planned again at every call, 2 ms of a 5 ms one-message transaction.
--
-- A plan made once is made, on election night, while the tables are empty
-- and never analysed, and every lookup must stay an index probe by its
-- whole key as they fill.  With result_figures_idx led by committee, the
-- plan made on a fresh database looked up "this unit/committee/round/
-- revision is stored" in result_figures_idx by committee alone, which
-- reads every result of the committee, and a batch's checks grew with the
-- table (a full-speed run of the province, 4 revisions: 71 s instead of
-- 11).  Led by the figures, it no longer serves that lookup.  That is not
-- enough alone (after a TRUNCATE a plan probed identical figures through
-- the unit index by committee alone), so the collector also makes the plan
-- again every 1,024 results.  tests/integration/plan.sh checks the plan
-- made on a fresh database.

SET search_path = tallyfeed, pg_catalog;

DROP FUNCTION batch_checks(text[], text[], text[], integer[], integer[], text[], bigint[],
                           text[], integer[], integer[], integer[], integer[], integer[],
                           integer[]);

DROP INDEX result_figures_idx;
CREATE INDEX result_figures_idx ON result (registered, took_part, ballots_valid, committee);
ALTER INDEX result_figures_idx OWNER TO tallyfeed_owner;
