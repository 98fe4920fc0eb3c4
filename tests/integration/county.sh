#!/usr/bin/env bash
# A whole county's election night: simulated results for every unit, one
# real agent per township sending at once, one collector.  What the
# database holds must be exactly what the simulator says should be
# accepted; every injected mistake is refused with its own reason, by the
# agent's check and, sent past the agent, by the collector.
. "$(dirname "$0")/lib.sh"

county=632621000000     # 玛沁县
setup_db
start_collector

"$SIM" --registry "$REGISTRY" --under "$county" --out "$WORK/sim" --seed 7 --quiet \
	--inject ballot_sum=2 --inject votes_over_valid=1 --inject elected_mismatch=2 \
	--inject unknown_unit=1 --inject committee_mismatch=1 --inject party_proxy=1
manifest=$WORK/sim/manifest.tsv
want_accepted=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED"' "$manifest" | wc -l)
want_rejected=$(awk -F'\t' 'NR > 1 && $5 == "REJECTED"' "$manifest" | wc -l)
say "simulated: $want_accepted sound results, $want_rejected with mistakes"
expect_eq "$want_rejected" 8 "mistakes injected"

pids=()
for dir in "$WORK/sim"/[0-9]*/; do
	t=$(basename "$dir")
	start_agent "a$t" "$t"
	"$AGENT" -f "$WORK/a$t.cfg" submit --wait 120 "$dir"*.json >"$WORK/submit-$t.log" 2>&1 &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
say "${#pids[@]} agents done"

expect_eq "$(cat "$WORK"/submit-*.log | grep -c ': ACCEPTED$')" "$want_accepted" "agents saw every sound result accepted"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" "$want_accepted" "results stored"
expect_eq "$(sql 'SELECT count(DISTINCT (unit_code, committee, round)) FROM tallyfeed.result')" "$want_accepted" \
	"each stored once"

say "each mistake was refused by the agent with the manifest's reason"
while IFS=$'\t' read -r path unit committee round expect reason; do
	[ "$expect" = REJECTED ] || continue
	line=$(grep -h -F "$WORK/sim/$path: " "$WORK"/submit-*.log || true)
	case $reason in
	MALFORMED_FILE) want="NOT QUEUED: " ;;
	*) want="NOT QUEUED: $reason:" ;;
	esac
	case $line in
	*"$want"*) echo "ok: $path refused ($reason)" ;;
	*) fail "$path: expected '$want', agent said '$line'" ;;
	esac
	# The collector must catch the same mistake if an agent skipped its check.
	if [ "$reason" != MALFORMED_FILE ]; then
		out=$(TF_SEND_AS="a${path%%/*}" "$SEND" "$EP" report "$WORK/sim/$path")
		expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED $reason" "collector on $path"
	fi
done <"$manifest"

say "the totals agree with the files"
csv=$("$CONSOLE" totals --level county --under "$county" --format csv | tail -1)
mass=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" && $4 == 1 && $3 != "party_branch"' "$manifest" | wc -l)
party=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" && $4 == 1 && $3 == "party_branch"' "$manifest" | wc -l)
expect_eq "$(( $(echo "$csv" | cut -d, -f5) + $(echo "$csv" | cut -d, -f7) ))" "$mass" "villagers' + residents' committees reported"
expect_eq "$(echo "$csv" | cut -d, -f9)" "$party" "Party branches reported"
registered=$(cat "$WORK"/sim/[0-9]*/*-villagers-r1.json "$WORK"/sim/[0-9]*/*-residents-r1.json 2>/dev/null \
	| grep -o '"registered": [0-9]*' | awk '{s += $2} END {print s}')
# Files refused by the agents hold electorates that must not be counted.
refused=$(awk -F'\t' 'NR > 1 && $5 == "REJECTED" && $4 == 1 && $3 != "party_branch" {print $1}' "$manifest" \
	| while read -r p; do grep -o '"registered": [0-9]*' "$WORK/sim/$p" || true; done | awk '{s += $2} END {print s + 0}')
expect_eq "$(echo "$csv" | cut -d, -f10)" "$((registered - refused))" "registered voters, summed in SQL vs from the files"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.quarantine')" "$(awk -F'\t' 'NR > 1 && $5 == "REJECTED" && $6 != "MALFORMED_FILE"' "$manifest" | wc -l)" \
	"collector quarantined each mistake sent past the agent"
kill -0 "$COLLECTOR_PID" && echo "ok: collector alive" || fail "collector died"
# No wait: a link's first message is the agent's heartbeat, and every agent
# here had results answered.
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.agent_status')" "${#pids[@]}" "a heartbeat from every agent"
finish
