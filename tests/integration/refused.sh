#!/usr/bin/env bash
# When the database refuses what the collector writes.  Two faults, each
# made by a trigger the test adds and then drops:
#   1. every transaction that stores more than one message fails with a
#      statement timeout (SQLSTATE 57014, a failure of the moment): the
#      batch is tried again, and after a few failures together its messages
#      are stored one at a time instead of the batch being tried for ever;
#   2. one unit's result is refused for its data (SQLSTATE 23514): that
#      message alone is answered DEFERRED (STORE_REFUSED), nothing of it
#      stored, the others are stored, and the refusal is counted; once the
#      trigger is gone the agent's resend is stored, once.
# Nothing is acknowledged that is not stored, and `tallyfeed verify` is
# clean at the end.
. "$(dirname "$0")/lib.sh"

TOWNSHIP=630121100000

setup_db
printf 'collector\n    batch_max = 16\n' >"$WORK/collector.cfg"
start_collector -f "$WORK/collector.cfg"
METRICS=$(cat "$WORK/metrics")
scrape() { curl -s --max-time 5 "${METRICS}metrics" >"$WORK/scrape"; }
metric() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/scrape"; }
stored() { sql "SELECT count(*) FROM tallyfeed.message WHERE payload_type = 1"; }
accepted_in_spool() {
	agent -f "$WORK/a1.cfg" status | grep -o 'accepted [0-9]*' | head -1 | cut -d' ' -f2
}

"$SIM" --registry "$REGISTRY" --under "$TOWNSHIP" --out "$WORK/sim" --seed 5 --quiet
ls "$WORK/sim/$TOWNSHIP"/*.json | sort >"$WORK/files"
total=$(wc -l <"$WORK/files")
# The refused unit: the first file's; its files wait for the second fault.
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
files = [l.strip() for l in open(work + "/files") if l.strip()]
results = [(f, json.load(open(f))) for f in files]
victim = results[0][1]["unit"]
with open(work + "/victim", "w") as o:
    o.write(victim + "\n")
with open(work + "/victim-files", "w") as v, open(work + "/first-files", "w") as r, \
        open(work + "/victim-round1", "w") as one:
    for f, j in results:
        (v if j["unit"] == victim else r).write(f + "\n")
        if j["unit"] == victim and j["round"] == 1:
            one.write(f + "\n")
PY
victim=$(cat "$WORK/victim")
first=$(wc -l <"$WORK/first-files")
victims=$(wc -l <"$WORK/victim-files")
victims_round1=$(wc -l <"$WORK/victim-round1")
[ "$first" -ge 4 ] && [ "$victims" -ge 1 ] || fail "the township has too few results ($first, $victims)"
say "$total results of $TOWNSHIP: $first first, then $victims of unit $victim"

mkdir -p "$WORK/inbox"
agent_config a1 "$TOWNSHIP" "    inbox = \"$WORK/inbox\"
"
${TF_WRAP:-} "$AGENT" -f "$WORK/a1.cfg" run >>"$WORK/agent-a1.log" 2>&1 &
AGENT_PIDS+=($!)
drop() {
	local f
	while read -r f; do
		cp "$f" "$WORK/inbox/.$(basename "$f").tmp"
		mv "$WORK/inbox/.$(basename "$f").tmp" "$WORK/inbox/$(basename "$f")"
	done <"$1"
}

say "fault 1: a transaction of more than one message times out"
sql "CREATE FUNCTION public.tf_test_one_at_a_time() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF (SELECT count(*) FROM stored) > 1 THEN
		RAISE EXCEPTION 'test: more than one message in a transaction'
			USING ERRCODE = 'query_canceled';
	END IF;
	RETURN NULL;
END \$\$;
CREATE TRIGGER tf_test_one_at_a_time AFTER INSERT ON tallyfeed.message
	REFERENCING NEW TABLE AS stored FOR EACH STATEMENT
	EXECUTE FUNCTION public.tf_test_one_at_a_time();"
drop "$WORK/first-files"
all_first() { [ "$(stored)" -ge "$first" ] && [ "$(accepted_in_spool)" -ge "$first" ]; }
wait_for 120 all_first || fail "fault 1: not every result was stored and acknowledged"
expect_eq "$(stored)" "$first" "fault 1: each result stored once"
expect_eq "$(sql "SELECT count(DISTINCT (unit_code, committee, round, revision)) FROM tallyfeed.result")" "$first" \
	"fault 1: one result row per message"
grep -q 'failed 3 times together (SQLSTATE 57014); storing them one at a time' "$WORK/collector.log" \
	&& echo "ok: fault 1: a batch failing together was split after 3 tries" \
	|| fail "fault 1: no batch was split (did one of more than one message ever go?)"
sql "DROP TRIGGER tf_test_one_at_a_time ON tallyfeed.message; DROP FUNCTION public.tf_test_one_at_a_time()"

say "fault 2: the database refuses one unit's result"
sql "CREATE FUNCTION public.tf_test_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.unit_code = '$victim' THEN
		RAISE EXCEPTION 'test: unit $victim refused' USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER tf_test_refuse BEFORE INSERT ON tallyfeed.result
	FOR EACH ROW EXECUTE FUNCTION public.tf_test_refuse();"
scrape
refused0=$(metric tallyfeed_collector_store_refused_total)
refused_counted() { scrape; [ "$(metric tallyfeed_collector_store_refused_total)" -ge $((refused0 + victims_round1)) ]; }
drop "$WORK/victim-files"
wait_for 60 refused_counted || fail "fault 2: the refusals were not counted"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code = '$victim'")" 0 \
	"fault 2: nothing of the refused unit is stored"
expect_eq "$(accepted_in_spool)" "$first" "fault 2: the agent holds no acceptance for what was refused"
grep -q "the database refused to store message [0-9a-f]* (SQLSTATE 23514): answered DEFERRED" "$WORK/collector.log" \
	&& echo "ok: fault 2: the refusal is in the log with its SQLSTATE" \
	|| fail "fault 2: the refusal is not in the log"
sql "DROP TRIGGER tf_test_refuse ON tallyfeed.result; DROP FUNCTION public.tf_test_refuse()"
all_stored() { [ "$(stored)" -ge "$total" ] && [ "$(accepted_in_spool)" -ge "$total" ]; }
wait_for 120 all_stored || fail "fault 2: the refused unit's results were not stored once the cause was gone"
expect_eq "$(stored)" "$total" "every result stored once"
expect_eq "$(accepted_in_spool)" "$total" "the agent heard ACCEPTED for each"

stop_agents
stop_collector || fail "the collector did not exit 0"
"$CONSOLE" verify --certs "$CERTS" >"$WORK/verify" 2>&1 && echo "ok: verify is clean" \
	|| { cat "$WORK/verify"; fail "verify found something"; }
finish
