#!/usr/bin/env bash
# A stop (SIGTERM) while the whole database server is frozen: the
# postmaster and the collector's backend stopped (SIGSTOP) with a batch in
# hand.  The collector gives the batch up after its wait and leaves within
# its bound (STOP_WAIT_MS + STOP_GIVE_UP_MS, 15 s), exit status 1, having
# acknowledged nothing of it; once the server runs again, a new collector
# stores the result once and the agent hears ACCEPTED.  (The cancel request
# once went from the loop itself, and on a frozen postmaster libpq's
# PQcancel waits for ever: the collector never left.)  The server is this
# test's own: freezing a shared one would stall the tests beside it.
unset PGHOST PGPORT PGDATABASE PGUSER
. "$(dirname "$0")/lib.sh"

FROZEN=
trap 'rc=$?; [ -n "$FROZEN" ] && kill -CONT $FROZEN 2>/dev/null; (exit $rc); cleanup' EXIT

setup_db
start_collector
METRICS=$(cat "$WORK/metrics")
t=630121100000
"$SIM" --registry "$REGISTRY" --under "$t" --out "$WORK/sim" --seed 5 --quiet
ls "$WORK/sim/$t"/*.json | sort | head -2 >"$WORK/files"
mkdir -p "$WORK/inbox"
agent_config a1 "$t" "    inbox = \"$WORK/inbox\"
"
${TF_WRAP:-} "$AGENT" -f "$WORK/a1.cfg" run >>"$WORK/agent-a1.log" 2>&1 &
AGENT_PIDS+=($!)
drop() { cp "$1" "$WORK/inbox/.$(basename "$1").tmp"; mv "$WORK/inbox/.$(basename "$1").tmp" "$WORK/inbox/$(basename "$1")"; }
accepted() { agent -f "$WORK/a1.cfg" status | grep -o 'accepted [0-9]*' | head -1 | cut -d' ' -f2; }
results() { sql "SELECT count(*) FROM tallyfeed.message WHERE payload_type = 1"; }
accepted_is() { [ "$(accepted)" = "$1" ]; }

drop "$(sed -n 1p "$WORK/files")"
wait_for 30 accepted_is 1 || fail "the first result was not accepted"
expect_eq "$(results)" 1 "the first result stored"

say "the server frozen with a batch in hand, then SIGTERM"
postmaster=$(head -1 "$OWN_CLUSTER/data/postmaster.pid")
writer=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'tallyfeed-collector' AND datname = current_database()")
[ -n "$postmaster" ] && [ -n "$writer" ] || fail "no postmaster ($postmaster) or writer backend ($writer)"
FROZEN="$postmaster $writer"
kill -STOP $FROZEN
drop "$(sed -n 2p "$WORK/files")"
scrape() { curl -s --max-time 5 "${METRICS}metrics" >"$WORK/scrape"; }
stalled() { scrape; awk '$1 == "tallyfeed_collector_database_stalled_seconds" { exit !($2 >= 1) } END { if (NR == 0) exit 1 }' "$WORK/scrape"; }
wait_for 60 stalled && echo "ok: a batch waits on the frozen server" || fail "no batch reached the writer"
kill -TERM "$COLLECTOR_PID"
gone() { ! kill -0 "$COLLECTOR_PID" 2>/dev/null; }
if wait_for 40 gone; then
	echo "ok: the collector left within 40 s of SIGTERM, the server still frozen"
	rc=0
	wait "$COLLECTOR_PID" || rc=$?
	expect_eq "$rc" 1 "exit status: a write never answered"
else
	fail "the collector had not left 40 s after SIGTERM"
	kill -KILL "$COLLECTOR_PID"
	wait "$COLLECTOR_PID" 2>/dev/null || true
fi
COLLECTOR_PID=
grep -q 'giving it up' "$WORK/collector.log" && echo "ok: the batch given up is in the log" \
	|| fail "the batch given up is not in the log"
grep -q 'shutting down with a write that has not come back' "$WORK/collector.log" \
	&& echo "ok: the write left unanswered is in the log" || fail "the unanswered write is not in the log"
expect_eq "$(accepted)" 1 "the agent holds no acceptance of the result in the frozen batch"

say "the server runs again; a new collector"
kill -CONT $FROZEN
FROZEN=
COLLECTOR_ENDPOINT=$EP start_collector     # where the agent sends
wait_for 60 accepted_is 2 && echo "ok: the agent heard ACCEPTED for its second result" \
	|| fail "the second result was not acknowledged: $(agent -f "$WORK/a1.cfg" status | head -3)"
expect_eq "$(results)" 2 "each result stored once"
out=$("$CONSOLE" verify --certs "$CERTS" 2>&1) && echo "ok: verify passes" || fail "verify: $out"
stop_agents && echo "ok: agent exited 0" || fail "agent exit status"
stop_collector && echo "ok: collector exited 0" || fail "collector exit status"
finish
