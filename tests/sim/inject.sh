#!/usr/bin/env bash
# sim_inject: every --inject kind at count 2 corrupts exactly two round-1
# reports, each listed as REJECTED with the reason that kind must produce.
# usage: inject.sh TALLYFEED-SIM REGISTRY-DIR
set -euo pipefail

sim=$1
registry=$2
county=630121000000             # 大通回族土族自治县: 20 townships, 313 units
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "sim_inject: $*" >&2
	exit 1
}

declare -A reason=(
	[ballot_sum]=BALLOT_SUM
	[returned_over_issued]=RETURNED_OVER_ISSUED
	[turnout_over_registered]=TURNOUT_OVER_REGISTERED
	[votes_over_valid]=VOTES_OVER_VALID
	[position_votes_over]=POSITION_VOTES_OVER
	[elected_mismatch]=ELECTED_MISMATCH
	[party_proxy]=PROXY_IN_PARTY
	[unknown_unit]=UNKNOWN_UNIT
	[committee_mismatch]=COMMITTEE_MISMATCH
	[unit_type_unknown]=UNIT_TYPE_UNKNOWN
	[malformed]=MALFORMED_FILE
)
args=()
for kind in "${!reason[@]}"; do
	args+=(--inject "$kind=2")
done

"$sim" --registry "$registry" --under "$county" --seed 3 --out "$tmp/out" --quiet "${args[@]}"
manifest=$tmp/out/manifest.tsv

rejected=$(awk -F'\t' 'NR > 1 && $5 == "REJECTED"' "$manifest")
[ "$(echo "$rejected" | wc -l)" -eq $((2 * ${#reason[@]})) ] \
	|| fail "want $((2 * ${#reason[@]})) REJECTED lines, got $(echo "$rejected" | wc -l)"
for kind in "${!reason[@]}"; do
	n=$(echo "$rejected" | awk -F'\t' -v r="${reason[$kind]}" '$6 == r' | wc -l)
	[ "$n" -eq 2 ] || fail "$kind: want 2 files with reason ${reason[$kind]}, got $n"
done
# A report is corrupted at most once, only round 1, and party_proxy only in a Party branch.
[ "$(echo "$rejected" | cut -f1 | sort -u | wc -l)" -eq $((2 * ${#reason[@]})) ] \
	|| fail "a file is listed as rejected twice"
echo "$rejected" | awk -F'\t' '$4 != 1 { exit 1 }' || fail "a runoff file was corrupted"
echo "$rejected" | awk -F'\t' '$6 == "PROXY_IN_PARTY" && $3 != "party_branch" { exit 1 }' \
	|| fail "party_proxy hit a mass committee"
# Everything else is accepted with no reason, and every listed file exists.
awk -F'\t' 'NR > 1 && $5 == "ACCEPTED" && $6 != "-" { exit 1 }' "$manifest" \
	|| fail "an accepted file has a reason"
awk -F'\t' 'NR > 1 && $5 != "ACCEPTED" && $5 != "REJECTED" { exit 1 }' "$manifest" \
	|| fail "expect is neither ACCEPTED nor REJECTED"
while IFS=$'\t' read -r path _; do
	[ -f "$tmp/out/$path" ] || fail "$path is listed but not written"
done < <(tail -n +2 "$manifest")

# Asking for too much, or for a kind that does not exist, is a usage error.
set +e
"$sim" --registry "$registry" --under "$county" --out "$tmp/x" --quiet --inject party_proxy=100000 2>/dev/null
[ $? -eq 2 ] || fail "too large a count: want exit 2"
"$sim" --registry "$registry" --under "$county" --out "$tmp/x" --quiet --inject no_such_kind=1 2>/dev/null
[ $? -eq 2 ] || fail "unknown kind: want exit 2"
"$sim" --registry "$registry" --under "$county" --out "$tmp/x" --quiet --inject ballot_sum 2>/dev/null
[ $? -eq 2 ] || fail "no count: want exit 2"
"$sim" --registry "$registry" --under "$county" --out "$tmp/x" --quiet --committees party_branch \
	--inject committee_mismatch=1 2>/dev/null
[ $? -eq 2 ] || fail "committee_mismatch with no mass committee: want exit 2"
set -e
[ ! -e "$tmp/x" ] || fail "a refused run left output behind"
echo "sim_inject: ok"
