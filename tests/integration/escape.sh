#!/usr/bin/env bash
# Text from outside reaches a terminal or a log line escaped
# (tf_text_escape, daemon/utf8.h): a newline, an ESC sequence, a bell and a
# bidi override in a detail and a unit name arrive as \n, \x1b, \x07 and
# \u{202e} -- one line, nothing a terminal acts on:
#  - `tallyfeed feed` (text and json) printing a feed whose rejection
#    carries them (tf-feedpub TF_FEEDPUB_TEXT, standing in for a collector);
#  - the collector's log quoting a configuration value that holds them;
#  - `tallyfeed-agent status` printing a rejection's detail that does.
. "$(dirname "$0")/lib.sh"

FEEDPUB=$TF_BIN/tests/tools/tf-feedpub
hostile=$'forged\ntallyfeed-collector: info: all stored\x1b[2J\x1b]0;owned\x07 evil\xe2\x80\xaetxt.exe'

# raw_controls FILE: how many bytes of FILE a terminal would act on (C0
# but newline, DEL, C1 in UTF-8, U+2028/2029, U+202A-202E, U+2066-2069).
raw_controls() {
	python3 -c 'import re,sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
print(len(re.findall("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", t)))' "$1"
}

say "tallyfeed feed prints a hostile detail and unit name escaped"
for format in text json; do
	rm -f "$WORK/feedpub"
	TF_FEEDPUB_TEXT=$hostile "$FEEDPUB" "$WORK/feedpub" 4 9 1 &
	pub_pid=$!
	for _ in $(seq 100); do [ -s "$WORK/feedpub" ] && break; sleep 0.05; done
	"$CONSOLE" feed -c "$(cat "$WORK/feedpub")" --count 1 --format "$format" >"$WORK/feed-$format.txt"
	wait $pub_pid || fail "tf-feedpub exit status"
	cat "$WORK/feed-$format.txt"
	expect_eq "$(wc -l <"$WORK/feed-$format.txt")" 1 "feed --format $format: one summary, one line"
	expect_eq "$(raw_controls "$WORK/feed-$format.txt")" 0 "feed --format $format: no raw control or direction character"
done
grep -qF 'UNKNOWN_UNIT: forged\ntallyfeed-collector: info: all stored\x1b[2J\x1b]0;owned\x07 evil\u{202e}txt.exe' \
	"$WORK/feed-text.txt" || fail "feed: the detail is not escaped as expected"
grep -qF '630121100201 forged\n' "$WORK/feed-text.txt" || fail "feed: the unit name is not escaped"
python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).read())
assert d["detail"] == sys.argv[2], d["detail"]' "$WORK/feed-json.txt" "$hostile" ||
	fail "feed --format json: the detail does not read back as sent"

say "the collector's log quotes a hostile configuration value escaped"
sed "s|odd_size_required = 1 |odd_size_required = \"1$(printf '\033')[2J$(printf '\a') \\\\q$(printf '\342\200\256')\" |" \
	"$TF_SRC/deploy/examples/collector.cfg" >"$WORK/bad.cfg"
grep -q "$(printf '\033')" "$WORK/bad.cfg" || fail "the test's configuration holds no ESC"
rc=0
"$COLLECTOR" -n -f "$WORK/bad.cfg" >"$WORK/n.out" 2>"$WORK/n.log" || rc=$?
cat "$WORK/n.log"
expect_eq "$rc" 1 "-n refuses the value"
expect_eq "$(wc -l <"$WORK/n.log")" 1 "one line"
expect_eq "$(raw_controls "$WORK/n.log")" 0 "no raw control or direction character in the log"
grep -qF '"1\x1b[2J\x07 \\q\u{202e}" is not 0 or 1' "$WORK/n.log" || fail "the value is not escaped as expected"
say "tallyfeed-agent status prints the collector's detail escaped"
# The spool as a collector's rejection would leave it, its detail hostile
# (no collector of ours sends one: its validator refuses such text first).
agent_config teller 630121100000
agent -f "$WORK/teller.cfg" submit "$TF_SRC/deploy/examples/villagers.json" >/dev/null
spool_db=$(find "$WORK/spool-teller" -name '*.db' -type f 2>/dev/null | head -1)
[ -f "$WORK/spool-teller" ] && spool_db=$WORK/spool-teller
[ -n "$spool_db" ] || fail "no spool database under $WORK/spool-teller"
sqlite3 "$spool_db" "UPDATE message SET state = 3, reason = 'BALLOT_SUM', detail = 'forged' || char(10) || 'pending 0' || char(27) || '[2J' || char(8238) || 'x'"
agent -f "$WORK/teller.cfg" status --all >"$WORK/status.txt" || true
cat "$WORK/status.txt"
expect_eq "$(raw_controls "$WORK/status.txt")" 0 "status: no raw control or direction character"
grep -qF 'BALLOT_SUM: forged\npending 0\x1b[2J\u{202e}x' "$WORK/status.txt" ||
	fail "status: the detail is not escaped as expected"
expect_eq "$(grep -c '^pending ' "$WORK/status.txt")" 1 "status: no forged line"
finish
