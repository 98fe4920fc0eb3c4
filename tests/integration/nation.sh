#!/usr/bin/env bash
# A national roll-up from the provinces' databases: two provinces (Qinghai,
# from deploy/registry/qinghai, and a simulated Ningxia from
# tests/sim/national-registry), each its own throwaway PostgreSQL server
# with its own collector storing a county's results; a third server holds
# the national database, which subscribes to both (PostgreSQL's logical
# replication: `tallyfeed db publish` there, `tallyfeed db subscribe`
# here).  The national totals, progress and composition must come to the
# provinces' own, row for row at the province and county levels (polled
# until they do, with a deadline); each province's replication state is
# shown with them; a result stored later in a province reaches the
# national figures; and verify passes on each province and on the national
# database, every national number traced to its signed envelope.

# Three servers of its own: the national one is lib.sh's ($WORK/pg).
unset PGHOST PGPORT PGUSER PGDATABASE PGTARGETSESSIONATTRS
. "$(dirname "$0")/lib.sh"

THROWAWAY=$TF_SRC/deploy/pg-throwaway
LOAD=$TF_BIN/tests/bench/tf-load
NCONN="host=$WORK/pg/socket port=5432 user=tallyfeed dbname=tallyfeed"
PROVINCE_PIDS=()

nation_cleanup() {
	local rc=$? pid p
	# Not under set -e: (exit $rc) below must hand lib.sh's cleanup the
	# status, not end the trap (a failed run left its national server up).
	set +e
	for pid in "${PROVINCE_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for p in 63 64; do
		[ -d "$WORK/p$p/data" ] && "$THROWAWAY" stop "$WORK/p$p" >/dev/null 2>&1 || true
	done
	(exit $rc)
	cleanup
}
trap nation_cleanup EXIT

pconn() { echo "host=$WORK/p$1/socket port=5432 user=tallyfeed dbname=${2:-tallyfeed}"; }
on() { local p=$1; shift; "$CONSOLE" -d "$(pconn "$p")" "$@"; }
nat() { "$CONSOLE" -d "$NCONN" "$@"; }
psql_on() { psql -X -v ON_ERROR_STOP=1 -Atq -d "$(pconn "$1")" -c "$2"; }

say "two provinces' databases, each on a server of its own"
"$TF_SRC/tests/sim/national-registry" --out "$WORK/nat" --only 64 >/dev/null
declare -A REG=([63]=$REGISTRY [64]=$WORK/nat/64)
declare -A COUNTY=([63]=632224000000 [64]=640103000000)
for p in 63 64; do
	"$THROWAWAY" start "$WORK/p$p" >/dev/null
	on "$p" db migrate >/dev/null
	on "$p" registry load "${REG[$p]}"
done

# Each province's collector (its own name, so its own chain), its county's
# township agents' keys, and its county's simulated results.
for p in 63 64; do
	"$CONSOLE" keygen --collector "collector-$p" --out "$KEYS" >/dev/null
	mkdir -p "$WORK/certs$p" "$WORK/akeys$p"
	chmod 700 "$WORK/akeys$p"
	cp "$KEYS/importer.cert" "$WORK/certs$p/"
	"$LOAD" - --enrol "$WORK/akeys$p" --sim "${REG[$p]}" >/dev/null
	c=${COUNTY[$p]}
	find "$WORK/akeys$p" -name "a${c:0:6}*.cert" -exec cp -t "$WORK/certs$p" {} +
	"$SIM" --registry "${REG[$p]}" --under "$c" --out "$WORK/sim$p" --quiet
	find "$WORK/sim$p" -name '*.json' | sort >"$WORK/all$p.txt"
done
cp "$KEYS/tf-send.cert" "$WORK/certs63/"       # for the result stored later

declare -A EPS
start_province_collector() {
	local p=$1
	rm -f "$WORK/endpoint$p"
	${TF_WRAP:-} "$COLLECTOR" -d "$(pconn "$p")" -e 'tcp://127.0.0.1:!' \
		--endpoint-file "$WORK/endpoint$p" --feed 'tcp://127.0.0.1:!' --metrics 127.0.0.1:0 \
		-k "$KEYS/collector-$p.cert_secret" -C "$WORK/certs$p" >>"$WORK/collector$p.log" 2>&1 &
	PROVINCE_PIDS+=($!)
	wait_for 30 test -s "$WORK/endpoint$p" || { cat "$WORK/collector$p.log" >&2; return 1; }
	EPS[$p]=$(cat "$WORK/endpoint$p")
}

# send P LIST: the results of LIST to province P's collector, each signed
# by its township's agent; prints "accepted unanswered".
send() {
	TF_KEY=$KEYS/importer.cert_secret TF_SERVER_CERT=$KEYS/collector-$1.cert \
		TF_AGENT_KEYS=$WORK/akeys$1 "$LOAD" "${EPS[$1]}" --list "$2" \
		| sed 's/.*accepted=\([0-9]*\).*unanswered=\([0-9]*\).*/\1 \2/'
}

say "each collector stores its county's results (all but one of Ningxia's)"
for p in 63 64; do start_province_collector "$p"; done
# Held back: a round 1 no runoff of the sample waits on.
for f in $(grep -- '-r1\.json$' "$WORK/all64.txt" | sort -r); do
	[ -e "${f%-r1.json}-r2.json" ] || { echo "$f" >"$WORK/later64.txt"; break; }
done
grep -vxF -f "$WORK/later64.txt" "$WORK/all64.txt" >"$WORK/first64.txt"
cp "$WORK/all63.txt" "$WORK/first63.txt"
for p in 63 64; do
	expect_eq "$(send "$p" "$WORK/first$p.txt")" "$(wc -l <"$WORK/first$p.txt") 0" \
		"province $p: its county's results accepted, none unanswered"
done
for p in 63 64; do
	expect_eq "$(on "$p" totals --level province --format csv | tail -n +2 | cut -d, -f1)" \
		"${p}0000000000" "province $p's database holds its own province"
	expect_eq "$(on "$p" totals --level province --format csv | tail -n +2 \
		| awk -F, '{ print ($5 + $7 > 0 && $11 > 0) }')" 1 \
		"province $p: committees reported, voters counted"
done

say "each province publishes; the national database subscribes to both"
for p in 63 64; do
	out=$(on "$p" db publish)
	expect_eq "$(echo "$out" | grep -c "^publication tallyfeed_national created: .*province $p$")" 1 \
		"province $p published ($out)"
done
nat db migrate >/dev/null
out=$(nat db subscribe --province 64 "$(pconn 63)" 2>&1) && rc=0 || rc=$?
expect_eq "$rc $(echo "$out" | grep -c "holds the registry of province 63, not 64's")" "1 1" \
	"a database of another province is refused"
out=$(nat db subscribe --province 6x "$(pconn 63)" 2>&1) && rc=0 || rc=$?
expect_eq "$rc" 2 "a province code that is not one: a usage error"
out=$(nat db subscribe --province 63 "$(pconn 63)")
expect_eq "$(echo "$out" | sed 's/_[0-9]*_[0-9]* there/_SYSID_OID there/')" \
	"subscribed: tallyfeed_63, to province 63 青海省 (slot tallyfeed_63_SYSID_OID there); its tables are being copied (tallyfeed provinces says when it streams)" \
	"subscribed to Qinghai"
expect_eq "$(psql_on 63 "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'tallyfeed_63_%' AND plugin = 'pgoutput'")" 1 \
	"its slot on Qinghai's server"
out=$(nat db subscribe --province 63 "$(pconn 63)" 2>&1) && rc=0 || rc=$?
expect_eq "$rc $(echo "$out" | grep -c "subscribes to province 63 already")" "1 1" \
	"a second subscription to Qinghai is refused"

# A province whose collector has a name (a chain) the national database
# holds rows of already would collide there: refused before subscribing.
chain_here() { [ "$(sql "SELECT count(*) FROM tallyfeed.chain_head WHERE chain = 'collector-63'")" = 1 ]; }
wait_for 60 chain_here || fail "Qinghai's chain did not reach the national database"
createdb -h "$WORK/p64/socket" -p 5432 -U tallyfeed dup
"$CONSOLE" -d "$(pconn 64 dup)" db migrate >/dev/null
"$CONSOLE" -d "$(pconn 64 dup)" registry load "${REG[64]}" >/dev/null
"$CONSOLE" -d "$(pconn 64 dup)" db publish >/dev/null
psql -X -Atq -d "$(pconn 64 dup)" -c "INSERT INTO tallyfeed.chain_head VALUES ('collector-63', 1, sha256(''))"
out=$(nat db subscribe --province 64 "$(pconn 64 dup)" 2>&1) && rc=0 || rc=$?
expect_eq "$rc $(echo "$out" | grep -c 'chain "collector-63" is in the national database already')" "1 1" \
	"a province sharing a chain name with another is refused"

"$CONSOLE" -d "$(pconn 64 dup)" registry load "$REGISTRY" >/dev/null
out=$("$CONSOLE" -d "$(pconn 64 dup)" db publish 2>&1) && rc=0 || rc=$?
expect_eq "$rc $(echo "$out" | grep -c 'holds the registries of provinces 63 64: a national database subscribes to one province per database')" \
	"1 1" "a database of two provinces is not published"

out=$(nat db subscribe --province 640000000000 "$(pconn 64)")
expect_eq "$(echo "$out" | cut -d, -f1)" "subscribed: tallyfeed_64" "subscribed to Ningxia (its 12-digit code)"

# figures CONNINFO REPORT LEVEL: the report's rows as csv, no heading.
figures() { "$CONSOLE" -d "$1" "$2" --level "$3" --format csv 2>/dev/null | tail -n +2; }
# The national rows are the provinces' own, at the province and county
# levels, for all three reports.
converged() {
	local r l
	for r in totals progress composition; do
		for l in province county; do
			[ "$( { figures "$(pconn 63)" "$r" "$l"; figures "$(pconn 64)" "$r" "$l"; } | sort)" \
			  = "$(figures "$NCONN" "$r" "$l" | sort)" ] || return 1
		done
	done
}
say "the national figures come to the provinces' own"
if wait_for 120 converged; then
	echo "ok: national totals, progress and composition equal the provinces', row for row"
else
	fail "the national figures did not come to the provinces' within 120 s"
	nat provinces >&2 || true
fi
expect_eq "$(figures "$NCONN" totals province | cut -d, -f1 | tr '\n' ' ')" \
	"630000000000 640000000000 " "the national database answers for both provinces"
sum_col() { awk -F, -v c="$1" '{ s += $c } END { print s + 0 }'; }
for col in 5 11 15; do
	expect_eq "$(figures "$NCONN" totals province | sum_col $col)" \
		"$( { figures "$(pconn 63)" totals province; figures "$(pconn 64)" totals province; } | sum_col $col)" \
		"the country's column $col: the sum of the provinces'"
done

say "each province's replication is shown"
streaming() {
	[ "$(nat provinces --format csv 2>/dev/null | tail -n +2 | cut -d, -f4 | tr '\n' ' ')" \
	  = "streaming streaming " ]
}
wait_for 60 streaming && echo "ok: both provinces streaming" \
	|| fail "not both streaming: $(nat provinces --format csv 2>&1)"
nat provinces
expect_eq "$(nat provinces --format csv | tail -n +2 | awk -F, '
	$7 ~ /^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z$/ && $8 ~ /^-?[0-9]+\.[0-9]$/ \
	&& $10 == 0 && $11 == 0 { n++ } END { print n + 0 }')" 2 "each province: as of when, at most how far behind, no errors"
out=$(nat totals --level province)
echo "$out"
lag='streaming; all it had committed by [0-9]{2}:[0-9]{2}:[0-9]{2}Z \(its clock\) is here: '
lag+='at most -?[0-9]+\.[0-9] s behind$'
for p in "63 青海省" "64 宁夏回族自治区"; do
	expect_eq "$(echo "$out" | grep -cE "^  ${p%% *}0000000000 ${p#* }: $lag")" 1 \
		"totals shows province ${p%% *}'s lag"
done
for r in progress composition; do
	expect_eq "$(nat "$r" --level province | grep -c ': streaming; all it had committed by')" 2 \
		"$r shows each province's lag"
done
out=$(nat totals --level province --format csv 2>"$WORK/note.err")
expect_eq "$(echo "$out" | wc -l) $(grep -c ': streaming; ' "$WORK/note.err")" "3 2" \
	"with --format csv the lag goes to stderr, the figures alone to stdout"
expect_eq "$(on 63 totals --level province | grep -c 'national database')" 0 \
	"a province's own database shows no such lines"

say "a result stored later in a province reaches the national figures"
before63=$(figures "$NCONN" totals province | grep '^63' | cut -d, -f5)
reported64() { figures "$1" totals province | awk -F, '/^64/ { print $5 + $7 + $9 }'; }
before64=$(reported64 "$NCONN")
expect_eq "$(TF_KEY=$KEYS/tf-send.cert_secret TF_SERVER_CERT=$KEYS/collector-63.cert \
	"$SEND_BIN" "${EPS[63]}" report "$TF_SRC/deploy/examples/villagers.json" | cut -d' ' -f1)" \
	ACCEPTED "Qinghai stores the example's villagers' committee"
expect_eq "$(send 64 "$WORK/later64.txt")" "1 0" "Ningxia stores its last result"
# A refused one too: the quarantine travels, and its link in the chain.
sed 's/"invalid": 11/"invalid": 12/' "$TF_SRC/deploy/examples/villagers.json" >"$WORK/sum.json"
expect_eq "$(TF_KEY=$KEYS/tf-send.cert_secret TF_SERVER_CERT=$KEYS/collector-63.cert \
	"$SEND_BIN" "${EPS[63]}" report "$WORK/sum.json" | cut -d' ' -f1,2)" "REJECTED BALLOT_SUM" \
	"Qinghai refuses a report whose ballots do not add up"
arrived() {
	[ "$(figures "$NCONN" totals province | grep '^63' | cut -d, -f5)" = $((before63 + 1)) ] \
	&& [ "$(reported64 "$NCONN")" = $((before64 + 1)) ]
}
wait_for 60 arrived && echo "ok: both results in the national figures" \
	|| fail "the later results did not reach the national figures within 60 s"
wait_for 60 converged && echo "ok: and the national figures are the provinces' again" \
	|| fail "the national figures differ from the provinces' after the later results"

quarantined() {
	[ "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'BALLOT_SUM'")" = 1 ]
}
wait_for 60 quarantined && echo "ok: and the frame Qinghai refused reaches the national quarantine" \
	|| fail "the refused frame did not reach the national database within 60 s"

say "verify: each province, and the national database with both provinces' agents"
for p in 63 64; do
	out=$(on "$p" verify --certs "$WORK/certs$p" 2>&1) && echo "ok: verify passes on province $p" \
		|| fail "verify on province $p: $out"
done
mkdir -p "$WORK/certs-all"
cp "$WORK/certs63/"*.cert "$WORK/certs-all/"
cp "$WORK/certs64/"a*.cert "$WORK/certs-all/"         # the importer's is the same
out=$(nat verify --certs "$WORK/certs-all" --collector-cert "$KEYS/collector-63.cert" \
	--collector-cert "$KEYS/collector-64.cert" 2>&1) \
	&& echo "ok: verify passes on the national database" || fail "verify on the national database: $out"
echo "$out" | tail -3
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message")" \
	"$(( $(psql_on 63 "SELECT count(*) FROM tallyfeed.message") + $(psql_on 64 "SELECT count(*) FROM tallyfeed.message") ))" \
	"the national database holds every province's signed envelopes"
finish
