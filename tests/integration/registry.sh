#!/usr/bin/env bash
# The registry round-trip: after loading the shipped Qinghai registry the
# totals list 8 prefectures, 45 county-level units and 4,716 units expected.
. "$(dirname "$0")/lib.sh"

setup_db
expect_eq "$("$CONSOLE" totals --level prefecture --format csv | tail -n +2 | wc -l)" 8 "prefectures"
expect_eq "$("$CONSOLE" totals --level county --format csv | tail -n +2 | wc -l)" 45 "county-level units"
expect_eq "$("$CONSOLE" totals --level township --format csv | tail -n +2 | wc -l)" 422 "townships"
expect_eq "$("$CONSOLE" totals --level province --format csv | tail -1 | cut -d, -f2,3)" "青海省,4716" "units expected in the province"
expect_eq "$("$CONSOLE" totals --level prefecture --format csv | tail -n +2 | awk -F, '{s += $3} END {print s}')" 4716 \
	"prefectures add up to the province"
expect_eq "$("$CONSOLE" totals --level province --format csv | tail -1 | cut -d, -f4,6)" "4170,546" \
	"villagers' and residents' committees expected (4145+25, 536+10)"

say "loading again changes nothing"
"$CONSOLE" registry load "$REGISTRY" >/dev/null
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.unit')" 4716 "units after a second load"

say "a broken registry is refused whole, with file and line"
cp -r "$REGISTRY" "$WORK/broken"
sed -i '3s/^\([0-9]\{9\}\)[0-9]\{3\}/\1650/' "$WORK/broken/villages.csv"
out=$("$CONSOLE" registry load "$WORK/broken" 2>&1) && fail "broken registry accepted" || true
echo "$out"
expect_eq "$(echo "$out" | grep -c 'villages.csv:3: .*map to no committee type')" 1 "error names file, line and reason"
finish
