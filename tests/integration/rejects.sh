#!/usr/bin/env bash
# Bad messages are each rejected with their own reason and kept in
# quarantine with their raw bytes; the collector goes on serving.
. "$(dirname "$0")/lib.sh"

setup_db
start_collector
ex=$TF_SRC/deploy/examples

say "a report for a unit not in the registry"
sed 's/"unit": "630121100201"/"unit": "630121100399"/' "$ex/villagers.json" >"$WORK/unknown.json"
out=$("$SEND" "$EP" report "$WORK/unknown.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED UNKNOWN_UNIT" "unknown unit"

say "valid + invalid != returned"
sed 's/"invalid": 11/"invalid": 12/' "$ex/villagers.json" >"$WORK/sum.json"
out=$("$SEND" "$EP" report "$WORK/sum.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED BALLOT_SUM" "ballot sum"

say "a garbage frame"
head -c 300 /dev/urandom >"$WORK/garbage.bin"
printf '\xff\xff\xff\xff' | cat - "$WORK/garbage.bin" >"$WORK/garbage2.bin"
out=$("$SEND" "$EP" raw "$WORK/garbage2.bin"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED MALFORMED_ENVELOPE" "garbage"

say "a frame over the size ceiling"
head -c 300000 /dev/zero >"$WORK/huge.bin"
out=$("$SEND" "$EP" raw "$WORK/huge.bin"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED MESSAGE_TOO_LARGE" "oversized"

say "the agent refuses the same mistakes before queueing"
agent_config qiaotou 630121100000
out=$("$AGENT" -f "$WORK/qiaotou.cfg" submit "$WORK/sum.json" "$WORK/unknown.json" || true)
echo "$out"
expect_eq "$(echo "$out" | grep -c 'NOT QUEUED: BALLOT_SUM')" 1 "agent: ballot sum"
expect_eq "$(echo "$out" | grep -c 'NOT QUEUED: UNKNOWN_UNIT')" 1 "agent: unknown unit"
"$AGENT" -f "$WORK/qiaotou.cfg" submit "$WORK/sum.json" >/dev/null && fail "agent exit status on a refused file" || echo "ok: agent exits non-zero"
expect_eq "$("$AGENT" -f "$WORK/qiaotou.cfg" status | head -1 | cut -d, -f1)" "pending 0" "nothing refused was queued"

say "each is in quarantine with its reason and its exact bytes"
expect_eq "$(sql 'SELECT string_agg(reason_name, $$,$$ ORDER BY id) FROM tallyfeed.quarantine')" \
	"UNKNOWN_UNIT,BALLOT_SUM,MALFORMED_ENVELOPE,MESSAGE_TOO_LARGE" "quarantine reasons"
expect_eq "$(sql "SELECT encode(raw_sha256, 'hex') FROM tallyfeed.quarantine WHERE reason_name = 'MALFORMED_ENVELOPE'")" \
	"$(sha256sum "$WORK/garbage2.bin" | cut -d' ' -f1)" "garbage kept byte for byte"
expect_eq "$(sql "SELECT length(raw) FROM tallyfeed.quarantine WHERE reason_name = 'MESSAGE_TOO_LARGE'")" \
	300000 "oversized frame kept whole"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.quarantine WHERE message_id IS NOT NULL AND length(raw) > 0')" 2 \
	"decodable rejects keep their message ids"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 0 "nothing stored as a result"

say "sending a rejected message again keeps it once"
out=$("$SEND" "$EP" report "$WORK/sum.json" 2); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1 | sort -u)" "REJECTED" "rejected every time"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'BALLOT_SUM'")" 2 \
	"one row per distinct message (the earlier one and this one)"

say "the collector is still serving"
start_agent qiaotou 630121100000
out=$(agent -f "$WORK/qiaotou.cfg" submit --wait 60 "$ex/villagers.json"); echo "$out"
expect_eq "$(echo "$out" | grep -c ': ACCEPTED$')" 1 "a sound result after the bad ones"
kill -0 "$COLLECTOR_PID" && echo "ok: collector alive" || fail "collector died"
finish
