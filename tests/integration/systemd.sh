#!/usr/bin/env bash
# Running as services: `cmake --install` puts the programs, the units and
# what they need under a prefix; the installed units pass `systemd-analyze
# verify`, and each daemon speaks systemd's notify protocol for real —
# READY=1 once serving, WATCHDOG=1 while its loop turns (at half
# WatchdogSec), RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on
# SIGTERM — heard on a NOTIFY_SOCKET this test listens on, as systemd would.
. "$(dirname "$0")/lib.sh"

say "cmake --install: programs, units, registry, examples under one prefix"
ROOT=$WORK/root
cmake --install "$TF_BIN" --prefix "$ROOT" >"$WORK/install.log" || fail "cmake --install: $(cat "$WORK/install.log")"
for prog in tallyfeed tallyfeed-collector tallyfeed-agent tallyfeed-web; do
	[ -x "$ROOT/bin/$prog" ] || fail "not installed: bin/$prog"
done
# The installed programs find their library and carry their schema: run
# them from elsewhere, with no source tree in reach.
expect_eq "$(cd / && "$ROOT/bin/tallyfeed-collector" --help >/dev/null 2>&1 && echo runs)" runs \
	"the installed collector runs (libtallyfeed through its RPATH)"
installed_db=tf_installed_$$
createdb "$installed_db"
(cd / && PGDATABASE=$installed_db "$ROOT/bin/tallyfeed" db migrate >/dev/null) || fail "the installed tallyfeed cannot migrate"
expect_eq "$(PGDATABASE=$installed_db sql "SELECT count(*) FROM tallyfeed.schema_migration")" \
	"$(ls "$TF_SRC"/deploy/sql/*.sql | wc -l)" "the installed tallyfeed applies every migration, built in"
expect_eq "$(cd / && PGDATABASE=$installed_db "$ROOT/bin/tallyfeed" registry load \
	"$ROOT/share/tallyfeed/registry/qinghai" | grep -o '4716 units')" "4716 units" \
	"the installed registry loads"
dropdb "$installed_db"
[ -s "$ROOT/share/tallyfeed/registry/qinghai/README.md" ] || fail "the registry's README is not installed"
[ -s "$ROOT/lib/sysusers.d/tallyfeed.conf" ] || fail "sysusers.d/tallyfeed.conf is not installed"
for prog in collector agent web; do
	expect_eq "$("$ROOT/bin/tallyfeed-$prog" -n -f "$ROOT/share/doc/tallyfeed/examples/$prog.cfg" 2>&1)" \
		"configuration OK" "the installed $prog.cfg example passes -n"
done

say "systemd-analyze verify on the installed units"
mkdir -p "$WORK/units"
cp "$ROOT"/lib/systemd/system/*.service "$WORK/units/"
expect_eq "$(ls "$WORK/units" | tr '\n' ' ')" \
	"tallyfeed-agent.service tallyfeed-collector.service tallyfeed-web.service " "three units installed"
for unit in "$WORK"/units/*.service; do
	grep -q "^ExecStart=$ROOT/bin/tallyfeed-" "$unit" || fail "$(basename "$unit"): ExecStart not under $ROOT/bin"
	[ -s "$(sed -n 's|^Documentation=file://||p' "$unit")" ] || fail "$(basename "$unit"): its Documentation is not installed"
done
# verify checks that each ExecStart's program exists: they are installed.
out=$(systemd-analyze verify "$WORK"/units/*.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify said: $out"
for unit in "$WORK"/units/*.service; do
	for want in Type=notify WatchdogSec= Restart=on-failure User=tallyfeed NoNewPrivileges=yes \
	            ProtectSystem=strict PrivateTmp=yes ExecReload=; do
		grep -q "^$want" "$unit" || fail "$(basename "$unit") has no $want"
	done
done
grep -q '^StateDirectory=tallyfeed' "$WORK/units/tallyfeed-agent.service" || fail "agent: no StateDirectory"
echo "ok: three units verified"

say "every path of each shipped example works under its unit's sandbox"
# Read from the installed units' own directives and tmpfiles.d file; the
# examples as shipped (their paths those of a default install).
[ -s "$ROOT/lib/tmpfiles.d/tallyfeed.conf" ] || fail "tmpfiles.d/tallyfeed.conf is not installed"
python3 "$TF_SRC/tests/integration/sandbox_paths.py" "$ROOT/lib/systemd/system" \
	"$TF_SRC/deploy/examples" "$ROOT/lib/tmpfiles.d/tallyfeed.conf" >"$WORK/sandbox.txt" \
	|| fail "paths the sandbox does not allow: $(grep '^FAIL' "$WORK/sandbox.txt" | tr '\n' ' ')"
cat "$WORK/sandbox.txt"

# listen NAME: a NOTIFY_SOCKET at $WORK/NAME.sock, datagrams to $WORK/NAME.notes.
listen() {
	python3 - "$WORK/$1.sock" "$WORK/$1.notes" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        for line in s.recv(4096).decode().split("\n"):
            if line:
                print(line, file=out)
PY
	LISTENERS+=($!)
	for _ in $(seq 50); do [ -S "$WORK/$1.sock" ] && return; sleep 0.1; done
	fail "no notify socket for $1"
}
LISTENERS=()
trap 'rc=$?; set +e; for p in "${LISTENERS[@]}"; do kill $p 2>/dev/null; done; (exit $rc); cleanup' EXIT
# wait_note NAME TEXT [COUNT]: until NAME has said TEXT (COUNT times).
wait_note() {
	for _ in $(seq 100); do
		[ "$(grep -cx "$2" "$WORK/$1.notes" 2>/dev/null || true)" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	fail "$1 did not say $2 ${3:-1} time(s): $(tr '\n' ' ' <"$WORK/$1.notes" 2>/dev/null)"
}
# check_daemon NAME PID: the whole conversation.
check_daemon() {
	wait_note "$1" READY=1
	wait_note "$1" WATCHDOG=1 3         # WATCHDOG_USEC=400000: one every 0.2 s
	kill -HUP "$2"
	wait_note "$1" RELOADING=1
	wait_note "$1" READY=1 2
	kill -TERM "$2"
	wait "$2" || fail "$1 exit status after SIGTERM"
	wait_note "$1" STOPPING=1
	grep -q '^STATUS=' "$WORK/$1.notes" || fail "$1 gave no STATUS"
	echo "ok: $1: READY, WATCHDOG, RELOADING/READY on SIGHUP, STOPPING on SIGTERM"
}

setup_db
say "the collector"
listen collector
printf 'collector\n    rate_per_s = 20\n    rules\n        mass_quorum = 1/2\n' >"$WORK/collector.cfg"
NOTIFY_SOCKET=$WORK/collector.sock WATCHDOG_USEC=400000 start_collector -f "$WORK/collector.cfg"
# The SIGHUP in check_daemon reads these.
printf 'collector\n    rate_per_s = 5\n    batch_max = 50\n' >"$WORK/collector.cfg"
check_daemon collector "$COLLECTOR_PID"
COLLECTOR_PID=
grep -q 'reload: batch_max 50, database_stall_ms 2000, rate 5/s burst 200' "$WORK/collector.log" \
	&& echo "ok: collector: SIGHUP applied the new settings" || fail "collector: the reload did not apply"

say "a collector given a broken configuration on SIGHUP keeps the old one"
start_collector -f "$WORK/collector.cfg"
sed -i 's/rate_per_s = 5/rate_per_s = fast/' "$WORK/collector.cfg"
kill -HUP "$COLLECTOR_PID"
for _ in $(seq 50); do grep -q 'keeping the settings in force' "$WORK/collector.log" && break; sleep 0.1; done
grep -q 'collector.cfg:2: collector/rate_per_s: "fast" is not a whole number.*; keeping the settings in force' \
	"$WORK/collector.log" && echo "ok: collector: a bad value on reload is refused, with its line" \
	|| fail "collector: broken reload: $(tail -2 "$WORK/collector.log")"
expect_eq "$(TF_SEND_AS=tf-send "$SEND" "$EP" report "$TF_SRC/deploy/examples/villagers.json" | cut -d' ' -f1)" \
	ACCEPTED "collector: still collecting after the refused reload"
stop_collector

say "the agent"
start_collector
agent_config qiaotou 630121100000
listen agent
NOTIFY_SOCKET=$WORK/agent.sock WATCHDOG_USEC=400000 "$AGENT" -f "$WORK/qiaotou.cfg" run \
	>>"$WORK/agent.log" 2>&1 &
agent_pid=$!
# The SIGHUP in check_daemon reads this new setting.
sed -i 's/heartbeat_ms = 1000/heartbeat_ms = 2000/' "$WORK/qiaotou.cfg"
check_daemon agent $agent_pid
grep -q 'reload: window 64, timeout 500 ms, retry max 2000 ms, heartbeat 2000 ms' "$WORK/agent.log" \
	&& echo "ok: agent: SIGHUP applied the new heartbeat" || fail "agent: the reload did not apply"

say "an agent given a broken configuration on SIGHUP keeps the old one"
rm -f "$WORK/agent.notes"
"$AGENT" -f "$WORK/qiaotou.cfg" run >>"$WORK/agent2.log" 2>&1 &
agent_pid=$!
# SIGHUP before the agent has its handlers would end it: wait until it runs.
forwarding() { grep -q 'forwarding to' "$WORK/agent2.log"; }
wait_for 20 forwarding || fail "agent: not forwarding: $(tail -2 "$WORK/agent2.log")"
printf '    windoww = 3\n' >>"$WORK/qiaotou.cfg"
kill -HUP $agent_pid
for _ in $(seq 50); do grep -q 'keeping the settings in force' "$WORK/agent2.log" && break; sleep 0.1; done
grep -q 'unknown key "agent/windoww"; keeping the settings in force' "$WORK/agent2.log" \
	&& echo "ok: agent: a misspelt key on reload is refused, the old settings kept" \
	|| fail "agent: broken reload: $(tail -2 "$WORK/agent2.log")"
out=$(agent -f "$WORK/qiaotou.cfg" submit --wait 30 "$TF_SRC/deploy/examples/residents.json" 2>&1 || true)
case $out in
*"unknown key"*) sed -i '/windoww/d' "$WORK/qiaotou.cfg"
	out=$(agent -f "$WORK/qiaotou.cfg" submit --wait 30 "$TF_SRC/deploy/examples/residents.json") ;;
esac
expect_eq "$(echo "$out" | grep -c ': ACCEPTED$')" 1 "agent: still forwarding after the refused reload"
kill -TERM $agent_pid; wait $agent_pid || fail "agent exit status"

say "the dashboard"
listen web
NOTIFY_SOCKET=$WORK/web.sock WATCHDOG_USEC=400000 "$TF_BIN/console/tallyfeed-web" \
	-l 127.0.0.1:0 >>"$WORK/web.log" 2>&1 &
check_daemon web $!
stop_collector

say "deploy/pg-throwaway run from a directory its server's user cannot enter"
# As root the cluster runs as 'postgres', whose tools start in the caller's
# directory; a checkout under /root made each of them complain.
mkdir -m 700 "$WORK/locked"
(cd "$WORK/locked" && "$TF_SRC/deploy/pg-throwaway" start "$WORK/pg-locked" >/dev/null \
	&& "$TF_SRC/deploy/pg-throwaway" stop "$WORK/pg-locked") 2>"$WORK/pg-locked.err" \
	|| fail "pg-throwaway from $WORK/locked: $(cat "$WORK/pg-locked.err")"
expect_eq "$(cat "$WORK/pg-locked.err")" "" "pg-throwaway says nothing on stderr (as $(id -un))"
finish
