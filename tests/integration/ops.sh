#!/usr/bin/env bash
# What the county's ops staff watch: the live feed (`tallyfeed feed`, with
# its filters), each township's status (`tallyfeed status`), and the
# collector's Prometheus metrics and health endpoints, scraped during a
# run and checked against what happened.
. "$(dirname "$0")/lib.sh"

ex=$TF_SRC/deploy/examples
setup_db
start_collector
FEED=$(cat "$WORK/feed")
METRICS=$(cat "$WORK/metrics")
say "collector feed $FEED, metrics $METRICS"

# scrape: take the collector's metrics once; metric NAME{LABELS}: a value
# of that scrape ("" if absent).  Figures compared with each other come
# from one scrape: a heartbeat may commit between two.
scrape() { curl -s "${METRICS}metrics" >"$WORK/scrape"; }
metric() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/scrape"; }

say "health"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${METRICS}healthz")" 200 "healthz"
expect_eq "$(curl -s "${METRICS}readyz")" ready "readyz with the database up"
scrape
expect_eq "$(metric tallyfeed_collector_database_up)" 1 "database_up"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${METRICS}nothing")" 404 "unknown path"
curl -s "${METRICS}metrics" | grep -q '^# TYPE tallyfeed_collector_commit_seconds histogram$' \
	|| fail "no commit_seconds histogram"

say "three feed readers: everything, only rejected, only another county"
"$CONSOLE" feed -c "$FEED" --count 5 >"$WORK/feed-all.txt" 2>"$WORK/feed-all.err" &
all_pid=$!
"$CONSOLE" feed -c "$FEED" --rejected --format json --count 2 >"$WORK/feed-rejected.txt" &
rejected_pid=$!
"$CONSOLE" feed -c "$FEED" --county 630102000000 >"$WORK/feed-other.txt" &
other_pid=$!
# A fourth that reads nothing at all (stopped): it must not hold anything up.
"$CONSOLE" feed -c "$FEED" >/dev/null 2>&1 &
stopped_pid=$!
# A reader hears only what is published after the feed has its
# subscriptions: one per verdict for each but --rejected (4 + 1 + 4 + 4).
subscriptions() { scrape; [ "$(metric tallyfeed_collector_feed_subscriptions)" = "$1" ]; }
wait_for 20 subscriptions 13 || true
expect_eq "$(metric tallyfeed_collector_feed_subscriptions)" 13 "the feed holds the four readers' subscriptions"
kill -STOP $stopped_pid

say "a township's three results through its agent, then two bad messages"
start_agent qiaotou 630121100000
out=$(agent -f "$WORK/qiaotou.cfg" submit --wait 60 "$ex"/{villagers,residents,party_branch}.json)
expect_eq "$(echo "$out" | grep -c ': ACCEPTED$')" 3 "three accepted"
# A link's first message is the agent's heartbeat, so it is stored by the
# time any result of the agent's is answered.
expect_eq "$(sql "SELECT software_version FROM tallyfeed.agent_status WHERE agent_id = 'qiaotou'")" \
	"tallyfeed-agent 0.1" "the agent's heartbeat stored before its results were answered"
sed 's/"unit": "630121100201"/"unit": "630121100399"/' "$ex/villagers.json" >"$WORK/unknown.json"
expect_eq "$("$SEND" "$EP" report "$WORK/unknown.json" | cut -d' ' -f1,2)" "REJECTED UNKNOWN_UNIT" "unknown unit"
sed 's/"invalid": 11/"invalid": 12/' "$ex/villagers.json" >"$WORK/sum.json"
expect_eq "$("$SEND" "$EP" report "$WORK/sum.json" | cut -d' ' -f1,2)" "REJECTED BALLOT_SUM" "ballot sum"

for pid in $all_pid $rejected_pid; do
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
wait $all_pid || fail "feed (all) exit status"
wait $rejected_pid || fail "feed --rejected exit status"
kill -INT $other_pid
wait $other_pid || fail "feed --county exit status on SIGINT"
cat "$WORK/feed-all.txt"
expect_eq "$(grep -c '  accepted   630121100' "$WORK/feed-all.txt")" 3 "feed: the three accepted, unit by unit"
expect_eq "$(grep -c 'rejected   .*UNKNOWN_UNIT: ' "$WORK/feed-all.txt")" 1 "feed: the unknown unit, with its reason"
expect_eq "$(grep -c 'BALLOT_SUM' "$WORK/feed-all.txt")" 1 "feed: the ballot sum"
expect_eq "$(grep '  accepted ' "$WORK/feed-all.txt" | grep -c '元树尔村委会\|人民路南居委会')" 3 "feed: units named"
expect_eq "$(grep -c 'missed' "$WORK/feed-all.txt")" 0 "feed: nothing missed"
expect_eq "$(python3 -c 'import json,sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(len(rows), sorted(r["reason"] for r in rows), {r["verdict"] for r in rows},
      {r["county"] for r in rows})' "$WORK/feed-rejected.txt")" \
	"2 ['BALLOT_SUM', 'UNKNOWN_UNIT'] {'rejected'} {'630121000000'}" "feed --rejected: only the two"
expect_eq "$(wc -l <"$WORK/feed-other.txt" | tr -d ' ')" 0 "feed --county: nothing of another county"

kill -CONT $stopped_pid; kill -INT $stopped_pid; wait $stopped_pid || true

say "a reader told what it missed: a feed that drops 2 of 6 summaries on purpose"
# (tf-feedpub: a collector's PUB drops only for a reader too slow to keep
# up, which no test can arrange in bounded time.)  It waits for the four
# subscriptions an unfiltered reader makes, then publishes seq 1 2 5 6.
"$TF_BIN/tests/tools/tf-feedpub" "$WORK/feedpub" 4 777 1 2 5 6 &
pub_pid=$!
for _ in $(seq 100); do [ -s "$WORK/feedpub" ] && break; sleep 0.05; done
"$CONSOLE" feed -c "$(cat "$WORK/feedpub")" --count 4 >"$WORK/feed-gap.txt"
wait $pub_pid || fail "tf-feedpub exit status"
expect_eq "$(grep -c '  accepted ' "$WORK/feed-gap.txt")" 4 "feed: the four it heard"
expect_eq "$(grep -n 'missed' "$WORK/feed-gap.txt")" \
	"3:-- missed 2 (2 in all): the reader was too slow" "feed: the gap named where it was, before seq 5"

say "the metrics counted the same"
scrape
expect_eq "$(metric 'tallyfeed_collector_messages_total{verdict="accepted"}')" \
	"$(sql 'SELECT count(*) FROM tallyfeed.result')" "accepted = results stored"
expect_eq "$(metric 'tallyfeed_collector_messages_total{verdict="rejected"}')" \
	"$(sql 'SELECT count(*) FROM tallyfeed.quarantine')" "rejected = quarantined"
expect_eq "$(metric 'tallyfeed_collector_rejected_total{reason="UNKNOWN_UNIT"}')" 1 "rejected by reason: UNKNOWN_UNIT"
expect_eq "$(metric 'tallyfeed_collector_rejected_total{reason="BALLOT_SUM"}')" 1 "rejected by reason: BALLOT_SUM"
expect_eq "$(metric 'tallyfeed_collector_rejected_total{reason="BAD_SIGNATURE"}')" 0 "no bad signature"
expect_eq "$(metric 'tallyfeed_collector_messages_total{verdict="duplicate"}')" 0 "no duplicate"
expect_eq "$(metric tallyfeed_collector_feed_published_total)" 5 "published on the feed"
heartbeats=$(metric tallyfeed_collector_heartbeats_total)
received=$(metric tallyfeed_collector_messages_received_total)
[ "$heartbeats" -ge 1 ] || fail "no heartbeat counted ($heartbeats)"
# Received = answered results + heartbeats, give or take a heartbeat that
# arrived between the two scrapes.
[ "$received" -ge $((5 + heartbeats)) ] && [ "$received" -le $((5 + heartbeats + 2)) ] \
	|| fail "received $received, expected 5 + $heartbeats heartbeats"
commits=$(metric tallyfeed_collector_commit_seconds_count)
expect_eq "$(metric 'tallyfeed_collector_commit_seconds_bucket{le="+Inf"}')" "$commits" "commit histogram: +Inf = count"
expect_eq "$(metric tallyfeed_collector_batch_messages_count)" "$commits" "a batch size per commit"
[ "$(metric tallyfeed_collector_batch_messages_sum)" -ge $((5 + heartbeats)) ] || fail "batch sizes sum"
expect_eq "$(metric tallyfeed_collector_agents_connected)" 2 "agents connected: the agent and tf-send"
expect_eq "$(metric tallyfeed_collector_queue_depth)" 0 "nothing waiting"

say "the agent's metrics"
AGENT_METRICS=$(cat "$WORK/agent-metrics-qiaotou")
ametric() {
	curl -s "${AGENT_METRICS}metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
expect_eq "$(curl -s "${AGENT_METRICS}healthz")" ok "agent healthz"
expect_eq "$(curl -s "${AGENT_METRICS}readyz")" ready "agent readyz"
expect_eq "$(ametric tallyfeed_agent_sends_total)" 3 "agent: three sent"
expect_eq "$(ametric 'tallyfeed_agent_acks_total{verdict="accepted"}')" 3 "agent: three accepted"
expect_eq "$(ametric 'tallyfeed_agent_acks_total{verdict="rejected"}')" 0 "agent: none rejected"
expect_eq "$(ametric tallyfeed_agent_retransmits_total)" 0 "agent: nothing sent twice"
expect_eq "$(ametric tallyfeed_agent_round_trip_seconds_count)" 3 "agent: a round trip per answer"
for _ in $(seq 30); do
	[ "$(ametric tallyfeed_agent_spool_depth)" = 0 ] && break
	sleep 0.1
done
expect_eq "$(ametric tallyfeed_agent_spool_depth)" 0 "agent: spool empty"
expect_eq "$(ametric tallyfeed_agent_oldest_pending_seconds)" 0 "agent: nothing pending"
[ "$(ametric tallyfeed_agent_heartbeats_sent_total)" -ge 1 ] || fail "agent: no heartbeat sent"

say "status: every township of the county, silent ones first"
TF_SEND_AS=tf-send "$SEND" "$EP" heartbeat tf-send 0 0 >/dev/null    # places tf-send in its township
# The status shows what the agent's last heartbeat said; the one sent
# before its answers came still counts three.  The next comes within
# heartbeat_ms (1 s).
qiaotou_reported_empty() {
	[ "$(sql "SELECT spool_depth FROM tallyfeed.agent_status WHERE agent_id = 'qiaotou'")" = 0 ]
}
wait_for 10 qiaotou_reported_empty || true
"$CONSOLE" status --county 630121000000 | sed -n 1,4p
json=$("$CONSOLE" status --county 630121000000 --format json)
expect_eq "$(echo "$json" | python3 -c 'import json,sys
rows = json.load(sys.stdin)
me = [r for r in rows if r["township_code"] == "630121100000"]
print(len({r["township_code"] for r in rows}), len(me), rows[0]["state"], rows[-1]["state"])
for r in me:
    print(r["agent_id"], r["state"], r["connected"], r["spool_depth"], r["accepted"], r["rejected"])' | sort)" \
	"$(printf '%s\n' "20 2 never heard ok" "qiaotou ok True 0 3 0" "tf-send ok True 0 0 2" | sort)" \
	"status: the 20 townships, never-heard first; 桥头镇's two agents"
say "the agent stops: its township goes silent"
stop_agents
TF_SEND_AS=tf-send "$SEND" "$EP" heartbeat tf-send 0 0 >/dev/null    # the other stays
# Silent: no heartbeat for more than 2 s, as the database's clock says.
silent_states() {
	"$CONSOLE" status --county 630121100000 --silent-after 2 --format json | python3 -c 'import json,sys
print([(r["agent_id"], r["state"]) for r in json.load(sys.stdin)])'
}
both_silent() { [ "$(silent_states | grep -o SILENT | wc -l)" = 2 ]; }
wait_for 20 both_silent || true
json=$("$CONSOLE" status --county 630121100000 --silent-after 2 --format json)
expect_eq "$(echo "$json" | python3 -c 'import json,sys
rows = json.load(sys.stdin); print([(r["agent_id"], r["state"]) for r in rows])')" \
	"[('qiaotou', 'SILENT'), ('tf-send', 'SILENT')]" "both silent after 2 s, longest silent first"
json=$("$CONSOLE" status --county 630121100000 --silent-after 60 --format json)
expect_eq "$(echo "$json" | python3 -c 'import json,sys
print([r["state"] for r in json.load(sys.stdin)])')" "['ok', 'ok']" "not silent within 60 s"
expect_eq "$("$CONSOLE" status --county 63 2>&1 >/dev/null | grep -c 'not a 12-digit')" 1 "status: a bad code"
expect_eq "$("$CONSOLE" feed --county 630121100000 2>&1 | grep -c "not a county's")" 1 "feed: a township is not a county"

say "the database goes away: the collector is alive, not ready, until it is back"
# Refuse new connections to the test's database and end the collector's;
# a heartbeat makes it find out.
psql -X -q -d postgres -c "ALTER DATABASE $TEST_DB ALLOW_CONNECTIONS false"
psql -X -Atq -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE datname = '$TEST_DB' AND pid <> pg_backend_pid()" >/dev/null
for _ in $(seq 1 50); do
	TF_SEND_AS=tf-send "$SEND" "$EP" heartbeat tf-send 0 0 >/dev/null 2>&1 || true
	[ "$(curl -s -o /dev/null -w '%{http_code}' "${METRICS}readyz")" = 503 ] && break
	sleep 0.2
done
expect_eq "$(curl -s -o "$WORK/readyz" -w '%{http_code}' "${METRICS}readyz")" 503 "readyz with the database away: 503"
grep -q 'database' "$WORK/readyz" || fail "readyz gives no reason: $(cat "$WORK/readyz")"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${METRICS}healthz")" 200 "healthz with the database away: still alive"
scrape
expect_eq "$(metric tallyfeed_collector_database_up)" 0 "database_up with the database away"
psql -X -q -d postgres -c "ALTER DATABASE $TEST_DB ALLOW_CONNECTIONS true"
for _ in $(seq 1 200); do     # its reconnection backs off, up to 30 s
	[ "$(curl -s "${METRICS}readyz")" = ready ] && break
	sleep 0.25
done
expect_eq "$(curl -s "${METRICS}readyz")" ready "readyz once the database is back"
scrape
expect_eq "$(metric tallyfeed_collector_database_up)" 1 "database_up once the database is back"

stop_collector && echo "ok: collector exited 0" || fail "collector exit status"

finish
