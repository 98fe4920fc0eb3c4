#!/usr/bin/env bash
# The JSON API and the dashboard: a simulated prefecture (果洛州) carried to
# a real collector, one township sending a second revision of everything,
# another held back, the runoffs held back.  Then tallyfeed-web:
#  - each API answer equals the console's for the same question;
#  - bad questions get 400/404/405 with a reason, as JSON;
#  - it reads as the read-only role, and says so when the login may not;
#  - it shows the collector's live feed: what tf-send sends afterwards is
#    at /api/v1/feed and on the page, filtered by area and verdict;
#  - headless Chromium loads the dashboard, every figure drawn equals the
#    API's, the drill-down reaches one unit by clicking, and screenshots
#    are saved (TF_ARTIFACTS, default the build directory).
# TF_WEB_WRAP runs tallyfeed-web under a tool (tests/run: valgrind).
. "$(dirname "$0")/lib.sh"

under=632600000000      # 果洛州: 6 counties, 44 townships
LOAD=$TF_BIN/tests/bench/tf-load
WEB=$TF_BIN/console/tallyfeed-web
shots=${TF_ARTIFACTS:-$TF_BIN}
setup_db

"$SIM" --registry "$REGISTRY" --under "$under" --out "$WORK/sim" --seed 5 --quiet
towns=$(ls "$WORK/sim" | grep '^[0-9]' | sort)
held=$(echo "$towns" | sed -n 1p)
revised=$(echo "$towns" | sed -n 2p)
"$SIM" --registry "$REGISTRY" --under "$revised" --out "$WORK/sim2" --seed 5 --revision 2 --quiet
for t in $towns; do echo "$t"; done |
	xargs -P 4 -I {} "$CONSOLE" keygen --agent a{} --township {} --out "$KEYS" >/dev/null
cp "$KEYS"/a[0-9]*.cert "$CERTS/"
start_collector
{
	find "$WORK/sim" -name '*-r1.json' | grep -v "/$held/" | sort
	find "$WORK/sim2" -name '*-r1.json' | sort
} >"$WORK/all.txt"
out=$(TF_KEY=$KEYS/importer.cert_secret TF_SERVER_CERT=$COLLECTOR_CERT TF_AGENT_KEYS=$KEYS \
	"$LOAD" "$EP" --window 200 --list "$WORK/all.txt")
echo "$out"
expect_eq "$(echo "$out" | sed 's/.* unanswered=\([0-9]*\).*/\1/')" 0 "every result answered"

say "tallyfeed-web"
"$WEB" -n -C "$CERTS" >/dev/null
FEED=$(cat "$WORK/feed")
${TF_WEB_WRAP:-} "$WEB" -l 127.0.0.1:0 --address-file "$WORK/web-address" -C "$CERTS" -F "$FEED" -v \
	>>"$WORK/web.log" 2>&1 &
WEB_PID=$!
for _ in $(seq 1 300); do [ -s "$WORK/web-address" ] && break; sleep 0.1; done
URL=$(cat "$WORK/web-address")
say "serving at $URL"
OUTSIDER=tf_outsider_$$        # roles belong to the cluster, not the test's database
trap 'rc=$?; set +e; kill $WEB_PID 2>/dev/null; psql -X -q -d postgres -c "DROP ROLE IF EXISTS $OUTSIDER" 2>/dev/null; (exit $rc); cleanup' EXIT

# get PATH: the body; status code in $WORK/status.
get() { curl -s -o "$WORK/body" -w '%{http_code}' "$URL$1" >"$WORK/status"; cat "$WORK/body"; }
status() { cat "$WORK/status"; }
# same JSON_A JSON_B: "same" when both hold the same rows.
same() {
	python3 -c 'import json,sys
a = json.loads(sys.argv[1]); b = json.loads(sys.argv[2])
print("same" if a == b else "differ: %r ... vs %r ..." % (str(a)[:300], str(b)[:300]))' "$1" "$2"
}
rows() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["rows"]))'; }

say "the API answers what the console answers"
for q in "totals province" "totals county" "progress prefecture" "progress township" \
         "composition county" "composition province"; do
	set -- $q
	api=$(get "api/v1/$1?level=$2&under=$under" | rows)
	expect_eq "$(status)" 200 "$1 level=$2: 200"
	console=$("$CONSOLE" "$1" --level "$2" --under "$under" --format json)
	expect_eq "$(same "$api" "$console")" same "$1 level=$2: API = console"
done
for list in outstanding runoffs flags; do
	api=$(get "api/v1/$list?under=$under" | rows)
	case $list in
	outstanding) console=$("$CONSOLE" progress --outstanding --under "$under" --format json) ;;
	*) console=$("$CONSOLE" "$list" --under "$under" --format json) ;;
	esac
	expect_eq "$(same "$api" "$console")" same "$list: API = console"
done
expect_eq "$(get "api/v1/outstanding?under=$held" | rows | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	"$(sql "SELECT 2 * count(*) FROM tallyfeed.unit WHERE township_code = '$held'")" \
	"the held-back township: every unit and committee outstanding"
unit=$(sql "SELECT min(code) FROM tallyfeed.unit WHERE township_code = '$revised'")
detail=$(get "api/v1/unit/$unit")
expect_eq "$(status)" 200 "unit detail: 200"
api=$(echo "$detail" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["revisions"]))')
expect_eq "$(same "$api" "$("$CONSOLE" unit "$unit" --certs "$CERTS" --format json)")" same \
	"unit $unit: revisions = console's"
expect_eq "$(echo "$detail" | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(len(d["revisions"]), sum(not r["counts"] for r in d["revisions"]),
      all(r["signature"] == "verified" for r in d["revisions"]),
      [p["level"] for p in d["path"]], d["signatures_checked"])')" \
	"4 2 True ['province', 'prefecture', 'county', 'township', 'unit'] True" \
	"unit $unit: 2 committees x 2 revisions, the first superseded, all verified, its path"
area=$(get "api/v1/area/$revised")
expect_eq "$(echo "$area" | python3 -c 'import json,sys
d = json.load(sys.stdin); print(d["level"], d["children_level"], len(d["path"]))')" \
	"township unit 4" "area: a township, units below it, 4 steps from the province"
expect_eq "$(get "api/v1/units?under=$revised" | rows | python3 -c 'import json,sys
rows = json.load(sys.stdin)
print(len(rows), all(r["reported"] and r["revisions"] == 2 for r in rows))')" \
	"$(sql "SELECT 2 * count(*) FROM tallyfeed.unit WHERE township_code = '$revised'") True" \
	"units of the revised township: each committee reported, 2 revisions"

say "bad questions get a reason"
check_error() {  # PATH STATUS TEXT
	local body
	body=$(get "$1")
	expect_eq "$(status)" "$2" "GET $1: $2"
	case $body in
	*"$3"*) ;;
	*) fail "GET $1: body '$body' lacks '$3'" ;;
	esac
}
check_error "api/v1/totals?level=village" 400 'is not province, prefecture, county or township'
check_error "api/v1/totals" 400 'level is required'
check_error "api/v1/progress?level=county&under=63" 400 'is not a 12-digit division code'
check_error "api/v1/composition?level=county&under=639900000000" 404 'no area or unit has code 639900000000'
check_error "api/v1/units" 400 'units needs under=CODE'
check_error "api/v1/unit/$revised" 404 'is an area, not a unit'
check_error "api/v1/area/$unit" 404 'is a unit, not an area'
check_error "api/v1/nothing" 404 'no such endpoint'
check_error "api/v1/totals?level=province&under=%27%3B%20DROP%20TABLE%20x" 400 'is not a 12-digit'
check_error "no-such-page.html" 404 'not found'
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "${URL}api/v1/totals")" 405 \
	"POST: 405"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -I "${URL}")" 200 "HEAD /: 200"
headers=$(curl -s -D - -o /dev/null "${URL}api/v1/totals?level=province")
case $headers in
*"application/json"*"no-store"*|*"no-store"*"application/json"*) ;;
*) fail "API headers lack JSON type or no-store: $headers" ;;
esac
case $headers in
*"Content-Security-Policy: default-src 'self'"*) ;;
*) fail "no content security policy: $headers" ;;
esac
page=$(get "")
case $page in
*'<script src="/app.js">'*) ;;
*) fail "/ is not the dashboard" ;;
esac
case $page in
*"http://"*|*"https://"*) fail "the page refers to another site" ;;
esac

say "the live feed: what the collector answers from now on"
feed() {  # QUERY PYTHON-EXPRESSION-OF-d
	get "api/v1/feed$1" | python3 -c "import json,sys; d = json.load(sys.stdin); print($2)"
}
# A SUB hears only what is published after it has joined: wait until the
# collector holds the web's subscription (its feed is an XPUB that counts
# them), then send one sound result and two bad ones.
ex=$TF_SRC/deploy/examples
feed_subscribed() {
	[ "$(curl -s "$(cat "$WORK/metrics")metrics" \
		| awk '$1 == "tallyfeed_collector_feed_subscriptions" { print $2 }')" = 1 ]
}
wait_for 20 feed_subscribed || fail "the collector holds no subscription of the web's"
sed 's/"unit": "630121100201"/"unit": "630121100399"/' "$ex/villagers.json" >"$WORK/unknown.json"
sed 's/"invalid": 11/"invalid": 12/' "$ex/villagers.json" >"$WORK/sum.json"
expect_eq "$("$SEND" "$EP" report "$ex/villagers.json" | cut -d' ' -f1)" ACCEPTED "send a sound result"
expect_eq "$("$SEND" "$EP" report "$WORK/unknown.json" | cut -d' ' -f1,2)" "REJECTED UNKNOWN_UNIT" "send an unknown unit"
expect_eq "$("$SEND" "$EP" report "$WORK/sum.json" | cut -d' ' -f1,2)" "REJECTED BALLOT_SUM" "send a bad ballot sum"
# One PUB delivers in order: once the last is heard, all before it are.
heard_all() { [ "$(feed "" 'd["received"]')" -ge 3 ]; }
wait_for 20 heard_all || fail "the web did not hear the three answers"
n=$(feed "" 'd["received"]')
expect_eq "$(feed "" 'd["received"], d["missed"], len(d["rows"]), d["sources"]')" \
	"3 0 3 ['$FEED']" "all heard, none missed, one row each, from the collector's feed"
expect_eq "$(feed "?verdict=rejected" '[(r["reason"], r["unit"], r["unit_name"], r["agent"], r["county"]) for r in d["rows"]]')" \
	"[('BALLOT_SUM', '630121100201', '元树尔村委会', 'tf-send', '630121000000'), ('UNKNOWN_UNIT', '630121100399', None, 'tf-send', '630121000000')]" \
	"verdict=rejected: the two, newest first, with reasons"
expect_eq "$(feed "?verdict=accepted" '[(r["unit"], r["committee"], r["round"], r["revision"]) for r in d["rows"]]')" \
	"[('630121100201', 'villagers', 1, 1)]" "verdict=accepted: the sound result"
expect_eq "$(feed "?verdict=duplicate" 'len(d["rows"])')" 0 "verdict=duplicate: none"
expect_eq "$(feed "?after=$((n - 1))" '[r["n"] for r in d["rows"]]')" "[$n]" "after=N: only what is newer"
expect_eq "$(feed "?limit=2" '[r["n"] for r in d["rows"]]')" "[$n, $((n - 1))]" "limit=2: the newest two"
expect_eq "$(feed "?under=630121100000" 'len(d["rows"])')" "$n" "under=桥头镇: all of them"
expect_eq "$(feed "?under=$under" 'len(d["rows"]), d["received"]')" "0 $n" "under=果洛州: none of them"
check_error "api/v1/feed?verdict=maybe" 400 'not accepted, duplicate, rejected or deferred'
check_error "api/v1/feed?under=63" 400 'is not a 12-digit division code'
check_error "api/v1/feed?after=-1" 400 'after: not a whole number'
check_error "api/v1/feed?limit=0" 400 'limit: not a whole number from 1 to 500'
check_error "api/v1/feed?limit=501" 400 'limit: not a whole number from 1 to 500'
expect_eq "$(grep -c "live feed from $FEED" "$WORK/web.log")" 1 "the web logs where its feed comes from"

say "it reads as the read-only role"
psql -X -q -c "CREATE ROLE $OUTSIDER LOGIN" >/dev/null
"$WEB" -l 127.0.0.1:0 --address-file "$WORK/web2-address" -d "dbname=$PGDATABASE user=$OUTSIDER" -F off \
	>>"$WORK/web2.log" 2>&1 &
WEB2_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/web2-address" ] && break; sleep 0.1; done
body=$(curl -s -w ' %{http_code}' "$(cat "$WORK/web2-address")api/v1/totals?level=province")
feed_off=$(curl -s -w ' %{http_code}' "$(cat "$WORK/web2-address")api/v1/feed")
kill $WEB2_PID; wait $WEB2_PID || true
case $body in
*"could not read as role tallyfeed_reader"*"GRANT tallyfeed_reader TO $OUTSIDER"*" 503") ;;
*) fail "a login outside tallyfeed_reader: got '$body'" ;;
esac
case $feed_off in
*"listens to no live feed"*" 404") ;;
*) fail "-F off: /api/v1/feed answered '$feed_off'" ;;
esac
out=$(PGUSER=$OUTSIDER "$CONSOLE" totals --level province 2>&1 || true)
case $out in
*"could not read as role tallyfeed_reader"*) ;;
*) fail "console as a login outside tallyfeed_reader: '$out'" ;;
esac
psql -X -q -c "GRANT tallyfeed_reader TO $OUTSIDER" >/dev/null
expect_eq "$(PGUSER=$OUTSIDER "$CONSOLE" totals --level province --format csv | tail -1 | cut -d, -f1)" \
	630000000000 "console as a member of tallyfeed_reader"
out=$(PGUSER=$OUTSIDER psql -X -At -c "SET ROLE tallyfeed_reader; SET default_transaction_read_only = on; INSERT INTO tallyfeed.agent_status (agent_id) VALUES ('x')" 2>&1 || true)
case $out in
*"read-only transaction"*|*"permission denied"*) ;;
*) fail "the reader could write: $out" ;;
esac

say "the dashboard in headless Chromium"
target=$(sql "SELECT min(code) FROM tallyfeed.unit WHERE township_code = '$revised'")
python3 "$TF_SRC/tests/integration/dashboard.py" "$URL" "$target" "$shots" || fail "dashboard.py"
kill $WEB_PID
wait $WEB_PID || fail "tallyfeed-web did not exit cleanly on SIGTERM"
finish
