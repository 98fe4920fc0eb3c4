#!/usr/bin/env bash
# The hostile-input suite (issue 10, part 10): every attack of the issue
# against ONE running collector and its agents at once, ending in one line:
#
#   hostile: attacks=N lost=0 wedged=0 collector_peak_mib=X agent_peak_mib=Y
#
# One collector (metrics, /healthz, live feed); a "victim" agent of 城关镇
# running with an inbox (the agent under the file attacks; its own sound
# results, dropped in its inbox as staff would, must all get through); a
# "sound" agent of 塔尔镇 whose simulated results are queued a few at a
# time throughout; and the attackers, all of 桥头镇: an enrolled hostile
# agent (tf-bad: the bad-input corpus, floods, 10,000 bad frames), an
# importer with crafted bundles, an HTTP trickler (tf-trickle), the inbox
# attacks, a FIFO among the collector's certificates, hostile text for the
# logs and the feed.
#
# Each attack is a function attack_NAME, counted in attacks=N.  After each
# (and, for the floods, all the while they run) nothing may be wedged: the
# collector's and the victim's /healthz answer within 1 s, asked from
# 127.0.0.2 (the trickler uses up 127.0.0.1's per-address cap), and a
# heartbeat of the victim newer than the check is stored within 10 s.
# Each failed check counts in wedged.  lost: every sound result of the two
# agents is stored exactly once (a result missing or stored twice counts),
# and `tallyfeed verify` is clean (else lost counts 1 more).  The peaks are
# the collector's and the victim's VmHWM at the end, held to
# TF_HOSTILE_COLLECTOR_MIB and TF_HOSTILE_AGENT_MIB when set (the plain
# build, hostile_rss); under ASan (integration_hostile) the figures would
# be ASan's, so the line prints "(asan)" and the line before the figures.
# An attack's own promise broken (a verdict, a .why) is a FAIL line and a
# non-zero exit as well.  Every wait is a condition with a deadline.
# TF_HOSTILE_QFLOOD: the bad frames of the quarantine flood (10,000).
. "$TF_SRC/tests/integration/lib.sh"
# TF_DAEMON_BIN: the collector and agent of another build (an older commit,
# to see the suite fail there); the tools and the console stay TF_BIN's.
if [ -n "${TF_DAEMON_BIN:-}" ]; then
	AGENT=$TF_DAEMON_BIN/agents/tallyfeed-agent
	COLLECTOR=$TF_DAEMON_BIN/collector/tallyfeed-collector
fi

BAD=$TF_BIN/tests/tools/tf-bad
TRICKLE=$TF_SRC/tests/tools/tf-trickle
ex=$TF_SRC/deploy/examples
HOSTILE_TOWNSHIP=630121100000   # 桥头镇: tf-bad's reports, every attacker
VICTIM_TOWNSHIP=630121101000    # 城关镇
SOUND_TOWNSHIP=630121102000     # 塔尔镇
BUDGET=1048576                  # quarantine_bytes_per_hour
QFLOOD=${TF_HOSTILE_QFLOOD:-10000}
ATTACKS=0
WEDGED=0
LOST=0

# ---- the running parties ----

setup_db
# The floods count every answer by its verdict: a commit slowed by the
# floods themselves (on a busy machine) must not turn answers into DEFERRED
# COLLECTOR_BUSY, which frames without an id could not be matched to and
# sent again by.  Stalls are tests/integration/stall.sh's.
printf 'collector\n    rate_per_s = 0\n    byte_rate_per_s = 0\n    quarantine_bytes_per_hour = %s\n    database_stall_ms = 3600000\n' \
	"$BUDGET" >"$WORK/collector.cfg"
# A collector of before the byte rate and the quarantine budget knows
# neither key (and refuses a key it does not know), nor the stall.
if [ -n "${TF_DAEMON_BIN:-}" ] && ! grep -q quarantine_bytes_per_hour "$COLLECTOR"; then
	printf 'collector\n    rate_per_s = 0\n' >"$WORK/collector.cfg"
elif [ -n "${TF_DAEMON_BIN:-}" ] && ! grep -q database_stall_ms "$COLLECTOR"; then
	printf 'collector\n    rate_per_s = 0\n    byte_rate_per_s = 0\n    quarantine_bytes_per_hour = %s\n' \
		"$BUDGET" >"$WORK/collector.cfg"
fi
start_collector -f "$WORK/collector.cfg"
wait_for 30 test -s "$WORK/metrics" || { echo "no metrics address" >&2; exit 1; }
METRICS=$(cat "$WORK/metrics")
for who in hostile flooder flooder2; do enrol "$who" "$HOSTILE_TOWNSHIP"; done
enrol forger 630121103000       # 东峡镇: the corpus's second key, that forges

# The live feed, read all along: no raw control character may reach it.
"$CONSOLE" feed -c "$(cat "$WORK/feed")" --rejected >"$WORK/feed.txt" 2>&1 &
FEED_PID=$!

INBOX=$WORK/inbox
mkdir -p "$INBOX"
agent_config victim "$VICTIM_TOWNSHIP" "    inbox = \"$INBOX\"
"
"$AGENT" -f "$WORK/victim.cfg" --metrics-file "$WORK/agent-metrics-victim" run \
	>>"$WORK/agent-victim.log" 2>&1 &
VICTIM_PID=$!
AGENT_PIDS+=("$VICTIM_PID")
start_agent sound "$SOUND_TOWNSHIP"
wait_for 30 test -s "$WORK/agent-metrics-victim" || { echo "victim: no metrics address" >&2; exit 1; }
VICTIM_HTTP=$(cat "$WORK/agent-metrics-victim")
trap 'rc=$?; kill "$FEED_PID" 2>/dev/null || true; (exit $rc); cleanup' EXIT

# Simulated sound results, in manifest order (a runoff after its round 1).
"$SIM" --registry "$REGISTRY" --under "$VICTIM_TOWNSHIP" --out "$WORK/sim-victim" --seed 21 --quiet
"$SIM" --registry "$REGISTRY" --under "$SOUND_TOWNSHIP" --out "$WORK/sim-sound" --seed 22 --quiet
accepted() { awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" { print $1 }' "$1/manifest.tsv"; }
mapfile -t VICTIM_FILES < <(accepted "$WORK/sim-victim")
mapfile -t SOUND_FILES < <(accepted "$WORK/sim-sound")
VICTIM_NEXT=0
SOUND_NEXT=0
echo "hostile: ${#VICTIM_FILES[@]} sound results through the victim's inbox, ${#SOUND_FILES[@]} from the sound agent"

# stream [K]: the next K (default 4) sound results of each agent: the
# victim's dropped in its inbox as staff tools should (a temporary name,
# then a rename), the sound agent's queued with `submit`.
stream() {
	local k=${1:-4} i f files=()
	for ((i = 0; i < k && VICTIM_NEXT < ${#VICTIM_FILES[@]}; i++)); do
		f=${VICTIM_FILES[$VICTIM_NEXT]}
		cp "$WORK/sim-victim/$f" "$INBOX/.v-$VICTIM_NEXT.json.tmp"
		mv "$INBOX/.v-$VICTIM_NEXT.json.tmp" "$INBOX/v-$(printf %03d "$VICTIM_NEXT")-${f##*/}"
		VICTIM_NEXT=$((VICTIM_NEXT + 1))
	done
	for ((i = 0; i < k && SOUND_NEXT < ${#SOUND_FILES[@]}; i++)); do
		files+=("$WORK/sim-sound/${SOUND_FILES[$SOUND_NEXT]}")
		SOUND_NEXT=$((SOUND_NEXT + 1))
	done
	if [ ${#files[@]} -gt 0 ]; then
		"$AGENT" -f "$WORK/sound.cfg" submit "${files[@]}" >>"$WORK/submit.log" 2>&1 ||
			fail "the sound agent's submit refused a sound file (see submit.log)"
	fi
}

# ---- is anything wedged? ----

# answers WHO URL: /healthz answered 200 within 1 s from 127.0.0.2 (3 tries,
# each held to 1 s: a loaded machine may miss one, a wedged daemon all).
answers() {
	local out try
	for try in 1 2 3; do
		out=$(curl -s --interface 127.0.0.2 --max-time 1 -o /dev/null \
			-w '%{http_code} %{time_total}' "$2" || true)
		[ "${out%% *}" = 200 ] && return 0
	done
	echo "hostile: wedged: $1 /healthz did not answer within 1 s (last: ${out:-nothing})"
	return 1
}
fresh_heartbeat() {
	[ "$(sql "SELECT count(*) FROM tallyfeed.agent_status WHERE agent_id = '$1' AND last_seen > '$2'")" = 1 ]
}
# alive WHEN: every check, each failure counted in wedged.
alive() {
	local t0
	answers collector "${METRICS}healthz" || WEDGED=$((WEDGED + 1))
	answers victim "${VICTIM_HTTP}healthz" || WEDGED=$((WEDGED + 1))
	t0=$(sql "SELECT now()")
	if ! wait_for 10 fresh_heartbeat victim "$t0"; then
		echo "hostile: wedged: no heartbeat of the victim stored within 10 s $1"
		WEDGED=$((WEDGED + 1))
	fi
	kill -0 "$COLLECTOR_PID" 2>/dev/null || { echo "hostile: the collector died $1"; WEDGED=$((WEDGED + 1)); }
	kill -0 "$VICTIM_PID" 2>/dev/null || { echo "hostile: the victim agent died $1"; WEDGED=$((WEDGED + 1)); }
}
# run_attack NAME: attack_NAME, counted, then the checks and more of the
# sound stream.  An attack that returns 2 was not run (said why).
run_attack() {
	local rc=0
	say "attack: $1"
	"attack_$1" || rc=$?
	if [ "$rc" -eq 2 ]; then
		return 0
	fi
	ATTACKS=$((ATTACKS + 1))
	[ "$rc" -eq 0 ] || fail "attack $1: its own checks failed"
	alive "after $1"
	stream
}

# ---- the network: floods, run in the background beside the rest ----

BG_PIDS=()
BG_NAMES=()
background() {
	local name=$1
	shift
	"$@" >"$WORK/bg-$name.log" 2>&1 &
	BG_PIDS+=($!)
	BG_NAMES+=("$name")
}
# bg_status NAME: the exit status of a background attack (waited for).
bg_status() {
	local i rc=0
	for i in "${!BG_NAMES[@]}"; do
		[ "${BG_NAMES[$i]}" = "$1" ] || continue
		wait "${BG_PIDS[$i]}" || rc=$?
		return $rc
	done
	return 127
}
verdicts() { awk -v v="$2" -v r="$3" '$1 == "flood" && $2 == v && $3 == r { n += $4 } END { print n + 0 }' "$1"; }

# Costly frames from an enrolled agent: unknown fields, empty candidates,
# empty seats, no message id (part 2).
attack_flood() {
	background flood "$BAD" --flood 200 mixed "$EP" "$KEYS/flooder.cert_secret" "$COLLECTOR_CERT"
}
flood_done() {
	local log=$WORK/bg-flood.log ok=0
	bg_status flood || { fail "tf-bad --flood: not every frame answered"; ok=1; }
	expect_eq "$(verdicts "$log" REJECTED DECODE_TOO_LARGE)" 150 "flood: DECODE_TOO_LARGE for each costly frame"
	expect_eq "$(verdicts "$log" REJECTED BAD_MESSAGE_ID)" 50 "flood: BAD_MESSAGE_ID for each without an id"
	return $ok
}

# The same through a crafted bundle and `tallyfeed import`, which must end.
attack_flood_bundle() {
	"$BAD" --flood-bundle 120 mixed "$WORK/flood.bundle" "$KEYS/flooder.cert_secret"
	background import timeout 300 "$CONSOLE" import -t 120 -c "$EP" -k "$KEYS/importer.cert_secret" \
		-K "$COLLECTOR_CERT" "$WORK/flood.bundle"
}
import_done() {
	local rc=0 log=$WORK/bg-import.log
	bg_status import || rc=$?
	expect_eq "$rc" 1 "import of a hostile bundle ends, non-zero"
	expect_eq "$(grep -c ': REJECTED: DECODE_TOO_LARGE: ' "$log")" 90 "import: each costly envelope DECODE_TOO_LARGE"
	expect_eq "$(grep -c ': REJECTED: BAD_MESSAGE_ID: ' "$log")" 30 "import: each envelope without an id answered"
	[ "$rc" = 1 ]
}

# 10,000 bad frames from one agent: the quarantine stays in its budget (part 4).
attack_quarantine_flood() {
	QFLOOD_BEGAN=$(date +%s)
	background qflood "$BAD" --flood "$QFLOOD" bad "$EP" "$KEYS/flooder2.cert_secret" "$COLLECTOR_CERT"
}
qflood_done() {
	local q whole allowed elapsed ok=0
	bg_status qflood || { fail "tf-bad --flood bad: not every frame answered"; ok=1; }
	elapsed=$(($(date +%s) - QFLOOD_BEGAN + 1))
	expect_eq "$(verdicts "$WORK/bg-qflood.log" REJECTED BAD_SIGNATURE)" "$QFLOOD" "quarantine flood: BAD_SIGNATURE each"
	q="FROM tallyfeed.quarantine WHERE agent_id = 'flooder2'"
	whole=$(sql "SELECT coalesce(sum(length(raw)), 0) $q AND length(raw) = coalesce(raw_size, length(raw))")
	allowed=$((BUDGET + BUDGET * elapsed / 3600))
	if [ "$whole" -le "$allowed" ]; then
		echo "ok: quarantine flood: $whole bytes kept whole, within $allowed"
	else
		fail "quarantine flood: $whole bytes kept whole, over the budget of $allowed"
		ok=1
	fi
	return $ok
}

# 200 trickling connections from 127.0.0.1 to the collector's and the
# victim's HTTP; tf-trickle's own probes from 127.0.0.2 (part 5).
hostport() { local h=${1#http://}; echo "${h%/}"; }
attack_trickle() {
	background trickle python3 "$TRICKLE" --target "$(hostport "$METRICS")" \
		--target "$(hostport "$VICTIM_HTTP")" --count 200 --from 127.0.0.1 --interval 0.5 \
		--probe-from 127.0.0.2 --probe "${METRICS}healthz" --probe "${VICTIM_HTTP}healthz" --wait 60
}
trickle_done() {
	local ok=0 what url status seconds rest log=$WORK/bg-trickle.log
	bg_status trickle || { fail "tf-trickle did not run"; ok=1; }
	cat "$log"
	while read -r what url status seconds rest; do
		[ "$what" = probe ] || continue
		if [ "$status" = status=200 ] && python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 1.0)" "${seconds#seconds=}"; then
			echo "ok: $url answered within 1 s during the trickle ($seconds)"
		else
			echo "hostile: wedged: $url during the trickle: $status $seconds"
			WEDGED=$((WEDGED + 1))
		fi
	done <"$log"
	expect_eq "$(grep -c '^probe .* status=' "$log")" 2 "trickle: both probes ran"
	expect_eq "$(grep -c '^trickle .* closed=200 open=0' "$log")" 2 "trickle: every slow connection closed by the servers"
	return $ok
}

# ---- the frames, one at a time ----

# The bad-input corpus as an enrolled agent (tests/badinput/README.md).
attack_corpus() {
	"$BAD" "$EP" "$KEYS/hostile.cert_secret" "$COLLECTOR_CERT" "$KEYS/forger.cert_secret" \
		>"$WORK/corpus.log" 2>&1 || { grep -v '^ok ' "$WORK/corpus.log"; return 1; }
	echo "ok: the corpus: $(grep -c '^ok ' "$WORK/corpus.log") cases answered as promised"
}

# Text for logs and terminals (part 9): a newline, ESC [2J, a bell and a
# bidi override in a unit code, a candidate's name, the envelope's agent id
# and a heartbeat's version (tf-bad --flood text), 4 rounds of each.  Each
# is refused; what the collector logs or publishes of it is checked at the
# end (no raw control character, no forged line).
attack_escape() {
	local log=$WORK/escape.log n
	"$BAD" --flood 16 text "$EP" "$KEYS/hostile.cert_secret" "$COLLECTOR_CERT" >"$log" 2>&1 ||
		{ cat "$log"; fail "tf-bad --flood text: not every frame answered"; return 1; }
	n=$(awk '$1 == "flood" && $2 == "REJECTED" { n += $4 } END { print n + 0 }' "$log")
	expect_eq "$n" 16 "hostile text: every frame refused ($(grep '^flood [A-Z]' "$log" | cut -d' ' -f2- | tr '\n' ',' ))"
	[ "$n" = 16 ]
}

# A GET with a body to each server; the collector's and the agent's (part 5).
attack_http_requests() {
	local ok=0 url code
	for url in "${METRICS}healthz" "${VICTIM_HTTP}healthz"; do
		code=$(curl -s --interface 127.0.0.2 --max-time 5 -o /dev/null -w '%{http_code}' -X GET -d x "$url" || true)
		expect_eq "$code" 400 "a GET with a body to $url"
		[ "$code" = 400 ] || ok=1
	done
	return $ok
}

# A FIFO named *.cert among the collector's certificates, then a reload:
# the load fails naming it, the collector goes on (part 3's files).
attack_cert_fifo() {
	local before ok=0
	before=$(grep -c 'reload:' "$WORK/collector.log" || true)
	mkfifo "$CERTS/trap.cert"
	kill -HUP "$COLLECTOR_PID"
	reloaded() { [ "$(grep -c 'reload:' "$WORK/collector.log" || true)" -gt "$before" ]; }
	if wait_for 10 reloaded && grep 'reload:' "$WORK/collector.log" | tail -1 | grep -q 'trap.cert'; then
		echo "ok: the reload refuses the FIFO: $(grep 'reload:' "$WORK/collector.log" | tail -1)"
	else
		fail "a FIFO among the certificates: no reload line naming it"
		ok=1
	fi
	rm -f "$CERTS/trap.cert"
	return $ok
}

# ---- the victim's inbox and files (part 3) ----

# why_says NAME TEXT: refused/NAME.why, a regular file, names TEXT.
why_says() { [ -f "$INBOX/refused/$1.why" ] && [ ! -L "$INBOX/refused/$1.why" ] &&
	grep -q "$2" "$INBOX/refused/$1.why"; }
refused() {
	if wait_for 30 why_says "$1" "$2"; then
		echo "ok: $1 refused: $2"
	else
		fail "$1 not refused with '$2' within 30 s"
		return 1
	fi
}

attack_inbox_fifo() {
	mkfifo "$INBOX/a-fifo.json"
	refused a-fifo.json 'not read: a FIFO'
}
attack_inbox_symlink() {
	ln -s "$WORK/sim-victim/${VICTIM_FILES[0]}" "$INBOX/a-link.json"
	refused a-link.json 'not read: a symbolic link'
}
attack_inbox_device() {
	if ! mknod "$INBOX/a-device.json" c 1 3 2>/dev/null; then
		echo "hostile: no device node can be made here (not root, or no CAP_MKNOD): attack_inbox_device not run"
		return 2
	fi
	refused a-device.json 'not read: a device'
}
attack_inbox_socket() {
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$INBOX/a-socket.json"
	refused a-socket.json 'not read: a socket'
}
attack_inbox_directory() {
	mkdir "$INBOX/a-dir.json"
	refused a-dir.json 'not read: a directory'
}
attack_inbox_oversized() {
	{ cat "$ex/villagers.json"; head -c $((1024 * 1024)) /dev/zero | tr '\0' ' '; } >"$INBOX/.big.tmp"
	mv "$INBOX/.big.tmp" "$INBOX/a-big.json"
	refused a-big.json 'not read: larger than'
}
# A file written in two goes with a look of the agent between them: the
# agent is frozen (SIGSTOP) while the first half and a link appear, so its
# next look is the first to see either; the link's refusal says that look
# has seen the half.  Frozen again, the agent is sent the rest.  The result
# must arrive whole (lost counts it if not), the file never refused.  On a
# machine so slow that a second look came before the freeze (the half gone
# from the inbox), the half is what the agent rightly read: the file is
# sent again whole and the attack tried again, at most 5 times.
attack_inbox_half_written() {
	local try f name size
	for try in 1 2 3 4 5; do
		f=${VICTIM_FILES[$VICTIM_NEXT]}
		[ -n "$f" ] || { fail "no victim file left for the half-written attack"; return 1; }
		VICTIM_NEXT=$((VICTIM_NEXT + 1))
		name=h-half-${f##*/}
		size=$(stat -c %s "$WORK/sim-victim/$f")
		kill -STOP "$VICTIM_PID"
		head -c $((size / 2)) "$WORK/sim-victim/$f" >"$INBOX/$name"
		ln -s "$WORK/sim-victim/$f" "$INBOX/h-mark-$try.json"
		kill -CONT "$VICTIM_PID"
		refused "h-mark-$try.json" 'not read: a symbolic link' || return 1
		kill -STOP "$VICTIM_PID"
		if [ -f "$INBOX/$name" ]; then
			tail -c +$((size / 2 + 1)) "$WORK/sim-victim/$f" >>"$INBOX/$name"
			kill -CONT "$VICTIM_PID"
			taken() { [ -f "$INBOX/queued/$name" ] || [ -e "$INBOX/refused/$name" ]; }
			wait_for 30 taken || { fail "the half-written file never taken"; return 1; }
			[ -f "$INBOX/queued/$name" ] && echo "ok: the half-written file taken whole" ||
				{ fail "the half-written file refused: $(cat "$INBOX/refused/$name.why" 2>/dev/null)"; return 1; }
			return 0
		fi
		kill -CONT "$VICTIM_PID"
		echo "hostile: a second look came before the rest could be written (try $try); the file again whole"
		gone() { [ -e "$INBOX/refused/$name" ] || [ -e "$INBOX/queued/$name" ]; }
		wait_for 30 gone || { fail "the half-written file neither refused nor queued"; return 1; }
		[ -e "$INBOX/refused/$name" ] && mv "$INBOX/refused/$name" "$INBOX/refused/h-race-$try.json"
		cp "$WORK/sim-victim/$f" "$INBOX/.retry.tmp"
		mv "$INBOX/.retry.tmp" "$INBOX/h-retry-${f##*/}"
	done
	fail "the half-written attack could not be made in 5 tries"
	return 1
}
# A link planted at refused/NAME.json.why -> spool.db, then a bad NAME.json.
attack_why_link() {
	local spool=$WORK/spool-victim/spool.db ok=0
	[ -f "$spool" ] || spool=$(find "$WORK/spool-victim" -name '*.db' -type f | head -1)
	ln -s "$spool" "$INBOX/refused/a-bad.json.why"
	echo '{ "unit": ' >"$INBOX/.a-bad.tmp"
	mv "$INBOX/.a-bad.tmp" "$INBOX/a-bad.json"
	refused a-bad.json 'a-bad.json' || ok=1
	if [ "$(head -c 15 "$spool")" = "SQLite format 3" ]; then
		echo "ok: the spool is still a database"
	else
		fail "the spool was written through the planted link"
		ok=1
	fi
	return $ok
}
# The victim's key through a link: refused at once, nothing queued.
attack_key_link() {
	local rc=0
	ln -s "$KEYS/victim.cert_secret" "$WORK/linked.cert_secret"
	sed -e "s|$KEYS/victim.cert_secret|$WORK/linked.cert_secret|" \
		-e "s|$WORK/spool-victim|$WORK/spool-linked|" "$WORK/victim.cfg" >"$WORK/linked.cfg"
	timeout 30 "$AGENT" -f "$WORK/linked.cfg" submit "$WORK/sim-victim/${VICTIM_FILES[0]}" \
		>"$WORK/linked.out" 2>&1 || rc=$?
	expect_eq "$rc" 1 "submit with a linked key"
	grep -q 'symbolic link' "$WORK/linked.out" && echo "ok: it says why: $(head -1 "$WORK/linked.out")" ||
		{ fail "linked key: $(cat "$WORK/linked.out")"; return 1; }
	[ "$rc" = 1 ]
}

# A carrier re-wraps an agent's signed payload in an envelope of its own
# (a new message id, sequence and time) and hands it over with `tallyfeed
# import`: the signature covers the whole envelope, so it is refused
# BAD_SIGNATURE, kept, and nothing of it is stored (part 6).
attack_rewrapped_envelope() {
	local out rc=0 ok=0
	agent_config carrier "$HOSTILE_TOWNSHIP"
	sed 's/"unit": "630121100201"/"unit": "630121100215"/' "$ex/villagers.json" >"$WORK/unit215.json"
	"$AGENT" -f "$WORK/carrier.cfg" submit "$WORK/unit215.json" >/dev/null
	"$AGENT" -f "$WORK/carrier.cfg" export --to "$WORK/carrier.bundle" >/dev/null
	"$SEND_BIN" rewrap "$WORK/carrier.bundle" "$WORK/rewrapped.bundle" >/dev/null
	out=$("$CONSOLE" import -t 60 -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" \
		"$WORK/rewrapped.bundle" 2>&1) || rc=$?
	expect_eq "$rc/$(grep -c 'REJECTED: BAD_SIGNATURE' <<<"$out")" 1/1 "a re-wrapped envelope: REJECTED BAD_SIGNATURE"
	[ "$rc" = 1 ] || ok=1
	expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code = '630121100215'")" 0 \
		"nothing of the re-wrapped payload stored"
	return $ok
}

# An old heartbeat of the victim's, replayed by its own key and by an
# importer, once the victim has sent a newer one: answered DUPLICATE and
# not applied, so a silent township cannot be made to look alive (part 6).
attack_replayed_heartbeat() {
	local out t0 as ok=0
	out=$(TF_SEND_SAVE=$WORK/hb-old.bin TF_SEND_AS=victim "$SEND" "$EP" heartbeat victim 777 77)
	expect_eq "${out%% *}" ACCEPTED "a heartbeat of the victim's key (spool depth 777)"
	t0=$(sql "SELECT now()")
	wait_for 10 fresh_heartbeat victim "$t0" || { fail "no newer heartbeat of the victim"; return 1; }
	for as in victim importer; do
		out=$(TF_SEND_AS=$as "$SEND" "$EP" raw "$WORK/hb-old.bin")
		expect_eq "${out%% *}" DUPLICATE "the old heartbeat replayed by $as: not applied"
		[ "${out%% *}" = DUPLICATE ] || ok=1
	done
	expect_eq "$(sql "SELECT spool_depth <> 777 FROM tallyfeed.agent_status WHERE agent_id = 'victim'")" t \
		"the victim's status is its own newest heartbeat's"
	return $ok
}

# ---- the run ----

alive "at the start"
stream
say "the floods and the trickler, in the background"
for a in flood flood_bundle quarantine_flood trickle; do
	say "attack: $a (background)"
	"attack_$a"
	ATTACKS=$((ATTACKS + 1))
done
for a in corpus inbox_fifo inbox_symlink inbox_device inbox_socket inbox_directory inbox_oversized \
	inbox_half_written why_link key_link cert_fifo escape http_requests \
	rewrapped_envelope replayed_heartbeat; do
	run_attack "$a"
done
say "checks while the background attacks run"
running() { local p; for p in "${BG_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while running; do
	alive "during the floods"
	stream
done
flood_done || fail "attack flood"
import_done || fail "attack flood_bundle"
qflood_done || fail "attack quarantine_flood"
trickle_done || fail "attack trickle"
alive "after the floods"

say "the rest of the sound results"
while [ "$VICTIM_NEXT" -lt ${#VICTIM_FILES[@]} ] || [ "$SOUND_NEXT" -lt ${#SOUND_FILES[@]} ]; do
	stream 100
done
# township_rows CODE: the stored (unit, committee, round) of a township, one a line.
township_rows() {
	sql "SELECT unit_code || ' ' || committee || ' ' || round FROM tallyfeed.result
	     WHERE substr(unit_code, 1, 9) = substr('$1', 1, 9) ORDER BY 1"
}
expected_rows() { awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" { print $2, $3, $4 }' "$1/manifest.tsv" | sort; }
all_stored() {
	[ "$(township_rows "$VICTIM_TOWNSHIP" | sort -u | wc -l)" -ge ${#VICTIM_FILES[@]} ] &&
		[ "$(township_rows "$SOUND_TOWNSHIP" | sort -u | wc -l)" -ge ${#SOUND_FILES[@]} ]
}
wait_for 120 all_stored || echo "hostile: not every sound result stored within 120 s"
for t in victim:$VICTIM_TOWNSHIP sound:$SOUND_TOWNSHIP; do
	who=${t%%:*}
	township_rows "${t#*:}" | sort >"$WORK/stored-$who"
	expected_rows "$WORK/sim-$who" >"$WORK/expected-$who"
	missing=$(comm -23 "$WORK/expected-$who" <(sort -u "$WORK/stored-$who") | wc -l)
	extra=$(comm -13 "$WORK/expected-$who" <(sort -u "$WORK/stored-$who") | wc -l)
	twice=$(($(wc -l <"$WORK/stored-$who") - $(sort -u "$WORK/stored-$who" | wc -l)))
	echo "hostile: $who: $(wc -l <"$WORK/expected-$who") sent, $missing missing, $twice stored twice, $extra not sent"
	LOST=$((LOST + missing + twice + extra))
done
refused_sound=$({ find "$INBOX/refused" \( -name 'v-*.json' -o -name 'h-half-*.json' \) 2>/dev/null || true; } | wc -l)
[ "$refused_sound" -eq 0 ] || { echo "hostile: $refused_sound sound file(s) of the victim refused"; }
if "$CONSOLE" verify --certs "$CERTS" >"$WORK/verify.log" 2>&1; then
	echo "ok: verify clean"
else
	tail -5 "$WORK/verify.log"
	echo "hostile: verify found something"
	LOST=$((LOST + 1))
fi

say "text from the network in the log and the feed"
# raw_controls FILE: how many characters of FILE a terminal would act on.
raw_controls() {
	python3 -c 'import re,sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
print(len(re.findall("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", t)))' "$1"
}
kill "$FEED_PID" 2>/dev/null || true
wait "$FEED_PID" 2>/dev/null || true
expect_eq "$(raw_controls "$WORK/collector.log")" 0 "the collector's log: no raw control character"
expect_eq "$(raw_controls "$WORK/feed.txt")" 0 "the feed: no raw control character"
expect_eq "$(cat "$WORK/collector.log" "$WORK/feed.txt" | grep -c '^tallyfeed-collector: info: ok' || true)" 0 \
	"no forged line in the log or the feed"
echo "hostile: the hostile text quoted, escaped: $(cat "$WORK/collector.log" "$WORK/feed.txt" | grep -cF '\x1b[2J' || true) line(s)"

# hwm PID: its VmHWM in MiB (0 if it died: counted in wedged already).
hwm() { awk '/^VmHWM/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpeak=$(hwm "$COLLECTOR_PID")
apeak=$(hwm "$VICTIM_PID")
over=0
if [ -n "${TF_HOSTILE_COLLECTOR_MIB:-}" ]; then
	echo "hostile: peaks checked (plain build): collector <= $TF_HOSTILE_COLLECTOR_MIB MiB, agent <= $TF_HOSTILE_AGENT_MIB MiB"
	[ "$cpeak" -le "$TF_HOSTILE_COLLECTOR_MIB" ] || { echo "hostile: collector peak $cpeak MiB over its bound"; over=1; }
	[ "$apeak" -le "$TF_HOSTILE_AGENT_MIB" ] || { echo "hostile: agent peak $apeak MiB over its bound"; over=1; }
	cshow=$cpeak
	ashow=$apeak
else
	echo "hostile: peaks not checked under ASan (its shadow and quarantine, not ours): collector $cpeak MiB, agent $apeak MiB"
	cshow="(asan)"
	ashow="(asan)"
fi
# stop PID NAME: SIGTERM, and an exit within 30 s (else wedged, and SIGKILL).
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
stop() {
	local rc=0
	kill -TERM "$1" 2>/dev/null || true
	if ! wait_for 30 gone "$1"; then
		echo "hostile: wedged: $2 did not exit within 30 s of SIGTERM"
		WEDGED=$((WEDGED + 1))
		kill -KILL "$1" 2>/dev/null || true
	fi
	wait "$1" || rc=$?
	[ "$rc" -eq 0 ] || fail "$2 exited $rc"
}
for i in "${!AGENT_PIDS[@]}"; do
	stop "${AGENT_PIDS[$i]}" "agent $((i + 1))"
done
AGENT_PIDS=()
stop "$COLLECTOR_PID" collector
COLLECTOR_PID=
[ "$FAILURES" -eq 0 ] || echo "hostile: $FAILURES attack check(s) failed (FAIL lines above)"
echo "hostile: attacks=$ATTACKS lost=$LOST wedged=$WEDGED collector_peak_mib=$cshow agent_peak_mib=$ashow"
[ "$LOST" -eq 0 ] && [ "$WEDGED" -eq 0 ] && [ "$over" -eq 0 ] && [ "$FAILURES" -eq 0 ]
