#!/usr/bin/env bash
# A slow database does not stop the collector's loop.  Two faults, each held
# for longer than systemd's watchdog interval (WatchdogSec=30s) while three
# agents send their townships' results:
#   1. another session holds LOCK TABLE tallyfeed.message;
#   2. the collector's own database backend is frozen (SIGSTOP).
# Throughout, /healthz answers 200 (the loop turns) and /readyz says 503 and
# why; a SIGHUP reloads at once, batch size and all, and the loop answers
# on; nothing is acknowledged before the commit that stores it (no agent's
# spool holds an accepted message, the collector has answered none); past
# the batch in hand the collector answers DEFERRED (COLLECTOR_BUSY) rather
# than letting the agents resend into a storm.  When the fault goes, every
# result is stored once, every agent hears ACCEPTED for each, duplicates
# stay at most DUPLICATES_MAX, and `tallyfeed verify` is clean.
. "$(dirname "$0")/lib.sh"

HOLD_S=31               # past the 30 s watchdog interval
DUPLICATES_MAX=6        # answers DUPLICATE allowed per fault (a resend crossing its ack)
TOWNSHIPS=(630121100000 630121101000 630121102000)

setup_db
# Batches of 8: the first results fill the batch with the writer and the one
# after it, and the rest meet the DEFERRED answer.
printf 'collector\n    batch_max = 8\n    database_stall_ms = 2000\n    database_lock_timeout_ms = 5000\n' \
	>"$WORK/collector.cfg"
start_collector -f "$WORK/collector.cfg"
METRICS=$(cat "$WORK/metrics")
scrape() { curl -s --max-time 5 "${METRICS}metrics" >"$WORK/scrape"; }
metric() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/scrape"; }

i=0
for t in "${TOWNSHIPS[@]}"; do
	i=$((i + 1))
	"$SIM" --registry "$REGISTRY" --under "$t" --out "$WORK/sim" --seed 11 --quiet
	mkdir -p "$WORK/inbox-a$i"
	agent_config "a$i" "$t" "    inbox = \"$WORK/inbox-a$i\"
"
	${TF_WRAP:-} "$AGENT" -f "$WORK/a$i.cfg" run >>"$WORK/agent-a$i.log" 2>&1 &
	AGENT_PIDS+=($!)
done
# Half of each township's results go in during the first fault, the other
# half during the second.
for i in 1 2 3; do
	t=${TOWNSHIPS[$((i - 1))]}
	ls "$WORK/sim/$t"/*.json | sort >"$WORK/files-a$i"
	n=$(wc -l <"$WORK/files-a$i")
	head -n $((n / 2)) "$WORK/files-a$i" >"$WORK/first-a$i"
	tail -n +$((n / 2 + 1)) "$WORK/files-a$i" >"$WORK/second-a$i"
done
total=$(cat "$WORK"/files-a? | wc -l)
say "$total results from 3 agents, in two halves"

# drop PHASE: each agent's half into its inbox (written, then renamed in).
drop() {
	local i f
	for i in 1 2 3; do
		while read -r f; do
			cp "$f" "$WORK/inbox-a$i/.$(basename "$f").tmp"
			mv "$WORK/inbox-a$i/.$(basename "$f").tmp" "$WORK/inbox-a$i/$(basename "$f")"
		done <"$WORK/$1-a$i"
	done
}
# accepted_in_spools: messages the agents' spools hold as accepted.
accepted_in_spools() {
	local i n sum=0
	for i in 1 2 3; do
		n=$(agent -f "$WORK/a$i.cfg" status | grep -o 'accepted [0-9]*' | head -1 | cut -d' ' -f2)
		sum=$((sum + ${n:-0}))
	done
	echo "$sum"
}
# A watcher of /healthz every 0.2 s: one line per answer, the status code.
watch_health() {
	while :; do
		curl -s -o /dev/null --max-time 2 -w '%{http_code}\n' "${METRICS}healthz" >>"$WORK/health-$1"
		sleep 0.2
	done
}

# fault NAME HALF HOLD-COMMAND RELEASE-COMMAND EXPECTED-STORED
fault() {
	local name=$1 half=$2 hold=$3 release=$4 want=$5 accepted0 dup0 deferred0 watcher
	say "fault: $name"
	scrape
	accepted0=$(metric 'tallyfeed_collector_messages_total{verdict="accepted"}')
	dup0=$(metric 'tallyfeed_collector_messages_total{verdict="duplicate"}')
	deferred0=$(metric 'tallyfeed_collector_messages_total{verdict="deferred"}')
	spooled0=$(accepted_in_spools)
	said0=$(grep -c 'database: a commit has waited' "$WORK/collector.log" || true)
	back0=$(grep -c 'database: the commit came back after' "$WORK/collector.log" || true)
	$hold
	watch_health "$name" 7>&- &
	watcher=$!
	drop "$half"
	stalled() { scrape; awk -v h="$HOLD_S" '$1 == "tallyfeed_collector_database_stalled_seconds" { exit !($2 >= h) } END { if (NR == 0) exit 1 }' "$WORK/scrape"; }
	wait_for 90 stalled || fail "$name: the commit never waited $HOLD_S s (is the fault held?)"
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${METRICS}healthz")" 200 "$name: /healthz while the commit has waited $HOLD_S s"
	curl -s "${METRICS}readyz" >"$WORK/readyz"
	grep -q '^not ready: a commit has waited [0-9.]* s on the database$' "$WORK/readyz" \
		&& echo "ok: $name: /readyz: $(cat "$WORK/readyz")" || fail "$name: /readyz says '$(cat "$WORK/readyz")'"
	expect_eq "$(metric 'tallyfeed_collector_messages_total{verdict="accepted"}')" "$accepted0" \
		"$name: the collector answered nothing ACCEPTED while its commit waits"
	expect_eq "$(accepted_in_spools)" "$spooled0" "$name: no agent holds an acceptance while the commit waits"
	[ "$(grep -c 'database: a commit has waited' "$WORK/collector.log")" -gt "$said0" ] \
		&& echo "ok: $name: the stall is in the log" || fail "$name: the stall is not in the log"
	# A reload while the commit waits, with batches in hand, and a new
	# batch size: it takes effect at once and the collector answers on
	# (a reload once waited for the batches in hand to be written).
	batch=$((batch == 8 ? 5 : 8))
	sed -i "s/batch_max = .*/batch_max = $batch/" "$WORK/collector.cfg"
	reload_collector && echo "ok: $name: SIGHUP reloaded while the commit waits" \
		|| fail "$name: SIGHUP did not reload while the commit waits"
	grep -q "reload: batch_max $batch," "$WORK/collector.log" \
		&& echo "ok: $name: batch_max $batch applied" || fail "$name: batch_max $batch not applied"
	scrape
	deferred1=$(metric 'tallyfeed_collector_messages_total{verdict="deferred"}')
	more_deferred() { scrape; [ "$(metric 'tallyfeed_collector_messages_total{verdict="deferred"}')" -gt "$deferred1" ]; }
	wait_for 60 more_deferred && echo "ok: $name: still answering (DEFERRED) after the reload" \
		|| fail "$name: nothing answered after the reload"
	expect_eq "$(metric 'tallyfeed_collector_messages_total{verdict="accepted"}')" "$accepted0" \
		"$name: still nothing ACCEPTED while the commit waits"
	$release
	all_stored() { [ "$(sql "SELECT count(*) FROM tallyfeed.message WHERE payload_type = 1")" -ge "$want" ] && [ "$(accepted_in_spools)" -ge "$want" ]; }
	wait_for 120 all_stored || fail "$name: not everything was stored and acknowledged after the fault"
	kill "$watcher"; wait "$watcher" 2>/dev/null || true
	expect_eq "$(sort -u "$WORK/health-$name" | tr '\n' ' ')" "200 " "$name: /healthz answered 200 every time ($(wc -l <"$WORK/health-$name") probes)"
	expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message WHERE payload_type = 1")" "$want" "$name: each result stored once"
	expect_eq "$(accepted_in_spools)" "$want" "$name: every agent heard ACCEPTED for each"
	scrape
	local dup=$(( $(metric 'tallyfeed_collector_messages_total{verdict="duplicate"}') - dup0 ))
	local deferred=$(( $(metric 'tallyfeed_collector_messages_total{verdict="deferred"}') - deferred0 ))
	echo "stall: fault=$name held_s>=$HOLD_S stored=$want deferred=$deferred duplicates=$dup absorbed_total=$(metric tallyfeed_collector_resends_absorbed_total)"
	[ "$deferred" -gt 0 ] && echo "ok: $name: past the batches in hand, $deferred answer(s) DEFERRED" \
		|| fail "$name: nothing was answered DEFERRED past the batches in hand"
	[ "$dup" -le "$DUPLICATES_MAX" ] && echo "ok: $name: $dup duplicate(s), at most $DUPLICATES_MAX" \
		|| fail "$name: $dup duplicates, more than $DUPLICATES_MAX"
	[ "$(grep -c 'database: the commit came back after' "$WORK/collector.log")" -gt "$back0" ] \
		&& echo "ok: $name: the end of the stall is in the log" || fail "$name: the end of the stall is not in the log"
}

# 1. LOCK TABLE held by another session, until the test lets it go.
lock_hold() {
	mkfifo "$WORK/locker.in"
	psql -X -q -v ON_ERROR_STOP=1 <"$WORK/locker.in" >"$WORK/locker.out" 2>&1 &
	LOCKER_PID=$!
	exec 7>"$WORK/locker.in"
	echo "BEGIN; LOCK TABLE tallyfeed.message IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&7
	locked() { grep -q locked "$WORK/locker.out"; }
	wait_for 20 locked || fail "could not take the lock"
}
lock_release() {
	echo "COMMIT;" >&7
	exec 7>&-
	wait "$LOCKER_PID" || fail "the locking session failed: $(cat "$WORK/locker.out")"
}
# 2. The collector's own backend frozen.
backend_pids() { sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'tallyfeed-collector' AND datname = current_database() AND pid <> pg_backend_pid()"; }
freeze() {
	FROZEN=$(backend_pids)
	[ -n "$FROZEN" ] || fail "no backend of the collector's to freeze"
	kill -STOP $FROZEN
}
thaw() { kill -CONT $FROZEN; }

batch=8
first=$(cat "$WORK"/first-a? | wc -l)
fault lock first lock_hold lock_release "$first"
fault sigstop second freeze thaw "$total"

say "the hash chain and every row still verify"
"$CONSOLE" verify --certs "$CERTS" >"$WORK/verify.log" 2>&1 && echo "ok: verify clean" \
	|| { cat "$WORK/verify.log"; fail "verify"; }

stop_agents && echo "ok: agents exited 0" || fail "agent exit status"
stop_collector && echo "ok: collector exited 0" || fail "collector exit status"
finish
