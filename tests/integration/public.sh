#!/usr/bin/env bash
# The posting sheet (公示) and the public check, through a real agent,
# collector, PostgreSQL and tallyfeed-web: the sheet the agent prints for
# an accepted result carries a QR code (read back with zbarimg from the
# sheet rendered by headless Chromium) of the check page's URL; for that
# URL `tallyfeed check` and /api/v1/check answer "counted"; once revision 2
# is stored the first sheet's URL answers "superseded" (by 2); a URL with
# one figure changed "altered" naming that figure; one with another
# signature "forged"; one of a result never stored "not_known"; a URL that
# is not a sheet's is refused (exit 2, 400).
. "$(dirname "$0")/lib.sh"

WEB=$TF_BIN/console/tallyfeed-web
CHECK_PAGE=https://check.example.cn/check
EXAMPLES=$TF_SRC/deploy/examples
mkdir -p "$WORK/collectors"
cp "$COLLECTOR_CERT" "$WORK/collectors/"
setup_db
start_collector
agent_config clerk 630121100000 "    check_url = \"$CHECK_PAGE\"
    web = off
"
cfg=$WORK/clerk.cfg
${TF_WRAP:-} "$AGENT" -f "$cfg" --metrics-file "$WORK/agent-metrics-clerk" run \
	>>"$WORK/agent-clerk.log" 2>&1 &
AGENT_PIDS+=($!)

say "an accepted result's posting sheet, and its QR code"
expect_eq "$(agent -f "$cfg" submit --wait 30 "$EXAMPLES/villagers.json")" \
	"$EXAMPLES/villagers.json: ACCEPTED" "revision 1 accepted"
seq1=$(agent -f "$cfg" status --all | awk '$2 == "accepted" { print $1; exit }')
agent -f "$cfg" sheet "$seq1" --out "$WORK/sheet1.html"
url1=$(agent -f "$cfg" sheet "$seq1" --url-only)
echo "$url1"
case $url1 in "$CHECK_PAGE?u=630121100201&c=villagers&r=1&v=1&d="*) echo "ok: the URL names the result" ;;
	*) fail "the sheet's URL: $url1" ;; esac
expect_eq "$(grep -c '元树尔村委会' "$WORK/sheet1.html")" 1 "the sheet names the unit"
expect_eq "$(grep -o '<td class="n" data-figure="6">[0-9]*' "$WORK/sheet1.html" | sed 's/.*>//')" 990 \
	"and carries its figures (valid ballots)"
# The sheet as a browser draws it, and its QR code read back from the image.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=900,1400 \
	--screenshot="$WORK/sheet1.png" "file://$WORK/sheet1.html" >/dev/null 2>&1
qr=$(zbarimg -q --raw "$WORK/sheet1.png" 2>/dev/null)
expect_eq "$qr" "$url1" "the QR code holds the check URL"
rc=0
agent -f "$cfg" sheet 999 --url-only 2>"$WORK/nosheet" || rc=$?
expect_eq "$rc" 1 "no sheet for a message the spool lacks"

say "tallyfeed check: counted as posted"
check() { "$CONSOLE" check "$1" --collector-certs "$WORK/collectors"; }
out=$(check "$url1"); rc=$?
echo "$out"
expect_eq "$rc $(echo "$out" | head -1 | cut -d: -f1)" "0 counted" "counted, exit 0"
# What the genuine sheet printed that the QR code does not carry, to set
# beside the paper: the date, each candidate's name and positions.
echo "$out" | grep -q '^  选举日期 2017-11-12$' || fail "tallyfeed check does not print the date"
echo "$out" | grep -q '^  马永福  主任  612票  当选主任$' || fail "tallyfeed check does not print the first candidate"

say "tallyfeed-web: /check and /api/v1/check"
# No limit on checks here: this test asks many from one address (the limit
# is tested with --serve check below).
"$WEB" -l 127.0.0.1:0 --address-file "$WORK/web-address" -F off --checks-per-second 0 \
	--collector-certs "$WORK/collectors" >>"$WORK/web.log" 2>&1 &
WEB_PID=$!
trap 'rc=$?; set +e; kill $WEB_PID 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for 20 test -s "$WORK/web-address" || fail "tallyfeed-web did not start"
base=$(cat "$WORK/web-address")
api() { curl -s "${base}api/v1/check?${1#*\?}"; }
verdict() { api "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])'; }
expect_eq "$(verdict "$url1")" counted "/api/v1/check: counted"
expect_eq "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "${base}check?${url1#*\?}")" \
	"200 text/html; charset=utf-8" "/check serves the page"
expect_eq "$(api "$url1" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["unit_name"], a["collector"], [f["posted"] for f in a["figures"]][5])')" \
	"元树尔村委会 collector 990" "it names the unit and the collector, and carries the sheet's own figures"
expect_eq "$(api "$url1" | python3 -c 'import json,sys; a=json.load(sys.stdin); c=a["candidates"]
print(a["held_on"], c[0]["name"], c[0]["position"], c[0]["position_won"], c[1]["name"], "position_won" in c[1])')" \
	"2017-11-12 马永福 主任 主任 李国栋 False" "counted: the date and the candidates' names and positions the sheet printed"

say "one figure changed on the sheet: altered, naming it"
altered=$(echo "$url1" | sed -E 's/(f=([0-9]+\.){6})990/\1999/')
expect_eq "$(verdict "$altered")" altered "/api/v1/check: altered"
api "$altered" | grep -q 马永福 && fail "an altered sheet's answer names the candidates"
expect_eq "$(api "$altered" | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["differing"]))')" \
	"有效票数" "the figure named"
api "$altered" | grep -q 990 && fail "the counted figure is shown"
out=$(check "$altered") && fail "tallyfeed check says counted for an altered sheet"
expect_eq "$(echo "$out" | head -1 | cut -d: -f1)" altered "tallyfeed check: altered"
votes=$(echo "$url1" | sed -E 's/_612e/_613e/')
expect_eq "$(verdict "$votes")" altered "a candidate's votes changed: altered"

say "another signature: forged"
forged=$(python3 -c 'import sys; u = sys.argv[1]; i = u.index("&s=") + 3
print(u[:i] + ("B" if u[i] == "A" else "A") + u[i + 1:])' "$url1")
expect_eq "$(verdict "$forged")" forged "/api/v1/check: forged"
expect_eq "$(check "$forged" | head -1 | cut -d: -f1)" forged "tallyfeed check: forged"
expect_eq "$(api "$forged" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("unit_name" in a, "held_on" in a, "name" in a["candidates"][0])')" \
	"False False False" "forged: no more said than for a result not known (no names)"

say "a result the province never stored: not known"
unknown=$(echo "$url1" | sed 's/u=630121100201/u=630121100202/')
expect_eq "$(verdict "$unknown")" not_known "/api/v1/check: not_known"

say "revision 2 stored: the first sheet says superseded"
sed 's/"revision": 1/"revision": 2/; s/"took_part": 1003/"took_part": 1010/; s/"issued": 1003/"issued": 1010/' \
	"$EXAMPLES/villagers.json" >"$WORK/rev2.json"
expect_eq "$(agent -f "$cfg" submit --wait 30 "$WORK/rev2.json")" "$WORK/rev2.json: ACCEPTED" \
	"revision 2 accepted"
expect_eq "$(verdict "$url1")" superseded "/api/v1/check: superseded"
expect_eq "$(api "$url1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["candidates"][0]["name"])')" \
	"马永福" "superseded: the names the first sheet printed"
expect_eq "$(api "$url1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["superseded_by"])')" 2 \
	"by revision 2"
seq2=$(agent -f "$cfg" status --all | awk '$2 == "accepted" { s = $1 } END { print s }')
url2=$(agent -f "$cfg" sheet "$seq2" --url-only)
expect_eq "$(verdict "$url2")" counted "the new sheet: counted"

say "what is not a sheet's URL is refused"
rc=0; "$CONSOLE" check "$CHECK_PAGE?u=1" --collector-certs "$WORK/collectors" 2>/dev/null || rc=$?
expect_eq "$rc" 2 "tallyfeed check: exit 2"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${base}api/v1/check?u=630121100201&c=villagers")" 400 \
	"/api/v1/check: 400"
long=$(head -c 5000 /dev/zero | tr '\0' 1)
short=${url1%%&f=*}
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${base}api/v1/check?${short#*\?}&f=$long")" 400 \
	"a query over its bound: 400"
# The counted sheet's own query with a second revision after it: the API
# must not pick one of the two (it took the first before).
expect_eq "$(curl -s -o "$WORK/twice" -w '%{http_code}' "${base}api/v1/check?${url2#*\?}&v=1")" 400 \
	"a name given twice: 400"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${base}api/v1/check?$(echo "${url2#*\?}" | sed 's/&r=1&/\&r=40000\&/')")" 400 \
	"a round no collector stores: 400 (it was a database error, 500)"
grep -q '"v" given twice' "$WORK/twice" || fail "the refusal does not say which name: $(cat "$WORK/twice")"
many=$(for i in $(seq 33); do printf '&x%d=1' "$i"; done)
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${base}api/v1/check?${url2#*\?}$many")" 400 \
	"more than 32 query arguments: 400 (refused by the server for every handler)"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "${base}api/v1/totals?level=province&level=county")" 400 \
	"a dashboard query naming level twice: 400"

kill $WEB_PID; wait $WEB_PID || fail "tallyfeed-web did not exit cleanly"

say "tallyfeed-web --serve check: the public check alone"
rm -f "$WORK/web-address"
"$WEB" -l 127.0.0.1:0 --address-file "$WORK/web-address" --serve check --checks-per-second 1 \
	--collector-certs "$WORK/collectors" >>"$WORK/web-check.log" 2>&1 &
WEB_PID=$!
wait_for 20 test -s "$WORK/web-address" || fail "tallyfeed-web --serve check did not start"
base=$(cat "$WORK/web-address")
expect_eq "$(verdict "$url2")" counted "/api/v1/check: counted"
status() { curl -s -o /dev/null -w '%{http_code}' "$base$1"; }
expect_eq "$(status "check?${url2#*\?}") $(status check.js) $(status style.css)" "200 200 200" \
	"the check page and its files"
expect_eq "$(status '') $(status index.html) $(status api/v1) $(status api/v1/unit/630121100201) $(status 'api/v1/totals?level=province') $(status api/v1/feed)" \
	"404 404 404 404 404 404" "the dashboard, its API, a unit's revisions and the feed: 404"
# One check a second from an address, a burst of two: asked as fast as
# curl can, a 429 comes within 50 (the first came already, above).
limited=0
for i in $(seq 50); do
	code=$(curl -s -o "$WORK/limited" -w '%{http_code}' "${base}api/v1/check?${url2#*\?}")
	if [ "$code" = 429 ]; then limited=$i; break; fi
done
[ "$limited" -gt 0 ] && echo "ok: a 429 at check $limited of one address" || fail "no 429 in 50 checks"
grep -q 'too many checks' "$WORK/limited" || fail "the 429 does not say why: $(cat "$WORK/limited")"
expect_eq "$(status check.js)" 200 "the page's files are not limited"
rc=0; "$WEB" --serve everything -n 2>"$WORK/serve-bad" || rc=$?
expect_eq "$rc" 1 "--serve everything refused"
grep -q 'takes "all" or "check"' "$WORK/serve-bad" || fail "the refusal does not say what --serve takes"
kill $WEB_PID; wait $WEB_PID || fail "tallyfeed-web --serve check did not exit cleanly"
stop_agents
finish
