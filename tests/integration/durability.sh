#!/usr/bin/env bash
# Durability: what an ack promises does not depend on the server's
# settings.  The collector's sessions commit with synchronous_commit on,
# whatever the database or role says; it refuses a server that runs with
# fsync off; a COMMIT that does not commit acknowledges nothing, and what
# it held is sent again and stored once; tf_db_commit takes the tag
# ROLLBACK (a COMMIT of an aborted transaction) for the failure it is.
. "$(dirname "$0")/lib.sh"

ex=$TF_SRC/deploy/examples
NOFSYNC=$WORK/pg-nofsync
stop_nofsync() {
	local rc=$?
	if [ -f "$NOFSYNC/data/PG_VERSION" ]; then
		"$TF_SRC/deploy/pg-throwaway" stop "$NOFSYNC" >/dev/null 2>&1 || true
	fi
	(exit $rc)
	cleanup
}
trap stop_nofsync EXIT

setup_db

say "tf_db_commit: a sound COMMIT commits; COMMIT of an aborted transaction (tag ROLLBACK) fails"
out=$("$TF_BIN/tests/tools/tf-commit" 2>&1) && rc=0 || rc=$?
echo "$out"
expect_eq "$rc" 0 "tf-commit"

say "synchronous_commit is on in the collector's sessions, even where the database says off"
sql "ALTER DATABASE $TEST_DB SET synchronous_commit = off"
# Each row the collector writes records its own session's setting.
sql "CREATE TABLE public.tf_seen (setting text);
     CREATE FUNCTION public.tf_seen() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
     SET search_path = pg_catalog AS \$\$ BEGIN
         INSERT INTO public.tf_seen VALUES (current_setting('synchronous_commit')); RETURN NEW;
     END \$\$;
     CREATE TRIGGER tf_seen AFTER INSERT ON tallyfeed.message
         FOR EACH ROW EXECUTE FUNCTION public.tf_seen()"
start_collector
sed 's/"revision": 1/"revision": 2/' "$ex/villagers.json" >"$WORK/rev2.json"
out=$("$SEND" "$EP" report "$WORK/rev2.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "a result"
expect_eq "$(sql "SELECT string_agg(setting, ',') FROM public.tf_seen")" on \
	"synchronous_commit in the session that stored it"
expect_eq "$(psql -X -Atq -c 'SHOW synchronous_commit')" off "while other sessions of the database have off"

say "the signed chain head goes out on the live feed, as tallyfeed heads writes it"
"$CONSOLE" feed -c "$(cat "$WORK/feed")" --heads --count 1 >"$WORK/feed-heads.tsv" 2>"$WORK/feed-heads.err" &
feed_pid=$!
# The reader's subscription takes a moment to reach the PUB socket (what
# it publishes before is not for it): results until a head gets through.
rev=3
head_heard() {
	[ -s "$WORK/feed-heads.tsv" ] && return 0
	sed "s/\"revision\": 1/\"revision\": $rev/" "$ex/villagers.json" >"$WORK/rev$rev.json"
	"$SEND" "$EP" report "$WORK/rev$rev.json" >/dev/null
	rev=$((rev + 1))
	return 1
}
wait_for 60 head_heard || fail "no signed head on the feed"
wait "$feed_pid" && rc=0 || rc=$?
expect_eq "$rc" 0 "tallyfeed feed --heads --count 1 ends"
cat "$WORK/feed-heads.tsv"
"$CONSOLE" heads --all >"$WORK/heads.tsv"
grep -qxF "$(cat "$WORK/feed-heads.tsv")" "$WORK/heads.tsv" \
	&& echo "ok: the head on the feed is one of signed_head's, field for field" \
	|| fail "the feed's head is not in tallyfeed heads --all"

say "a transaction that aborts at COMMIT: nothing acknowledged, all sent again, stored once"
# A deferred constraint trigger fails every COMMIT that stored a message
# while the switch holds a row.
sql "CREATE TABLE public.tf_abort (on_ boolean);
     INSERT INTO public.tf_abort VALUES (true);
     CREATE FUNCTION public.tf_abort() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
     SET search_path = pg_catalog AS \$\$ BEGIN
         IF EXISTS (SELECT 1 FROM public.tf_abort) THEN
             RAISE EXCEPTION 'tf_abort: this transaction may not commit';
         END IF;
         RETURN NULL;
     END \$\$;
     CREATE CONSTRAINT TRIGGER tf_abort AFTER INSERT ON tallyfeed.message
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.tf_abort()"
stored_before=$(sql "SELECT count(*) FROM tallyfeed.message")
start_agent qiaotou 630121100000
agent -f "$WORK/qiaotou.cfg" submit --wait 120 "$ex/villagers.json" "$ex/residents.json" \
	"$ex/party_branch.json" >"$WORK/submit.out" 2>&1 &
submit_pid=$!
tried_thrice() { [ "$(grep -c "commit failed: .*tf_abort" "$WORK/collector.log" || true)" -ge 3 ]; }
wait_for 60 tried_thrice || fail "the collector did not try to commit 3 times"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message")" "$stored_before" "nothing more stored while COMMIT fails"
expect_eq "$(agent -f "$WORK/qiaotou.cfg" status | grep -o 'accepted [0-9]*' | head -1)" "accepted 0" \
	"nothing acknowledged to the agent"
accepted_metric() { curl -s "$(cat "$WORK/metrics")metrics" | awk '$1 == "tallyfeed_collector_messages_total{verdict=\"accepted\"}" { print $2 }'; }
expect_eq "$(accepted_metric)" "$stored_before" "the collector answered nothing more ACCEPTED"
sql "DELETE FROM public.tf_abort"
wait "$submit_pid" && rc=0 || rc=$?
cat "$WORK/submit.out"
expect_eq "$rc" 0 "submit --wait ends"
expect_eq "$(grep -c ': ACCEPTED$' "$WORK/submit.out")" 3 "all three accepted once COMMIT works"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result")" "$((stored_before + 3))" "the three, each stored once"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message")" "$(sql "SELECT count(DISTINCT message_id) FROM tallyfeed.result")" \
	"no message stored twice"
stop_agents
stop_collector

say "a server running with fsync = off is refused, saying why"
eval "$("$TF_SRC/deploy/pg-throwaway" start "$NOFSYNC" | sed 's/export /export NF_/; s/ PG/ NF_PG/g')"
nf_psql() { psql -X -Atq -h "$NF_PGHOST" -p "$NF_PGPORT" -U "$NF_PGUSER" -d "$NF_PGDATABASE" "$@"; }
nf_conninfo="host=$NF_PGHOST port=$NF_PGPORT user=$NF_PGUSER dbname=$NF_PGDATABASE"
"$CONSOLE" -d "$nf_conninfo" db migrate >/dev/null
"$CONSOLE" -d "$nf_conninfo" registry load "$REGISTRY" >/dev/null
nf_psql -c "ALTER SYSTEM SET fsync = off" -c "SELECT pg_reload_conf()" >/dev/null
fsync_is() { [ "$(nf_psql -c 'SHOW fsync')" = "$1" ]; }
wait_for 30 fsync_is off || fail "the throwaway server did not take fsync = off"
nf_args=(-e 'tcp://127.0.0.1:!' --feed 'tcp://127.0.0.1:!' --metrics 127.0.0.1:0
	-k "$KEYS/collector.cert_secret" -C "$CERTS" -d "$nf_conninfo")
timeout 60 "$COLLECTOR" "${nf_args[@]}" >"$WORK/nofsync.log" 2>&1 && rc=0 || rc=$?
cat "$WORK/nofsync.log"
expect_eq "$rc" 1 "the collector's exit status"
grep -q "runs with fsync = off: a committed result could be lost" "$WORK/nofsync.log" \
	&& echo "ok: it says why" || fail "no reason given for refusing fsync = off"
nf_psql -c "ALTER SYSTEM RESET fsync" -c "SELECT pg_reload_conf()" >/dev/null
wait_for 30 fsync_is on || fail "the throwaway server did not take fsync = on again"
rm -f "$WORK/nf-endpoint"
"$COLLECTOR" "${nf_args[@]}" --endpoint-file "$WORK/nf-endpoint" >>"$WORK/nofsync.log" 2>&1 &
nf_pid=$!
wait_for 60 test -s "$WORK/nf-endpoint" && echo "ok: with fsync on it collects" \
	|| fail "the collector did not start with fsync on"
kill -TERM "$nf_pid"
wait "$nf_pid" && rc=0 || rc=$?
expect_eq "$rc" 0 "and stops cleanly"
finish
