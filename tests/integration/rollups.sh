#!/usr/bin/env bash
# Rollups add up: a full simulated Qinghai (8 prefectures, 45 counties, 422
# townships, 4,716 units), carried to a real collector (signed by each
# township's agent, through an importer), and every figure of
# tallyfeed.totals, .progress and .composition at each level equals the
# sum of its children's; the province's counts equal what the candidate
# and result rows say directly.  TF_ROLLUP_UNDER=CODE simulates only the
# area with that code (a prefecture, say, for a quicker run).
. "$(dirname "$0")/lib.sh"

under=${TF_ROLLUP_UNDER:-630000000000}  # 青海省
LOAD=$TF_BIN/tests/bench/tf-load
setup_db

"$SIM" --registry "$REGISTRY" --under "$under" --out "$WORK/sim" --seed 11 --quiet
# One agent per township: 422 key pairs, made four at a time.
for d in "$WORK/sim"/[0-9]*/; do basename "$d"; done |
	xargs -P 4 -I {} "$CONSOLE" keygen --agent a{} --township {} --out "$KEYS" >/dev/null
cp "$KEYS"/a[0-9]*.cert "$CERTS/"
say "simulated and enrolled ($SECONDS s)"
start_collector
# Held back, so that something is outstanding and owed: one township's
# results, and every runoff (round 2).
held=$(basename "$(ls -d "$WORK/sim"/[0-9]*/ | head -1)")
find "$WORK/sim" -name '*.json' | grep -v "/$held/" | grep -v -- '-r2\.json$' | sort >"$WORK/all.txt"
say "$(wc -l <"$WORK/all.txt") results of $under (township $held and the runoffs held back)"
out=$(TF_KEY=$KEYS/importer.cert_secret TF_SERVER_CERT=$COLLECTOR_CERT TF_AGENT_KEYS=$KEYS \
	"$LOAD" "$EP" --window 500 --list "$WORK/all.txt")
echo "$out"
expect_eq "$(echo "$out" | sed 's/.* unanswered=\([0-9]*\).*/\1/')" 0 "every result answered"

# mismatches FUNCTION COLUMNS PARENT CHILD MAP KEY: the parent areas whose
# figures are not the sum of their children's (per committee, KEY, for
# composition); MAP gives each child area's parent.  Empty when they add up.
mismatches() {
	local fn=$1 cols=$2 parent=$3 child=$4 map=$5 key=$6 sums="" eqs="" c
	for c in ${cols//,/ }; do
		sums="$sums, sum(ch.$c) AS $c"
		eqs="$eqs OR pa.$c IS DISTINCT FROM s.$c"
	done
	sql "WITH pa AS (SELECT * FROM tallyfeed.$fn('$parent', '$under')),
	          ch AS (SELECT * FROM tallyfeed.$fn('$child', '$under')),
	          m AS ($map),
	          s AS (SELECT m.parent$key $sums FROM ch JOIN m ON m.child = ch.code
	                GROUP BY m.parent$key)
	     SELECT pa.code FROM pa LEFT JOIN s ON s.parent = pa.code ${key:+AND s.committee = pa.committee}
	     WHERE false $eqs"
}
prefecture_map="SELECT code::text AS child, (province_code || '0000000000') AS parent FROM tallyfeed.prefecture"
county_map="SELECT code::text AS child, prefecture_code::text AS parent FROM tallyfeed.county"
township_map="SELECT code::text AS child, county_code::text AS parent FROM tallyfeed.township"

totals_cols=units_expected,villagers_expected,villagers_reported,residents_expected,residents_reported,party_expected,party_reported,electorate,voters,party_members,party_present,valid_elections,invalid_elections,runoffs_needed
comp_cols=members,heads,women,women_heads,minorities,ages_known,under_35,over_60,college,party_members,reelected,new_members,one_shoulder,units_both_heads,cross_serving

say "each level is the sum of its children ($SECONDS s)"
expect_eq "$(mismatches totals "$totals_cols" province prefecture "$prefecture_map" "")" "" \
	"totals: province = sum of its prefectures"
expect_eq "$(mismatches totals "$totals_cols" prefecture county "$county_map" "")" "" \
	"totals: prefecture = sum of its counties"
expect_eq "$(mismatches totals "$totals_cols" county township "$township_map" "")" "" \
	"totals: county = sum of its townships"
expect_eq "$(mismatches composition "$comp_cols" province prefecture "$prefecture_map" ", ch.committee")" "" \
	"composition: province = sum of its prefectures, per committee"
expect_eq "$(mismatches composition "$comp_cols" prefecture county "$county_map" ", ch.committee")" "" \
	"composition: prefecture = sum of its counties, per committee"
expect_eq "$(mismatches composition "$comp_cols" county township "$township_map" ", ch.committee")" "" \
	"composition: county = sum of its townships, per committee"
progress_cols=expected,reported,outstanding,valid,first_round_success,runoffs_pending,invalid
expect_eq "$(mismatches progress "$progress_cols" province prefecture "$prefecture_map" ", ch.committee")" "" \
	"progress: province = sum of its prefectures, per committee"
expect_eq "$(mismatches progress "$progress_cols" prefecture county "$county_map" ", ch.committee")" "" \
	"progress: prefecture = sum of its counties, per committee"
expect_eq "$(mismatches progress "$progress_cols" county township "$township_map" ", ch.committee")" "" \
	"progress: county = sum of its townships, per committee"
say "the figures are what the rows say"
members=$(sql "SELECT count(*) FROM tallyfeed.result_current r JOIN tallyfeed.candidate c
	ON c.message_id = r.message_id AND c.elected")
expect_eq "$(sql "SELECT sum(members) FROM tallyfeed.composition('province', '$under')")" "$members" \
	"members elected (every round's latest revision)"
expect_eq "$(sql "SELECT sum(women) FROM tallyfeed.composition('province', '$under')")" \
	"$(sql "SELECT count(*) FROM tallyfeed.result_current r JOIN tallyfeed.candidate c
		ON c.message_id = r.message_id AND c.elected AND c.gender = 'female'")" "women elected"
expect_eq "$(sql "SELECT sum(one_shoulder) FROM tallyfeed.composition('province', '$under')")" \
	"$(sql "SELECT count(*) FROM tallyfeed.unit_heads WHERE chair = secretary")" "一肩挑 units"
expect_eq "$(sql "SELECT (sum(one_shoulder) > 0 AND sum(cross_serving) > 0 AND sum(women) > 0)::text
	FROM tallyfeed.composition('province', '$under')")" true "the simulation has each kind"

expect_eq "$(sql "SELECT sum(reported) FROM tallyfeed.progress('province', '$under')")" \
	"$(sql "SELECT count(DISTINCT (unit_code, committee)) FROM tallyfeed.result WHERE round = 1")" \
	"reported: units with round 1 stored"
expect_eq "$(sql "SELECT sum(outstanding) FROM tallyfeed.progress('province', '$under')")" \
	"$(sql "SELECT count(*) FROM tallyfeed.outstanding WHERE '$under' IN (province_code, prefecture_code, county_code)")" \
	"outstanding: as many as the units listed"
expect_eq "$(sql "SELECT sum(runoffs_pending) FROM tallyfeed.progress('province', '$under')")" \
	"$(sql "SELECT count(*) FROM tallyfeed.runoff_pending WHERE '$under' IN (province_code, prefecture_code, county_code)")" \
	"runoffs pending: as many as listed"

expect_eq "$(sql "SELECT (sum(outstanding) > 0 AND sum(runoffs_pending) > 0)::text
	FROM tallyfeed.progress('province', '$under')")" true "something outstanding, some runoffs owed"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.outstanding WHERE township_code = '$held'")" \
	"$(sql "SELECT 2 * count(*) FROM tallyfeed.unit WHERE township_code = '$held'")" \
	"the held-back township: every unit outstanding, both committees"

say "the console shows it"
out=$("$CONSOLE" progress --outstanding --under "$under" --format csv)
expect_eq "$(echo "$out" | tail -n +2 | wc -l)" \
	"$(sql "SELECT count(*) FROM tallyfeed.outstanding WHERE '$under' IN (province_code, prefecture_code, county_code)")" \
	"progress --outstanding lists them"
out=$("$CONSOLE" runoffs --under "$under" --format csv)
expect_eq "$(echo "$out" | tail -n +2 | wc -l)" \
	"$(sql "SELECT count(*) FROM tallyfeed.runoff_pending WHERE '$under' IN (province_code, prefecture_code, county_code)")" \
	"runoffs lists them"
"$CONSOLE" progress --level prefecture --under "$under" | sed -n 1,4p
out=$("$CONSOLE" composition --level county --under "$under" --format csv)
expect_eq "$(echo "$out" | tail -n +2 | wc -l)" \
	"$(sql "SELECT count(*) FROM tallyfeed.composition('county', '$under')")" "composition csv rows"
"$CONSOLE" composition --level province --under "$under"
finish
