#!/usr/bin/env bash
# sim_determinism: the same seed and arguments give the same bytes, another
# seed gives other bytes, a unit's files do not depend on what else is
# simulated with it, and the manifest lists exactly the files written.
# usage: determinism.sh TALLYFEED-SIM REGISTRY-DIR
set -euo pipefail

sim=$1
registry=$2
county=630123000000             # 湟源县: 9 townships, 154 units
township=630123100000           # 城关镇, one of them
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "sim_determinism: $*" >&2
	exit 1
}

run() {
	"$sim" --registry "$registry" --quiet "$@"
}

run --under "$county" --seed 7 --out "$tmp/a"
run --under "$county" --seed 7 --out "$tmp/b"
diff -r "$tmp/a" "$tmp/b" >/dev/null || fail "seed 7 twice: outputs differ"

run --under "$county" --seed 8 --out "$tmp/c"
if diff -r "$tmp/a" "$tmp/c" >/dev/null; then
	fail "seeds 7 and 8: outputs are identical"
fi

# One manifest line per file written, and every line names a file that is there.
files=$(cd "$tmp/a" && find . -name '*.json' | sed 's|^\./||' | sort)
listed=$(tail -n +2 "$tmp/a/manifest.tsv" | cut -f1 | sort)
[ -n "$files" ] || fail "no files written"
[ "$files" = "$listed" ] || fail "manifest and files written differ"
[ "$(head -1 "$tmp/a/manifest.tsv")" = "$(printf 'path\tunit\tcommittee\tround\texpect\treason')" ] \
	|| fail "manifest header is wrong"
[ "$(tail -n +2 "$tmp/a/manifest.tsv" | wc -l)" -eq "$(echo "$files" | wc -l)" ] \
	|| fail "manifest line count differs from file count"
summary=$("$sim" --registry "$registry" --under "$county" --seed 7 --out "$tmp/d")
[ "$summary" = "sim: units=154 files=$(echo "$files" | wc -l) runoffs=$(echo "$files" | grep -c -- '-r2\.json$' || true) injected=0 seed=7 out=$tmp/d" ] \
	|| fail "summary line \"$summary\" does not match the files"

# A township alone, or one committee alone, gives the very same files.
run --under "$township" --seed 7 --out "$tmp/e"
diff -r "$tmp/e/$township" "$tmp/a/$township" >/dev/null \
	|| fail "township $township alone differs from within its county"
run --under "$county" --seed 7 --committees party_branch --out "$tmp/f"
for f in $(cd "$tmp/f" && find . -name '*.json'); do
	cmp -s "$tmp/f/$f" "$tmp/a/$f" || fail "$f differs when only party_branch is simulated"
done
if find "$tmp/f" -name '*-villagers-*' -o -name '*-residents-*' | grep -q .; then
	fail "--committees party_branch wrote mass committee files"
fi

# Arguments: a code not in the registry is an error (1), bad arguments are 2.
set +e
run --under 630123999000 --out "$tmp/g" 2>/dev/null; [ $? -eq 1 ] || fail "unknown code: want exit 1"
run --under 63012 --out "$tmp/g" 2>/dev/null; [ $? -eq 2 ] || fail "short code: want exit 2"
run --under "$county" --out "$tmp/g" --seed -1 2>/dev/null; [ $? -eq 2 ] || fail "--seed -1: want exit 2"
run --under "$county" --out "$tmp/g" --committees villagers,mayor 2>/dev/null
[ $? -eq 2 ] || fail "--committees mayor: want exit 2"
run --under "$county" 2>/dev/null; [ $? -eq 2 ] || fail "no --out: want exit 2"
"$sim" --registry "$tmp/nowhere" --under "$county" --out "$tmp/g" 2>/dev/null
[ $? -eq 1 ] || fail "missing registry: want exit 1"
set -e
[ ! -e "$tmp/g" ] || fail "a failed run left output behind"
echo "sim_determinism: ok"
