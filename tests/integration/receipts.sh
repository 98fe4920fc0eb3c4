#!/usr/bin/env bash
# Signed receipts: the collector signs every answer; the agent takes an
# answer only with a sound receipt of the very message it sent, and keeps
# it; `tallyfeed receipt check` checks one offline, `tallyfeed verify
# --receipts` against the database.  A false collector (tf-receipts serve)
# gives the receipts a sound one never does: none, forged, of other bytes,
# of another verdict, of another message, and a sound-looking one for a
# message it never stored.
. "$(dirname "$0")/lib.sh"

RECEIPTS_BIN=$TF_BIN/tests/tools/tf-receipts
EXAMPLES=$TF_SRC/deploy/examples
setup_db
start_collector
start_agent clerk 630121100000
cfg=$WORK/clerk.cfg
"$CONSOLE" keygen --collector mallory --out "$KEYS" >/dev/null

# state SEQUENCE: the spool's state of one message
state() { agent -f "$cfg" status --all | awk -v s="$1" '$1 == s { print $2 }'; }
state_is() { [ "$(state "$1")" = "$2" ]; }
# refused_count: the agent's count of answers it did not take
refused_count() {
	curl -s "$(cat "$WORK/agent-metrics-clerk")metrics" |
		awk '$1 == "tallyfeed_agent_receipts_refused_total" { print $2 }'
}

say "a result through the real collector: accepted, with a receipt the agent keeps"
out=$(agent -f "$cfg" submit --wait 30 "$EXAMPLES/villagers.json")
expect_eq "$out" "$EXAMPLES/villagers.json: ACCEPTED" "answer"
list=$(agent -f "$cfg" receipts)
echo "$list"
expect_eq "$(echo "$list" | grep -c ' ACCEPTED ')" 1 "one receipt listed"
expect_eq "$(echo "$list" | grep -c 'by collector  chain collector link 1 ')" 1 \
	"it names the collector and its chain row"
expect_eq "$(agent -f "$cfg" receipts --unit 630121100001)" "no receipts for unit 630121100001" \
	"--unit lists only that unit's"
mkdir "$WORK/r1"
agent -f "$cfg" receipts --export "$WORK/r1" >/dev/null
genuine=$(ls "$WORK/r1"/*.receipt)
expect_eq "$(basename "$genuine" | sed 's/-[0-9]*-accepted.receipt$//')" "630121100201-villagers-r1-v1" \
	"exported as UNIT-COMMITTEE-rROUND-vREVISION-SEQ-VERDICT.receipt"
out=$("$CONSOLE" receipt check "$genuine" --cert "$COLLECTOR_CERT")
echo "$out"
expect_eq "$(echo "$out" | tail -1)" "sound: signed by collector collector ($COLLECTOR_CERT)" "receipt check"
id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.message")
expect_eq "$(echo "$out" | awk '$1 == "message" { print $2 }')" "$id" "it receipts the stored message"
expect_eq "$(echo "$out" | awk '$1 == "envelope" { print $3 }')" \
	"$(sql "SELECT encode(envelope_sha256, 'hex') FROM tallyfeed.message")" "and its stored bytes"

say "a message sent three times: the later receipts name the first one's row"
sed 's/"unit": "630121100201"/"unit": "630121100202"/' "$EXAMPLES/villagers.json" >"$WORK/other.json"
out=$(TF_SEND_RECEIPTS=1 "$SEND" "$EP" report "$WORK/other.json" 3)
echo "$out"
row=$(sql "SELECT 'chain=' || chain || ' link=' || link || ' at=' ||
           (extract(epoch FROM received_at) * 1000)::bigint FROM tallyfeed.message
           WHERE link = (SELECT max(link) FROM tallyfeed.message)")
expect_eq "$(echo "$out" | grep '^receipt:' | tr '\n' '|')" \
	"receipt: ACCEPTED $row sound|receipt: DUPLICATE $row sound|receipt: DUPLICATE $row sound|" \
	"ACCEPTED, then DUPLICATE, each receipt naming the stored row"

say "a rejected message: its receipt names its quarantine row, the first time and again"
sed 's/"valid": 990/"valid": 989/' "$WORK/other.json" | sed 's/"revision": 1/"revision": 2/' >"$WORK/bad.json"
out=$(TF_SEND_RECEIPTS=1 "$SEND" "$EP" report "$WORK/bad.json" 2)
echo "$out"
qrow=$(sql "SELECT 'chain=' || chain || ' link=' || link || ' at=' ||
            (extract(epoch FROM received_at) * 1000)::bigint FROM tallyfeed.quarantine")
expect_eq "$(echo "$out" | grep '^receipt:' | tr '\n' '|')" \
	"receipt: REJECTED $qrow sound|receipt: REJECTED $qrow sound|" "REJECTED twice, at its quarantine row"

say "another message under a stored message id is not its duplicate: refused, kept, its own row"
used=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.message WHERE link = 2")
sed 's/"unit": "630121100201"/"unit": "630121100203"/' "$EXAMPLES/villagers.json" >"$WORK/thief.json"
out=$(TF_SEND_MESSAGE_ID=$used TF_SEND_RECEIPTS=1 "$SEND" "$EP" report "$WORK/thief.json")
echo "$out"
expect_eq "$(echo "$out" | head -1 | cut -d' ' -f1,2)" "REJECTED MESSAGE_ID_REUSED" "refused"
trow=$(sql "SELECT 'chain=' || chain || ' link=' || link FROM tallyfeed.quarantine
            WHERE reason_name = 'MESSAGE_ID_REUSED'")
expect_eq "$(echo "$out" | sed -n 2p | cut -d' ' -f1-4)" "receipt: REJECTED $trow" \
	"its receipt names its own quarantine row, not the stored message's"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code = '630121100203'")" 0 \
	"nothing of it stored"

say "receipts altered, forged, mismatched and for a message the database lacks"
mkdir "$WORK/bad"
"$RECEIPTS_BIN" rewrite "$genuine" "$WORK/bad/altered.receipt" - link=2
"$RECEIPTS_BIN" rewrite "$genuine" "$WORK/bad/forged.receipt" "$KEYS/mallory.cert_secret"
"$RECEIPTS_BIN" rewrite "$genuine" "$WORK/bad/mismatched.receipt" "$KEYS/collector.cert_secret" link=7
"$RECEIPTS_BIN" rewrite "$genuine" "$WORK/bad/missing.receipt" "$KEYS/collector.cert_secret" \
	message=00112233445566778899aabbccddeeff
for f in altered forged; do
	rc=0
	out=$("$CONSOLE" receipt check "$WORK/bad/$f.receipt" --cert "$COLLECTOR_CERT") || rc=$?
	expect_eq "$rc" 1 "receipt check of the $f receipt fails"
	expect_eq "$(echo "$out" | tail -1 | grep -c "NOT SOUND: the signature does not verify")" 1 "$f: said"
done
for f in mismatched missing; do
	expect_eq "$("$CONSOLE" receipt check "$WORK/bad/$f.receipt" --cert "$COLLECTOR_CERT" | tail -1 | cut -d: -f1)" \
		"sound" "$f: its signature is the collector's (only the database can tell)"
done
rc=0
out=$("$CONSOLE" verify --certs "$CERTS" --collector-cert "$COLLECTOR_CERT" --receipts "$WORK/bad") || rc=$?
echo "$out"
expect_eq "$rc" 1 "verify --receipts fails"
expect_eq "$(echo "$out" | grep -c '^receipt altered.receipt: the signature does not verify')" 1 "altered: named"
expect_eq "$(echo "$out" | grep -c '^receipt forged.receipt: the signature does not verify')" 1 "forged: named"
expect_eq "$(echo "$out" | grep -c "^receipt mismatched.receipt: message $id is receipted at chain collector link 7, and the database has it at chain collector link 1")" 1 \
	"mismatched: named, with where the database has it"
expect_eq "$(echo "$out" | grep -c '^receipt missing.receipt: .* and the database has no such message$')" 1 \
	"missing: a receipt for a message the database lacks"
expect_eq "$(echo "$out" | grep -c '^receipt ')" 4 "nothing else found"
out=$("$CONSOLE" verify --certs "$CERTS" --collector-cert "$COLLECTOR_CERT" --receipts "$WORK/r1")
expect_eq "$(echo "$out" | tail -1)" "verify: 1 receipts from $WORK/r1 checked against the database (0 of them name nothing kept: signatures checked only)" \
	"the genuine receipt verifies"

say "a false collector's answers are not taken: the message stays in the spool"
stop_collector
seq_b=$(agent -f "$cfg" submit "$EXAMPLES/party_branch.json" | awk '{ print $NF }' | tr -d ')')
serve() {       # serve MODE SIGN_SECRET: a false collector on the collector's endpoint
	"$RECEIPTS_BIN" serve "$EP" "$WORK/false-endpoint" "$1" "$KEYS/collector.cert_secret" "$2" \
		>>"$WORK/false-$1.log" 2>&1 &
	FALSE_PID=$!
}
n=0
for mode in none forged other-bytes other-verdict other-message; do
	case $mode in
	none) why="it carries no receipt" ;;
	forged) why="the signature does not verify under collector collector's key" ;;
	other-bytes) why="the receipt is of other bytes than the message sent" ;;
	other-verdict) why="the receipt says REJECTED (13), the answer ACCEPTED (0)" ;;
	other-message) why="the receipt is of another message" ;;
	esac
	if [ "$mode" = forged ]; then serve "$mode" "$KEYS/mallory.cert_secret"
	else serve "$mode" "$KEYS/collector.cert_secret"; fi
	n=$((n + 1))
	wait_for 30 grep -q "not taken: $why" "$WORK/agent-clerk.log" ||
		fail "$mode: the agent did not say: $why"
	expect_eq "$(grep -c "not taken: $why" "$WORK/agent-clerk.log" | awk '{ print ($1 > 0) }')" 1 "$mode: refused, and why"
	expect_eq "$(state "$seq_b")" "pending" "$mode: the message is still unanswered"
	kill -TERM "$FALSE_PID"; wait "$FALSE_PID" || true
done
expect_eq "$(awk -v n=$n 'BEGIN { r = '"$(refused_count)"'; print (r >= n) }')" 1 \
	"tallyfeed_agent_receipts_refused_total counts them"
expect_eq "$(agent -f "$cfg" receipts | grep -c ' ACCEPTED ')" 1 "no receipt kept for them"

say "a false collector that says stored, soundly signed, and stores nothing: verify names it"
serve sound "$KEYS/collector.cert_secret"
wait_for 30 state_is "$seq_b" accepted || fail "the sound-looking answer was not taken"
kill -TERM "$FALSE_PID"; wait "$FALSE_PID" || true
mkdir "$WORK/r2"
agent -f "$cfg" receipts --export "$WORK/r2" >/dev/null
rc=0
out=$("$CONSOLE" verify --certs "$CERTS" --collector-cert "$COLLECTOR_CERT" --receipts "$WORK/r2") || rc=$?
echo "$out"
expect_eq "$rc" 1 "verify --receipts fails"
expect_eq "$(echo "$out" | grep -c '^receipt 630121100201-party_branch-r1-v1-.*and the database has no such message$')" 1 \
	"the receipt of the message never stored is named"
expect_eq "$(echo "$out" | grep -c '^receipt ')" 1 "and only it"

say "the real collector again: answers taken"
COLLECTOR_ENDPOINT=$EP start_collector
out=$(agent -f "$cfg" submit --wait 30 "$EXAMPLES/residents.json")
expect_eq "$out" "$EXAMPLES/residents.json: ACCEPTED" "answer"
expect_eq "$(agent -f "$cfg" receipts | grep -c ' ACCEPTED ')" 3 "three receipts kept"
stop_agents
finish
