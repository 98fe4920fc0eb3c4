#!/usr/bin/env bash
# The same message sent twice is stored once, and the second answer says so.
. "$(dirname "$0")/lib.sh"

setup_db
start_collector

say "one envelope, sent three times"
out=$("$SEND" "$EP" report "$TF_SRC/deploy/examples/villagers.json" 3)
echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')" "ACCEPTED DUPLICATE DUPLICATE " "verdicts"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.message')" 1 "messages stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 1 "results stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.candidate')" 9 "candidates stored"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.quarantine')" 0 "nothing quarantined"

say "the same result in a new message is not a second result"
out=$("$SEND" "$EP" report "$TF_SRC/deploy/examples/villagers.json")
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED REVISION_EXISTS" "same revision, new message id"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 1 "results stored"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'REVISION_EXISTS'")" 1 "kept in quarantine"

say "a higher revision is stored beside it, and the totals count only the latest"
sed 's/"revision": 1/"revision": 2/; s/"took_part": 1003/"took_part": 1010/; s/"issued": 1003/"issued": 1010/' \
	"$TF_SRC/deploy/examples/villagers.json" >"$WORK/rev2.json"
out=$("$SEND" "$EP" report "$WORK/rev2.json")
expect_eq "$(echo "$out" | cut -d' ' -f1)" "ACCEPTED" "revision 2"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.result')" 2 "both revisions kept"
expect_eq "$("$CONSOLE" totals --level province --format csv | tail -1 | cut -d, -f5,11)" "1,1010" \
	"one unit reported, with revision 2's voters"

say "revision 4 then a late revision 3: 3 is kept but never overwrites 4"
sed 's/"revision": 1/"revision": 4/; s/"took_part": 1003/"took_part": 1020/; s/"issued": 1003/"issued": 1020/' \
	"$TF_SRC/deploy/examples/villagers.json" >"$WORK/rev4.json"
sed 's/"revision": 1/"revision": 3/; s/"took_part": 1003/"took_part": 1015/; s/"issued": 1003/"issued": 1015/' \
	"$TF_SRC/deploy/examples/villagers.json" >"$WORK/rev3.json"
expect_eq "$("$SEND" "$EP" report "$WORK/rev4.json" | cut -d' ' -f1)" "ACCEPTED" "revision 4"
expect_eq "$("$SEND" "$EP" report "$WORK/rev3.json" | cut -d' ' -f1)" "ACCEPTED" "late revision 3 (kept)"
expect_eq "$(sql 'SELECT string_agg(revision::text, $$,$$ ORDER BY revision) FROM tallyfeed.result')" "1,2,3,4" \
	"every revision kept"
expect_eq "$("$CONSOLE" totals --level province --format csv | tail -1 | cut -d, -f11)" "1020" \
	"the totals count revision 4"
finish
