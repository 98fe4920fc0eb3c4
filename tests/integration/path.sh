#!/usr/bin/env bash
# A township's results go from result files through a real agent and a real
# collector into PostgreSQL and show in the totals.
. "$(dirname "$0")/lib.sh"

setup_db
start_collector

say "submit the three example results through a running agent"
start_agent qiaotou 630121100000
out=$(agent -f "$WORK/qiaotou.cfg" submit --wait 60 "$TF_SRC"/deploy/examples/{villagers,residents,party_branch}.json)
echo "$out"
expect_eq "$(echo "$out" | grep -c ': ACCEPTED$')" 3 "files accepted"

say "the stored rows are the files' rows"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 3 "results stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.candidate')" 22 "candidates stored"
expect_eq "$(sql "SELECT registered || '/' || took_part || '/' || ballots_valid FROM tallyfeed.result WHERE committee = 'villagers'")" \
	"1180/1003/990" "villagers' electorate, voters, valid ballots"
expect_eq "$(sql "SELECT string_agg(candidate_id, ',' ORDER BY ordinal) FROM tallyfeed.candidate c JOIN tallyfeed.result r USING (message_id) WHERE r.committee = 'party_branch' AND c.elected")" \
	"C01,C03,C06" "party branch members elected"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.message m JOIN tallyfeed.result r USING (message_id) WHERE m.envelope_sha256 = sha256(m.envelope)')" \
	3 "each result traces to its stored envelope"

say "the totals show them, at every level"
line=$("$CONSOLE" totals --level township --under 630121100000 --format csv | tail -1)
echo "$line"
# code,name,units,v_exp,v_rep,r_exp,r_rep,p_exp,p_rep,electorate,voters,turnout,...
expect_eq "$(echo "$line" | cut -d, -f5,7,9)" "1,1,1" "township reported villagers,residents,party"
expect_eq "$(echo "$line" | cut -d, -f10,11,12)" "4380,3213,73.36" "township electorate, voters, turnout"
prov=$("$CONSOLE" totals --level province --format csv | tail -1)
expect_eq "$(echo "$prov" | cut -d, -f1,3,10,11)" "630000000000,4716,4380,3213" "province code, units, electorate, voters"
json=$("$CONSOLE" totals --level county --under 630121000000 --format json)
expect_eq "$(echo "$json" | grep -c '"party_reported": 1')" 1 "JSON output for the county"

say "a heartbeat is stored as the agent's state"
# The running agent sends its own heartbeats every second, so the probe
# speaks under another agent id: a shared id would race with them.
enrol probe 630121100000
expect_eq "$(TF_SEND_AS=probe "$SEND" "$EP" heartbeat probe 7 120 | cut -d' ' -f1)" ACCEPTED "heartbeat answered"
TF_SEND_AS=probe "$SEND" "$EP" heartbeat probe 3 45 >/dev/null
expect_eq "$(sql "SELECT spool_depth || '/' || oldest_pending_age_s || '/' || last_acked_sequence || '/' || software_version FROM tallyfeed.agent_status WHERE agent_id = 'probe'")" \
	"3/45/41/tf-send" "the latest heartbeat's figures"
own=""
for _ in $(seq 60); do
	own=$(sql "SELECT software_version FROM tallyfeed.agent_status WHERE agent_id = 'qiaotou'")
	[ -n "$own" ] && break
	sleep 0.5
done
expect_eq "$own" "tallyfeed-agent 0.1" "the running agent's own heartbeat"

say "the agent's spool says the same"
expect_eq "$(agent -f "$WORK/qiaotou.cfg" status | head -1 | cut -d';' -f1)" \
	"pending 0, in flight 0, accepted 3, rejected 0" "agent status"

say "agent and collector shut down cleanly on SIGTERM"
stop_agents && echo "ok: agent exited 0" || fail "agent exit status"
stop_collector && echo "ok: collector exited 0" || fail "collector exit status"
finish
