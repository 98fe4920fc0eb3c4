#!/usr/bin/env bash
# The bad-input corpus (tests/badinput/README.md): every case of tf-bad
# comes back with its own reason code and is kept in quarantine with its
# raw bytes -- or, refused for who sent it or deferred as early (a runoff
# before its round 1), kept nowhere -- while the
# collector goes on serving and the sound reports among them are stored
# exactly once.  Then the doors: a plain-text client and an unknown CURVE
# key get no answer and store nothing, and an agent over its rate limit
# hears DEFERRED, stores nothing, and is heard when it sends again.  (And
# UNKNOWN_AGENT, the one code only an importer's connection can earn.)
. "$(dirname "$0")/lib.sh"

BAD=$TF_BIN/tests/tools/tf-bad

setup_db
enrol other 630121101000        # 城关镇, the next township: its key forges
start_collector

ncases=$("$BAD" --list | wc -l)
say "the corpus: $ncases cases, one at a time over one connection"
rc=0
"$BAD" --record "$WORK/record.tsv" "$EP" "$KEYS/tf-send.cert_secret" "$COLLECTOR_CERT" \
	"$KEYS/other.cert_secret" >"$WORK/bad.out" || rc=$?
cat "$WORK/bad.out"
expect_eq "$(grep -c '^ok ' "$WORK/bad.out" || true)" "$ncases" "cases answered as promised"
expect_eq "$rc" 0 "tf-bad's exit status"
kill -0 "$COLLECTOR_PID" && echo "ok: collector alive" || fail "collector died"

# What tf-bad sent, one row per case: the checks below are joins.
sql "CREATE TABLE public.badcase (name text PRIMARY KEY, verdict text, reason text,
     reason_code integer, kept text, raw_len integer, raw_sha256 text, message_id text,
     got_verdict text, got_reason text)"
psql -X -v ON_ERROR_STOP=1 -q -c "\\copy public.badcase FROM '$WORK/record.tsv'"
expect_eq "$(sql 'SELECT count(*) FROM badcase')" "$ncases" "cases recorded"

say "each rejected case is in quarantine once, with its reason and its exact bytes"
expect_eq "$(sql "SELECT coalesce(string_agg(b.name, ' ' ORDER BY b.name), '') FROM badcase b
	WHERE b.kept = 'quarantine' AND (SELECT count(*) FROM tallyfeed.quarantine q
	      WHERE q.raw_sha256 = decode(b.raw_sha256, 'hex') AND length(q.raw) = b.raw_len
	        AND sha256(q.raw) = q.raw_sha256
	        AND q.reason = b.reason_code AND q.reason_name = b.reason) <> 1")" "" \
	"every quarantined case kept once, with its reason and bytes"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.quarantine')" \
	"$(sql "SELECT count(*) FROM badcase WHERE kept = 'quarantine'")" \
	"quarantine holds exactly the quarantined cases"
expect_eq "$(sql "SELECT string_agg(name, ' ' ORDER BY name) FROM badcase
	WHERE kept = 'quarantine' AND raw_len = 0")" "empty_frame" "only the empty frame is empty"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine q WHERE q.message_id IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM badcase b WHERE decode(b.message_id, 'hex') = q.message_id
	                AND decode(b.raw_sha256, 'hex') = q.raw_sha256)")" 0 \
	"quarantined message ids are those sent"
echo "reason codes covered: $(sql "SELECT count(DISTINCT reason) || ': ' ||
	string_agg(DISTINCT reason, ' ') FROM badcase WHERE kept <> 'result'")"

say "identity refusals and deferred messages are stored nowhere"
expect_eq "$(sql "SELECT coalesce(string_agg(b.name, ' ' ORDER BY b.name), '') FROM badcase b
	WHERE b.kept = 'nothing' AND (
	   EXISTS (SELECT 1 FROM tallyfeed.quarantine q WHERE q.raw_sha256 = decode(b.raw_sha256, 'hex')
	                                                 OR q.message_id = decode(b.message_id, 'hex'))
	OR EXISTS (SELECT 1 FROM tallyfeed.message m WHERE m.envelope_sha256 = decode(b.raw_sha256, 'hex')
	                                               OR m.message_id = decode(b.message_id, 'hex')))")" "" \
	"identity refusals and deferred messages stored nowhere"
expect_eq "$(sql "SELECT count(*) FROM badcase WHERE kept = 'nothing' AND verdict = 'REJECTED'")" 2 \
	"identity refusals sent"
expect_eq "$(sql "SELECT count(*) FROM badcase WHERE kept = 'nothing' AND verdict = 'DEFERRED'")" 2 \
	"runoffs without their earlier round sent (deferred)"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'AGENT_MISMATCH'")" 0 \
	"no AGENT_MISMATCH in quarantine"

say "no bad case became a result; every sound one is stored exactly once"
expect_eq "$(sql "SELECT coalesce(string_agg(b.name, ' ' ORDER BY b.name), '') FROM badcase b
	WHERE b.kept <> 'result' AND EXISTS (SELECT 1 FROM tallyfeed.message m
	      WHERE m.envelope_sha256 = decode(b.raw_sha256, 'hex')
	         OR m.message_id = decode(b.message_id, 'hex'))")" "" "no bad case stored as a message"
expect_eq "$(sql "SELECT coalesce(string_agg(b.name, ' ' ORDER BY b.name), '') FROM badcase b
	WHERE b.kept = 'result' AND (SELECT count(*) FROM tallyfeed.result r
	      JOIN tallyfeed.message m USING (message_id)
	      WHERE r.message_id = decode(b.message_id, 'hex')
	        AND m.envelope_sha256 = decode(b.raw_sha256, 'hex')) <> 1")" "" \
	"every sound case stored exactly once"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" \
	"$(sql "SELECT count(*) FROM badcase WHERE kept = 'result'")" "results stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.message')" \
	"$(sql "SELECT count(*) FROM badcase WHERE kept = 'result'")" "messages stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.agent_status')" 0 "no bad heartbeat stored"
expect_eq "$(sql "SELECT string_agg(unit_code || ':' || round, ' ' ORDER BY unit_code, round)
	FROM tallyfeed.result")" \
	"630121100201:1 630121100202:1 630121100203:1 630121100208:1 630121100209:1 630121100210:1" \
	"the units and rounds stored"

sed 's/"unit": "630121100201"/"unit": "630121100216"/' "$TF_SRC/deploy/examples/villagers.json" \
	>"$WORK/door.json"
say "an importer carrying an envelope of no enrolled agent (its own name)"
out=$(TF_SEND_AS=importer "$SEND" "$EP" report "$WORK/door.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED UNKNOWN_AGENT" "unknown agent"
expect_eq "$(sql "SELECT agent_id || ' ' || reason_name || ' ' || (length(raw) > 0)
	FROM tallyfeed.quarantine WHERE reason_name = 'UNKNOWN_AGENT'")" "importer UNKNOWN_AGENT true" \
	"kept in quarantine with its bytes"

say "the doors: a plain-text client gets no answer"
before=$(sql "SELECT (SELECT count(*) FROM tallyfeed.message) || '/' ||
	(SELECT count(*) FROM tallyfeed.quarantine)")
out=$(TF_SEND_AS=plain "$SEND" "$EP" report "$WORK/door.json" || true); echo "$out"
expect_eq "$out" "NO-ANSWER" "plain text refused at the handshake"

say "nor does a CURVE key that is not enrolled"
mkdir -p "$WORK/stranger"
"$CONSOLE" keygen --agent stranger --township 630121100000 --out "$WORK/stranger" >/dev/null
out=$(TF_KEY=$WORK/stranger/stranger.cert_secret TF_SERVER_CERT=$COLLECTOR_CERT \
	"$SEND_BIN" "$EP" report "$WORK/door.json" || true); echo "$out"
expect_eq "$out" "NO-ANSWER" "unknown key refused"
expect_eq "$(sql "SELECT (SELECT count(*) FROM tallyfeed.message) || '/' ||
	(SELECT count(*) FROM tallyfeed.quarantine)")" "$before" "nothing stored from either"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code = '630121100216'")" 0 \
	"their report is not stored"
kill -0 "$COLLECTOR_PID" && echo "ok: collector alive" || fail "collector died"

say "the rate limit: a collector allowing 1 message a second, in bursts of 2"
stop_collector
printf 'collector\n    rate_per_s = 1\n    rate_burst = 2\n' >"$WORK/slow.cfg"
start_collector -f "$WORK/slow.cfg"
mkdir -p "$WORK/burst"
before=$(sql 'SELECT count(*) FROM tallyfeed.quarantine')
out=$("$BAD" --burst 5 "$WORK/burst" "$EP" "$KEYS/tf-send.cert_secret" "$COLLECTOR_CERT" || true)
echo "$out"
expect_eq "$(echo "$out" | grep -c ' ACCEPTED NONE$' || true)" 2 "the first two of a burst of 5 accepted"
expect_eq "$(echo "$out" | grep -c ' DEFERRED RATE_LIMITED$' || true)" 3 "the other three deferred"
burst_units="unit_code BETWEEN '630121100211' AND '630121100215'"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE $burst_units")" 2 "two of the burst stored"
deferred=$(echo "$out" | awk '$2 == "DEFERRED" { print $1 }')
for b in $deferred; do
	sha=$(sha256sum "$WORK/burst/$b.bin" | cut -d' ' -f1)
	expect_eq "$(sql "SELECT (SELECT count(*) FROM tallyfeed.message
		WHERE envelope_sha256 = decode('$sha', 'hex')) + (SELECT count(*) FROM tallyfeed.quarantine
		WHERE raw_sha256 = decode('$sha', 'hex'))")" 0 "$b deferred: nothing of it stored"
done
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.quarantine')" "$before" "nothing deferred quarantined"

say "sent again until the rate allows, the same bytes are accepted"
# Each try is deferred (RATE_LIMITED, nothing stored) until a token has
# come back, about a second; what counts is the answer it ends with.
for b in $deferred; do
	accepted() {
		out=$("$SEND" "$EP" raw "$WORK/burst/$b.bin")
		case $out in
		"DEFERRED RATE_LIMITED"*) return 1 ;;
		esac
	}
	wait_for 20 accepted || true
	echo "$b: $out"
	expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "ACCEPTED NONE" "$b sent again"
done
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE $burst_units")" 5 "the whole burst stored"
for i in 1 2 3 4 5; do
	sha=$(sha256sum "$WORK/burst/burst-$i.bin" | cut -d' ' -f1)
	expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message WHERE envelope_sha256 = decode('$sha', 'hex')")" \
		1 "burst-$i stored once, byte for byte"
done
grep -q 'over its rate limit' "$WORK/collector.log" && echo "ok: the collector logged the deferral" ||
	fail "no log line for the rate limit"
kill -0 "$COLLECTOR_PID" && echo "ok: collector alive" || fail "collector died"
finish
