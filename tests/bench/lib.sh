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
