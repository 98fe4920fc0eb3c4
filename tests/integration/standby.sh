#!/usr/bin/env bash
# The provincial office reads from the standby.  A primary with a
# synchronous hot standby (deploy/pg-throwaway pair), a collector writing to
# the primary through the multi-host connection string, real agents sending
# a county's simulated results, and while they arrive the console and
# tallyfeed-web's API reading: each takes the standby, says so and how old
# its figures are, and the standby's totals come to equal the primary's.
# With the standby's replay paused it says it is behind (at most how far)
# and its totals lag the primary's; caught up, it says 0 s behind however
# old its last change.  A command that writes goes to the primary, never
# through the read connection, and refuses a standby.
#
# This test starts its own pair of servers.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGTARGETSESSIONATTRS PGSERVICE
TF_PG_PAIR=1
. "$(dirname "$0")/lib.sh"

WEB=$TF_BIN/console/tallyfeed-web
county=630123000000     # 湟源县: 9 townships, 154 units
PG=$OWN_CLUSTER
expect_eq "$("$TF_SRC/deploy/pg-throwaway" primary "$PG")" node1 "node1 is the primary"
setup_db                # through PG*: both hosts, read-write

PRIMARY="host=$PG/node1/socket port=5432 user=tallyfeed dbname=$TEST_DB"
STANDBY="host=$PG/node2/socket port=5433 user=tallyfeed dbname=$TEST_DB"
BOTH="host=$PG/node1/socket,$PG/node2/socket port=5432,5433 user=tallyfeed dbname=$TEST_DB"
# (PG* ask for read-write: this conninfo's own setting wins.)
on_standby() { psql -X -v ON_ERROR_STOP=1 -Atq -d "$STANDBY target_session_attrs=any" -c "$1"; }
expect_eq "$(on_standby 'SELECT pg_is_in_recovery()')" t "node2 is a standby"

# The line that says how old the figures are, on a standby: caught up
# ("0 s behind", with the last change's time when it has replayed one), or
# behind by at most the time since its last replayed change.
T='[0-2][0-9]:[0-5][0-9]:[0-5][0-9]'
CAUGHT_UP_RE="^as of $T, 0 s behind(, last change at ([0-9]{4}-[0-9]{2}-[0-9]{2} )?$T)? \\(standby\\)\$"
BEHIND_RE="^as of $T, at most [0-9]+\\.[0-9] s behind \\(standby\\)\$"
fresh_shape() {
	[[ $1 =~ $CAUGHT_UP_RE ]] || [[ $1 =~ $BEHIND_RE ]]
}

# The console's county row (CSV), and its freshness line (stderr beside CSV),
# through the connection options given.
TOTALS=(totals --level county --under "$county")
console_row() { "$CONSOLE" "$@" "${TOTALS[@]}" --format csv 2>"$WORK/fresh" | tail -1; }
console_fresh() { cat "$WORK/fresh"; }
# What was reported (round 1 stored, every committee) in a county row.
reported() { echo "$1" | awk -F, '{ print $5 + $7 + $9 }'; }

say "a command that writes takes the primary, never the read connection"
rc=0; "$CONSOLE" -d "$STANDBY" db migrate 2>"$WORK/err" || rc=$?
expect_eq "$rc" 1 "db migrate given only the standby: refused"
grep -q 'db migrate writes on the primary (target_session_attrs=read-write.*session is read-only' \
	"$WORK/err" && echo "ok: it says why ($(cat "$WORK/err"))" || fail "db migrate's refusal: $(cat "$WORK/err")"
rc=0; "$CONSOLE" -d "$STANDBY target_session_attrs=any" registry load "$REGISTRY" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 1 "registry load on a standby its conninfo lets it reach: refused"
grep -q 'registry load writes on the primary, and the server of this connection is a standby' \
	"$WORK/err" && echo "ok: it says why" || fail "registry load's refusal: $(cat "$WORK/err")"
# A standby takes no writes: done at all, these were done on the primary.
"$CONSOLE" -R "$STANDBY" db migrate >"$WORK/out" 2>&1 || fail "db migrate with a read connection: $(cat "$WORK/out")"
grep -q '^database is at migration' "$WORK/out" && echo "ok: db migrate -R STANDBY migrated on the primary" \
	|| fail "db migrate -R: $(cat "$WORK/out")"
"$CONSOLE" -R "$STANDBY" -d "$BOTH" registry load "$REGISTRY" >"$WORK/out" 2>&1 \
	&& echo "ok: registry load -R STANDBY -d BOTH loaded on the primary" || fail "registry load -R: $(cat "$WORK/out")"

say "the console prefers the standby; a conninfo's own target_session_attrs wins"
# PG* say read-write (pg-throwaway env): the console's preference wins over it.
out=$("$CONSOLE" "${TOTALS[@]}")
fresh_shape "$(echo "$out" | tail -1)" && echo "ok: PG* (read-write): $(echo "$out" | tail -1)" \
	|| fail "the console through PG* does not say it read the standby: $(echo "$out" | tail -1)"
expect_eq "$("$CONSOLE" -d "$BOTH target_session_attrs=read-write" "${TOTALS[@]}" | tail -1 | sed "s/$T/T/")" \
	"as of T (primary)" "-d BOTH target_session_attrs=read-write: the primary"
expect_eq "$("$CONSOLE" -d "$PRIMARY" "${TOTALS[@]}" | tail -1 | sed "s/$T/T/")" "as of T (primary)" \
	"-d PRIMARY alone: the primary"
printf 'console\n    database = "%s"\n    read_database = "%s"\n' "$PRIMARY" "$STANDBY" >"$WORK/console.cfg"
fresh_shape "$("$CONSOLE" -f "$WORK/console.cfg" "${TOTALS[@]}" | tail -1)" \
	&& echo "ok: console/read_database read" || fail "console/read_database not read"
expect_eq "$("$CONSOLE" -f "$WORK/console.cfg" -d "$PRIMARY" "${TOTALS[@]}" | tail -1 | sed "s/$T/T/")" \
	"as of T (primary)" "-d alone on the command line is read, whatever the file's read_database"
# Beside CSV the line goes to stderr: stdout is the header and the row.
expect_eq "$("$CONSOLE" -R "$STANDBY" "${TOTALS[@]}" --format csv 2>/dev/null | wc -l)" 2 \
	"CSV: nothing but the data on stdout"
console_row -R "$STANDBY" >/dev/null
fresh_shape "$(console_fresh)" && echo "ok: CSV's freshness on stderr: $(console_fresh)" \
	|| fail "CSV's freshness line: '$(console_fresh)'"

"$SIM" --registry "$REGISTRY" --under "$county" --out "$WORK/sim" --seed 12 --quiet
manifest=$WORK/sim/manifest.tsv
want=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED"' "$manifest" | wc -l)
townships=()
for dir in "$WORK/sim"/[0-9]*/; do townships+=("$(basename "$dir")"); done
last=${townships[-1]}
# One round-1 result of the last township (of a committee with no runoff)
# is kept back, to be sent by hand while the standby's replay is paused.
held=
for f in "$WORK/sim/$last"/*-r1.json; do
	[ -e "${f%-r1.json}-r2.json" ] || { held=$f; break; }
done
[ -n "$held" ] || { fail "no result to hold back in $last"; finish; }
mv "$held" "$WORK/held.json"
enrol late "$last"
say "simulated: $want results for ${#townships[@]} townships"

# Synchronous: a result acknowledged is on the standby's disk (the paused
# replay below counts on it), and the collector refuses a server without.
printf 'collector\n    database = "%s"\n    replication = "synchronous"\n' "$BOTH" >"$WORK/collector.cfg"
start_collector -f "$WORK/collector.cfg"
"$WEB" -l 127.0.0.1:0 --address-file "$WORK/web-address" -F off -d "$BOTH" >>"$WORK/web.log" 2>&1 &
WEB_PID=$!
trap 'rc=$?; set +e; kill $WEB_PID 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for 20 test -s "$WORK/web-address" || fail "tallyfeed-web did not start"
URL=$(cat "$WORK/web-address")
# The API's county totals as "server|freshness text|caught_up|reported|rows"
# (rows: their JSON, keys sorted, as json_rows gives the console's).
api_reading() {
	curl -s "${URL}api/v1/totals?level=county&under=$county" | python3 -c '
import json, sys
a = json.load(sys.stdin)
f, r = a["freshness"], a["rows"][0]
print("|".join([f["server"], f["text"], str(f["caught_up"]),
                str(r["villagers_reported"] + r["residents_reported"] + r["party_reported"]),
                json.dumps(a["rows"], sort_keys=True)]))'
}
json_rows() { python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'; }
primary_rows() { "$CONSOLE" -d "$PRIMARY" "${TOTALS[@]}" --format json 2>/dev/null | json_rows; }

submit() {
	local t=$1
	start_agent "a$t" "$t"
	"$AGENT" -f "$WORK/a$t.cfg" submit --wait 120 "$WORK/sim/$t/"*.json >"$WORK/submit-$t.log" 2>&1 &
	SUBMITS+=($!)
}
SUBMITS=()
for t in "${townships[@]}"; do
	[ "$t" = "$last" ] || submit "$t"
done

say "while the results arrive, the console and the API read on the standby"
some() { [ "$(reported "$(console_row -R "$STANDBY")")" -gt 0 ]; }
wait_for 60 some || fail "the standby showed no result within 60 s"
first=$(reported "$(console_row -R "$STANDBY")")
fresh_shape "$(console_fresh)" && echo "ok: the console, on the standby: $(console_fresh)" \
	|| fail "the console's freshness line during the arrival: '$(console_fresh)'"
IFS='|' read -r server text caught api_first _ <<<"$(api_reading)"
expect_eq "$server" standby "the API, during the arrival: the standby"
fresh_shape "$text" && echo "ok: the API's freshness: $text" || fail "the API's freshness text: '$text'"
want_r1=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" && $4 == 1' "$manifest" | wc -l)
# The last township has sent nothing yet: what was read is part of the whole.
[ "$first" -lt "$want_r1" ] && [ "$api_first" -lt "$want_r1" ] \
	&& echo "ok: read mid-way: console $first, API $api_first of $want_r1 reported" \
	|| fail "read mid-way: console $first, API $api_first, not below $want_r1"
submit "$last"

# Until every result sent is on the primary and the standby's figures
# equal its, every reading of the console (read connection) and of the API is
# of the standby, and says so in the line's shape.
readings=0 wrong=0
converged() {
	local s p a server text
	s=$(console_row -R "$STANDBY" -d "$PRIMARY")
	fresh_shape "$(console_fresh)" || { wrong=$((wrong + 1)); echo "not a standby's line: $(console_fresh)"; }
	IFS='|' read -r server text _ _ a <<<"$(api_reading)"
	[ "$server" = standby ] && fresh_shape "$text" || { wrong=$((wrong + 1)); echo "API: $server $text"; }
	readings=$((readings + 1))
	p=$(console_row -d "$PRIMARY")
	[ "$(sql 'SELECT count(*) FROM tallyfeed.result')" = "$((want - 1))" ] && [ "$s" = "$p" ] \
		&& [ "$a" = "$(primary_rows)" ]
}
wait_for 120 converged || fail "the standby's totals did not come to equal the primary's within 120 s"
for pid in "${SUBMITS[@]}"; do wait "$pid" || true; done
expect_eq "$wrong" 0 "of $readings readings on the standby (console and API), none said otherwise"
expect_eq "$(cat "$WORK"/submit-*.log | grep -c ': ACCEPTED$')" "$((want - 1))" \
	"agents saw every result they sent accepted"
primary_row=$(console_row -d "$PRIMARY")
expect_eq "$(console_row -R "$STANDBY")" "$primary_row" "the standby's totals equal the primary's"
expect_eq "$(api_reading | cut -d'|' -f5)" "$(primary_rows)" \
	"the API's figures (on the standby) equal the primary's"

say "replay paused: the standby says it is behind, and lags"
on_standby 'SELECT pg_wal_replay_pause()' >/dev/null
# Requested, it replays no further record (it pauses before the next).
expect_eq "$(on_standby 'SELECT pg_get_wal_replay_pause_state() <> '"'not paused'")" t \
	"the standby's replay paused"
# Acknowledged only once committed, and the commit waits until the
# standby has the WAL on disk: received, not replayed.
expect_eq "$(TF_SEND_AS=late "$SEND" "$EP" report "$WORK/held.json" | cut -d' ' -f1)" ACCEPTED \
	"the held result, sent by hand"
behind_row=$(console_row -R "$STANDBY")
[[ $(console_fresh) =~ $BEHIND_RE ]] && echo "ok: the console: $(console_fresh)" \
	|| fail "the console, replay paused: '$(console_fresh)'"
IFS='|' read -r server text caught _ _ <<<"$(api_reading)"
[[ $text =~ $BEHIND_RE ]] && [ "$caught" = False ] && echo "ok: the API: $text (caught_up false)" \
	|| fail "the API, replay paused: '$text' caught_up $caught"
expect_eq "$(( $(reported "$(console_row -d "$PRIMARY")") - $(reported "$behind_row") ))" 1 \
	"the primary has the held result, the paused standby not yet"
on_standby 'SELECT pg_wal_replay_resume()' >/dev/null
same() { [ "$(console_row -R "$STANDBY")" = "$(console_row -d "$PRIMARY")" ]; }
wait_for 30 same && echo "ok: replay resumed, the standby's totals equal the primary's again" \
	|| fail "the standby did not catch up after its replay resumed"

say "caught up and idle: 0 s behind, however old the last change"
stop_agents || fail "an agent did not stop cleanly"
stop_collector || fail "the collector did not stop cleanly"
# Nothing writes now: wait until the standby's last change is 2 s old.
quiet() {
	curl -s "${URL}api/v1/totals?level=county&under=$county" | python3 -c '
import datetime, json, sys
f = json.load(sys.stdin)["freshness"]
t = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
sys.exit(0 if f["caught_up"] and f["last_change"]
         and (t(f["as_of"]) - t(f["last_change"])).total_seconds() >= 2 else 1)'
}
wait_for 30 quiet || fail "the standby was not caught up with a last change 2 s old within 30 s"
line=$("$CONSOLE" -R "$STANDBY" "${TOTALS[@]}" | tail -1)
[[ $line =~ ^as\ of\ $T,\ 0\ s\ behind,\ last\ change\ at\ $T\ \(standby\)$ ]] \
	&& echo "ok: the console: $line" || fail "caught up and idle, the console says '$line'"
IFS='|' read -r server text caught _ _ <<<"$(api_reading)"
expect_eq "$caught $(echo "$text" | sed "s/$T/T/g")" "True as of T, 0 s behind, last change at T (standby)" \
	"the API, caught up and idle"

say "verify reads on the primary, never through the read connection"
out=$("$CONSOLE" -R "$STANDBY" verify --certs "$CERTS" 2>&1) || fail "verify: $out"
echo "$out" | tail -1 | grep -q "all sound, 0 findings" \
	&& echo "ok: $(echo "$out" | tail -1)" || fail "verify: $out"
rc=0; "$CONSOLE" -d "$STANDBY target_session_attrs=any" verify --certs "$CERTS" 2>"$WORK/err" || rc=$?
expect_eq "$rc" 1 "verify on a standby its conninfo lets it reach: refused"

kill -TERM "$WEB_PID"
wait "$WEB_PID" || fail "tallyfeed-web did not exit cleanly"
finish
