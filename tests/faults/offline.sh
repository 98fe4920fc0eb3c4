#!/usr/bin/env bash
# A township offline for a long time: hundreds of results (three revisions
# of every result of two large townships) queue up while the collector is
# absent.  One township's are carried by hand (export, import twice); the
# other's wait in the spool.  When the collector returns everything is
# stored once, and each unit's revisions were stored in the order queued.
. "$(dirname "$0")/../integration/lib.sh"

carried=630106105000    # 湟中区, 46 units: exported and imported
waiting=630106100000    # 湟中区, 44 units: delivered when the link returns
setup_db

# The collector is "away": frozen before any agent connects, so no
# connection completes its handshake and no agent can send (agents send
# only on a completed connection).  Enrolled first: a frozen collector
# cannot take a reload.
enrol carried "$carried"
enrol waiting "$waiting"
start_collector
kill -STOP "$COLLECTOR_PID"
for rev in 1 2 3; do
	"$SIM" --registry "$REGISTRY" --under "${carried:0:9}000" --out "$WORK/c$rev" --seed 5 --revision $rev --quiet
	"$SIM" --registry "$REGISTRY" --under "$waiting" --out "$WORK/w$rev" --seed 5 --revision $rev --quiet
done
start_agent carried "$carried"
start_agent waiting "$waiting"
for rev in 1 2 3; do
	agent -f "$WORK/carried.cfg" submit "$WORK/c$rev/$carried"/*.json >/dev/null
	agent -f "$WORK/waiting.cfg" submit "$WORK/w$rev/$waiting"/*.json >/dev/null
done
n_carried=$(ls "$WORK"/c[123]/"$carried"/*.json | wc -l)
n_waiting=$(ls "$WORK"/w[123]/"$waiting"/*.json | wc -l)
say "queued with the collector away: $n_carried + $n_waiting results"
# Wait until the oldest has been waiting a second, so its age shows.
aged() { ! agent -f "$WORK/waiting.cfg" status | head -1 | grep -q 'oldest unanswered \(0 s\|-\)'; }
wait_for 20 aged || true
st=$(agent -f "$WORK/waiting.cfg" status | head -1)
echo "$st"
expect_eq "$(echo "$st" | cut -d, -f1)" "pending $n_waiting" "all queued, none answered"
case $st in *"oldest unanswered 0 s"*|*"oldest unanswered -"*) fail "oldest pending age not shown: $st" ;; *) echo "ok: oldest pending age shown" ;; esac

say "the carried township's messages go by hand"
out=$(agent -f "$WORK/carried.cfg" export --to "$WORK/usb.bundle"); echo "$out"
expect_eq "$out" "exported $n_carried unanswered messages to $WORK/usb.bundle" "export"
stop_agents
kill -CONT "$COLLECTOR_PID"     # back
out=$("$CONSOLE" import -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" "$WORK/usb.bundle"); echo "$out"
expect_eq "$(echo "$out" | tail -1 | cut -d: -f2)" " $n_carried accepted, 0 duplicate, 0 rejected, 0 unanswered" "first import"
out=$("$CONSOLE" import -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" "$WORK/usb.bundle"); echo "$out"
expect_eq "$(echo "$out" | tail -1 | cut -d: -f2)" " 0 accepted, $n_carried duplicate, 0 rejected, 0 unanswered" "second import"

say "the link returns: both agents deliver what they hold"
AGENT_PIDS=()
start_agent carried "$carried"
start_agent waiting "$waiting"
deadline=$((SECONDS + 120))
until agent -f "$WORK/waiting.cfg" status | grep -q '^pending 0, in flight 0,' \
   && agent -f "$WORK/carried.cfg" status | grep -q '^pending 0, in flight 0,'; do
	[ $SECONDS -lt $deadline ] || { fail "spools did not drain"; break; }
	sleep 0.5
done
agent -f "$WORK/carried.cfg" status | head -1
agent -f "$WORK/waiting.cfg" status | head -1
expect_eq "$(agent -f "$WORK/carried.cfg" status | head -1 | cut -d';' -f1)" \
	"pending 0, in flight 0, accepted $n_carried, rejected 0" "carried agent: all answered (DUPLICATE)"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code LIKE '${carried:0:9}%'")" "$n_carried" \
	"carried results stored once"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code LIKE '${waiting:0:9}%'")" "$n_waiting" \
	"waiting results stored once"
expect_eq "$(sql 'SELECT count(*) FROM tallyfeed.message') $(sql 'SELECT count(*) FROM tallyfeed.result')" \
	"$((n_carried + n_waiting)) $((n_carried + n_waiting))" "one message per result"

say "each unit's revisions arrived in the order they were queued"
expect_eq "$(sql "SELECT count(*) FROM (SELECT array_agg(r.revision ORDER BY m.id) AS revs
                  FROM tallyfeed.result r JOIN tallyfeed.message m USING (message_id)
                  WHERE r.unit_code LIKE '${waiting:0:9}%' GROUP BY r.unit_code, r.committee, r.round) x
                  WHERE revs = '{1,2,3}'")" \
	"$(sql "SELECT count(DISTINCT (unit_code, committee, round)) FROM tallyfeed.result WHERE unit_code LIKE '${waiting:0:9}%'")" \
	"units whose revisions were stored 1, 2, 3"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result_current WHERE revision <> 3")" 0 "only revision 3 counts"
stop_agents || fail "agents did not stop cleanly"
finish
