#!/usr/bin/env bash
# The figures, worked out by hand from the three example result files of
# 桥头镇 (deploy/examples), checked at every level: the township, its
# county (大通), its prefecture (西宁市) and the province.  Nothing else is
# stored, so every level must show exactly these.
#
# villagers' committee, unit 630121100201, held 2017 (ages in 2017):
#   C01 马永福 head   male   回 1971 (46) senior_secondary party  re-elected
#   C03 祁秀英 deputy female 土 1980 (37) junior_college   party  new
#   C05 张玉兰 member female 汉 1984 (33) senior_secondary        new
#   C06 马海军 member male   回 1990 (27) junior_college   party  new
#   C07 鲁成才 member male   土 1966 (51) junior_secondary        re-elected
#   -> 5 members, 1 head, 2 women, 0 women heads, 4 minorities, 5 ages,
#      average (46+37+33+27+51)/5 = 38.8, under 35: 2 (33, 27), over 60: 0,
#      大专+: 2, Party members: 3, re-elected 2, new 3;
#      一肩挑: the chair C01 is the Party secretary C01 -> 1 of 1 unit with
#      both heads; 交叉任职: C01, C03, C06 sit on the Party committee -> 3.
# residents' committee, unit 630121100001, held 2017:
#   C01 王丽娟 head   female 汉 1978 (39) bachelor         party  re-elected
#   C03 马文斌 deputy male   回 1985 (32) junior_college   party  new
#   C05 李娜   member female 汉 1992 (25) bachelor                new
#   C06 杨卓玛 member female 藏 1988 (29) junior_college          new
#   C07 何永强 member male   汉 1970 (47) senior_secondary party  re-elected
#   -> 5, 1 head, 3 women, 1 woman head, 2 minorities, 5 ages, average
#      172/5 = 34.4, under 35: 3, over 60: 0, 大专+: 4, Party: 3, re-elected
#      2, new 3; no Party branch result for this unit: 一肩挑 0 of 0, 交叉 0.
# Party branch, unit 630121100201, held 2017:
#   C01 马永福 head   male   回 1971 (46) senior_secondary party  re-elected
#   C03 祁秀英 member female 土 1980 (37) junior_college   party  new
#   C06 马海军 member male   回 1990 (27) junior_college   party  new
#   -> 3, 1 head, 1 woman, 0 women heads, 3 minorities, 3 ages, average
#      110/3 = 36.7, under 35: 1, over 60: 0, 大专+: 2, Party: 3,
#      re-elected 1, new 2.
# Each election valid and every seat filled in round 1: per committee,
# reported 1, valid 1, first-round success 1, runoffs 0, invalid 0.
. "$(dirname "$0")/lib.sh"

ex=$TF_SRC/deploy/examples
setup_db
start_collector
for f in villagers residents party_branch; do
	out=$("$SEND" "$EP" report "$ex/$f.json")
	expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "$f.json"
done

composition_want="party_branch,3,1,1,0,3,3,36.7,1,0,2,3,1,2,,,
residents,5,1,3,1,2,5,34.4,3,0,4,3,2,3,0,0,0
villagers,5,1,2,0,4,5,38.8,2,0,2,3,2,3,1,1,3"

for area in township:630121100000 county:630121000000 prefecture:630100000000 province:630000000000; do
	level=${area%%:*} code=${area#*:}
	say "$level $code"
	got=$("$CONSOLE" composition --level "$level" --under "$code" --format csv | tail -n +2)
	expect_eq "$(echo "$got" | cut -d, -f1 | sort -u)" "$code" "composition: one area, $code"
	expect_eq "$(echo "$got" | cut -d, -f3-)" "$composition_want" "composition figures"
	got=$("$CONSOLE" progress --level "$level" --under "$code" --format csv | tail -n +2)
	for committee in villagers residents party_branch; do
		case $committee in
		party_branch) kind="" ;;
		*) kind="AND mass_committee = '$committee'" ;;
		esac
		expected=$(sql "SELECT count(*) FROM tallyfeed.unit_place WHERE '$code' IN (province_code,
			prefecture_code, county_code, township_code) $kind")
		expect_eq "$(echo "$got" | grep ",$committee," | cut -d, -f4-)" \
			"$expected,1,$((expected - 1)),1,1,0,0" "progress $committee: expected (the registry's), 1 reported, the rest outstanding"
	done
done
finish
