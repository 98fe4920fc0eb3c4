#!/usr/bin/env bash
# The collector plans its batch checks once per connection (collector/
# store.c), and on election night that is while the tables are empty and
# never analysed.  That one plan must probe each lookup by its whole key,
# or a batch's checks grow with the tables (before 0010 the "revision
# exists" lookup went by committee alone, reading every result of the
# committee: a full-speed run of four revisions took 71 s instead of 11).
# auto_explain logs the plan the collector runs; this reads it from the
# server's log.
. "$(dirname "$0")/lib.sh"

SERVER_LOG=$(dirname "$PGHOST")/server.log
[ -r "$SERVER_LOG" ] || { echo "plan.sh: cannot read the server's log $SERVER_LOG" >&2; exit 1; }

setup_db
expect_eq "$(sql "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'tallyfeed'
                  AND relname IN ('message', 'result', 'candidate')
                  AND (n_live_tup > 0 OR last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)")" 0 \
	"message, result and candidate empty and never analysed"
# The collector's sessions (only theirs: ALTER ROLE would reach other
# tests' databases) log every plan they run, at a level the log keeps.
sql "ALTER DATABASE $TEST_DB SET session_preload_libraries = 'auto_explain'" >/dev/null
sql "ALTER DATABASE $TEST_DB SET auto_explain.log_min_duration = 0" >/dev/null
sql "ALTER DATABASE $TEST_DB SET auto_explain.log_level = warning" >/dev/null
mark=$(wc -c <"$SERVER_LOG")

start_collector
expect_eq "$("$SEND" "$EP" report "$TF_SRC/deploy/examples/villagers.json" | cut -d' ' -f1)" ACCEPTED \
	"a result stored on the empty tables"
stop_collector || fail "collector exit status"

# The plan of the checks: from its query text to the next log line.
tail -c +$((mark + 1)) "$SERVER_LOG" | awk '
	/Query Text: WITH k AS MATERIALIZED/ { on = 1; n++ }
	on && n == 1 && !/^[0-9][0-9][0-9][0-9]-/ { print; next }
	on && /^[0-9][0-9][0-9][0-9]-/ && !/Query Text/ { on = 0 }' >"$WORK/plan.txt"
[ -s "$WORK/plan.txt" ] || { tail -c +$((mark + 1)) "$SERVER_LOG" | tail -20; fail "no plan of the checks in the server's log"; }
echo "plan of the checks: $(grep -c . "$WORK/plan.txt") lines"
expect_eq "$(grep -c 'Seq Scan' "$WORK/plan.txt")" 0 "no table read whole"
check_probe() {
	# The index scan named $1 has, on its next line, the condition $2.
	if grep -A1 -- "$1" "$WORK/plan.txt" | grep -q -- "$2"; then
		echo "ok: $3"
	else
		fail "$3: $(grep -A1 -- "$1" "$WORK/plan.txt" | head -4 | tr -s ' \t' ' ')"
	fi
}
check_probe 'Scan using message_message_id_key on message' \
	'Index Cond: (message_id = decode(k.id' "duplicate: by message id"
check_probe 'Scan using result_unit_code_committee_round_revision_key on result r ' \
	'Index Cond: ((unit_code = k_[0-9]*.unit) AND (committee = k_[0-9]*.committee) AND (round = k_[0-9]*.round) AND (revision = k_[0-9]*.revision))' \
	"revision exists: by unit, committee, round and revision"
check_probe 'Scan using message_agent_sequence_idx on message' \
	'Index Cond: ((agent_id = k_[0-9]*.agent) AND (sequence = k_[0-9]*.sequence))' "replayed: by agent and sequence"
check_probe 'Scan Backward using result_unit_code_committee_round_revision_key on result' \
	'Index Cond: ((unit_code = k_[0-9]*.unit) AND (committee = k_[0-9]*.committee) AND (round < k_[0-9]*.round))' \
	"prior round: by unit and committee, the latest round first"
check_probe 'Scan using candidate_.* on candidate' 'Index Cond: (message_id = ' "prior round's elected: by message id"
check_probe 'Scan using result_photo_idx on result' 'Index Cond: (sheet_photo_sha256 = decode(' "photo reused: by photo hash"
check_probe 'Scan using result_figures_idx on result' \
	'Index Cond: ((registered = k_[0-9]*.registered) AND (took_part = k_[0-9]*.took_part) AND (ballots_valid = k_[0-9]*.valid) AND (committee = k_[0-9]*.committee))' \
	"identical figures: by the figures and committee"
expect_eq "$(grep -c 'Index Cond: (committee = [a-z_0-9.]*)$' "$WORK/plan.txt")" 0 "no lookup by committee alone"
finish
