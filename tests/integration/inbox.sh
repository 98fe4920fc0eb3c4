#!/usr/bin/env bash
# The inbox and the agent's files under attack, with a running agent and
# collector.  A FIFO and a symbolic link dropped in the inbox (a FIFO once
# wedged the loop: no acks, no heartbeats), and a link planted at
# refused/NAME.json.why pointing at the spool (once overwritten through),
# are refused with a .why while a sound file dropped after them is
# delivered and acknowledged, and heartbeats keep reaching the collector.
# `submit` of a FIFO or a link ends at once with a clear error and exit 1;
# a FIFO given as the configuration is refused at once; an agent whose
# refused/ is a link does not start; `export` writes its bundle through
# no link planted beside it.  Every wait has a deadline.
. "$(dirname "$0")/lib.sh"

ex=$TF_SRC/deploy/examples
TOWNSHIP=630121100000           # 桥头镇, the township of deploy/examples

# wait_until SECONDS WHAT COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_until() {
	local seconds=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + seconds))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "$what (not within ${seconds} s)"
			return 0      # counted; the checks after it still run
		fi
		sleep 0.1
	done
	echo "ok: $what"
}

setup_db
start_collector
METRICS=$(cat "$WORK/metrics")
cmetric() { curl -s "${METRICS}metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
heartbeats() { local n; n=$(cmetric tallyfeed_collector_heartbeats_total); echo "${n:-0}"; }
more_heartbeats_than() { [ "$(heartbeats)" -gt "$1" ]; }

INBOX=$WORK/inbox
mkdir -p "$INBOX"
agent_config qiaotou "$TOWNSHIP" "    inbox = \"$INBOX\"
"
"$AGENT" -f "$WORK/qiaotou.cfg" run >>"$WORK/agent-qiaotou.log" 2>&1 &
AGENT_PIDS+=($!)
wait_until 30 "the agent's first heartbeat reaches the collector" more_heartbeats_than 0
for d in queued refused; do
	[ -d "$INBOX/$d" ] && [ ! -L "$INBOX/$d" ] && echo "ok: the agent made $d/" \
		|| fail "the agent did not make $d/"
done

say "a FIFO, a link and a planted .why link, then a sound file"
mkfifo "$INBOX/a-fifo.json"
ln -s "$ex/residents.json" "$INBOX/b-link.json"
mkdir -p "$INBOX/refused"       # (failed above if missing; the rest still runs)
ln -s "$WORK/spool-qiaotou/spool.db" "$INBOX/refused/c-bad.json.why"
echo '{ "unit": ' >"$INBOX/.c-bad.json.tmp"
mv "$INBOX/.c-bad.json.tmp" "$INBOX/c-bad.json"
beats=$(heartbeats)
# As staff tools should: a temporary name, then a rename.
cp "$ex/villagers.json" "$INBOX/.d-sound.json.tmp"
mv "$INBOX/.d-sound.json.tmp" "$INBOX/d-sound.json"

why_says() { [ -f "$INBOX/refused/$1.why" ] && grep -q "$2" "$INBOX/refused/$1.why"; }
wait_until 30 "the FIFO refused: a FIFO" why_says a-fifo.json 'not read: a FIFO'
wait_until 30 "the link refused: a symbolic link" why_says b-link.json 'not read: a symbolic link'
wait_until 30 "the bad file refused, its .why written in place of the link" \
	why_says c-bad.json 'c-bad.json'
[ -p "$INBOX/refused/a-fifo.json" ] && echo "ok: the FIFO itself is in refused/" \
	|| fail "the FIFO is not in refused/"
[ -L "$INBOX/refused/b-link.json" ] && echo "ok: the link itself is in refused/" \
	|| fail "the link is not in refused/"
[ ! -L "$INBOX/refused/c-bad.json.why" ] && echo "ok: the planted link was replaced" \
	|| fail "refused/c-bad.json.why is still a link"
delivered() { [ -f "$INBOX/queued/d-sound.json" ] \
	&& "$AGENT" -f "$WORK/qiaotou.cfg" status 2>/dev/null | grep -q 'accepted 1,'; }
wait_until 60 "the sound file after them is delivered and acknowledged" delivered
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result_current WHERE unit_code = '630121100201'")" \
	1 "its result is stored"
wait_until 30 "heartbeats keep coming after the drops" more_heartbeats_than "$beats"
kill -0 "${AGENT_PIDS[0]}" && echo "ok: agent alive" || fail "agent died"

say "submit: the same checks, an error and exit 1, at once"
mkfifo "$WORK/fifo.json"
ln -s "$ex/residents.json" "$WORK/link.json"
rc=0
timeout 30 "$AGENT" -f "$WORK/qiaotou.cfg" submit "$WORK/fifo.json" >"$WORK/out" 2>&1 || rc=$?
expect_eq "$rc" 1 "submit of a FIFO"
grep -q 'fifo.json: NOT QUEUED: .*a FIFO' "$WORK/out" || fail "submit of a FIFO: message: $(cat "$WORK/out")"
rc=0
timeout 30 "$AGENT" -f "$WORK/qiaotou.cfg" submit "$WORK/link.json" >"$WORK/out" 2>&1 || rc=$?
expect_eq "$rc" 1 "submit of a symbolic link"
grep -q 'link.json: NOT QUEUED: .*a symbolic link' "$WORK/out" \
	|| fail "submit of a link: message: $(cat "$WORK/out")"

say "configuration: a FIFO is refused at once (a SIGHUP read it blocking); a link is followed"
mkfifo "$WORK/fifo.cfg"
rc=0
timeout 30 "$AGENT" -f "$WORK/fifo.cfg" -n >"$WORK/out" 2>&1 || rc=$?
expect_eq "$rc" 1 "-n with a FIFO for a configuration file"
grep -q 'fifo.cfg: a FIFO' "$WORK/out" || fail "configuration FIFO: message: $(cat "$WORK/out")"
ln -s "$WORK/qiaotou.cfg" "$WORK/link.cfg"
rc=0
timeout 30 "$AGENT" -f "$WORK/link.cfg" -n >"$WORK/out" 2>&1 || rc=$?
expect_eq "$rc" 0 "-n with a linked configuration file"

say "export: no link planted at a temporary name is written through"
echo precious >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/out.bundle.tmp"
"$AGENT" -f "$WORK/qiaotou.cfg" export --to "$WORK/out.bundle" >/dev/null
expect_eq "$(cat "$WORK/victim")" precious "the file behind the link is untouched"
[ -f "$WORK/out.bundle" ] && [ ! -L "$WORK/out.bundle" ] && echo "ok: the bundle is written" \
	|| fail "no bundle written"
expect_eq "$(find "$WORK" -maxdepth 1 -name '.out.bundle*.tmp' | wc -l)" 0 "no temporary file left"

say "an agent whose refused/ is a link does not start"
mkdir -p "$WORK/inbox2" "$WORK/elsewhere"
ln -s "$WORK/elsewhere" "$WORK/inbox2/refused"
agent_config other 630121101000 "    inbox = \"$WORK/inbox2\"
"
rc=0
timeout 60 "$AGENT" -f "$WORK/other.cfg" run >"$WORK/out" 2>&1 || rc=$?
expect_eq "$rc" 1 "run with a linked refused/"
grep -q 'refused is a symbolic link' "$WORK/out" || fail "linked refused/: message: $(cat "$WORK/out")"

stop_agents
finish
