#!/usr/bin/env bash
# HTTP that one client cannot take down (daemon/http.c), on tallyfeed-web
# and on the collector's /healthz and /metrics (the same server):
#  - 200 connections from 127.0.0.1 trickling their headers (a byte every
#    0.5 s, never finished) against each: /healthz and API calls from
#    127.0.0.2 are each answered within 1 s while they trickle, one address
#    holds at most TF_HTTP_PER_ADDRESS of them, and the server closes every
#    one within its header deadline (TF_HTTP_HEADER_DEADLINE_S, 5 s);
#  - while one request waits on a locked table, others are answered within
#    1 s (a pool of threads, a database connection each);
#  - web/connections_per_address raises the cap (behind a proxy);
#  - a GET with a body gets 400; a Host that names neither the server nor
#    one of --host gets 421;
#  - a database error's body carries none of libpq's text (it goes to the
#    log).
# The whole of 127.0.0.0/8 is loopback on Linux: the probes bind 127.0.0.2.
# TF_WEB_WRAP runs tallyfeed-web under a tool (valgrind, say).
. "$(dirname "$0")/lib.sh"

WEB=$TF_BIN/console/tallyfeed-web
TRICKLE=$TF_SRC/tests/tools/tf-trickle
HEADER_DEADLINE_S=5     # TF_HTTP_HEADER_DEADLINE_S
PER_ADDRESS=16          # TF_HTTP_PER_ADDRESS
setup_db
start_collector
for _ in $(seq 1 100); do [ -s "$WORK/metrics" ] && break; sleep 0.1; done
METRICS=$(cat "$WORK/metrics")

# start_web NAME ARGS...: tallyfeed-web on a free port; its URL in $WORK/NAME-address.
start_web() {
	local name=$1
	shift
	rm -f "$WORK/$name-address"
	${TF_WEB_WRAP:-} "$WEB" -l 127.0.0.1:0 --address-file "$WORK/$name-address" -F off -v "$@" \
		>>"$WORK/$name.log" 2>&1 &
	WEB_PIDS+=($!)
	for _ in $(seq 1 300); do [ -s "$WORK/$name-address" ] && return 0; sleep 0.1; done
	cat "$WORK/$name.log" >&2
	return 1
}
WEB_PIDS=()
trap 'rc=$?; set +e; for p in "${WEB_PIDS[@]}"; do kill $p 2>/dev/null; done; (exit $rc); cleanup' EXIT
start_web web -C "$CERTS" --host tally.example.org
URL=$(cat "$WORK/web-address")
hostport() { local h=${1#http://}; echo "${h%/}"; }

say "200 trickling connections from 127.0.0.1 to each of the web and the collector's metrics"
out=$(python3 "$TRICKLE" --target "$(hostport "$URL")" --target "$(hostport "$METRICS")" \
	--count 200 --from 127.0.0.1 --interval 0.5 --probe-from 127.0.0.2 \
	--probe "${METRICS}healthz" --probe "${URL}api/v1/totals?level=province" \
	--probe "${URL}api/v1/progress?level=county&under=630100000000" --wait 30)
echo "$out"
while read -r what url status seconds open; do
	[ "$what" = probe ] || continue
	expect_eq "$status" status=200 "from 127.0.0.2 during the attack: $url"
	expect_eq "$(python3 -c "import sys; print(float(sys.argv[1]) < 1.0)" "${seconds#seconds=}")" \
		True "$url answered within 1 s ($seconds)"
	[ "${open#open=}" -gt 0 ] || fail "$url: the slow connections were already closed ($open)"
done <<<"$out"
[ "$(grep -c '^probe .* status=' <<<"$out")" -eq 3 ] || fail "not every probe ran"
while read -r what target opened refused held closed open longest; do
	[ "$what" = trickle ] || continue
	expect_eq "$opened $closed $open" "opened=200 closed=200 open=0" "$target: every slow connection closed by the server"
	h=${held#held=}
	[ "$h" -ge 1 ] && [ "$h" -le "$PER_ADDRESS" ] ||
		fail "$target: $held slow connections held at once from one address (at most $PER_ADDRESS)"
	# A bound on the server's behaviour, not a sleep: the deadline, plus
	# the sweep's quarter second and a loaded machine's slack.
	expect_eq "$(python3 -c "import sys; print(float(sys.argv[1]) <= $HEADER_DEADLINE_S + 2)" "${longest#longest=}")" \
		True "$target: none held past the header deadline ($longest s)"
done <<<"$out"
[ "$(grep -c '^trickle ' <<<"$out")" -eq 2 ] || fail "not every target reported"
grep -q 'debug: http: closed 127.0.0.1.s connection: its headers not in within 5 s' "$WORK/web.log" ||
	fail "the web does not log why it closed a slow connection"

say "web/connections_per_address: room for a proxy"
printf 'web\n    connections_per_address = 40\n' >"$WORK/proxied.cfg"
start_web proxied -f "$WORK/proxied.cfg"
out=$(python3 "$TRICKLE" --target "$(hostport "$(cat "$WORK/proxied-address")")" --count 60 \
	--from 127.0.0.1 --wait 30)
echo "$out"
expect_eq "$(echo "$out" | sed -n 's/.* held=\([0-9]*\) closed=\([0-9]*\) .*/\1 \2/p')" "40 60" \
	"connections_per_address = 40: 40 of 60 held from one address, all closed in the end"

say "a query held up by a lock holds up only its own request"
# wait_for WHAT COMMAND...: until COMMAND succeeds, at most 10 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
	fail "$what: not within 10 s"
	return 1
}
unit=630121100201
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${URL}api/v1/unit/$unit")" 200 "unit page, unlocked"
mkfifo "$WORK/lock.sql"
psql -X -q -v ON_ERROR_STOP=1 <"$WORK/lock.sql" >"$WORK/lock.out" 2>&1 &
LOCK_PID=$!
exec 7>"$WORK/lock.sql"
echo "BEGIN; LOCK TABLE tallyfeed.message IN ACCESS EXCLUSIVE MODE;" >&7
locked() { [ "$(sql "SELECT count(*) FROM pg_locks WHERE relation = 'tallyfeed.message'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]; }
wait_for "the lock taken" locked
curl -s --max-time 60 -o "$WORK/slow.body" -w '%{http_code}' "${URL}api/v1/unit/$unit" >"$WORK/slow.status" &
SLOW_PID=$!
waiting() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tallyfeed-web' AND wait_event_type = 'Lock' AND datname = current_database()")" -ge 1 ]; }
wait_for "the unit page waiting on the lock" waiting
for q in "api/v1/totals?level=province" "api/v1/area/630121000000" "api/v1/"; do
	read -r st secs < <(curl -s --max-time 10 --interface 127.0.0.2 -o /dev/null -w '%{http_code} %{time_total}\n' "$URL$q")
	expect_eq "$st" 200 "$q while another request waits on the database"
	expect_eq "$(python3 -c "import sys; print(float(sys.argv[1]) < 1.0)" "$secs")" True \
		"$q answered within 1 s while another waits ($secs s)"
done
[ -s "$WORK/slow.status" ] && fail "the unit page did not wait for the lock"
echo "COMMIT;" >&7
exec 7>&-
wait "$LOCK_PID" || fail "the locking session: $(cat "$WORK/lock.out")"
wait "$SLOW_PID" || true
expect_eq "$(cat "$WORK/slow.status")" 200 "the unit page, once the lock is gone"

say "a GET with a body, a Host not ours"
code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
expect_eq "$(code -X GET -d x "${URL}api/v1/")" 400 "web: a GET with a body (Content-Length)"
grep -q 'a GET takes no body' "$WORK/body" || fail "web: the body-refusal says why: $(cat "$WORK/body")"
expect_eq "$(code -X GET -H 'Transfer-Encoding: chunked' -d x "${URL}api/v1/")" 400 \
	"web: a GET with a body (chunked)"
expect_eq "$(code -X GET -d x "${METRICS}healthz")" 400 "collector: a GET with a body"
expect_eq "$(code "${URL}api/v1/")" 200 "web: Host as the server's address and port"
port=$(hostport "$URL"); port=${port##*:}
expect_eq "$(code -H "Host: localhost:$port" "${URL}api/v1/")" 200 "web: Host localhost:PORT"
expect_eq "$(code -H 'Host: tally.example.org' "${URL}api/v1/")" 200 "web: Host a configured name"
expect_eq "$(code -H 'Host: TALLY.example.org:443' "${URL}api/v1/")" 200 "web: a configured name, any port, any case"
expect_eq "$(code -H 'Host: evil.example' "${URL}api/v1/")" 421 "web: Host another name (DNS rebinding)"
expect_eq "$(code -H "Host: evil.example:$port" "${URL}api/v1/")" 421 "web: another name with our port"
expect_eq "$(code -H "Host: 127.0.0.2:$port" "${URL}api/v1/")" 421 "web: another address"
expect_eq "$(code -H "Host: 127.0.0.1:1" "${URL}api/v1/")" 421 "web: our address, another port"
case $(code -H 'Host:' "${URL}api/v1/") in
400|421) echo "ok: web: no Host refused" ;;
*) fail "web: no Host: $(cat "$WORK/body")" ;;
esac
expect_eq "$(code -H 'Host: evil.example' "${METRICS}healthz")" 200 "collector's /healthz takes any Host (Prometheus scrapes by name)"

say "a database error's body carries no libpq text"
# check_clean PATH STATUS WHAT: the status, a short reason, none of libpq's words.
check_clean() {
	expect_eq "$(code "$1")" "$2" "$3: $2"
	grep -q '"error"' "$WORK/body" || fail "$3: no reason in '$(cat "$WORK/body")'"
	if grep -Eqi 'fatal|permission denied|does not exist|connection to server|socket|ERROR:' "$WORK/body"; then
		fail "$3: libpq's text in the body: $(cat "$WORK/body")"
	else
		echo "ok: $3: $(cat "$WORK/body")"
	fi
}
start_web nodb -d "dbname=tf_nosuch_$$"
NODB=$(cat "$WORK/nodb-address")
check_clean "${NODB}api/v1/totals?level=province" 503 "a database that does not exist"
grep -q "tf_nosuch_$$\" does not exist" "$WORK/nodb.log" || fail "the log lacks libpq's reason"
sql "REVOKE SELECT ON tallyfeed.outstanding FROM tallyfeed_reader"
check_clean "${URL}api/v1/outstanding?under=630121000000" 500 "a query the database refuses"
sql "GRANT SELECT ON tallyfeed.outstanding TO tallyfeed_reader"
grep -q 'permission denied for view outstanding' "$WORK/web.log" || fail "the log lacks the database's reason"
expect_eq "$(code "${URL}api/v1/outstanding?under=630121000000")" 200 "and again once it may"

for p in "${WEB_PIDS[@]}"; do
	kill -TERM "$p"
	wait "$p" || fail "tallyfeed-web did not exit cleanly on SIGTERM"
done
WEB_PIDS=()
stop_collector || fail "the collector did not exit cleanly"
finish
