#!/bin/bash
# Runs every test and ends with "N passed, N failed": the unit tests
# (cmocka, TAP output) and the end-to-end scripts (TAP output), several
# scripts at a time.
#
# usage: tests/run-tests.sh [--sanitize SANBUILD] BUILD [pattern]
#   --sanitize SANBUILD  then run them all again on the sanitizer build, and
#                        replay the fuzz targets' corpora on it
#   pattern              only tests whose path contains it ("e2e", "unit",
#                        "long" for tests/long, or part of a name)
# SCEN_JOBS (default 3) scripts run at once; SCEN_VALGRIND=1 runs the unit
# tests and every command of the end-to-end tests under memcheck and judges
# the end-to-end runs by its reports (tests/lib/memcheck-errors) alone;
# SCEN_LONG=1 is set by make check-long.
san=""
if [ "${1:-}" = --sanitize ]; then
	san=$2
	shift 2
fi
B=${1:-build-test}
pat=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac; }
B=$(abs "$B")
[ -n "$san" ] && san=$(abs "$san")
export SCEN_TOP=$top SCEN_TEST_DATA=$top/tests/data CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$top" || exit 1
log=$(mktemp -d)
jobs=${SCEN_JOBS:-3}
passed=0 failed=0 broken=""

# judge NAME OUTFILE RC SECONDS: counts a finished test and prints its line
judge() {
	local name=$1 out=$2 rc=$3 secs=$4 p f
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# a test that died counts as a failure
		echo "not ok - $name exited $rc" >>"$out"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		broken="$broken $name"
		echo "FAIL $name ($p passed, $f failed, ${secs}s)"
		grep -B3 -A12 '^not ok' "$out" | head -60 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed, ${secs}s)"
		# the long tests' figures (lines "# ...") are worth reading
		case $name in *tests/long/*) grep '^# ' "$out" | cut -c1-2000 ;; esac
		# and under memcheck, how many runs it watched
		grep '^ok - memcheck clean' "$out" | sed 's/^ok - /     /'
	fi
}

# memcheck NAME OUTFILE VGDIR: one verdict from valgrind's reports
memcheck() {
	local bad
	bad=$(grep -lEf tests/lib/memcheck-errors "$3"/*.log 2>/dev/null)
	if [ -n "$bad" ]; then
		echo "not ok - memcheck: $1" >"$2"
		for f in $bad; do sed 's/^/# /' "$f" | head -40 >>"$2"; done
	else
		echo "ok - memcheck clean: $1 ($(ls "$3" | wc -l) runs)" >"$2"
	fi
}

# run_pass BUILD LABEL: every selected test against one build
run_pass() {
	local build=$1 label=$2 t name out start
	export SCEN_BUILD=$build
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		name="${label}unit/$(basename "$t")"
		case $name in *"$pat"*) ;; *) continue ;; esac
		out=$log/$(echo "$name" | tr / _).out
		start=$(date +%s)
		if [ -n "${SCEN_VALGRIND:-}" ]; then
			valgrind -q --leak-check=full --show-leak-kinds=definite \
				--errors-for-leak-kinds=definite --error-exitcode=99 \
				"$t" >"$out" 2>&1
		else
			"$t" >"$out" 2>&1
		fi
		judge "$name" "$out" $? $(($(date +%s) - start))
	done
	local dir=tests/e2e
	[ "$pat" = long ] && dir=tests/long
	local names=() pids=() starts=() i=0 n
	for t in $dir/t[0-9]*.sh; do
		[ -f "$t" ] || continue
		name="$label$t"
		case $name in *"$pat"*) ;; *) [ "$pat" = long ] || continue ;; esac
		out=$log/$(echo "$name" | tr / _).out
		(
			if [ -n "${SCEN_VALGRIND:-}" ]; then
				vg=$log/vg.$(basename "$t")
				mkdir -p "$vg"
				export SCEN_VALGRIND_DIR=$vg
				bash "$t" >"$out.tap" 2>&1
				memcheck "$name" "$out" "$vg"
				echo 0 >"$out.rc"
				exit 0
			fi
			# the status in a file: wait -n below may have taken it
			bash "$t" >"$out" 2>&1
			echo $? >"$out.rc"
		) &
		names[i]=$name pids[i]=$! starts[i]=$(date +%s)
		i=$((i + 1))
		# keep at most $jobs running; report in order as they finish
		while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n; done
	done
	for ((n = 0; n < i; n++)); do
		wait "${pids[n]}"
		out=$log/$(echo "${names[n]}" | tr / _).out
		judge "${names[n]}" "$out" "$(cat "$out.rc" 2>/dev/null || echo 1)" \
			$(($(date +%s) - starts[n]))
	done
}

run_pass "$B" ""
if [ -n "$san" ]; then
	run_pass "$san" "sanitize:"
	if [ -x tests/fuzz/run-fuzz.sh ]; then
		out=$log/fuzz.out
		start=$(date +%s)
		tests/fuzz/run-fuzz.sh "$san" 0 >"$out" 2>&1
		rc=$?
		[ $rc -eq 0 ] && echo "ok - fuzz corpora replay" >>"$out"
		judge "fuzz corpora replay" "$out" $rc $(($(date +%s) - start))
	fi
fi
rm -rf "$log"
[ -n "$broken" ] && echo "failing:$broken"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
