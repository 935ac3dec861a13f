#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c over the library
# sources) and runs each in turn; prints per target its executions,
# coverage and crashes, and exits non-zero when any target crashed.
# usage: tests/fuzz/run-fuzz.sh BUILD_DIR SECONDS
#   SECONDS > 0: fuzz each target that long, from a writable corpus in
#                BUILD_DIR/fuzz/corpus-NAME (seeded from tests/fuzz/corpus/NAME)
#   SECONDS = 0: only replay the seed corpora and tests/fuzz/regress/NAME
#                (quick, for make check)
# Environment: CLANG (default clang), FUZZ_TARGETS (default: all four),
# FUZZ_ARGS (more libFuzzer flags).
B=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS}
secs=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS}
case $secs in *[!0-9]*|'') echo "run-fuzz.sh: SECONDS must be a number" >&2
	exit 64 ;; esac
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$top/$B ;; esac
cd "$top" || exit 1
CLANG=${CLANG:-clang}
targets=${FUZZ_TARGETS:-request config completion ratelimit}
out=$B/fuzz
mkdir -p "$out/obj" || exit 1

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "run-fuzz.sh: $CLANG not found (apt-get install clang)" >&2
	exit 69
fi
pkgs="libcurl sqlite3 libpq yaml-0.1 libxxhash jansson"
pkgc=$(pkg-config --cflags $pkgs) || exit 69
pkgl=$(pkg-config --libs $pkgs) || exit 69
version=$(sed -n 's/^VERSION = //p' Makefile)
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=c17 -D_GNU_SOURCE -fno-omit-frame-pointer -Iinclude \
-DSCEN_VERSION=\"${version:-0}\" -Wall -Wextra -Wno-unused-parameter $pkgc"

# The maximum input length of each target.
max_len() {
	case $1 in
	request) echo 4096 ;;
	config) echo 16384 ;;
	completion) echo 16384 ;;
	ratelimit) echo 1024 ;;
	esac
}

# ---- Build: the library once (instrumented for coverage), then each
# target linked against it. An object is rebuilt when its source, a header
# or the flags are newer than it.
stamp=$out/obj/flags
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$CLANG $san $cflags" ]; then
	rm -f "$out"/obj/*.o
	echo "$CLANG $san $cflags" >"$stamp"
fi
newest_h=$(ls -t include/scen/*.h | head -1)
objs=""
for src in src/*.c; do
	o=$out/obj/$(basename "$src" .c).o
	objs="$objs $o"
	if [ -f "$o" ] && [ "$o" -nt "$src" ] && [ "$o" -nt "$newest_h" ] &&
	   [ "$o" -nt "$stamp" ]; then
		continue
	fi
	echo "CC   $src"
	# shellcheck disable=SC2086
	$CLANG $san -fsanitize=fuzzer-no-link $cflags -c -o "$o" "$src" ||
		exit 1
done
for t in $targets; do
	exe=$out/fuzz_$t
	src=tests/fuzz/fuzz_$t.c
	stale=0
	[ -f "$exe" ] || stale=1
	for dep in $src $objs; do
		[ "$dep" -nt "$exe" ] && stale=1
	done
	[ "$stale" -eq 0 ] && continue
	echo "LINK $exe"
	# shellcheck disable=SC2086
	$CLANG $san -fsanitize=fuzzer $cflags -Werror -o "$exe" "$src" $objs \
		$pkgl -lm || exit 1
done

# ---- Run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=""
printf '%-11s %12s %7s %7s %7s %8s  %s\n' target executions cov ft secs \
	crashes result
for t in $targets; do
	exe=$out/fuzz_$t
	log=$out/$t.log
	crashdir=$out/crashes-$t
	mkdir -p "$crashdir"
	dict=""
	[ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
	seeds=tests/fuzz/corpus/$t
	regress=""
	[ -d "tests/fuzz/regress/$t" ] && regress=tests/fuzz/regress/$t
	before=$(ls "$crashdir" | wc -l)
	start=$(date +%s)
	if [ "$secs" -eq 0 ]; then
		# every seed and regression input once, whole (no -max_len:
		# none is cut); nothing is written to the source tree (new
		# inputs would go to the first dir)
		scratch=$out/replay-$t
		rm -rf "$scratch"
		mkdir -p "$scratch"
		# shellcheck disable=SC2086
		"$exe" -runs=0 -timeout=25 \
			-artifact_prefix="$crashdir/" $FUZZ_ARGS \
			"$scratch" "$seeds" $regress >"$log" 2>&1
		rc=$?
	else
		corpus=$out/corpus-$t
		mkdir -p "$corpus"
		cp -n "$seeds"/* "$corpus"/ 2>/dev/null
		# shellcheck disable=SC2086
		"$exe" -max_total_time="$secs" -max_len="$(max_len "$t")" \
			-timeout=25 -print_final_stats=1 $dict \
			-artifact_prefix="$crashdir/" $FUZZ_ARGS \
			"$corpus" $regress >"$log" 2>&1
		rc=$?
	fi
	took=$(($(date +%s) - start))
	# the last status line: "#N <event> cov: C ft: F corp: ..."
	stat=$(grep -E '^#[0-9]+' "$log" | grep 'cov:' | tail -1)
	execs=$(echo "$stat" | sed -n 's/^#\([0-9]*\).*/\1/p')
	done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
	[ -n "$done_runs" ] && execs=$done_runs
	cov=$(echo "$stat" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$stat" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	crashes=$(($(ls "$crashdir" | wc -l) - before))
	result=ok
	if [ "$rc" -ne 0 ]; then
		[ "$crashes" -eq 0 ] && crashes=1
		result="FAILED (exit $rc): see $log"
		failed="$failed $t"
	fi
	printf '%-11s %12s %7s %7s %7s %8s  %s\n' "$t" "${execs:-?}" \
		"${cov:-?}" "${ft:-?}" "$took" "$crashes" "$result"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR|runtime error|invariant broken|SUMMARY|Test unit written' \
			"$log" | head -8 | sed 's/^/    /'
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: crashes in:$failed (inputs in $out/crashes-NAME/;" \
		"keep each in tests/fuzz/regress/NAME/ once fixed)"
	exit 1
fi
exit 0
