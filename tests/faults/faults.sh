#!/usr/bin/env bash
# The fault-injection suite: real agents, a real collector and a real
# PostgreSQL primary with a synchronous standby carry several thousand
# results while the collector is killed (kill -9), agents are killed and
# restarted, the primary is restarted and crashed, both servers are down
# for a while, the primary fails over (its postmaster killed with kill -9,
# the standby promoted, the old primary rewound as the new standby), and
# the link is cut (the collector frozen, or stopped for a while), at random
# instants chosen from the seed.  The collector is given both servers
# (a multi-host conninfo) and must find the new primary itself, and runs
# with replication = synchronous: an ack means the commit is on both.  At
# the end the database must hold exactly what was submitted: nothing lost,
# nothing twice, nothing changed; the standby the same; verify clean.
#
#   faults.sh [SEED]      (TF_FAULT_UNDER, TF_FAULT_EVENTS to change the size)

# This test restarts, crashes and fails over PostgreSQL: it needs servers
# of its own.
unset PGHOST PGPORT PGUSER PGDATABASE PGTARGETSESSIONATTRS
TF_PG_PAIR=1
. "$(dirname "$0")/../integration/lib.sh"

seed=${1:-${TF_FAULT_SEED:-20171020}}
under=${TF_FAULT_UNDER:-630200000000}   # 海东市: 98 townships, 1,665 units
events=${TF_FAULT_EVENTS:-40}
RANDOM=$seed
DIGEST=$TF_BIN/tests/tools/tf-digest
kills=0
restarts=0
failovers=0
PAIR=$OWN_CLUSTER

setup_db

"$SIM" --registry "$REGISTRY" --under "$under" --out "$WORK/sim" --seed "$seed" --quiet
townships=()
for d in "$WORK/sim"/[0-9]*/; do townships+=("$(basename "$d")"); done
# Enrol every township's agent before the collector reads its certificates.
for t in "${townships[@]}"; do enrol "a$t" "$t"; done
printf 'collector\n    replication = "synchronous"\n' >"$WORK/collector.cfg"
start_collector -f "$WORK/collector.cfg"
fixed_ep=$EP
nagents=${#townships[@]}
sent=$(find "$WORK/sim" -name '*.json' | wc -l)
say "[$SECONDS s] seed $seed: $sent results for $nagents townships, $events fault events"

agent_pid=()
launch_agent() {
	local i=$1 t=${townships[$1]}
	mkdir -p "$WORK/inbox-$t"
	printf 'agent\n    id = "a%s"\n    township = "%s"\n    collector = "%s"\n    registry = "%s"\n    spool = "%s"\n    inbox = "%s"\n    key = "%s"\n    collector_cert = "%s"\n    timeout_ms = 300\n    retry_max_ms = 1500\n    heartbeat_ms = 1000\n    metrics = "127.0.0.1:0"\n' \
		"$t" "$t" "$fixed_ep" "$REGISTRY" "$WORK/spool-$t" "$WORK/inbox-$t" \
		"$KEYS/a$t.cert_secret" "$COLLECTOR_CERT" >"$WORK/a$t.cfg"
	"$AGENT" -f "$WORK/a$t.cfg" run >>"$WORK/agent-$t.log" 2>&1 &
	agent_pid[$i]=$!
	AGENT_PIDS+=($!)
}
for i in "${!townships[@]}"; do launch_agent "$i"; done

relaunch_collector() {
	start_collector -f "$WORK/collector.cfg" -e "$fixed_ep"
}

# Each township's files arrive in waves, spread over the faults.  Files
# are copied into a hidden staging directory first and then renamed into
# the inbox: the inbox reads only finished .json files.
drop_wave() {
	local w=$1 t f n files
	for t in "${townships[@]}"; do
		n=0
		files=()
		for f in "$WORK/sim/$t"/*.json; do
			[ $((n % waves)) -eq "$w" ] && files+=("$f")
			n=$((n + 1))
		done
		[ ${#files[@]} -gt 0 ] || continue
		mkdir -p "$WORK/inbox-$t/.staging"
		cp "${files[@]}" "$WORK/inbox-$t/.staging/"
		mv "$WORK/inbox-$t/.staging/"*.json "$WORK/inbox-$t/"
	done
	echo "wave $w dropped"
}

waves=$((events / 2 > 1 ? events / 2 : 2))
drop_wave 0
next_wave=1
# The sleeps below only pace the faults (how long between two, how long a
# daemon stays down); no check depends on their length: every check waits
# for the spools to drain, whatever the faults were.
for e in $(seq 1 "$events"); do
	sleep "0.$((RANDOM % 9 + 1))"
	if [ $next_wave -lt $waves ] && [ "$e" -ge $((next_wave * events / waves)) ]; then
		drop_wave $next_wave
		next_wave=$((next_wave + 1))
	fi
	r=$((RANDOM % 100))
	if [ $r -lt 20 ]; then
		echo "event $e [$SECONDS s]: kill -9 collector"
		kill -KILL "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true
		kills=$((kills + 1))
		sleep "0.$((RANDOM % 10))"
		relaunch_collector; restarts=$((restarts + 1))
	elif [ $r -lt 40 ]; then
		i=$((RANDOM % nagents))
		echo "event $e [$SECONDS s]: kill -9 agent of ${townships[$i]}"
		kill -KILL "${agent_pid[$i]}"; wait "${agent_pid[$i]}" 2>/dev/null || true
		kills=$((kills + 1))
		launch_agent "$i"; restarts=$((restarts + 1))
	elif [ $r -lt 48 ]; then
		echo "event $e [$SECONDS s]: restart the primary"
		"$TF_SRC/deploy/pg-throwaway" restart "$PAIR"
		restarts=$((restarts + 1))
	elif [ $r -lt 56 ]; then
		echo "event $e [$SECONDS s]: crash the primary (immediate stop, crash recovery)"
		"$TF_SRC/deploy/pg-throwaway" crash "$PAIR"
		kills=$((kills + 1)); restarts=$((restarts + 1))
	elif [ $r -lt 64 ]; then
		echo "event $e [$SECONDS s]: both servers down for a while, results arriving"
		"$TF_SRC/deploy/pg-throwaway" stop "$PAIR"
		if [ $next_wave -lt $waves ]; then drop_wave $next_wave; next_wave=$((next_wave + 1)); fi
		sleep "$((RANDOM % 3 + 1))"
		"$TF_SRC/deploy/pg-throwaway" start "$PAIR" >/dev/null
		restarts=$((restarts + 1))
	elif [ $r -lt 82 ]; then
		# The test plays the failover manager's part: kill, promote, and
		# the old primary back as the standby (until then the new
		# primary's commits wait, as synchronous replication says).
		old=$("$TF_SRC/deploy/pg-throwaway" primary "$PAIR")
		new=$([ "$old" = node1 ] && echo node2 || echo node1)
		echo "event $e [$SECONDS s]: failover: kill -9 the primary ($old), promote $new"
		"$TF_SRC/deploy/pg-throwaway" kill "$PAIR" "$old"
		kills=$((kills + 1))
		sleep "0.$((RANDOM % 10))"
		"$TF_SRC/deploy/pg-throwaway" promote "$PAIR" "$new"
		failovers=$((failovers + 1))
		if [ $next_wave -lt $waves ]; then drop_wave $next_wave; next_wave=$((next_wave + 1)); fi
		sleep "0.$((RANDOM % 10))"
		"$TF_SRC/deploy/pg-throwaway" rejoin "$PAIR" "$old"
		restarts=$((restarts + 1))
	elif [ $r -lt 91 ]; then
		echo "event $e [$SECONDS s]: cut the link (collector frozen)"
		kill -STOP "$COLLECTOR_PID"
		sleep "$((RANDOM % 3 + 1))"
		kill -CONT "$COLLECTOR_PID"
	else
		echo "event $e [$SECONDS s]: collector away for a while"
		stop_collector || true
		sleep "$((RANDOM % 3 + 1))"
		relaunch_collector; restarts=$((restarts + 1))
	fi
done

while [ $next_wave -lt $waves ]; do drop_wave $next_wave; next_wave=$((next_wave + 1)); done
say "faults over after $SECONDS s; waiting for every spool to drain"
deadline=$((SECONDS + 300))
while :; do
	busy=0
	for t in "${townships[@]}"; do
		if compgen -G "$WORK/inbox-$t/*.json" >/dev/null; then busy=1; break; fi
		s=$("$AGENT" -f "$WORK/a$t.cfg" status | head -1)
		case $s in "pending 0, in flight 0,"*) ;; *) busy=1; break ;; esac
	done
	[ $busy -eq 0 ] && break
	[ $SECONDS -ge $deadline ] && { fail "spools did not drain in 300 s (township $t: $s)"; break; }
	sleep 1
done
say "drained at $SECONDS s"
# One failover more, with the collector up throughout: the agents'
# heartbeats keep it writing, and it must say it found the new primary.
said=$(grep -c 'a failover; carrying on there' "$WORK/collector.log" || true)
old=$("$TF_SRC/deploy/pg-throwaway" primary "$PAIR")
new=$([ "$old" = node1 ] && echo node2 || echo node1)
say "a last failover ($old to $new) with the collector up"
"$TF_SRC/deploy/pg-throwaway" kill "$PAIR" "$old"
"$TF_SRC/deploy/pg-throwaway" promote "$PAIR" "$new"
"$TF_SRC/deploy/pg-throwaway" rejoin "$PAIR" "$old"
kills=$((kills + 1)); failovers=$((failovers + 1)); restarts=$((restarts + 1))
said_more() { [ "$(grep -c 'a failover; carrying on there' "$WORK/collector.log")" -gt "$said" ]; }
if wait_for 30 said_more; then
	say "the collector: $(grep 'a failover; carrying on there' "$WORK/collector.log" | tail -1)"
else
	fail "the collector did not say it found the new primary within 30 s"
fi
AGENT_PIDS=("${agent_pid[@]}")
stop_agents || fail "an agent did not stop cleanly"

refused=$(cat "$WORK"/inbox-*/refused/*.why 2>/dev/null | wc -l || true)
expect_eq "$refused" 0 "files refused by the agents"
rejected=0
for t in "${townships[@]}"; do
	n=$("$AGENT" -f "$WORK/a$t.cfg" status | head -1 | sed 's/.*rejected \([0-9]*\);.*/\1/')
	rejected=$((rejected + n))
done
expect_eq "$rejected" 0 "messages rejected by the collector"

find "$WORK/sim" -name '*.json' -print0 | xargs -0 "$DIGEST" | sort >"$WORK/sent.digest"
psql -XAtq -f "$TF_SRC/tests/faults/digest.sql" | sort >"$WORK/stored.digest"
stored=$(wc -l <"$WORK/stored.digest")
lost=$(comm -23 "$WORK/sent.digest" "$WORK/stored.digest" | wc -l)
changed=$(comm -13 "$WORK/sent.digest" "$WORK/stored.digest" | sort -u | wc -l)
duplicated=$(sql "SELECT (SELECT count(*) FROM tallyfeed.result)
                       - (SELECT count(DISTINCT (unit_code, committee, round, revision)) FROM tallyfeed.result)
                       + (SELECT count(*) FROM tallyfeed.message) - (SELECT count(*) FROM tallyfeed.result)")
dupes_in_digest=$(uniq -d "$WORK/stored.digest" | wc -l)
duplicated=$((duplicated + dupes_in_digest))

# The standby holds the same, once it has replayed what it received (a
# synchronous standby has it on disk at each commit; it shows it when
# replayed).
standby=$("$TF_SRC/deploy/pg-throwaway" primary "$PAIR")
standby=$([ "$standby" = node1 ] && echo node2 || echo node1)
standby_port=$([ "$standby" = node1 ] && echo 5432 || echo 5433)
on_standby() { PGHOST=$PAIR/$standby/socket PGPORT=$standby_port PGTARGETSESSIONATTRS=standby "$@"; }
wanted=$(sql "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 300); do
	caught=$(on_standby psql -XAtqc "SELECT pg_last_wal_replay_lsn() >= '$wanted'::pg_lsn")
	[ "$caught" = t ] && break
	sleep 0.1
done
expect_eq "$caught" t "the standby replayed everything the primary wrote (at most 30 s)"
on_standby psql -XAtq -f "$TF_SRC/tests/faults/digest.sql" | sort >"$WORK/standby.digest"
if cmp -s "$WORK/stored.digest" "$WORK/standby.digest"; then
	say "the standby ($standby) holds exactly what the primary holds"
else
	fail "the standby ($standby) differs from the primary"
fi
"$CONSOLE" verify --certs "$KEYS" --collector-cert "$KEYS/collector.cert" >"$WORK/verify.out" 2>&1 || { cat "$WORK/verify.out"; fail "tallyfeed verify after the faults"; }
say "verify: $(tail -1 "$WORK/verify.out")"

echo "faults: sent=$sent stored=$stored lost=$lost duplicated=$duplicated kills=$kills restarts=$restarts failovers=$failovers"
expect_eq "$lost" 0 "results lost"
expect_eq "$duplicated" 0 "results stored twice"
expect_eq "$changed" 0 "stored results that differ from what was sent"
expect_eq "$stored" "$sent" "results stored"
finish
