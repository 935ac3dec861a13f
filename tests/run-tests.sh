#!/bin/sh
# Runs every test: the unit tests (cmocka, TAP output) and the end-to-end
# scripts (TAP output), and ends with "N passed, N failed".
# usage: tests/run-tests.sh BUILD_DIR [pattern]
B=${1:-build}
pat=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$top/$B ;; esac
export SCEN_BUILD=$B SCEN_TOP=$top SCEN_TEST_DATA=$top/tests/data
export CMOCKA_MESSAGE_OUTPUT=TAP
cd "$top" || exit 1
log=$(mktemp -d)
passed=0 failed=0 broken=""
run() {	# name command...
	name=$1
	shift
	out=$log/$(basename "$name").out
	start=$(date +%s)
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# a script that died counts as a failure
		echo "not ok - $name exited $rc" >>"$out"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	secs=$(($(date +%s) - start))
	if [ "$f" -gt 0 ]; then
		broken="$broken $name"
		echo "FAIL $name ($p passed, $f failed, ${secs}s)"
		grep -B3 -A12 '^not ok' "$out" | head -60 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed, ${secs}s)"
	fi
}
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	case $t in *"$pat"*) ;; *) continue ;; esac
	run "unit/$(basename "$t")" "$t"
done
for t in tests/e2e/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	case $t in *"$pat"*) ;; *) continue ;; esac
	run "$t" sh -c "exec bash '$t'"
done
rm -rf "$log"
[ -n "$broken" ] && echo "failing:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
