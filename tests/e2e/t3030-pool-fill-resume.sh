# scen-pool-fill is resumable and runs once at a time: after kill -9 a rerun
# adopts the jobs left behind and meets the target with at most the calls
# that were in flight as extra; a second run while one works exits 75; on
# SIGTERM it finishes the calls out, leaves no queued job and exits 0.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_config() { VARIANTS=2 SHARE=0.5 write_pool_config; }
pool_count() {
	sql "select count(*) from scenarios where origin = 'pool' and serves = 0"
}
open_jobs() {
	sql "select count(*) from jobs where state in ('queued', 'running')"
}
# has_entries N: at least N unserved pool entries
has_entries() {
	test "$(pool_count)" -ge "$1"
}
# started: the background run has taken its lock and made its plan
started() {
	grep -q 'plan:' err1
}
# serve_all: marks every pool entry served, so the whole design is short
serve_all() {
	python3 -c '
import sqlite3; c = sqlite3.connect("scen.db")
c.execute("update scenarios set serves = 1 where origin = '"'pool'"'"); c.commit()'
}

# calls slow enough that a loaded machine stops a run before it ends
fake_start --delay-ms 500
MAX_CONCURRENCY=4 pool_config
D=14 V=2 INFLIGHT=4

# ---- kill -9 mid-run ---------------------------------------------------
scen-pool-fill --experiment pool-2026 >out1 2>err1 &
pid=$!
check "the run makes entries" wait_for has_entries 8
kill -9 $pid
wait $pid 2>/dev/null
made1=$(pool_count)
check "killed mid-run" test "$made1" -lt $((D * V))
check "it left at most two jobs per concurrent call open" \
	test "$(open_jobs)" -le $((2 * INFLIGHT))
scen-pool-fill --experiment pool-2026 >out2 2>err2
is "rerun: exit 0" "$?" 0
check "rerun: resumed the jobs left behind" grep -q 'resuming [0-9]* job' err2
is "rerun: the target is met" "$(pool_count)" $((D * V))
is "rerun: every combination has V entries" \
	"$(sql "select distinct n from (select count(*) n from scenarios where origin = 'pool' group by key)")" $V
calls=$(fake_stat 'r["calls"]')
check "calls <= D x V + in flight ($calls)" test "$calls" -le $((D * V + INFLIGHT))
is "no job left open" "$(open_jobs)" 0
scen-pool-fill --experiment pool-2026 >out3 2>err3
is "a third run makes no call" "$(fake_stat 'r["calls"]')" "$calls"

# ---- two runs at once ----------------------------------------------------
serve_all
fake_reset
scen-pool-fill --experiment pool-2026 >out1 2>err1 &
pid=$!
check "the first run holds the lock" wait_for started
scen-pool-fill --experiment pool-2026 >out2 2>err2
is "second run: exit 75" "$?" 75
check "second run: says another run holds the lock" \
	grep -q 'another scen-pool-fill is filling .*scen.db' err2
is "second run: no summary" "$(cat out2)" ""
scen-pool-fill --experiment pool-2026 --dry-run >plan 2>err
is "a dry run does not need the lock" "$?" 0
wait $pid
is "first run: exit 0" "$?" 0
check "first run: complete" grep -q '^result: complete$' out1
is "first run: the target is met" "$(pool_count)" $((D * V))
is "... with D x V calls" "$(fake_stat 'r["calls"]')" $((D * V))

# ---- SIGTERM: a clean stop -------------------------------------------------
serve_all
fake_reset
scen-pool-fill --experiment pool-2026 >out1 2>err1 &
pid=$!
wait_for has_entries 4
kill -TERM $pid
wait $pid
is "SIGTERM: exit 0" "$?" 0
check "SIGTERM: says so" grep -q '^result: stopped: interrupted by a signal$' out1
is "SIGTERM: no job left open" "$(open_jobs)" 0
n=$(pool_count)
check "SIGTERM: stopped early ($n)" test "$n" -lt $((D * V))
is "SIGTERM: calls out were finished and stored" \
	"$(sql "select count(*) from jobs where origin = 'pool' and state = 'running'")" 0
is "SIGTERM: each call made an entry" "$(fake_stat 'r["calls"]')" "$n"
scen-pool-fill -q --experiment pool-2026 >out2 2>err2
is "after SIGTERM: a rerun completes" "$(pool_count)" $((D * V))
is "... without extra calls" "$(fake_stat 'r["calls"]')" $((D * V))
done_testing
