#!/usr/bin/env bash
# A collector per county, each on its own host, all writing one database.
#
# Three county collectors, each with its own keys and certificate
# (`tallyfeed keygen --collector NAME`), its own hash chain (collector/chain)
# and its own endpoint, run at once against one PostgreSQL database.  Run
# as root where `ip netns add` works, each collector is in a network
# namespace of its own with an address of its own, and the agents, in the
# root namespace, reach it over a veth pair, as they would a county's host;
# otherwise (not root, or no namespaces: TF_COUNTIES_MODE=loopback forces
# it) each is a process of its own on 127.0.0.1.  The database's Unix
# socket is a path, which a process in any network namespace reaches.
#
# It shows:
#  - every county's agents at once, each to its own county's collector:
#    every result stored exactly once, in its county's chain, and every
#    chain verifies (`tallyfeed verify` with every collector's certificate);
#  - a second collector given a chain name another is writing does not
#    write it: it says so, and waits, not listening;
#  - an agent that moves from one county's collector to another (its
#    configuration changed, restarted with messages pending in its spool,
#    some of them stored by the first collector whose answers it never
#    had) has each result stored once: the new collector answers those
#    DUPLICATE, with a receipt naming the first collector's chain row;
#  - the same messages sent to two or three collectors at the same time
#    (tf-send batch, a county's results each time, in opposite orders so
#    the collectors' transactions cross) are stored once, each answered
#    ACCEPTED by one collector and DUPLICATE by the others, every receipt
#    sound and naming the one stored row;
#  - each result in two messages (two message ids), one to one collector,
#    the other to another, at once: each result stored once, the other
#    message REJECTED (REVISION_EXISTS) and kept in quarantine.
# A collector whose COPY meets a row another committed after its checks
# (a unique violation, 23505) checks its batch again and answers by what
# is stored; none may be answered DEFERRED (STORE_REFUSED), the answer to
# bad data.  How often each collector met one is printed, not asserted:
# it depends on how the transactions fall.
#
# Trust, for a moved agent: the new collector admits only CURVE keys whose
# NAME.cert is in its certificate directory (collector/certs), so the
# agent's certificate must be there (and the collector reloaded, SIGHUP)
# before the agent can reach it; until then its connection is refused at
# the handshake and its messages wait in its spool (and, refused once, the
# agent tries again only once restarted).  The agent in turn
# must be given the new collector's certificate (agent/collector_cert): it
# talks CURVE to that key only, and takes only answers with receipts
# signed by it.  A DUPLICATE receipt from the new collector names the row
# in the old collector's chain; `tallyfeed verify --receipts` checks it
# given both collectors' certificates.
. "$(dirname "$0")/lib.sh"

NAMES=(maqin banma gande)
COUNTIES=(632621000000 632622000000 632623000000)      # 玛沁县 班玛县 甘德县
TWIN_COUNTY=630123000000        # 湟源县: its results go to two collectors at once
COUNTY_PIDS=()
NETNS=()
VETHS=()
MODE=loopback
WHY="not root"

counties_cleanup() {
	local rc=$? pid ns link
	# Everything below is tried, whatever fails; and (exit $rc) hands the
	# test's status on to lib.sh's cleanup, which set -e would not let
	# past a failing test.
	set +e
	for pid in "${COUNTY_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${COUNTY_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	for link in "${VETHS[@]}"; do       # gone with its namespace's end, normally
		ip link del "$link" 2>/dev/null || true
	done
	(exit $rc)
	cleanup
}
trap counties_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The mode: namespaces if this process may make them.
OCTET=$((16 + $$ % 200))        # 10.OCTET.N.0/30 for collector N
if [ "${TF_COUNTIES_MODE:-}" = loopback ]; then
	WHY="TF_COUNTIES_MODE=loopback"
elif [ "$(id -u)" = 0 ]; then
	if ip netns add "tfc$$probe" 2>"$WORK/netns.err"; then
		ip netns del "tfc$$probe"
		MODE=netns
	else
		WHY="ip netns add failed: $(head -1 "$WORK/netns.err")"
	fi
fi
if [ "$MODE" = netns ]; then
	echo "counties: mode netns (each collector in a network namespace of its own, agents over veth)"
else
	echo "counties: mode loopback (separate processes on 127.0.0.1; $WHY)"
fi

# make_host N: namespace tfcPID-N with 10.OCTET.N.2, reached from here over
# a veth pair whose near end is 10.OCTET.N.1.  Its loopback is up for the
# collector's feed and metrics.
make_host() {
	local ns=tfc$$-$1 near=tf$$h$1 far=tf$$f$1
	ip netns add "$ns"
	NETNS+=("$ns")
	ip link add "$near" type veth peer name "$far"
	VETHS+=("$near")
	ip link set "$far" netns "$ns"
	ip addr add "10.$OCTET.$1.1/30" dev "$near"
	ip link set "$near" up
	ip netns exec "$ns" ip addr add "10.$OCTET.$1.2/30" dev "$far"
	ip netns exec "$ns" ip link set "$far" up
	ip netns exec "$ns" ip link set lo up
}

# start_county I [CHAIN]: collector NAMES[I], with its own keys, certificate
# directory $WORK/certs-NAME and chain (county-CODE unless CHAIN), in its
# namespace (netns mode); sets EPS[I] and COUNTY_PIDS[I].
EPS=()
start_county() {
	local i=$1 name=${NAMES[$1]} addr=127.0.0.1 pid
	local chain=${2:-county-${COUNTIES[$1]}}
	local -a host=()
	if [ "$MODE" = netns ]; then
		addr=10.$OCTET.$((i + 1)).2
		host=(ip netns exec "tfc$$-$((i + 1))")
	fi
	printf 'collector\n    chain = "%s"\n' "$chain" >"$WORK/$name.cfg"
	rm -f "$WORK/$name.endpoint"
	"${host[@]}" ${TF_WRAP:-} "$COLLECTOR" -f "$WORK/$name.cfg" -e "tcp://$addr:!" \
		--endpoint-file "$WORK/$name.endpoint" \
		--feed 'tcp://127.0.0.1:!' --feed-file "$WORK/$name.feed" \
		--metrics 127.0.0.1:0 --metrics-file "$WORK/$name.metrics" \
		-k "$KEYS/$name.cert_secret" -C "$WORK/certs-$name" >>"$WORK/$name.log" 2>&1 &
	pid=$!
	COUNTY_PIDS[$i]=$pid
	for _ in $(seq 1 300); do
		[ -s "$WORK/$name.endpoint" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.log" >&2; return 1; }
		sleep 0.1
	done
	[ -s "$WORK/$name.endpoint" ] || { echo "collector $name did not start" >&2; return 1; }
	EPS[$i]=$(cat "$WORK/$name.endpoint")
	echo "collector $name (chain $chain) listening on ${EPS[$i]}"
}

# enrol_at NAME I...: agent NAME's certificate in these collectors' directories
enrol_at() {
	local who=$1 i
	shift
	for i in "$@"; do
		cp "$KEYS/$who.cert" "$WORK/certs-${NAMES[$i]}/"
	done
}

# reload_county I: SIGHUP collector I, and wait until it says it reloaded.
reload_county() {
	local log=$WORK/${NAMES[$1]}.log before
	before=$(grep -c 'reload:' "$log" || true)
	kill -HUP "${COUNTY_PIDS[$1]}"
	wait_for 10 eval '[ "$(grep -c "reload:" "$log" || true)" -gt "$before" ]'
}

setup_db
for i in 0 1 2; do
	"$CONSOLE" keygen --collector "${NAMES[$i]}" --out "$KEYS" >/dev/null
	mkdir -p "$WORK/certs-${NAMES[$i]}"
	if [ "$MODE" = netns ]; then make_host $((i + 1)); fi
done
ALL_CERTS=(--collector-cert "$KEYS/maqin.cert" --collector-cert "$KEYS/banma.cert"
	--collector-cert "$KEYS/gande.cert")

# The results: three townships of each county, for its own collector; one
# more township of 玛沁县 for the agent that moves; every township of the
# twin county for the simultaneous sends.
for c in "${COUNTIES[@]}" "$TWIN_COUNTY"; do
	"$SIM" --registry "$REGISTRY" --under "$c" --out "$WORK/sim-$c" --seed 12 --quiet
done
declare -A HOME_OF       # township -> collector index
for i in 0 1 2; do
	for dir in $(ls -d "$WORK/sim-${COUNTIES[$i]}"/[0-9]*/ | head -3); do
		t=$(basename "$dir")
		HOME_OF[$t]=$i
		enrol "a$t" "$t"
		enrol_at "a$t" "$i"
	done
done
# The township with the most results of those left.
MOVER_T=$(for d in $(ls -d "$WORK/sim-${COUNTIES[0]}"/[0-9]*/ | tail -n +4); do
	echo "$(ls "$d" | wc -l) $(basename "$d")"
done | sort -rn | head -1 | cut -d' ' -f2)
enrol mover "$MOVER_T"
enrol_at mover 0        # at 班玛县's collector only once it moves there
TWINS=()
for dir in "$WORK/sim-$TWIN_COUNTY"/[0-9]*/; do
	t=$(basename "$dir")
	TWINS+=("$t")
	enrol "t$t" "$t"
	enrol_at "t$t" 0 1 2
done

RIVAL_COUNTY=632624000000       # 达日县: each result in two messages at once
"$SIM" --registry "$REGISTRY" --under "$RIVAL_COUNTY" --out "$WORK/sim-$RIVAL_COUNTY" --seed 12 --quiet
RIVALS=()
for dir in $(ls -d "$WORK/sim-$RIVAL_COUNTY"/[0-9]*/ | head -3); do
	t=$(basename "$dir")
	RIVALS+=("$t")
	enrol "r$t" "$t"
	enrol_at "r$t" 0 1 2
done

for i in 0 1 2; do start_county "$i"; done
for i in 0 1 2; do
	kill -0 "${COUNTY_PIDS[$i]}" || fail "collector ${NAMES[$i]} died at start"
done

say "a second collector given a chain another is writing does not write it"
# The chain is held by its collector's session (an advisory lock).  A second
# collector on it says so and waits (a killed collector's session may still
# hold it for a while), never listening, until the chain is free or it is
# stopped.
"$CONSOLE" keygen --collector impostor --out "$KEYS" >/dev/null
printf 'collector\n    chain = "county-%s"\n' "${COUNTIES[0]}" >"$WORK/impostor.cfg"
${TF_WRAP:-} "$COLLECTOR" -f "$WORK/impostor.cfg" -e 'tcp://127.0.0.1:!' \
	--endpoint-file "$WORK/impostor.endpoint" --feed 'tcp://127.0.0.1:!' --metrics 127.0.0.1:0 \
	-k "$KEYS/impostor.cert_secret" -C "$WORK/certs-maqin" >"$WORK/impostor.log" 2>&1 &
impostor=$!
refusal="another collector is writing chain \"county-${COUNTIES[0]}\""
wait_for 60 grep -q "$refusal.*give each collector its own chain" "$WORK/impostor.log" \
	&& echo "ok: it says the chain is another's" || fail "no word of the chain in use"
[ ! -e "$WORK/impostor.endpoint" ] && echo "ok: it does not listen" || fail "it listens"
kill -TERM "$impostor"
rc=0
wait "$impostor" || rc=$?
expect_eq "$rc" 0 "stopped, it exits 0"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.signed_head WHERE signer = 'impostor'")" 0 \
	"it signed no head"
kill -0 "${COUNTY_PIDS[0]}" && echo "ok: the chain's own collector goes on" || fail "collector maqin died"

say "every county's agents at once, each to its own county's collector"
pids=()
want=0
for t in "${!HOME_OF[@]}"; do
	i=${HOME_OF[$t]}
	EP=${EPS[$i]} COLLECTOR_CERT=$KEYS/${NAMES[$i]}.cert start_agent "a$t" "$t"
	files=("$WORK/sim-${COUNTIES[$i]}/$t"/*.json)
	want=$((want + ${#files[@]}))
	"$AGENT" -f "$WORK/a$t.cfg" submit --wait 240 "${files[@]}" >"$WORK/submit-$t.log" 2>&1 &
	pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
say "${#pids[@]} agents done, $want results"
expect_eq "$(cat "$WORK"/submit-*.log | grep -c ': ACCEPTED$')" "$want" "agents saw every result accepted"
# What each county's files hold, against what its collector's chain holds.
for i in 0 1 2; do
	expected=$(for t in "${!HOME_OF[@]}"; do
		[ "${HOME_OF[$t]}" = "$i" ] || continue
		awk -F'\t' -v t="$t" 'NR > 1 && $1 ~ "^" t "/" { print $2 "/" $3 "/" $4 }' \
			"$WORK/sim-${COUNTIES[$i]}/manifest.tsv"
	done | sort)
	stored=$(sql "SELECT r.unit_code || '/' || r.committee || '/' || r.round FROM tallyfeed.result r
	              JOIN tallyfeed.message m USING (message_id)
	              WHERE m.chain = 'county-${COUNTIES[$i]}' ORDER BY 1" | LC_ALL=C sort)
	expected=$(echo "$expected" | LC_ALL=C sort)
	expect_eq "$(echo "$stored" | wc -l)" "$(echo "$expected" | wc -l)" \
		"${NAMES[$i]}: as many results in chain county-${COUNTIES[$i]} as its agents' files"
	[ "$stored" = "$expected" ] && echo "ok: ${NAMES[$i]}: exactly its agents' results" \
		|| fail "${NAMES[$i]}: the stored results are not its agents' files"
done
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" "$want" "results stored"
expect_eq "$(sql 'SELECT count(DISTINCT (unit_code, committee, round, revision)) FROM tallyfeed.result')" \
	"$want" "each once"
expect_eq "$(sql "SELECT string_agg(chain, ' ' ORDER BY chain) FROM tallyfeed.chain_head")" \
	"county-${COUNTIES[0]} county-${COUNTIES[1]} county-${COUNTIES[2]}" "one chain per collector"
stop_agents

say "an agent moves from 玛沁县's collector to 班玛县's, with messages pending"
mover_files=("$WORK/sim-${COUNTIES[0]}/$MOVER_T"/*.json)
half=$(( (${#mover_files[@]} + 1) / 2 ))
first=("${mover_files[@]:0:$half}")
second=("${mover_files[@]:$half}")
EP=${EPS[0]} COLLECTOR_CERT=$KEYS/maqin.cert agent_config mover "$MOVER_T"
cfg=$WORK/mover.cfg
agent -f "$cfg" submit "${first[@]}" >/dev/null
# The spool as it is with the first half queued, none sent.  Put back after
# 玛沁县's collector has stored and answered them, it is the spool of an
# agent whose answers were lost (a cut line, a crash before it recorded
# them): stored at 玛沁县, pending here.
cp -a "$WORK/spool-mover" "$WORK/spool-mover.unanswered"
start_agent_cfg() {
	${TF_WRAP:-} "$AGENT" -f "$cfg" --metrics-file "$WORK/agent-metrics-mover" run \
		>>"$WORK/agent-mover.log" 2>&1 &
	AGENT_PIDS+=($!)
}
pending() { agent -f "$cfg" status --all | awk '$2 == "pending" || $2 == "in-flight"' | wc -l; }
none_pending() { [ "$(pending)" -eq 0 ]; }
start_agent_cfg
wait_for 120 none_pending || fail "玛沁县's collector did not answer the first half"
stop_agents
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message WHERE agent_id = 'mover'
                  AND chain = 'county-${COUNTIES[0]}'")" "${#first[@]}" "the first half stored at 玛沁县"
rm -rf "$WORK/spool-mover"
mv "$WORK/spool-mover.unanswered" "$WORK/spool-mover"
agent -f "$cfg" submit "${second[@]}" >/dev/null
expect_eq "$(pending)" "${#mover_files[@]}" "all ${#mover_files[@]} pending in the spool when it moves"
# Moved: 班玛县's endpoint and certificate, restarted.
EP=${EPS[1]} COLLECTOR_CERT=$KEYS/banma.cert agent_config mover "$MOVER_T"
start_agent_cfg
wait_for 60 grep -q "refused a connection on .*CURVE key is not enrolled" "$WORK/banma.log" \
	&& echo "ok: not enrolled at 班玛县: refused at the handshake" \
	|| fail "班玛县's collector did not refuse the agent it does not know"
expect_eq "$(pending)" "${#mover_files[@]}" "nothing answered while it is not enrolled there"
# Enrolled there, and the agent restarted: libzmq (4.3) ends a session whose
# handshake the server refused and does not connect again, so an agent
# refused once waits for a restart (or a SIGHUP naming another collector).
enrol_at mover 1
reload_county 1
stop_agents
start_agent_cfg
wait_for 120 none_pending || fail "班玛县's collector did not answer the moved agent"
states=$(agent -f "$cfg" status --all | awk '$1 ~ /^[0-9]+$/ { print $2 }' | sort | uniq -c |
	awk '{ print $2 "=" $1 }' | tr '\n' ' ')
expect_eq "$states" "accepted=${#second[@]} duplicate=${#first[@]} " \
	"the first half answered DUPLICATE, the second ACCEPTED"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message WHERE agent_id = 'mover'")" "${#mover_files[@]}" \
	"each of its results stored once"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message WHERE agent_id = 'mover'
                  AND chain = 'county-${COUNTIES[1]}'")" "${#second[@]}" "the second half at 班玛县"
expect_eq "$(sql "SELECT count(DISTINCT (r.unit_code, r.committee, r.round, r.revision)) FROM tallyfeed.result r
                  JOIN tallyfeed.message m USING (message_id) WHERE m.agent_id = 'mover'")" \
	"${#mover_files[@]}" "each result once"
list=$(agent -f "$cfg" receipts)
expect_eq "$(echo "$list" | grep ' DUPLICATE ' | grep -c "by banma  chain county-${COUNTIES[0]} link ")" \
	"${#first[@]}" "班玛县's DUPLICATE receipts name 玛沁县's chain rows"
mkdir "$WORK/mover-receipts"
agent -f "$cfg" receipts --export "$WORK/mover-receipts" >/dev/null
out=$("$CONSOLE" verify --certs "$CERTS" "${ALL_CERTS[@]}" --receipts "$WORK/mover-receipts") \
	|| fail "verify --receipts of the moved agent's receipts: $out"
verified="verify: ${#mover_files[@]} receipts from $WORK/mover-receipts checked against the database"
expect_eq "$(echo "$out" | tail -1)" "$verified (0 of them name nothing kept: signatures checked only)" \
	"its receipts verify against the database"
stop_agents

say "the same messages to two or three collectors at once"
# send_batch DIR AGENT I ORDER OUT: the frames in DIR, as AGENT, to
# collector I (forward, reverse or shuffled), answers as FILE VERDICT REASON
# RECEIPT... lines in OUT; frames answered DEFERRED for a cause that passes
# (busy, rate, round 1 not yet stored) are sent again until answered
# otherwise.
send_batch() {
	local dir=$1 who=$2 i=$3 order=$4 out=$5 tries=0
	local -a files
	mapfile -t files < <(ls "$dir"/*.frame | case $order in
		forward) cat ;; reverse) tac ;; *) shuf --random-source=<(yes) ;; esac)
	: >"$out"
	while [ ${#files[@]} -gt 0 ] && [ $tries -lt 30 ]; do
		TF_SEND_RECEIPTS=1 TF_KEY=$KEYS/$who.cert_secret TF_SERVER_CERT=$KEYS/${NAMES[$i]}.cert \
			"$SEND_BIN" "${EPS[$i]}" batch "${files[@]}" >"$out.try" || true
		awk '$2 == "receipt:" { r[$1] = $0; sub(/^[^ ]* receipt: /, "", r[$1]); next }
		     { v[$1] = $2; why[$1] = $3; order[++n] = $1 }
		     END { for (k = 1; k <= n; k++) { f = order[k]
		             print f, v[f], why[f], (f in r ? r[f] : "none") } }' "$out.try" >"$out.answers"
		awk '!($2 == "DEFERRED" && $3 != "STORE_REFUSED") && $2 != "NO-ANSWER"' "$out.answers" >>"$out"
		mapfile -t files < <(awk '($2 == "DEFERRED" && $3 != "STORE_REFUSED") || $2 == "NO-ANSWER" \
			{ print $1 }' "$out.answers")
		tries=$((tries + 1))
		[ ${#files[@]} -eq 0 ] || sleep 0.5
	done
	for f in "${files[@]}"; do echo "$f UNANSWERED" >>"$out"; done
}
mkdir -p "$WORK/twin" "$WORK/frames"
twin_frames=0
for t in "${TWINS[@]}"; do
	mkdir "$WORK/frames/$t"
	TF_KEY=$KEYS/t$t.cert_secret "$SEND_BIN" frames "$WORK/frames/$t" "$WORK/sim-$TWIN_COUNTY/$t"/*.json
	twin_frames=$((twin_frames + $(ls "$WORK/frames/$t" | wc -l)))
done
k=0
for t in "${TWINS[@]}"; do
	a=$((k % 3)) b=$(((k + 1) % 3))
	c=$(((k + 2) % 3))
	send_batch "$WORK/frames/$t" "t$t" "$a" forward "$WORK/twin/$t.$a" &
	p1=$!
	send_batch "$WORK/frames/$t" "t$t" "$b" reverse "$WORK/twin/$t.$b" &
	p2=$!
	p3=
	if [ $((k % 3)) -eq 2 ]; then   # every third township: all three collectors
		send_batch "$WORK/frames/$t" "t$t" "$c" shuffled "$WORK/twin/$t.$c" &
		p3=$!
	fi
	wait $p1 $p2 ${p3:+$p3}
	k=$((k + 1))
done
cat "$WORK"/twin/*.[0-9] >"$WORK/twin.all"
say "$twin_frames messages, $(wc -l <"$WORK/twin.all") answers"
expect_eq "$(awk '$2 == "UNANSWERED" || $2 == "NO-ANSWER"' "$WORK/twin.all" | wc -l)" 0 "every send answered"
expect_eq "$(awk '$3 == "STORE_REFUSED"' "$WORK/twin.all" | wc -l)" 0 \
	"none refused by a collector's database (a race taken for bad data)"
expect_eq "$(awk '$2 != "ACCEPTED" && $2 != "DUPLICATE"' "$WORK/twin.all" | wc -l)" 0 \
	"none answered other than ACCEPTED or DUPLICATE"
expect_eq "$(awk '$2 == "ACCEPTED" { n[$1]++ } END { for (f in n) if (n[f] == 1) k++; print k + 0 }' \
	"$WORK/twin.all")" "$twin_frames" "each message ACCEPTED by exactly one collector"
expect_eq "$(awk '$NF != "sound"' "$WORK/twin.all" | wc -l)" 0 "every receipt sound"
expect_eq "$(for f in "$WORK"/twin/*.[0-9]; do
	awk -v c="chain=county-${COUNTIES[${f##*.}]}" '$2 == "ACCEPTED" && $5 != c' "$f"
done | wc -l)" 0 "every ACCEPTED receipt names a row of the answering collector's own chain"
# Every answer's receipt names the one row: chain=C link=L at=MS.
expect_eq "$(awk '{ k = $1 " " $5 " " $6 " " $7; if (!(k in seen)) { seen[k] = 1; rows[$1]++ } }
                 END { for (f in rows) if (rows[f] == 1) c++; print c + 0 }' \
	"$WORK/twin.all")" "$twin_frames" "every receipt of a message names the same row"
# And that row holds the very bytes sent, in the chain of the collector
# that said ACCEPTED: the bytes and rows receipted ACCEPTED are the bytes
# and rows stored for the twin county's agents.
for t in "${TWINS[@]}"; do
	for f in "$WORK/frames/$t"/*.frame; do
		printf '%s %s\n' "$f" "$(od -An -tx1 -v "$f" | tr -d ' \n')"
	done
done >"$WORK/twin.hex"
awk 'NR == FNR { hex[$1] = $2; next } $2 == "ACCEPTED" { print hex[$1], $5, $6 }' \
	"$WORK/twin.hex" "$WORK/twin.all" | LC_ALL=C sort >"$WORK/twin.receipted"
sql "SELECT encode(envelope, 'hex') || ' chain=' || chain || ' link=' || link FROM tallyfeed.message
     WHERE agent_id LIKE 't%'" | LC_ALL=C sort >"$WORK/twin.stored"
expect_eq "$(wc -l <"$WORK/twin.stored")" "$twin_frames" "the twin county's messages stored once each"
cmp -s "$WORK/twin.receipted" "$WORK/twin.stored" \
	&& echo "ok: each stored at the row its receipts name, in the accepting collector's chain" \
	|| fail "the rows receipted ACCEPTED are not the rows stored (diff $WORK/twin.receipted $WORK/twin.stored)"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result r JOIN tallyfeed.message m USING (message_id)
                  WHERE m.agent_id LIKE 't%'")" "$twin_frames" "and each result once"
for i in 0 1 2; do
	echo "collector ${NAMES[$i]}: $(grep -c 'was stored by another session meanwhile' \
		"$WORK/${NAMES[$i]}.log" || true) transaction(s) met a message another collector" \
		"had just stored; $(grep -c 'deadlock detected' "$WORK/${NAMES[$i]}.log" || true)" \
		"deadlock(s)"
	expect_eq "$(grep -c 'the database refused to store message' "$WORK/${NAMES[$i]}.log" || true)" 0 \
		"${NAMES[$i]}: no message refused by the database"
done

say "the same results in other messages, to two collectors at once"
# Two envelopes of each result (two message ids): one set to one collector,
# the other to another, at once.  Each result is stored once; the other
# message for it is REJECTED (REVISION_EXISTS), kept in quarantine.
mkdir -p "$WORK/rivals"
rival_frames=0
k=0
for t in "${RIVALS[@]}"; do
	mkdir "$WORK/frames/x$t" "$WORK/frames/y$t"
	TF_KEY=$KEYS/r$t.cert_secret "$SEND_BIN" frames "$WORK/frames/x$t" "$WORK/sim-$RIVAL_COUNTY/$t"/*.json
	TF_KEY=$KEYS/r$t.cert_secret "$SEND_BIN" frames "$WORK/frames/y$t" "$WORK/sim-$RIVAL_COUNTY/$t"/*.json
	rival_frames=$((rival_frames + $(ls "$WORK/frames/x$t" | wc -l)))
	a=$((k % 3)) b=$(((k + 1) % 3))
	send_batch "$WORK/frames/x$t" "r$t" "$a" forward "$WORK/rivals/x$t.$a" &
	p1=$!
	send_batch "$WORK/frames/y$t" "r$t" "$b" reverse "$WORK/rivals/y$t.$b" &
	p2=$!
	wait $p1 $p2
	k=$((k + 1))
done
cat "$WORK"/rivals/*.[0-9] | sed 's|/frames/[xy]\([0-9]*\)/|/frames/\1/|' >"$WORK/rivals.all"
say "$rival_frames results, $(wc -l <"$WORK/rivals.all") answers"
expect_eq "$(awk '$2 == "UNANSWERED" || $3 == "STORE_REFUSED"' "$WORK/rivals.all" | wc -l)" 0 \
	"every send answered, none refused by a database"
expect_eq "$(awk '{ v[$1] = v[$1] " " $2 "/" $3 } END { for (f in v) print v[f] }' "$WORK/rivals.all" |
	awk '$0 == " ACCEPTED/NONE REJECTED/REVISION_EXISTS" || $0 == " REJECTED/REVISION_EXISTS ACCEPTED/NONE"' |
	wc -l)" "$rival_frames" "each result: one message ACCEPTED, the other REJECTED REVISION_EXISTS"
expect_eq "$(awk '$NF != "sound"' "$WORK/rivals.all" | wc -l)" 0 "every receipt sound"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result r JOIN tallyfeed.message m USING (message_id)
                  WHERE m.agent_id LIKE 'r%'")" "$rival_frames" "each result stored once"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine
                  WHERE agent_id LIKE 'r%' AND reason_name = 'REVISION_EXISTS'")" "$rival_frames" \
	"the other message of each kept in quarantine"
for i in 0 1 2; do
	expect_eq "$(grep -c 'the database refused to store message' "$WORK/${NAMES[$i]}.log" || true)" 0 \
		"${NAMES[$i]}: still no message refused by the database"
done
echo "unique violations met and checked again: message id $(cat "$WORK"/{maqin,banma,gande}.log |
	grep -c 'meanwhile (SQLSTATE 23505, message_message_id_key)' || true)," \
	"result key $(cat "$WORK"/{maqin,banma,gande}.log |
	grep -c 'meanwhile (SQLSTATE 23505, result_unit_code_committee_round_revision_key)' || true)"

say "every collector's chain verifies"
out=$("$CONSOLE" verify --certs "$CERTS" "${ALL_CERTS[@]}") || fail "verify: $out"
echo "$out" | tail -3
for i in 0 1 2; do
	kill -0 "${COUNTY_PIDS[$i]}" && echo "ok: collector ${NAMES[$i]} alive" || fail "collector ${NAMES[$i]} died"
done
for i in 0 1 2; do
	kill -TERM "${COUNTY_PIDS[$i]}"
	rc=0
	wait "${COUNTY_PIDS[$i]}" || rc=$?
	expect_eq "$rc" 0 "collector ${NAMES[$i]} stops cleanly"
done
COUNTY_PIDS=()
if [ "$FAILURES" -ne 0 ]; then
	for i in 0 1 2; do
		echo "--- collector ${NAMES[$i]}:" >&2
		tail -20 "$WORK/${NAMES[$i]}.log" >&2
	done
fi
finish
