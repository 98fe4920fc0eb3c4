#!/usr/bin/env bash
# Memory is bounded by what is decoded, not by what arrived; the quarantine
# cannot fill the disk.  One enrolled agent floods the collector with the
# most costly frames a frame can be (unknown fields, empty candidates,
# empty seats, no message id), and an importer brings the same in a bundle,
# while a second agent sends a township's sound results: each sound result
# is stored and acknowledged, each flood frame answered, `tallyfeed import`
# ends and names what got no answer, and the collector's peak RSS (VmHWM)
# is printed and, with TF_RSS_MAX_MIB (the plain build: ASan's shadow,
# redzones and quarantine of freed memory would make the figure ASan's,
# not ours), held to it.  Then 10,000 bad frames from one agent leave the
# quarantine under that agent's budget while the sound agent's results are
# all stored.
. "$(dirname "$0")/lib.sh"

BAD=$TF_BIN/tests/tools/tf-bad
township=630121100000   # 桥头镇
budget=1048576          # quarantine_bytes_per_hour in this test
head=256                # bytes kept of a frame past it (INGEST_QUARANTINE_HEAD)

setup_db
# No message or byte rate limit: the flood must reach the decoder.
printf 'collector\n    rate_per_s = 0\n    byte_rate_per_s = 0\n    quarantine_bytes_per_hour = %s\n' \
	"$budget" >"$WORK/collector.cfg"
start_collector -f "$WORK/collector.cfg"
enrol flooder 630121100000
enrol flooder2 630121100000
reload_collector
hwm() { awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$COLLECTOR_PID/status"; }
say "collector at start: VmHWM $(hwm) MiB"

"$SIM" --registry "$REGISTRY" --under "$township" --out "$WORK/sim" --seed 11 --quiet
sound=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED"' "$WORK/sim/manifest.tsv" | wc -l)
files=$(awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" { print $1 }' "$WORK/sim/manifest.tsv")
say "$sound sound results to send beside the floods"

say "a bundle of the same frames, and envelopes without a message id"
"$BAD" --flood-bundle 120 mixed "$WORK/flood.bundle" "$KEYS/flooder2.cert_secret"
ls -l "$WORK/flood.bundle"

say "flood (agent and bundle) while agent sound sends"
start_agent sound "$township"
(cd "$WORK/sim" && "$AGENT" -f "$WORK/sound.cfg" submit --wait 300 $files) \
	>"$WORK/submit-1.log" 2>&1 &
submit=$!
"$BAD" --flood 200 mixed "$EP" "$KEYS/flooder.cert_secret" "$COLLECTOR_CERT" \
	>"$WORK/flood.log" 2>&1 &
flood=$!
set +e
"$CONSOLE" import -t 120 -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" \
	"$WORK/flood.bundle" >"$WORK/import.log" 2>&1
import_rc=$?
wait "$flood"; flood_rc=$?
wait "$submit"; submit_rc=$?
set -e
cat "$WORK/flood.log"
tail -3 "$WORK/import.log"
expect_eq "$flood_rc" 0 "every flood frame answered"
expect_eq "$(grep -c '^flood REJECTED DECODE_TOO_LARGE' "$WORK/flood.log")" 1 "flood refused DECODE_TOO_LARGE"
expect_eq "$(awk '/^flood REJECTED DECODE_TOO_LARGE/ { print $4 }' "$WORK/flood.log")" 150 \
	"unknown fields, empty candidates, empty seats: each DECODE_TOO_LARGE"
expect_eq "$(awk '/^flood REJECTED BAD_MESSAGE_ID/ { print $4 }' "$WORK/flood.log")" 50 \
	"no message id: BAD_MESSAGE_ID"
expect_eq "$import_rc" 1 "import of a hostile bundle ends, non-zero"
expect_eq "$(grep -c 'imported 120 messages' "$WORK/import.log")" 1 "import says what it did"
expect_eq "$(grep -c ': REJECTED: DECODE_TOO_LARGE: ' "$WORK/import.log")" 90 \
	"import: each costly envelope answered DECODE_TOO_LARGE"
expect_eq "$(grep -c ': REJECTED: BAD_MESSAGE_ID: ' "$WORK/import.log")" 30 \
	"import: each envelope without a message id answered, on a connection of its own"
expect_eq "$submit_rc" 0 "the sound agent's submit ended"
expect_eq "$(grep -c ': ACCEPTED$' "$WORK/submit-1.log")" "$sound" "every sound result acknowledged"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" "$sound" "every sound result stored"

peak=$(hwm)
echo "memory: collector_peak_mib=$peak (VmHWM; bound ${TF_RSS_MAX_MIB:-not checked in this build})"
if [ -n "${TF_RSS_MAX_MIB:-}" ]; then
	[ "$peak" -le "$TF_RSS_MAX_MIB" ] && echo "ok: peak RSS $peak MiB <= $TF_RSS_MAX_MIB MiB" \
		|| fail "collector peak RSS $peak MiB over $TF_RSS_MAX_MIB MiB"
fi
kill -0 "$COLLECTOR_PID" && echo "ok: collector alive" || fail "collector died"

say "10,000 bad frames from one agent (flooder2, its budget untouched), while the sound agent sends revision 2 of each"
mkdir -p "$WORK/rev2"
for f in $files; do
	sed 's/"revision": 1,/"revision": 2,/' "$WORK/sim/$f" >"$WORK/rev2/$(echo "$f" | tr / _)"
done
expect_eq "$(grep -l '"revision": 2,' "$WORK"/rev2/*.json | wc -l)" "$sound" "revision 2 of each result"
began=$(date +%s)
"$AGENT" -f "$WORK/sound.cfg" submit --wait 300 "$WORK"/rev2/*.json >"$WORK/submit-2.log" 2>&1 &
submit=$!
set +e
"$BAD" --flood 10000 bad "$EP" "$KEYS/flooder2.cert_secret" "$COLLECTOR_CERT" >"$WORK/flood2.log" 2>&1
flood_rc=$?
wait "$submit"; submit_rc=$?
set -e
elapsed=$(($(date +%s) - began + 1))
cat "$WORK/flood2.log"
expect_eq "$flood_rc" 0 "every bad frame answered"
expect_eq "$(awk '/^flood REJECTED BAD_SIGNATURE/ { print $4 }' "$WORK/flood2.log")" 10000 "each BAD_SIGNATURE"
expect_eq "$(grep -c ': ACCEPTED$' "$WORK/submit-2.log")" "$sound" "every sound revision acknowledged"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result WHERE revision = 2')" "$sound" "every sound revision stored"
q="FROM tallyfeed.quarantine WHERE reason_name = 'BAD_SIGNATURE' AND agent_id = 'flooder2'"
expect_eq "$(sql "SELECT count(*) $q")" 10000 "each bad frame kept (distinct bytes)"
whole=$(sql "SELECT coalesce(sum(length(raw)), 0) $q AND length(raw) = coalesce(raw_size, length(raw))")
# The budget is a rate: a full hour's worth at once, then refilled by the
# second (budget/3600 bytes each) while the flood lasted.
allowed=$((budget + budget * elapsed / 3600))
echo "quarantine: $whole bytes kept whole in ${elapsed}s, budget $budget an hour (so $allowed)"
[ "$whole" -le "$allowed" ] && echo "ok: kept whole within the budget" \
	|| fail "$whole bytes kept whole, over the budget of $allowed"
expect_eq "$((whole > budget / 2))" 1 "the budget was used before frames were kept short"
expect_eq "$(sql "SELECT count(*) $q AND length(raw) < raw_size AND length(raw) <> $head")" 0 \
	"past the budget, the first $head bytes only"
expect_eq "$(sql "SELECT count(*) $q AND length(raw) < raw_size AND raw_sha256 IS NOT NULL")" \
	"$(sql "SELECT count(*) $q AND length(raw) < raw_size")" "each kept short has its SHA-256"
cut=$(curl -s "$(cat "$WORK/metrics")metrics" | awk '/^tallyfeed_collector_quarantine_cut_total/ { print $2 }')
expect_eq "$cut" "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE length(raw) < raw_size")" \
	"the metric counts each kept short"
logged=$(grep -c 'flooder2 is over its quarantine budget' "$WORK/collector.log" || true)
[ "$logged" -ge 1 ] && [ "$logged" -le $((1 + elapsed / 60)) ] \
	&& echo "ok: logged once a minute ($logged line(s) in ${elapsed}s)" \
	|| fail "over-budget log lines: $logged in ${elapsed}s (want 1 a minute)"

perframe=$(grep -c 'info: rejected message .* from agent flooder2: BAD_SIGNATURE' "$WORK/collector.log" || true)
short=$(sql "SELECT count(*) $q AND length(raw) < raw_size")
expect_eq "$((perframe <= 10000 - short))" 1 "no line per frame kept short ($perframe lines for 10000 frames)"

say "identical bytes are kept once"
"$BAD" --flood-bundle 1 bad "$WORK/one.bundle" "$KEYS/flooder.cert_secret"
"$CONSOLE" import -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" "$WORK/one.bundle" >/dev/null || true
n=$(sql "SELECT count(*) FROM tallyfeed.quarantine")
"$CONSOLE" import -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" "$WORK/one.bundle" >/dev/null || true
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine")" "$n" "the same bad frame again adds no row"

say "a byte rate: 1 MiB at once, then 1 byte a second, for agents and importers alike"
printf 'collector\n    rate_per_s = 0\n    byte_rate_per_s = 1\n    byte_burst = 1048576\n    quarantine_bytes_per_hour = %s\n' \
	"$budget" >"$WORK/collector.cfg"
reload_collector
"$BAD" --flood 8 candidates "$EP" "$KEYS/flooder.cert_secret" "$COLLECTOR_CERT" >"$WORK/flood3.log" 2>&1 \
	|| fail "tf-bad --flood 8 candidates"
cat "$WORK/flood3.log"
expect_eq "$(awk '/^flood REJECTED DECODE_TOO_LARGE/ { print $4 }' "$WORK/flood3.log")" 4 "the first 4 frames (1 MiB) judged"
expect_eq "$(awk '/^flood DEFERRED RATE_LIMITED/ { print $4 }' "$WORK/flood3.log")" 4 "the next 4 deferred"
"$BAD" --flood-bundle 8 candidates "$WORK/eight.bundle" "$KEYS/flooder.cert_secret"
set +e
"$CONSOLE" import -t 15 -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" \
	"$WORK/eight.bundle" >"$WORK/import3.log" 2>&1
import_rc=$?
set -e
cat "$WORK/import3.log"
expect_eq "$import_rc" 1 "import past its byte rate ends at its deadline, non-zero"
expect_eq "$(grep -c 'REJECTED: DECODE_TOO_LARGE' "$WORK/import3.log")" 4 "import: the first 4 judged"
expect_eq "$(grep -c '^message [5-8] (sequence [0-9]*): no answer$' "$WORK/import3.log")" 4 \
	"import names the 4 deferred to the end as unanswered, with their sequence"
printf 'collector\n    rate_per_s = 0\n    byte_rate_per_s = 0\n    quarantine_bytes_per_hour = %s\n' \
	"$budget" >"$WORK/collector.cfg"
reload_collector

say "verify accepts rows kept short (their SHA-256 is in the chain)"
"$CONSOLE" verify --certs "$CERTS" >"$WORK/verify.log" 2>&1 && echo "ok: verify clean" \
	|| { tail -5 "$WORK/verify.log"; fail "verify found something"; }
echo "memory: collector_peak_mib=$(hwm) after the quarantine flood"
stop_agents
finish
