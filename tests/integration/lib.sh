# lib.sh: shared by the integration tests.  Each test gets its own database
# in the PostgreSQL cluster named by the PG* environment (tests/run starts
# one); with no PGHOST set, the test starts a throwaway cluster of its own.
# Daemons listen on 127.0.0.1 with ports the kernel picks.
#
# Needs TF_BIN (the build directory) and TF_SRC (the source tree).

set -Eeuo pipefail
# The command that ends a test under set -e is named at the exit (once, in
# a fresh-debian run, integration_stop failed after 4 s with no output at
# all).  Recorded at every failure, said only at a failing exit: a failure
# set -e tolerates (a condition, a command substitution's grep) is not
# the one that ended the test unless nothing came after it.
LAST_FAILURE=
trap 'LAST_FAILURE="${BASH_SOURCE[0]}:$LINENO: \"$BASH_COMMAND\" exited $?"' ERR

: "${TF_BIN:?TF_BIN must name the build directory}"
: "${TF_SRC:?TF_SRC must name the source tree}"

# TF_WRAP runs the daemons under a tool, e.g. valgrind (tests/run does).
AGENT=$TF_BIN/agents/tallyfeed-agent
COLLECTOR=$TF_BIN/collector/tallyfeed-collector
agent() { ${TF_WRAP:-} "$AGENT" "$@"; }
CONSOLE=$TF_BIN/console/tallyfeed
SIM=$TF_BIN/tests/sim/tallyfeed-sim
SEND_BIN=$TF_BIN/tests/tools/tf-send
REGISTRY=$TF_SRC/deploy/registry/qinghai

WORK=$(mktemp -d /tmp/tallyfeed-test.XXXXXX)
chmod 755 "$WORK"
OWN_CLUSTER=
COLLECTOR_PID=
AGENT_PIDS=()
TEST_DB=
FAILURES=0

cleanup() {
	local rc=$?
	local pid
	for pid in "${AGENT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	if [ -n "$COLLECTOR_PID" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null; then
		kill -TERM "$COLLECTOR_PID" 2>/dev/null || true
		wait "$COLLECTOR_PID" 2>/dev/null || true
	fi
	if [ -n "$TEST_DB" ]; then
		dropdb --if-exists "$TEST_DB" 2>/dev/null || true
	fi
	if [ -n "$OWN_CLUSTER" ]; then
		"$TF_SRC/deploy/pg-throwaway" stop "$OWN_CLUSTER" >/dev/null 2>&1 || true
	fi
	if [ $rc -eq 0 ]; then
		rm -rf "$WORK"
	else
		[ -n "$LAST_FAILURE" ] && echo "last failed command: $LAST_FAILURE" >&2
		echo "test work directory kept: $WORK" >&2
	fi
}
trap cleanup EXIT

# TF_PG_PAIR=1 (set before this file is read, with PG* unset): the test's
# own primary with a synchronous standby (pg-throwaway pair), and PG*
# naming both, so a connection finds whichever takes writes.
if [ -z "${PGHOST:-}" ]; then
	OWN_CLUSTER=$WORK/pg
	eval "$("$TF_SRC/deploy/pg-throwaway" "$([ -n "${TF_PG_PAIR:-}" ] && echo pair || echo start)" \
		"$OWN_CLUSTER")"
fi

say() { echo "--- $*"; }

# Keys.  KEYS holds every party's files (the secret ones stay here); CERTS
# is the collector's certificate directory: the public NAME.cert of each
# enrolled agent and importer.
KEYS=$WORK/keys
CERTS=$WORK/certs
mkdir -p "$KEYS" "$CERTS"
chmod 700 "$KEYS"
"$CONSOLE" keygen --collector collector --out "$KEYS" >/dev/null
COLLECTOR_CERT=$KEYS/collector.cert

# reload_collector: SIGHUP, and wait until the collector says it reloaded.
reload_collector() {
	local before
	before=$(grep -c 'reload:' "$WORK/collector.log" || true)
	kill -HUP "$COLLECTOR_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'reload:' "$WORK/collector.log" || true)" -gt "$before" ] && return 0
		sleep 0.1
	done
	echo "collector did not reload" >&2
	return 1
}

# enrol NAME TOWNSHIP (or enrol NAME importer): keys for NAME, its public
# certificate in the collector's directory (reloaded if it is running).
enrol() {
	[ -f "$KEYS/$1.cert_secret" ] && return 0
	if [ "$2" = importer ]; then
		"$CONSOLE" keygen --importer "$1" --out "$KEYS" >/dev/null
	else
		"$CONSOLE" keygen --agent "$1" --township "$2" --out "$KEYS" >/dev/null
	fi
	cp "$KEYS/$1.cert" "$CERTS/"
	if [ -n "$COLLECTOR_PID" ]; then
		reload_collector
	fi
}
enrol tf-send 630121100000      # 桥头镇, the township of deploy/examples
enrol importer importer

# SEND: tf-send as an enrolled party, TF_SEND_AS=NAME (default tf-send);
# TF_SEND_AS=plain sends without keys, as an outsider would.
SEND=$WORK/tf-send
{
	echo '#!/bin/sh'
	echo 'if [ "${TF_SEND_AS:-}" = plain ]; then exec "'"$SEND_BIN"'" "$@"; fi'
	echo 'TF_KEY="'"$KEYS"'/${TF_SEND_AS:-tf-send}.cert_secret" TF_SERVER_CERT="'"$COLLECTOR_CERT"'" exec "'"$SEND_BIN"'" "$@"'
} >"$SEND"
chmod 755 "$SEND"

fail() {
	echo "FAIL: $*" >&2
	FAILURES=$((FAILURES + 1))
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds
# (0), or until SECONDS have passed (1).  A test waits for a condition this
# way, never for a fixed time, then checks what it waited for.
wait_for() {
	local end=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
	shift
	until "$@"; do
		[ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
		sleep 0.1
	done
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	if [ "$1" = "$2" ]; then
		echo "ok: $3 ($1)"
	else
		fail "$3: expected '$2', got '$1'"
	fi
}

# sql QUERY: one value or rows, unaligned
sql() { psql -X -v ON_ERROR_STOP=1 -Atq -c "$1"; }

# A fresh database with the schema and the Qinghai registry.
setup_db() {
	TEST_DB=tf_$(basename "$0" .sh)_$$
	createdb "$TEST_DB"
	export PGDATABASE=$TEST_DB
	"$CONSOLE" db migrate >/dev/null
	"$CONSOLE" registry load "$REGISTRY" >/dev/null
}

# Start a collector on a free port; sets EP and COLLECTOR_PID.  The port
# is random ('!'), not the first free one ('*'): a test that restarts its
# collector on the same port must not find another test's collector there
# (such a test sets COLLECTOR_ENDPOINT to the endpoint it had).
start_collector() {
	rm -f "$WORK/endpoint"
	rm -f "$WORK/feed" "$WORK/metrics"
	${TF_WRAP:-} "$COLLECTOR" -e "${COLLECTOR_ENDPOINT:-tcp://127.0.0.1:!}" --endpoint-file "$WORK/endpoint" \
		--feed 'tcp://127.0.0.1:!' --feed-file "$WORK/feed" \
		--metrics 127.0.0.1:0 --metrics-file "$WORK/metrics" \
		-k "$KEYS/collector.cert_secret" -C "$CERTS" "$@" \
		>>"$WORK/collector.log" 2>&1 &
	COLLECTOR_PID=$!
	for _ in $(seq 1 300); do
		[ -s "$WORK/endpoint" ] && break
		kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$WORK/collector.log" >&2; return 1; }
		sleep 0.1
	done
	[ -s "$WORK/endpoint" ] || { echo "collector did not start" >&2; return 1; }
	EP=$(cat "$WORK/endpoint")
}

# agent_config NAME TOWNSHIP [EXTRA]: enrol NAME, and write $WORK/NAME.cfg
# for an agent of that township, with short timeouts so tests need not
# wait long after a fault.  EXTRA: more ZPL lines for the agent section.
agent_config() {
	enrol "$1" "$2"
	printf 'agent\n    id = "%s"\n    township = "%s"\n    collector = "%s"\n    registry = "%s"\n    spool = "%s"\n    key = "%s"\n    collector_cert = "%s"\n    timeout_ms = 500\n    retry_max_ms = 2000\n    heartbeat_ms = 1000\n    metrics = "127.0.0.1:0"\n%s' \
		"$1" "$2" "${EP:-tcp://127.0.0.1:1}" "$REGISTRY" "$WORK/spool-$1" \
		"$KEYS/$1.cert_secret" "$COLLECTOR_CERT" "${3:-}" >"$WORK/$1.cfg"
}

# start_agent NAME TOWNSHIP: a running agent (`run`) of that township.
start_agent() {
	agent_config "$1" "$2"
	rm -f "$WORK/agent-metrics-$1"
	${TF_WRAP:-} "$AGENT" -f "$WORK/$1.cfg" --metrics-file "$WORK/agent-metrics-$1" run \
		>>"$WORK/agent-$1.log" 2>&1 &
	AGENT_PIDS+=($!)
}

# stop_agents: SIGTERM every running agent; fails if one does not exit 0.
stop_agents() {
	local pid rc=0
	for pid in "${AGENT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" || rc=$?
	done
	AGENT_PIDS=()
	return $rc
}

stop_collector() {
	kill -TERM "$COLLECTOR_PID"
	local rc=0
	wait "$COLLECTOR_PID" || rc=$?
	COLLECTOR_PID=
	return $rc
}

finish() {
	if [ "$FAILURES" -ne 0 ]; then
		echo "$(basename "$0"): $FAILURES check(s) failed" >&2
		echo "--- collector log:" >&2
		tail -30 "$WORK/collector.log" >&2 2>/dev/null || true
		exit 1
	fi
	echo "$(basename "$0"): all checks passed"
}
