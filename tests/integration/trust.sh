#!/usr/bin/env bash
# Trust: only enrolled agents connect; each speaks only for itself and its
# own township; revoking an agent takes effect without a restart; the
# collector runs as the least-privileged writer role, which cannot change
# the log; and `tallyfeed verify` finds every row edited, deleted or
# inserted behind the collector's back.
. "$(dirname "$0")/lib.sh"

ex=$TF_SRC/deploy/examples
setup_db
# What db migrate prints of the schema, kept here as an outsider would.
schema_digest=$("$CONSOLE" db migrate | sed -n 's/^schema digest \([0-9a-f]\{64\}\) .*/\1/p')
expect_eq "${#schema_digest}" 64 "db migrate prints the schema's digest"
createdb "${TEST_DB}_2"
other_digest=$(PGDATABASE=${TEST_DB}_2 "$CONSOLE" db migrate | sed -n 's/^schema digest \([0-9a-f]\{64\}\) .*/\1/p')
dropdb "${TEST_DB}_2"
expect_eq "$other_digest" "$schema_digest" "another database, migrated alike, digests alike"
enrol qiaotou 630121100000      # 桥头镇
enrol chengguan 630121101000    # 城关镇, the next township

say "every function of the schema resolves names with pg_catalog first (0008), those of later migrations too"
expect_eq "$(sql "SELECT string_agg(p.oid::regprocedure::text, ' ' ORDER BY 1) FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'tallyfeed' AND p.prosecdef
                    AND NOT coalesce('search_path=pg_catalog, tallyfeed, pg_temp' = ANY (p.proconfig), false)")" "" \
	"SECURITY DEFINER functions without search_path = pg_catalog, tallyfeed, pg_temp"
expect_eq "$(sql "SELECT string_agg(p.oid::regprocedure::text, ' ' ORDER BY 1) FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'tallyfeed'
                    AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                                WHERE c LIKE 'search_path=%' AND c NOT LIKE 'search_path=pg_catalog,%')")" "" \
	"functions whose search_path does not start with pg_catalog"

say "database roles: the collector writes as tallyfeed_writer"
writer=tf_writer_$$
reader=tf_reader_$$
sql "CREATE ROLE $writer LOGIN IN ROLE tallyfeed_writer; CREATE ROLE $reader LOGIN IN ROLE tallyfeed_reader"
drop_roles() {
	local rc=$?
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $writer; DROP ROLE IF EXISTS $reader" >/dev/null 2>&1 || true
	(exit $rc)
	cleanup
}
trap drop_roles EXIT
start_collector -d "dbname=$TEST_DB user=$writer"
status_of() { "$@" >/dev/null 2>&1 && echo 0 || echo $?; }
counts() { sql "SELECT (SELECT count(*) FROM tallyfeed.message) || '/' || (SELECT count(*) FROM tallyfeed.quarantine) || '/' || (SELECT count(*) FROM tallyfeed.agent_status)"; }

say "an enrolled agent's signed results are stored"
start_agent qiaotou 630121100000
out=$(agent -f "$WORK/qiaotou.cfg" submit --wait 60 "$ex/villagers.json" "$ex/residents.json" "$ex/party_branch.json")
echo "$out"
expect_eq "$(echo "$out" | grep -c ': ACCEPTED$')" 3 "results accepted"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.message WHERE length(signature) = 64 AND agent_id = 'qiaotou'")" 3 \
	"stored with their 64-byte signatures"

say "a report for another township's unit is rejected and quarantined"
sed 's/"unit": "630121100201"/"unit": "630121101001"/; s/"committee": "villagers"/"committee": "residents"/' \
	"$ex/villagers.json" >"$WORK/other-township.json"
out=$(TF_SEND_AS=qiaotou "$SEND" "$EP" report "$WORK/other-township.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED OUTSIDE_TOWNSHIP" "unit of another township"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'OUTSIDE_TOWNSHIP' AND length(raw) > 0")" 1 \
	"kept in quarantine with its raw bytes"

say "outsiders are refused at the door; nothing of theirs is stored"
# The agent's own heartbeat went before its results (a link's first
# message), so its state is stored and the counts below stand still.
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.agent_status WHERE agent_id = 'qiaotou'")" 1 \
	"the agent's heartbeat stored before its results were answered"
stop_agents
before=$(counts)
out=$(TF_SEND_AS=plain "$SEND" "$EP" report "$ex/villagers.json" || true); echo "$out"
expect_eq "$out" "NO-ANSWER" "a plain-text client"
mkdir -p "$WORK/stranger"
"$CONSOLE" keygen --agent stranger --township 630121100000 --out "$WORK/stranger" >/dev/null
out=$(TF_KEY=$WORK/stranger/stranger.cert_secret TF_SERVER_CERT=$COLLECTOR_CERT "$SEND_BIN" "$EP" report "$ex/villagers.json" || true); echo "$out"
expect_eq "$out" "NO-ANSWER" "a client whose key is not enrolled"
grep -q "refused a connection on .*: HANDSHAKE_FAILED_" "$WORK/collector.log" \
	&& echo "ok: the plain-text client's refusal is logged" || fail "no log line for the plain-text client"
grep -q "refused a connection on .*CURVE key is not enrolled (ZAP status 400)" "$WORK/collector.log" \
	&& echo "ok: the unknown key's refusal is logged" || fail "no log line for the unknown key"
out=$(TF_SEND_AS=chengguan "$SEND" "$EP" heartbeat qiaotou 0 0); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED AGENT_MISMATCH" "an enrolled key speaking as another agent"
expect_eq "$(counts)" "$before" "nothing stored for any of them (messages/quarantined/agents)"
grep -q "refused message .* from agent chengguan: AGENT_MISMATCH" "$WORK/collector.log" \
	&& echo "ok: the refusal is logged" || fail "no log line for the AGENT_MISMATCH refusal"

say "revoking an agent: remove its certificate, SIGHUP, no restart"
start_agent chengguan 630121101000
for _ in $(seq 1 50); do
	[ "$(sql "SELECT count(*) FROM tallyfeed.agent_status WHERE agent_id = 'chengguan'")" = 1 ] && break
	sleep 0.2
done
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.agent_status WHERE agent_id = 'chengguan'")" 1 "chengguan connected"
rm "$CERTS/chengguan.cert"
reload_collector
sed 's/"unit": "630121100201"/"unit": "630121101001"/; s/"committee": "villagers"/"committee": "residents"/' \
	"$ex/villagers.json" >"$WORK/chengguan.json"
out=$(agent -f "$WORK/chengguan.cfg" submit --wait 3 "$WORK/chengguan.json" || true); echo "$out"
expect_eq "$(echo "$out" | grep -c 'UNANSWERED')" 1 "the revoked agent's open connection is not heard"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code = '630121101001'")" 0 "nothing of it stored"
grep -q "is not enrolled (revoked?)" "$WORK/collector.log" && echo "ok: the refusal is logged" \
	|| fail "no log line for the revoked agent"
out=$(TF_SEND_AS=chengguan "$SEND" "$EP" report "$WORK/chengguan.json" || true); echo "$out"
expect_eq "$out" "NO-ANSWER" "a new connection with the revoked key"
stop_agents

say "an unsound certificate directory on SIGHUP keeps the certificates in force"
echo "not a certificate" >"$CERTS/broken.cert"
reload_collector
grep -q "keeping the .* certificates in force" "$WORK/collector.log" && echo "ok: old certificates kept" \
	|| fail "no 'keeping' line after a bad reload"
out=$(TF_SEND_AS=qiaotou "$SEND" "$EP" heartbeat qiaotou 0 0); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "qiaotou still admitted"
rm "$CERTS/broken.cert"

say "the writer role cannot change the log; the reader cannot write"
as_writer() { psql -X -Atq -U "$writer" -c "$1" 2>&1 || true; }
as_reader() { psql -X -Atq -U "$reader" -c "$1" 2>&1 || true; }
for stmt in "UPDATE tallyfeed.result SET took_part = 0" "DELETE FROM tallyfeed.message" \
	"DELETE FROM tallyfeed.quarantine" "TRUNCATE tallyfeed.candidate"; do
	case $(as_writer "$stmt") in
	*"permission denied"*) echo "ok: writer refused: $stmt" ;;
	*) fail "writer was allowed: $stmt" ;;
	esac
done
case $(as_reader "INSERT INTO tallyfeed.agent_status VALUES ('x', now(), 0, 0, 0, 'x', 0)") in
*"permission denied"*) echo "ok: reader refused an INSERT" ;;
*) fail "reader could INSERT" ;;
esac
expect_eq "$(as_reader "SELECT count(*) FROM tallyfeed.result")" 3 "reader reads"
case $(sql "UPDATE tallyfeed.result SET took_part = 0" 2>&1 || true) in
*"append-only"*) echo "ok: even the owner's UPDATE is refused by the trigger" ;;
*) fail "an UPDATE of the log went through" ;;
esac

say "protocol 2: a payload re-wrapped in a new envelope, carried by tallyfeed import, is refused"
sed 's/"unit": "630121100201"/"unit": "630121100205"/' "$ex/villagers.json" >"$WORK/unit205.json"
agent -f "$WORK/qiaotou.cfg" submit "$WORK/unit205.json" >/dev/null
agent -f "$WORK/qiaotou.cfg" export --to "$WORK/q.bundle"
"$SEND_BIN" rewrap "$WORK/q.bundle" "$WORK/rewrapped.bundle"
import() { "$CONSOLE" import -c "$EP" -k "$KEYS/importer.cert_secret" -K "$COLLECTOR_CERT" "$1" 2>&1; }
before=$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'BAD_SIGNATURE'")
out=$(import "$WORK/rewrapped.bundle") && rc=0 || rc=$?
echo "$out"
expect_eq "$rc" 1 "import's exit status"
expect_eq "$(echo "$out" | grep -c 'REJECTED: BAD_SIGNATURE')" 1 "the re-wrapped envelope: REJECTED BAD_SIGNATURE"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.quarantine WHERE reason_name = 'BAD_SIGNATURE' AND length(raw) > 0")" \
	"$((before + 1))" "kept in quarantine with its bytes"
expect_eq "$(sql "SELECT count(*) FROM tallyfeed.result WHERE unit_code = '630121100205'")" 0 "nothing of it stored"
out=$(import "$WORK/q.bundle"); echo "$out"
expect_eq "$(echo "$out" | grep -c ': 1 accepted,')" 1 "the agent's own envelope, as exported, is accepted"

say "heartbeats carry their signed time: an older one replayed changes nothing"
out=$(TF_SEND_SAVE=$WORK/hb-old.bin TF_SEND_AS=qiaotou "$SEND" "$EP" heartbeat qiaotou 7 70); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "a heartbeat (spool depth 7)"
# Sent once the first has been answered, so created later.
out=$(TF_SEND_AS=qiaotou "$SEND" "$EP" heartbeat qiaotou 3 30); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "a newer heartbeat (spool depth 3)"
hb_status() { sql "SELECT spool_depth || ' ' || last_seen FROM tallyfeed.agent_status WHERE agent_id = 'qiaotou'"; }
hb_before=$(hb_status)
for as in qiaotou importer; do
	out=$(TF_SEND_AS=$as "$SEND" "$EP" raw "$WORK/hb-old.bin"); echo "$out"
	expect_eq "$(echo "$out" | cut -d' ' -f1)" DUPLICATE "the older one again, sent by $as: not applied"
	expect_eq "$(hb_status)" "$hb_before" "status unchanged (spool depth and last seen)"
done
expect_eq "$(hb_status | cut -d' ' -f1)" 3 "the newest heartbeat's spool depth stands"
# A clock an hour fast: applied, but kept as at most 5 minutes ahead, so
# the agent is heard again within 5 minutes of its clock being set right.
out=$(TF_SEND_AHEAD_MS=3600000 TF_SEND_AS=qiaotou "$SEND" "$EP" heartbeat qiaotou 9 90); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "a heartbeat dated an hour ahead"
expect_eq "$(sql "SELECT spool_depth || ' ' || (heartbeat_created_at <= now() + interval '5 minutes') FROM tallyfeed.agent_status WHERE agent_id = 'qiaotou'")" \
	"9 true" "applied, its time kept at most 5 minutes ahead"

say "two more revisions: the newest links of the chain"
for rev in 2 3; do
	sed "s/\"revision\": 1/\"revision\": $rev/" "$ex/villagers.json" >"$WORK/rev$rev.json"
	out=$(TF_SEND_AS=qiaotou "$SEND" "$EP" report "$WORK/rev$rev.json"); echo "$out"
	expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "revision $rev"
done

say "a copy of another unit's result is accepted, and flagged"
sed 's/"unit": "630121100201"/"unit": "630121100202"/' "$ex/villagers.json" >"$WORK/copy.json"
out=$(TF_SEND_AS=qiaotou "$SEND" "$EP" report "$WORK/copy.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "the copy"
flags=$("$CONSOLE" flags --under 630121100202 --format csv | tail -1); echo "$flags"
case $flags in
*photo_reused*identical_figures* | *identical_figures*photo_reused*) echo "ok: flagged photo_reused and identical_figures" ;;
*) fail "the copy is not flagged: $flags" ;;
esac

say "tallyfeed unit: every revision, who sent it, its signature checked"
out=$("$CONSOLE" unit 630121100201 --certs "$CERTS" --format csv); echo "$out"
expect_eq "$(echo "$out" | grep -c '^villagers,1,')" 3 "the villagers' three revisions"
expect_eq "$(echo "$out" | grep '^villagers,1,' | cut -d, -f3,4 | tr '\n' ' ')" "1,f 2,f 3,t " \
	"only the latest revision counts"
expect_eq "$(echo "$out" | tail -n +2 | grep -c ',qiaotou,.*,verified,collector,')" 4 \
	"each sent by qiaotou, each signature verified"
expect_eq "$("$CONSOLE" unit 630121100201 --format csv | grep -c 'not checked')" 4 \
	"without certificates: reported, not checked"
expect_eq "$(status_of "$CONSOLE" unit 630121199999)" 2 "an unknown unit"

say "protocol 1 (only the payload signed): refused, unless the collector is told to take it"
sed 's/"unit": "630121100201"/"unit": "630121100206"/' "$ex/villagers.json" >"$WORK/unit206.json"
out=$(TF_SEND_PROTOCOL=1 TF_SEND_AS=qiaotou "$SEND" "$EP" report "$WORK/unit206.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1,2)" "REJECTED UNSUPPORTED_VERSION" "protocol 1 by default"
stop_collector
printf 'collector\n    accept_protocol_1 = 1\n' >"$WORK/v1.cfg"
start_collector -d "dbname=$TEST_DB user=$writer" -f "$WORK/v1.cfg"
out=$(TF_SEND_PROTOCOL=1 TF_SEND_AS=qiaotou "$SEND" "$EP" report "$WORK/unit206.json"); echo "$out"
expect_eq "$(echo "$out" | cut -d' ' -f1)" ACCEPTED "protocol 1 with accept_protocol_1 = 1"
v1_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE unit_code = '630121100206'")

say "verify: everything stored is sound, and it says which protocol it checked"
stop_collector
vout=$("$CONSOLE" verify --certs "$KEYS" 2>&1) && vrc=0 || vrc=$?
echo "$vout"
expect_eq "$vrc" 0 "verify exit status on an untouched database"
echo "$vout" | grep -q "all sound" || fail "verify does not say all sound"
expect_eq "$(echo "$vout" | grep -c "^message $v1_id: protocol 1: only the payload is signed")" 1 \
	"the protocol 1 message named"
expect_eq "$(echo "$vout" | grep -o '[0-9]* protocol 2, whole envelope signed; [0-9]* protocol 1' | sed 's/ protocol 2.*; / /; s/ protocol 1//')" \
	"$(( $(sql 'SELECT count(*) FROM tallyfeed.message') - 1 )) 1" "every other message checked as protocol 2"

say "signed chain heads, kept elsewhere, catch a chain the superuser rewrote"
expect_eq "$(sql "SELECT count(*) > 0 FROM tallyfeed.signed_head")" t "the collector signed its heads into signed_head"
grep -q "chain collector head: link [0-9]* row_hash [0-9a-f]\{64\} signed_ms [0-9]* by collector signature [0-9a-f]\{128\}" \
	"$WORK/collector.log" && echo "ok: and logged one" || fail "no signed head in the collector's log"
"$CONSOLE" heads --all --out "$WORK/heads.tsv"
expect_eq "$(grep -vc '^#' "$WORK/heads.tsv")" "$(sql "SELECT count(*) FROM tallyfeed.signed_head")" "tallyfeed heads --all writes each"
expect_eq "$("$CONSOLE" heads | grep -vc '^#')" 1 "tallyfeed heads: the newest of the one chain"
verify_heads() { "$CONSOLE" verify --certs "$KEYS" --collector-cert "$KEYS/collector.cert" --heads "$1" 2>&1; }
hout=$(verify_heads "$WORK/heads.tsv") && hrc=0 || hrc=$?
echo "$hout" | tail -1
expect_eq "$hrc" 0 "verify --heads on the untouched database"
# A copy of the database, rewritten by its superuser: villagers revision 3
# taken out (revision 2 counts again), every later link renumbered and
# rehashed, the head moved, the signed heads deleted.
rewrite_db=tf_rewrite_$$
createdb -T "$TEST_DB" "$rewrite_db"
rev3_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE unit_code = '630121100201' AND committee = 'villagers' AND revision = 3")
rev3_link=$(sql "SELECT link FROM tallyfeed.message WHERE message_id = decode('$rev3_id', 'hex')")
PGDATABASE=$rewrite_db psql -X -v ON_ERROR_STOP=1 -q <<SQL
SET session_replication_role = replica;
DELETE FROM tallyfeed.candidate WHERE message_id = decode('$rev3_id', 'hex');
DELETE FROM tallyfeed.result WHERE message_id = decode('$rev3_id', 'hex');
DELETE FROM tallyfeed.message WHERE message_id = decode('$rev3_id', 'hex');
DELETE FROM tallyfeed.signed_head;
DO \$\$
DECLARE
    r record;
    prev bytea := decode(repeat('00', 32), 'hex');
    n bigint := 0;
BEGIN
    FOR r IN SELECT 'M' AS kind, id, envelope_sha256 AS entry, received_at, 0 AS reason, link
             FROM tallyfeed.message
             UNION ALL
             SELECT 'Q', id, raw_sha256, received_at, reason, link FROM tallyfeed.quarantine
             ORDER BY link LOOP
        n := n + 1;
        prev := sha256('tallyfeed-chain-1'::bytea || prev || int8send(n) || convert_to(r.kind, 'UTF8')
                       || r.entry || int8send((extract(epoch FROM r.received_at) * 1000)::bigint)
                       || int4send(r.reason));
        IF r.kind = 'M' THEN
            UPDATE tallyfeed.message SET link = n, row_hash = prev WHERE id = r.id;
        ELSE
            UPDATE tallyfeed.quarantine SET link = n, row_hash = prev WHERE id = r.id;
        END IF;
    END LOOP;
    UPDATE tallyfeed.chain_head SET link = n, row_hash = prev;
END
\$\$;
SQL
echo "without the kept heads: $(PGDATABASE=$rewrite_db "$CONSOLE" verify --certs "$KEYS" 2>&1 | tail -1)"
rout=$(PGDATABASE=$rewrite_db verify_heads "$WORK/heads.tsv") && rrc=0 || rrc=$?
echo "$rout"
expect_eq "$rrc" 1 "verify --heads on the rewritten copy"
named=$(echo "$rout" | sed -n 's/^chain collector: link \([0-9]*\) is not what collector signed .*rewritten at or before link.*/\1/p' | head -1)
if [ -n "$named" ] && [ "$named" -ge "$rev3_link" ]; then
	echo "ok: verify names the first signed head past the rewrite (link $named; revision 3 was link $rev3_link)"
else
	fail "verify --heads does not name the rewrite (revision 3 was link $rev3_link): $named"
fi
# The same copy's chain renamed away: the kept heads' chain is gone.
PGDATABASE=$rewrite_db psql -X -v ON_ERROR_STOP=1 -q -c "SET session_replication_role = replica;
	UPDATE tallyfeed.message SET chain = 'renamed'; UPDATE tallyfeed.quarantine SET chain = 'renamed';
	UPDATE tallyfeed.chain_head SET chain = 'renamed'"
rout=$(PGDATABASE=$rewrite_db verify_heads "$WORK/heads.tsv") && rrc=0 || rrc=$?
expect_eq "$rrc" 1 "verify --heads on a copy whose chain was renamed"
echo "$rout" | grep -q "^chain collector: collector signed its head at link [0-9]* (.*heads.tsv:2), and the database has no such chain: removed" \
	&& echo "ok: the vanished chain is named" || fail "the vanished chain was not named: $rout"
dropdb "$rewrite_db"
# A kept head altered after the fact is not taken on trust.
# Line 2 (the first head): the first digit of its row_hash changed.
awk -F'\t' 'BEGIN { OFS = "\t" } NR == 2 { $3 = (substr($3, 1, 1) == "0" ? "1" : "0") substr($3, 2) } { print }' \
	"$WORK/heads.tsv" >"$WORK/heads-forged.tsv"
hout=$(verify_heads "$WORK/heads-forged.tsv") && hrc=0 || hrc=$?
expect_eq "$hrc" 1 "verify --heads with a forged head"
echo "$hout" | grep -q "heads-forged.tsv:2: the head of chain collector at link [0-9]*: its signature does not verify" \
	&& echo "ok: the forged head is named" || fail "the forged head was not named: $hout"

say "tampering behind the collector's back: verify finds each change"
# As the superuser, with triggers and foreign keys switched off: what a
# database administrator, or an attacker holding that role, could do.
tamper() { psql -X -v ON_ERROR_STOP=1 -q -c "SET session_replication_role = replica; $1"; }
villagers_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE committee = 'villagers' AND revision = 1 AND unit_code = '630121100201'")
residents_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE committee = 'residents'")
party_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE committee = 'party_branch'")
tamper "UPDATE tallyfeed.result SET took_part = took_part + 40 WHERE message_id = decode('$villagers_id', 'hex')"
tamper "UPDATE tallyfeed.candidate SET votes_for = votes_for + 5 WHERE message_id = decode('$residents_id', 'hex') AND ordinal = 2"
tamper "DELETE FROM tallyfeed.candidate WHERE message_id = decode('$party_id', 'hex') AND ordinal = 1"
# A result nobody sent: a copy of the villagers' row under a new message id.
tamper "INSERT INTO tallyfeed.result SELECT decode('00112233445566778899aabbccddeeff', 'hex'), '630121100203', committee, round, revision, held_on, registered, excused, took_part, proxy_votes, ballots_issued, ballots_returned, ballots_valid, ballots_invalid, ballot_mode, seats_head, seats_deputy, seats_member, seats_filled, election_valid, warnings, sheet_photo_sha256, announced_on_site FROM tallyfeed.result WHERE message_id = decode('$villagers_id', 'hex')"
# The quarantined message: its row deleted from the middle of the chain.
tamper "DELETE FROM tallyfeed.quarantine WHERE reason_name = 'OUTSIDE_TOWNSHIP'"
# A message row whose envelope was swapped for another's bytes.
tamper "UPDATE tallyfeed.message SET envelope = (SELECT envelope FROM tallyfeed.message WHERE message_id = decode('$party_id', 'hex')) WHERE message_id = decode('$residents_id', 'hex')"
# The chain's newest link deleted, as if the last thing received never came.
tamper "DELETE FROM tallyfeed.message WHERE link = (SELECT max(link) FROM tallyfeed.message)"
# The columns the collector derives, which drive totals, runoffs and flags.
rev2_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE unit_code = '630121100201' AND committee = 'villagers' AND revision = 2")
rev3_id=$(sql "SELECT encode(message_id, 'hex') FROM tallyfeed.result WHERE unit_code = '630121100201' AND committee = 'villagers' AND revision = 3")
tamper "UPDATE tallyfeed.result SET election_valid = NOT election_valid WHERE message_id = decode('$rev2_id', 'hex')"
tamper "UPDATE tallyfeed.result SET warnings = warnings || '{full_turnout}'::text[] WHERE message_id = decode('$rev3_id', 'hex')"
# A unit moved to another township (its check constraint dropped first):
# its results now count there.
unit_check=$(sql "SELECT conname FROM pg_constraint WHERE conrelid = 'tallyfeed.unit'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%township_code%'")
tamper "ALTER TABLE tallyfeed.unit DROP CONSTRAINT $unit_check; UPDATE tallyfeed.unit SET township_code = '630121101000' WHERE code = '630121100205'"
# result_current redefined to count the lowest revision, not the highest.
tamper "CREATE OR REPLACE VIEW tallyfeed.result_current AS SELECT DISTINCT ON (unit_code, committee, round) * FROM tallyfeed.result ORDER BY unit_code, committee, round, revision"
vout=$("$CONSOLE" verify --certs "$KEYS" --registry "$REGISTRY" --schema-digest "$schema_digest" 2>&1) && vrc=0 || vrc=$?
echo "$vout"
expect_eq "$vrc" 1 "verify exit status after tampering"
check_found() {
	if echo "$vout" | grep -q -- "$1"; then echo "ok: verify found: $2"; else fail "verify missed: $2"; fi
}
check_found "message $villagers_id: the result row differs from the signed envelope in took_part" "an edited result"
check_found "message $residents_id: the candidate rows differ" "an edited candidate's votes"
check_found "message $party_id: the candidate rows differ" "a deleted candidate row"
check_found "result row for message 00112233445566778899aabbccddeeff has no stored envelope: inserted" "an inserted result"
check_found "link [0-9]* is missing: a row was deleted" "a deleted quarantine row"
check_found "message $residents_id: the stored envelope does not match its SHA-256" "a swapped envelope"
check_found "missing at the end" "the newest link deleted"
check_found "message $rev2_id: election_valid is" "an election's validity edited"
check_found "message $rev3_id: the W flags are {[a-z_,]*full_turnout}; the signed report and what was stored before it give {[a-z_,]*}$" \
	"a W flag added"
check_found "unit 630121100205: the database puts it in township 630121101000 .*; the registry .*, in 630121100000" \
	"a unit moved to another township (against the registry given)"
check_found "the schema's views, functions, triggers or constraints are not what the migrations made: digest [0-9a-f]*, recorded by db migrate (migration [0-9]*, .*) $schema_digest" \
	"result_current redefined (against the digest db migrate recorded)"
check_found "the schema's views, functions, triggers or constraints are not those of the digest given: [0-9a-f]*, not $schema_digest" \
	"result_current redefined (against the digest kept elsewhere)"
vout=$("$CONSOLE" verify --certs "$KEYS" 2>&1) && vrc=0 || vrc=$?
check_found "the database's registry does not hold together" "without --registry: the database's own registry no longer holds together"
finish
