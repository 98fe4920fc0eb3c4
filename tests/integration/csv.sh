#!/usr/bin/env bash
# The spreadsheet route, with a real agent, collector and PostgreSQL.  The
# agent writes the township's template; a script fills it in as staff do
# in Excel (UTF-8 with BOM, candidates on inserted rows, dates as
# 2017/11/12, Chinese words) and `submit` queues it: the collector accepts
# the three elections and stores them as the JSON examples would be.  A
# file with one bad cell (and one good change beside it) is refused at
# that cell's row and column, exit 1, and nothing of it is queued.  The
# same sheet saved as GB18030 (Excel's "CSV (逗号分隔)") with one figure
# changed is read as GB18030 and stored as revision 2.  Every wait has a
# deadline (submit --wait, wait_for).
. "$(dirname "$0")/lib.sh"

TOWNSHIP=630121100000           # 桥头镇, the township of deploy/examples
ex=$TF_SRC/deploy/examples
fill="python3 $TF_SRC/tests/integration/csv_fill.py"

setup_db
start_collector
start_agent qiaotou "$TOWNSHIP"
cfg=$WORK/qiaotou.cfg

say "the template of the township"
agent -f "$cfg" template --out "$WORK/sheet.csv" >"$WORK/out"
cat "$WORK/out"
grep -q "wrote $WORK/sheet.csv: 70 elections of township $TOWNSHIP 桥头镇" "$WORK/out" \
	|| fail "template: $(cat "$WORK/out")"
expect_eq "$(head -c 3 "$WORK/sheet.csv" | od -An -tx1 | tr -d ' ')" efbbbf "it begins with a UTF-8 BOM"
expect_eq "$(grep -c '^63 01 21 100 [0-9]\{3\},' "$WORK/sheet.csv")" 70 "election rows, codes grouped"
rc=0
agent -f "$cfg" template --out "$WORK/sheet.csv" >/dev/null 2>&1 || rc=$?
expect_eq "$rc" 1 "a second template over the first is refused"

say "filled in (UTF-8 with BOM), submitted: accepted and stored"
$fill "$WORK/sheet.csv" "$WORK/filled.csv" utf-8-sig "$ex"/{villagers,residents,party_branch}.json
out=$(agent -f "$cfg" submit --wait 60 "$WORK/filled.csv")
echo "$out"
echo "$out" | grep -q "filled.csv: read as UTF-8 with BOM: 3 elections filled in, 67 left blank" \
	|| fail "submit did not say how it read the file"
expect_eq "$(echo "$out" | grep -c 'revision 1: ACCEPTED$')" 3 "elections accepted"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 3 "results stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.candidate')" 22 "candidates stored"
expect_eq "$(sql "SELECT registered || '/' || took_part || '/' || ballots_valid || '/' || held_on FROM tallyfeed.result WHERE committee = 'villagers'")" \
	"1180/1003/990/2017-11-12" "villagers' electorate, voters, valid ballots, date"
expect_eq "$(sql "SELECT string_agg(candidate_id, ',' ORDER BY ordinal) FROM tallyfeed.candidate c JOIN tallyfeed.result r USING (message_id) WHERE r.committee = 'party_branch' AND c.elected")" \
	"C01,C03,C06" "party branch members elected"
# The JSON examples are the same content: the same messages, nothing new.
out=$(agent -f "$cfg" submit "$ex"/{villagers,residents,party_branch}.json)
expect_eq "$(echo "$out" | grep -c ': QUEUED already as message')" 3 "the JSON files of the same figures"

say "a bad cell: refused at its row and column, nothing of the file queued"
before=$(agent -f "$cfg" status --all | wc -l)
# A good change (the residents' valid/invalid ballots) beside the bad cell.
$fill --edit "$WORK/filled.csv" "$WORK/step.csv" utf-8-sig 630121100001 居民委员会 有效票数 2199 >/dev/null
$fill --edit "$WORK/step.csv" "$WORK/step2.csv" utf-8-sig 630121100001 居民委员会 无效票数 9 >/dev/null
where=$($fill --edit "$WORK/step2.csv" "$WORK/bad.csv" utf-8-sig 630121100201 村民委员会 参加投票人数 一千)
row=${where% *}
col=${where#* }
rc=0
agent -f "$cfg" submit "$WORK/bad.csv" >"$WORK/out" 2>&1 || rc=$?
cat "$WORK/out"
expect_eq "$rc" 1 "submit's exit status"
expect_eq "$(grep -c "^$WORK/bad.csv:$row:$col(参加投票人数): \"一千\" is not a whole number$" "$WORK/out")" 1 \
	"the refusal names row $row, column $col"
grep -q "bad.csv: NOT QUEUED: 1 refused; nothing of this file is queued" "$WORK/out" \
	|| fail "no summary of the refusal"
expect_eq "$(agent -f "$cfg" status --all | wc -l)" "$before" "nothing of the file is in the spool"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 3 "nothing more stored"

say "saved as GB18030, one figure changed: read so, stored as revision 2"
$fill --edit "$WORK/filled.csv" "$WORK/step.csv" gb18030 630121100201 村民委员会 有效票数 991 >/dev/null
$fill --edit "$WORK/step.csv" "$WORK/gbk.csv" gb18030 630121100201 村民委员会 无效票数 10 >/dev/null
if iconv -f UTF-8 -t UTF-8 "$WORK/gbk.csv" >/dev/null 2>&1; then
	fail "the GB18030 file is valid UTF-8: the test would prove nothing"
fi
out=$(agent -f "$cfg" submit --wait 60 "$WORK/gbk.csv")
echo "$out"
echo "$out" | grep -q "gbk.csv: read as GB18030: 3 elections filled in" || fail "not read as GB18030"
expect_eq "$(echo "$out" | grep -c '630121100201 villagers round 1 revision 2: ACCEPTED$')" 1 \
	"the changed election, as revision 2"
expect_eq "$(echo "$out" | grep -c 'revision 1: ACCEPTED$')" 2 "the others, the messages already stored"
expect_eq "$(sql "SELECT revision || '/' || ballots_valid || '/' || ballots_invalid FROM tallyfeed.result_current WHERE unit_code = '630121100201' AND committee = 'villagers'")" \
	"2/991/10" "the current villagers' result"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 4 "every revision kept"

say "agent and collector shut down cleanly"
stop_agents && echo "ok: agent exited 0" || fail "agent exit status"
stop_collector && echo "ok: collector exited 0" || fail "collector exit status"
finish
