# tests/bench/lib.sh: what the benchmark scripts share.  Sourced, not run.

# cpu_of PID...: the CPU seconds (user + system, every thread's) the
# processes have used so far; a process gone counts 0.
cpu_of() {
	local tck pid sum=0 t
	tck=$(getconf CLK_TCK)
	for pid in "$@"; do
		t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
		sum=$((sum + t))
	done
	awk -v s="$sum" -v t="$tck" 'BEGIN { printf "%.2f", s / t }'
}

# pg_cpu DATADIR: the CPU seconds PostgreSQL has used so far: the
# postmaster's, its children's that run (the backends, the WAL writer, the
# checkpointer...) and those of its children that have ended (a psql's
# backend), which the kernel adds to the postmaster's when it reaps them.
pg_cpu() {
	local pm tck reaped
	pm=$(head -1 "$1/postmaster.pid")
	tck=$(getconf CLK_TCK)
	reaped=$(awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$pm/stat")
	awk -v a="$(cpu_of "$pm" $(ps -o pid= --ppid "$pm"))" -v r="$reaped" -v t="$tck" \
		'BEGIN { printf "%.2f", a + r / t }'
}

# minus A B: A - B, to two places.
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }

# pg_config_bindir: the directory of the PostgreSQL server's programs
# (pgbench, pg_ctl), as deploy/pg-throwaway finds it.
pg_config_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return; }
	done
	echo "no PostgreSQL server found" >&2
	return 1
}

# bench_keys CONSOLE KEYS CERTS: one agent key per Qinghai township (each
# report is signed by its township's agent), an importer "load" that
# carries them all, and the collector's; the public certificates the
# collector admits in CERTS.  Run from the source tree.
bench_keys() {
	local console=$1 keys=$2 certs=$3 t
	mkdir -p "$keys" "$certs"
	chmod 700 "$keys"
	"$console" keygen --collector collector --out "$keys" >/dev/null
	"$console" keygen --importer load --out "$keys" >/dev/null
	cp "$keys/load.cert" "$certs/"
	for t in $(cut -d, -f1 deploy/registry/qinghai/townships.csv | grep '^[0-9]'); do
		"$console" keygen --agent "a$t" --township "$t" --out "$keys" >/dev/null
		cp "$keys/a$t.cert" "$certs/"
	done
}

# bench_empty_tables: every table a run writes (the log, the signed heads,
# the tallies and their marks), in the database the PG* environment names,
# so each run starts from the same empty tables.  The log is append-only
# (triggers): the superuser lifts that for the benchmark's own reset (the
# running collector's chain goes on from its last link; nothing here
# verifies it).  The tallies first, on their own: the collector's tallier
# reads the results while it holds them, and one TRUNCATE of all the
# tables deadlocked with it.
bench_empty_tables() {
	psql -XAtqc "TRUNCATE tallyfeed.tally_pending, tallyfeed.township_tally"
	psql -XAtqc "SET session_replication_role = replica; TRUNCATE tallyfeed.candidate, tallyfeed.result, tallyfeed.message, tallyfeed.quarantine, tallyfeed.chain_head, tallyfeed.signed_head; CHECKPOINT"
}

# median: of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
