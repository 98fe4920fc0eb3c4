#!/usr/bin/env bash
# More than one province in one database: tests/sim/national-registry writes
# the same bytes for the same seed, its provinces load with `registry load`,
# and a collector started on a database holding two provinces (Qinghai and a
# synthetic Ningxia) stores a result of each; verify checks both.  (Until
# the registry took rows of several provinces row by row, the collector
# refused to start: "prefecture 640100000000 is not in province 63".)  The
# townships' tallies (deploy/sql/0009) give totals, progress and composition
# the figures the scans they replaced give, at every level; verify names a
# tally changed behind the collector's back.
. "$(dirname "$0")/lib.sh"

GEN=$TF_SRC/tests/sim/national-registry

say "the generator: same seed, same bytes; another seed, other bytes"
out=$("$GEN" --out "$WORK/nat" --only 63,64)
echo "$out"
expect_eq "$(echo "$out" | sed 's/ seed=.*//')" \
	"national-registry: provinces=2 prefectures=13 counties=67 townships=701 units=8392" \
	"Qinghai's real rows and Ningxia's share of the country"
"$GEN" --out "$WORK/nat2" --only 64 >/dev/null
"$GEN" --out "$WORK/nat3" --only 64 --seed 2 >/dev/null
diff -r "$WORK/nat/64" "$WORK/nat2/64" >/dev/null && echo "ok: seed 1 twice, same bytes" \
	|| fail "seed 1 twice gave other bytes"
diff -r "$WORK/nat/64" "$WORK/nat3/64" >/dev/null && fail "seed 2 gave seed 1's bytes" \
	|| echo "ok: seed 2, other bytes"
same=0
for f in prefectures counties townships villages; do
	cmp -s "$REGISTRY/$f.csv" "$WORK/nat/63/$f.csv" && same=$((same + 1))
done
expect_eq "$same" 4 "Qinghai's four files are the real registry's"
expect_eq "$(tail -n +2 "$WORK/nat/64/villages.csv" | cut -c10-12 | awk '
	$1 >= 1 && $1 <= 199 { k["r"] = 1 } $1 >= 200 && $1 <= 399 { k["v"] = 1 }
	$1 >= 400 && $1 <= 499 { k["c"] = 1 } $1 >= 500 && $1 <= 599 { k["l"] = 1 }
	END { print length(k) }')" 4 "every committee type among Ningxia's unit codes"

say "two provinces in one database"
setup_db        # Qinghai
out=$("$CONSOLE" registry load "$WORK/nat/64")
expect_eq "$out" "registry loaded: 64 宁夏回族自治区: 5 prefectures, 22 counties, 279 townships, 3676 units" \
	"Ningxia loaded"
"$CONSOLE" registry load "$WORK/nat/64" >/dev/null
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.unit')" 8392 "units after loading Ningxia again"
expect_eq "$("$CONSOLE" totals --level province --format csv | tail -n +2 | cut -d, -f1-3 | tr '\n' ' ')" \
	"630000000000,青海省,4716 640000000000,宁夏回族自治区,3676 " "both provinces' units expected"

say "a directory holding two provinces is still refused"
cp -r "$WORK/nat/64" "$WORK/mixed"
sed -n 2p "$REGISTRY/prefectures.csv" >>"$WORK/mixed/prefectures.csv"
out=$("$CONSOLE" registry load "$WORK/mixed" 2>&1) && fail "a mixed directory loaded" || true
expect_eq "$(echo "$out" | grep -c 'prefectures.csv:7: prefecture 630100000000 is not in province 64')" 1 \
	"the mixed row named with file and line"

say "a collector on both provinces stores a result of each"
start_collector
nx_county=$(sed -n 2p "$WORK/nat/64/counties.csv" | cut -d, -f1)
"$SIM" --registry "$WORK/nat/64" --under "$nx_county" --out "$WORK/sim" --quiet
nx_file=$(find "$WORK/sim" -name '*-villagers-r1.json' | sort | sed -n 1p)
nx_town=$(basename "$(dirname "$nx_file")")
enrol nx "$nx_town"
expect_eq "$(TF_SEND_AS=nx "$SEND" "$EP" report "$nx_file" | cut -d' ' -f1)" ACCEPTED \
	"a Ningxia result from its township's agent"
expect_eq "$("$SEND" "$EP" report "$TF_SRC/deploy/examples/villagers.json" | cut -d' ' -f1)" ACCEPTED \
	"a Qinghai result"
expect_eq "$("$CONSOLE" totals --level province --format csv | tail -n +2 | cut -d, -f1,5 | tr '\n' ' ')" \
	"630000000000,1 640000000000,1 " "one villagers' committee reported in each province"
out=$("$CONSOLE" verify --certs "$CERTS" 2>&1) && echo "ok: verify passes" || fail "verify: $out"

say "a county's results: the townships' tallies give the rollups the scans give"
mkdir -p "$WORK/akeys"
chmod 700 "$WORK/akeys"
"$TF_BIN/tests/bench/tf-load" - --enrol "$WORK/akeys" --sim "$WORK/nat/64" >/dev/null
find "$WORK/akeys" -name "a${nx_county:0:6}*.cert" -exec cp -t "$CERTS" {} +
reload_collector
reload_collector
# One tallier however often the collector reloads (a reload once started
# another, and the one before it kept running).
talliers() { sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tallyfeed-collector tallier' AND datname = current_database()"; }
one_tallier() { [ "$(talliers)" = 1 ]; }
wait_for 10 one_tallier && echo "ok: one tallier after two reloads" \
	|| fail "$(talliers) tallier connections after two reloads"
find "$WORK/sim" -name '*.json' ! -name "$(basename "$nx_file")" | sort >"$WORK/county.txt"
out=$(TF_KEY=$KEYS/importer.cert_secret TF_SERVER_CERT=$COLLECTOR_CERT TF_AGENT_KEYS=$WORK/akeys \
	"$TF_BIN/tests/bench/tf-load" "$EP" --list "$WORK/county.txt")
echo "$out"
expect_eq "$(echo "$out" | sed 's/.*accepted=\([0-9]*\).*unanswered=\([0-9]*\).*/\1 \2/')" \
	"$(wc -l <"$WORK/county.txt") 0" "the county's results accepted"
nx_unit=$(sed -n 2p "$WORK/nat/64/villages.csv" | cut -d, -f1)
for f in totals progress composition; do
	for q in "'province'" "'prefecture'" "'county'" "'township'" "'township', '$nx_county'" \
	         "'county', '640000000000'" "'township', '$nx_unit'"; do
		d=$(sql "SELECT count(*) FROM ((SELECT * FROM tallyfeed.$f($q) EXCEPT ALL
		         SELECT * FROM tallyfeed.${f}_scan($q)) UNION ALL
		        (SELECT * FROM tallyfeed.${f}_scan($q) EXCEPT ALL SELECT * FROM tallyfeed.$f($q))) x")
		expect_eq "$d" 0 "$f($q): rows differing from ${f}_scan"
	done
done
expect_eq "$(sql "SELECT count(*) > 10 FROM tallyfeed.composition('township', '$nx_county')")" t \
	"the county's townships have members to compare"
out=$("$CONSOLE" verify --certs "$CERTS" 2>&1) && echo "ok: verify passes" || fail "verify: $out"

no_pending() { [ "$(sql "SELECT count(*) FROM tallyfeed.tally_pending")" = 0 ]; }
wait_for 60 no_pending && echo "ok: the collector's tallier computed every pending township again" \
	|| fail "townships still pending: $(sql "SELECT count(*) FROM tallyfeed.tally_pending")"
stop_collector

say "results stored while a refresh computes a township keep it pending"
sql "INSERT INTO tallyfeed.tally_pending VALUES ('$nx_town')" >/dev/null
# A storing transaction marks the township (as the trigger does) and stays
# open; the refresh computes without waiting for it, and waits only to
# delete the entry, which the open transaction has moved on.
coproc HOLD { psql -X -Atq -v ON_ERROR_STOP=1 2>&1; }
echo "BEGIN; INSERT INTO tallyfeed.tally_pending VALUES ('$nx_town')
      ON CONFLICT (township_code) DO UPDATE SET version = tally_pending.version + 1;" >&"${HOLD[1]}"
held() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()")" -ge 1 ]; }
wait_for 30 held || fail "the holding session did not start"
sql "SELECT tallyfeed.tally_refresh(50)" >"$WORK/refresh.out" 2>&1 &
refresh=$!
waiting() { [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")" -ge 1 ]; }
wait_for 30 waiting && echo "ok: the refresh computed, and waits only to delete the entry the writer holds" \
	|| fail "the refresh did not reach the held entry"
echo "COMMIT; \\q" >&"${HOLD[1]}"
wait "$HOLD_PID" 2>/dev/null || true
wait "$refresh" || fail "the refresh failed: $(cat "$WORK/refresh.out")"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.tally_pending WHERE township_code = '$nx_town'")" 1 \
	"still pending: results may have come while it computed"
sql "SELECT tallyfeed.tally_refresh(50)" >/dev/null
no_pending && echo "ok: computed by the next refresh" || fail "still pending after a refresh"

say "verify names a township's tally changed or removed behind the collector's back"
sql "UPDATE tallyfeed.township_tally SET women = women + 1
     WHERE township_code = '$nx_town' AND committee = 'villagers'" >/dev/null
sql "DELETE FROM tallyfeed.township_tally WHERE township_code = '630121100000' AND committee = 'villagers'" >/dev/null
# A pending township: its row, wrong, is not what the rollups use.
pend_town=630121200000
sql "UPDATE tallyfeed.township_tally SET reported = reported + 100, registered = registered + 100000
     WHERE township_code = '$pend_town'" >/dev/null
sql "INSERT INTO tallyfeed.tally_pending VALUES ('$pend_town')" >/dev/null
out=$("$CONSOLE" verify --certs "$CERTS" 2>&1) && fail "verify passed a tampered tally" || true
echo "$out" | grep township || true
expect_eq "$(echo "$out" | grep -c "township_tally: township $nx_town committee villagers differs from its results")" 1 \
	"the changed row"
expect_eq "$(echo "$out" | grep -c "township_tally: township 630121100000 committee villagers is missing")" 1 \
	"the removed row"
expect_eq "$(echo "$out" | grep -c "township_tally: township $pend_town")" 0 \
	"a pending township's row is not compared"
expect_eq "$(echo "$out" | grep -c "^township tallies: 1 township(s) pending, not compared")" 1 \
	"verify says how many are pending"
for f in totals progress; do
	expect_eq "$(sql "SELECT count(*) FROM ((SELECT * FROM tallyfeed.$f('township', '630121000000') EXCEPT ALL
	         SELECT * FROM tallyfeed.${f}_scan('township', '630121000000')) UNION ALL
	        (SELECT * FROM tallyfeed.${f}_scan('township', '630121000000')
	         EXCEPT ALL SELECT * FROM tallyfeed.$f('township', '630121000000'))) x
	        WHERE code = '$pend_town'")" 0 "$f: the pending township is computed from its results, not its row"
done
sql "SELECT tallyfeed.tally_refresh(50)" >/dev/null
out=$("$CONSOLE" verify --certs "$CERTS" 2>&1) || true
expect_eq "$(echo "$out" | grep -c "township_tally: township $pend_town\|township(s) pending")" 0 \
	"once refreshed, its row is right and nothing is pending"
finish
