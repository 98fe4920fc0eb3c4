#!/usr/bin/env bash
# With collector/replication = synchronous an ack means the result is on
# a synchronous standby's disk too.  A manager that drops the standbys
# (empties synchronous_standby_names, as pg_auto_failover does with one
# node left) releases the commits that wait for one, and they answer
# COMMIT with the result on the primary only: the collector must not
# acknowledge them then.  Once a standby streams again it answers the
# resend DUPLICATE, after a commit of its own has waited for the standby.
unset PGHOST PGPORT PGUSER PGDATABASE PGTARGETSESSIONATTRS
TF_PG_PAIR=1
. "$(dirname "$0")/lib.sh"

PAIR=$OWN_CLUSTER
primary_sql() { psql -X -Atq -h "$PAIR/node1/socket" -p 5432 -d "$TEST_DB" -c "$1"; }
standby_sql() { PGTARGETSESSIONATTRS=any psql -X -Atq -h "$PAIR/node2/socket" -p 5433 -d "$TEST_DB" -c "$1"; }
setup_db
printf 'collector\n    replication = "synchronous"\n' >"$WORK/collector.cfg"
start_collector -f "$WORK/collector.cfg"

say "with the standby streaming, a result is acknowledged"
expect_eq "$("$SEND" "$EP" report "$TF_SRC/deploy/examples/villagers.json" | cut -d' ' -f1)" ACCEPTED \
	"revision 1"

say "the standby stops: a commit waits for it, and nothing is acknowledged"
"$TF_SRC/deploy/pg-throwaway" stop "$PAIR" node2
sed 's/"revision": 1/"revision": 2/' "$TF_SRC/deploy/examples/villagers.json" >"$WORK/rev2.json"
"$SEND" "$EP" report "$WORK/rev2.json" >"$WORK/answer" 2>&1 &
send_pid=$!
waiting() { [ "$(primary_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")" -ge 1 ]; }
wait_for 20 waiting || fail "no commit waits for the standby after 20 s"
expect_eq "$(cat "$WORK/answer")" "" "no answer while the commit waits"

say "the standbys are dropped: the commit is released on the primary alone"
primary_sql "ALTER SYSTEM SET synchronous_standby_names = ''"; primary_sql "SELECT pg_reload_conf()" >/dev/null
said() { grep -q 'synchronous standbys were dropped while a commit waited' "$WORK/collector.log"; }
wait_for 20 said || fail "the collector did not say the commit lost its standby (20 s)"
expect_eq "$(primary_sql "SELECT count(*) FROM tallyfeed.result WHERE revision = 2")" 1 \
	"revision 2 committed on the primary"
expect_eq "$(cat "$WORK/answer")" "" "and not acknowledged"
refusing() { grep -q 'has no synchronous standby (synchronous_standby_names is empty)' "$WORK/collector.log"; }
wait_for 20 refusing || fail "the collector does not refuse the server without a standby (20 s)"
expect_eq "$(cat "$WORK/answer")" "" "nothing acknowledged while the server has no standby"

say "a standby again: the resend is answered DUPLICATE once the standby has it"
primary_sql "ALTER SYSTEM RESET synchronous_standby_names"; primary_sql "SELECT pg_reload_conf()" >/dev/null
"$TF_SRC/deploy/pg-throwaway" start "$PAIR" node2 >/dev/null
wait "$send_pid" || fail "tf-send failed: $(cat "$WORK/answer")"
expect_eq "$(cut -d' ' -f1 "$WORK/answer")" DUPLICATE "the answer, once a standby streams"
# On its disk when acknowledged (synchronous_commit on); shown once replayed.
on_standby() { [ "$(standby_sql "SELECT count(*) FROM tallyfeed.result WHERE revision = 2")" = 1 ]; }
wait_for 20 on_standby && say "revision 2 is on the standby" || fail "revision 2 not on the standby"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 2 "each revision stored once"
finish
