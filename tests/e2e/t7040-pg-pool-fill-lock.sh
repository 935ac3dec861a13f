# One scen-pool-fill at a time on a PostgreSQL database shared by several
# hosts (scen-pool-fill(1) "One run at a time"): two runs on two hosts
# (two working directories, one URI) at once: one fills, the other exits
# 75 at once, saying another run holds the database's lock, and changes
# nothing; the lock goes with the first run, and a third run takes it.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
# calls slow enough that the first run is still at work
fake_start --delay-ms 500
pg_start
MAX_CONCURRENCY=2 VARIANTS=1 SHARE=0.5 write_pool_config
for h in hostA hostB; do
	mkdir "$h"
	config_with_db "$SCEN_PG_URI" \
		>"$h/scen.yaml"
done
pool_count() {
	pg_sql "select count(*) from scenarios where origin = 'pool' and serves = 0"
}
started() { grep -q 'plan:' hostA/err1; }

(cd hostA && SCEN_CONFIG=$PWD/scen.yaml exec scen-pool-fill --experiment pool-2026 >out1 2>err1) &
p1=$!
check "host A: the run holds the lock" wait_for started
before=$(pool_count)
t0=$(date +%s.%N)
(cd hostB && SCEN_CONFIG=$PWD/scen.yaml exec scen-pool-fill --experiment pool-2026 >out2 2>err2)
rc=$?
t1=$(date +%s.%N)
kill -0 "$p1" 2>/dev/null
alive=$?
is "host B at the same time: exit 75" "$rc" 75
check "host B: at once ($(python3 -c "print(round($t1 - $t0, 1))") s)" \
	python3 -c "import sys; sys.exit($t1 - $t0 > 5)"
check "host B: says another run fills the database" \
	grep -q "another scen-pool-fill is filling postgresql:///scen?host=.* (it holds the database's advisory lock); not starting a second run" hostB/err2
is "host B: one line on stderr, no summary" "$(wc -l <hostB/err2):$(cat hostB/out2)" "1:"
is "host A: still at work when B gave up" "$alive" 0
wait "$p1"
is "host A: exit 0, complete" "$?:$(grep -c '^result: complete$' hostA/out1)" "0:1"
is "host A: the pool is full (14 entries)" "$(pool_count)" 14
cmp_num "host A: made them while B ran ($before before)" "$before" -lt 14
calls=$(fake_stat 'r["calls"]')
is "one call per entry: B made none" "$calls" 14

# the lock went with host A's run: host B's next run takes it
pg_sql "update scenarios set serves = 1 where origin = 'pool'" >/dev/null
(cd hostB && SCEN_CONFIG=$PWD/scen.yaml exec scen-pool-fill --experiment pool-2026 >out3 2>err3)
is "host B, afterwards: exit 0, complete" \
	"$?:$(grep -c '^result: complete$' hostB/out3)" "0:1"
is "host B, afterwards: it filled the pool" "$(pool_count)" 14
done_testing
