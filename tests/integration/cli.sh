#!/usr/bin/env bash
# Every program: --help tells the truth and exits 0; bad arguments exit 2
# with a message; a bad config or an unreachable database exits 1.
. "$(dirname "$0")/lib.sh"

# status CMD...: the exit status, output discarded
status() { "$@" >"$WORK/out" 2>&1 && echo 0 || echo $?; }

for prog in "$AGENT" "$COLLECTOR" "$CONSOLE"; do
	name=$(basename "$prog")
	expect_eq "$(status "$prog" --help)" 0 "$name --help"
	grep -q '^usage:' "$WORK/out" || fail "$name --help prints no usage"
	expect_eq "$(status "$prog" --no-such-option)" 2 "$name with an unknown option"
done
expect_eq "$(status "$CONSOLE" totals --help)" 0 "tallyfeed totals --help"
grep -q -- '--level' "$WORK/out" || fail "totals --help does not mention --level"
expect_eq "$(status "$CONSOLE" frobnicate)" 2 "tallyfeed with an unknown command"
expect_eq "$(status "$CONSOLE" totals --level parish)" 2 "totals with a bad level"
grep -q 'not province, prefecture, county or township' "$WORK/out" || fail "bad level message"
expect_eq "$(status "$CONSOLE" totals --level county --under 63)" 2 "totals with a bad code"
# A mistake in the arguments is said as such even with the database away:
# the console connects only once they are sound.
away=(-d "host=$WORK/no-database-here")
expect_eq "$(status "$CONSOLE" "${away[@]}" totals --level parish)" 2 "database away: a bad level is still a usage error"
grep -q 'not province, prefecture, county or township' "$WORK/out" || fail "database away, bad level: $(cat "$WORK/out")"
expect_eq "$(status "$CONSOLE" "${away[@]}" progress --level county --under 63)" 2 "database away: a bad code"
grep -q '"63" is not a 12-digit division code' "$WORK/out" || fail "database away, bad code: $(cat "$WORK/out")"
expect_eq "$(status "$CONSOLE" "${away[@]}" flags --frobnicate)" 2 "database away: an unknown option"
expect_eq "$(status "$CONSOLE" "${away[@]}" unit 63012110020)" 2 "database away: a unit code one digit short"
expect_eq "$(status "$CONSOLE" "${away[@]}" status --county 6301)" 2 "database away: status with a bad county"
expect_eq "$(status "$CONSOLE" "${away[@]}" registry load "$WORK/no-registry")" 1 "database away: a registry that is not there"
grep -q 'registry not loaded' "$WORK/out" || fail "database away, no registry: $(cat "$WORK/out")"
expect_eq "$(status "$CONSOLE" "${away[@]}" totals --level county)" 1 "database away: sound arguments, then the connection fails"
grep -q 'could not connect to database' "$WORK/out" || fail "database away: $(cat "$WORK/out")"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i x submit)" 2 "agent submit with no files"
expect_eq "$(status "$AGENT" -s "$WORK/s" submit "$TF_SRC/deploy/examples/villagers.json")" 2 "agent with no id"
expect_eq "$(status "$AGENT" -i x submit "$TF_SRC/deploy/examples/villagers.json")" 2 "agent with no spool"
grep -q 'spool directory is required' "$WORK/out" || fail "no-spool message"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i x frobnicate)" 2 "agent with an unknown command"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i x status --bogus)" 2 "agent status with a bad option"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i x export)" 2 "agent export without --to"
expect_eq "$(status "$COLLECTOR" extra-argument)" 2 "collector with a stray argument"

say "unreachable database"
expect_eq "$(status "$CONSOLE" -d "host=$WORK/nowhere" totals --level province)" 1 "console"
grep -q 'could not connect to database' "$WORK/out" || fail "console: message"
# The collector waits for its database (a restart loop is what systemd
# gives up on), says why, and stops when told to.
"$COLLECTOR" -d "host=$WORK/nowhere" -e 'tcp://127.0.0.1:*' -k "$KEYS/collector.cert_secret" \
	-C "$CERTS" >"$WORK/out" 2>&1 &
waiting=$!
waits() { grep -q 'could not connect to database.*not collecting yet, trying again' "$WORK/out"; }
wait_for 20 waits || fail "collector: no 'not collecting yet' in 20 s: $(cat "$WORK/out")"
kill -TERM "$waiting"
rc=0; wait "$waiting" || rc=$?
expect_eq "$rc" 0 "collector waiting for its database, stopped by SIGTERM"

say "keys"
enrol x 630121100000
expect_eq "$(status "$COLLECTOR" -d "host=$WORK/nowhere")" 1 "collector without keys"
grep -q 'needs its key' "$WORK/out" || fail "collector without keys: message"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i x submit "$TF_SRC/deploy/examples/villagers.json")" 2 \
	"agent submit without a key"
grep -q 'needs this agent.s key' "$WORK/out" || fail "agent without a key: message"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i y -k "$KEYS/x.cert_secret" status)" 1 "agent id not the certificate's"
grep -q 'does not match the certificate' "$WORK/out" || fail "agent id mismatch: message"
chmod 644 "$KEYS/x.cert_secret"
expect_eq "$(status "$AGENT" -s "$WORK/s" -k "$KEYS/x.cert_secret" status)" 1 "a secret key others can read"
grep -q 'readable by its owner only' "$WORK/out" || fail "secret key mode: message"
chmod 600 "$KEYS/x.cert_secret"
expect_eq "$(status "$CONSOLE" keygen --agent x --township 630121100000 --out "$KEYS")" 1 "keygen over existing keys"
grep -q 'never overwritten' "$WORK/out" || fail "keygen overwrite: message"
expect_eq "$(status "$CONSOLE" keygen --agent z --township 630121100001 --out "$KEYS")" 2 "keygen with a unit code as township"
expect_eq "$(status "$CONSOLE" keygen --agent z --township 639999999000 -r "$REGISTRY" --out "$KEYS")" 1 \
	"keygen for a township not in the registry"
expect_eq "$(status "$CONSOLE" keygen --importer z --township 630121100000 --out "$KEYS")" 2 "keygen importer with a township"

say "configuration files"
expect_eq "$(status "$COLLECTOR" -n -f "$TF_SRC/deploy/examples/collector.cfg")" 0 "collector -n on the example"
printf 'collector\n    endpoint = "tcp://*:1"\n    batch_maks = 3\n' >"$WORK/typo.cfg"
expect_eq "$(status "$COLLECTOR" -n -f "$WORK/typo.cfg")" 1 "collector -n on a misspelt key"
grep -q 'unknown key "collector/batch_maks"' "$WORK/out" || fail "typo message: $(cat "$WORK/out")"
printf 'collector\n    batch_max = lots\n' >"$WORK/nan.cfg"
expect_eq "$(status "$COLLECTOR" -n -f "$WORK/nan.cfg")" 1 "collector -n on a non-number"
expect_eq "$(status "$COLLECTOR" -n -f "$WORK/missing.cfg")" 1 "collector -n on a missing file"
expect_eq "$(status "$AGENT" -f "$WORK/typo.cfg" -i x submit a.json)" 1 "agent with a collector's config"
printf 'agent\n    spool = "%s"\n    id = "x"\n    window = 0\n' "$WORK/s" >"$WORK/window.cfg"
expect_eq "$(status "$AGENT" -f "$WORK/window.cfg" status)" 1 "agent with window 0"
grep -q 'agent/window' "$WORK/out" || fail "window message: $(cat "$WORK/out")"
printf 'x' >"$WORK/notdir"
expect_eq "$(status "$AGENT" -s "$WORK/notdir/spool" -i x status)" 1 "agent with an unusable spool"
expect_eq "$(status "$CONSOLE" -f "$TF_SRC/deploy/examples/console.cfg" totals --help)" 0 "console with its example config"
WEB=$TF_BIN/console/tallyfeed-web
say "-n: each shipped example config is accepted; a broken one is refused at its line"
for pair in "collector:$COLLECTOR" "agent:$AGENT" "web:$WEB"; do
	name=${pair%%:*} prog=${pair#*:}
	ex="$TF_SRC/deploy/examples/$name.cfg"
	expect_eq "$(status "$prog" -n -f "$ex")" 0 "$name -n accepts deploy/examples/$name.cfg"
	# A misspelt key appended: its line is the file's last.
	cp "$ex" "$WORK/$name-typo.cfg"
	printf '    misspelt_key = 1\n' >>"$WORK/$name-typo.cfg"
	line=$(wc -l <"$WORK/$name-typo.cfg")
	expect_eq "$(status "$prog" -n -f "$WORK/$name-typo.cfg")" 1 "$name -n refuses a misspelt key"
	grep -q "$name-typo.cfg:$line: unknown key \"$name/misspelt_key\"" "$WORK/out" \
		|| fail "$name: no file:line for the misspelt key: $(cat "$WORK/out")"
	# A line indented by a tab, after the section line.
	cp "$ex" "$WORK/$name-tab.cfg"
	line=$(grep -n "^$name\$" "$WORK/$name-tab.cfg" | cut -d: -f1)
	sed -i "${line}a\\\tsome_key = 1" "$WORK/$name-tab.cfg"
	expect_eq "$(status "$prog" -n -f "$WORK/$name-tab.cfg")" 1 "$name -n refuses a tab indent"
	grep -q "$name-tab.cfg:$((line + 1)): a tab in the indent" "$WORK/out" \
		|| fail "$name: no file:line for the tab: $(cat "$WORK/out")"
done
printf 'collector\n    batch_max = lots\n' >"$WORK/nan2.cfg"
"$COLLECTOR" -n -f "$WORK/nan2.cfg" >"$WORK/out" 2>&1 || true
grep -q 'nan2.cfg:2: collector/batch_max: "lots" is not a whole number' "$WORK/out" \
	&& echo "ok: a bad number is named with its line" || fail "bad number: $(cat "$WORK/out")"
say "logs: one line each with its level; --syslog sends them to syslog instead"
out=$("$TF_BIN/console/tallyfeed-web" -l nowhere 2>&1 || true)
expect_eq "$out" 'tallyfeed-web: warning: listen address "nowhere" is not ADDRESS:PORT' "a log line on stderr"
out=$(JOURNAL_STREAM=8:9 "$TF_BIN/console/tallyfeed-web" -l nowhere 2>&1 || true)
expect_eq "$out" '<4>tallyfeed-web: warning: listen address "nowhere" is not ADDRESS:PORT' \
	"under journald, the level as <4>"
expect_eq "$(status "$TF_BIN/console/tallyfeed-web" --syslog -l nowhere)" 1 "--syslog: still fails"
expect_eq "$(cat "$WORK/out")" "" "--syslog: nothing on stderr"
printf 'collector\n    batch_max = 5\n    rate_per_s = 3\n    batch_max = 6\n' >"$WORK/twice.cfg"
"$COLLECTOR" -n -f "$WORK/twice.cfg" >"$WORK/out" 2>&1 || true
grep -q 'twice.cfg:4: "collector/batch_max" given twice (first on line 2)' "$WORK/out" \
	&& echo "ok: a key given twice is refused at its second line" || fail "twice: $(cat "$WORK/out")"
printf 'collector\n    rules\n        mass_quorom = 1/2\n' >"$WORK/rules-typo.cfg"
"$COLLECTOR" -n -f "$WORK/rules-typo.cfg" >"$WORK/out" 2>&1 || true
grep -q 'rules-typo.cfg:3: collector/rules/mass_quorom: unknown key' "$WORK/out" \
	&& echo "ok: a misspelt rule is named with its line" || fail "rules typo: $(cat "$WORK/out")"
expect_eq "$(status "$WEB" -n -f "$TF_SRC/deploy/examples/web.cfg")" 0 "web -n on the example"
printf 'web\n    listen = "localhost"\n' >"$WORK/web-bad.cfg"
expect_eq "$(status "$WEB" -n -f "$WORK/web-bad.cfg")" 1 "web -n on a listen address without a port"
grep -q 'web-bad.cfg:2: web/listen: listen address "localhost" is not ADDRESS:PORT' "$WORK/out" \
	|| fail "web: no file:line for the listen address: $(cat "$WORK/out")"
printf 'web\n    listne = "127.0.0.1:1"\n' >"$WORK/web-typo.cfg"
expect_eq "$(status "$WEB" -n -f "$WORK/web-typo.cfg")" 1 "web -n on a misspelt key"
printf 'web\n    listen = "127.0.0.1:1"\n    feed = "tcp://127.0.0.1:7402,,tcp://10.0.0.2:7402"\n' >"$WORK/web-feed.cfg"
expect_eq "$(status "$WEB" -n -f "$WORK/web-feed.cfg")" 1 "web -n on a feed list with an empty endpoint"
grep -q 'web-feed.cfg:3: web/feed: feed: an empty endpoint in' "$WORK/out" \
	|| fail "web: no file:line for the feed: $(cat "$WORK/out")"
expect_eq "$(status "$WEB" -n -F 'tcp://nowhere')" 1 "web -n on a feed endpoint without a port"
grep -q 'feed: "tcp://nowhere" is no endpoint to connect to: Invalid argument' "$WORK/out" \
	|| fail "web -F: $(cat "$WORK/out")"
expect_eq "$(status "$WEB" -n -F off)" 0 "web -n with the feed off"
expect_eq "$(status "$WEB" extra)" 2 "web with a stray argument"
expect_eq "$(status "$WEB" -C "$WORK/no-such-dir" -l 127.0.0.1:0)" 1 "web with a certificate directory that is not there"

say "migrations: built into tallyfeed, or read from --sql-dir"
setup_db        # migrates with the built-in ones
expect_eq "$(sql "SELECT string_agg(name, ' ' ORDER BY version) FROM tallyfeed.schema_migration")" \
	"$(cd "$TF_SRC/deploy/sql" && echo *.sql)" "the built-in migrations are deploy/sql's, in order"
expect_eq "$("$CONSOLE" db migrate | head -1)" "database is at migration $(ls "$TF_SRC/deploy/sql" | tail -1 | cut -c1-4) (0 applied now)" \
	"migrating again applies nothing"
mkdir -p "$WORK/sql"
cp "$TF_SRC"/deploy/sql/*.sql "$WORK/sql/"
printf 'CREATE TABLE tallyfeed.cli_probe (x int);\n' >"$WORK/sql/9000_cli_probe.sql"
expect_eq "$("$CONSOLE" db migrate --sql-dir "$WORK/sql" | head -1)" "applied 9000_cli_probe.sql" \
	"--sql-dir: a migration of the directory's own applied"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.cli_probe")" 0 "--sql-dir: its table is there"
printf 'SELECT 1;\n' >"$WORK/sql/9000_again.sql"
expect_eq "$(status "$CONSOLE" db migrate --sql-dir "$WORK/sql")" 1 "--sql-dir: two numbered alike"
grep -q 'two migrations numbered 9000' "$WORK/out" || fail "two numbered alike: $(cat "$WORK/out")"
rm "$WORK/sql/9000_again.sql"
printf 'SELECT 1;\n' >"$WORK/sql/9001-Bad.sql"
expect_eq "$(status "$CONSOLE" db migrate --sql-dir "$WORK/sql")" 1 "--sql-dir: a misnamed migration"
grep -q '9001-Bad.sql: not a migration name' "$WORK/out" || fail "misnamed: $(cat "$WORK/out")"
expect_eq "$(status "$CONSOLE" db migrate --sql-dir "$WORK/no-such-dir")" 1 "--sql-dir: no such directory"

say "a result file with a mistake names the field"
sed 's/"took_part": 1003/"took_part": -5/' "$TF_SRC/deploy/examples/villagers.json" >"$WORK/neg.json"
expect_eq "$(status "$AGENT" -s "$WORK/s" -i x -k "$KEYS/x.cert_secret" submit "$WORK/neg.json")" 1 \
	"agent on a negative count"
grep -q 'electorate.took_part: must not be negative' "$WORK/out" || fail "message: $(cat "$WORK/out")"
finish
