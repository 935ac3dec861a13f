#!/bin/sh
# make bench: runs every benchmark under tests/bench and prints its figures.
# Benchmarks print figures; they assert nothing (timing is not a test).
# usage: tests/bench/run-bench.sh BUILD_DIR [pattern]
B=${1:-build-test}
pat=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$top/$B ;; esac
export SCEN_BUILD=$B SCEN_TOP=$top
for t in "$top"/tests/bench/bench_*.sh; do
	[ -f "$t" ] || continue
	case $t in *"$pat"*) ;; *) continue ;; esac
	# the day simulation takes minutes: make bench-day runs it
	[ -z "$pat" ] && case $t in *bench_day*) continue ;; esac
	echo "== $(basename "$t" .sh)"
	bash "$t" || echo "(benchmark $(basename "$t") failed)"
	echo
done
