# Quota: three accounts of rpm N against a provider enforcing the same
# limits. More distinct requests than the budget, sent at once: the budget
# is spent (>= 95 %), evenly, without a single 429, and the requests over
# budget are answered at once. Two processes on one database share it.
. "$(dirname "$0")/../lib/test-lib.sh"
N=10
fake_start --rpm $N
ACCOUNT_3=1 RPM=$N DEADLINE_S=30 FALLBACK="cache, fresh" write_config

design 60 a >in
start=$(date +%s)
scen-serve-stdin <in >out 2>err
is "exit 0" "$?" 0
secs=$(($(date +%s) - start))
is "every request answered" "$(wc -l <out)" 60
calls=$(fake_stat 'r["calls"]')
cmp_num "calls use >= 95% of the 3N budget ($calls of $((3 * N)))" "$calls" -ge $((3 * N * 95 / 100))
cmp_num "calls never exceed the budget" "$calls" -le $((3 * N))
is "zero 429s" "$(fake_stat 'r["status"].get("429", 0)')" 0
is "ok answers = calls" "$(j 'r["status"]' out | grep -c '^ok$')" "$calls"
spread=$(fake_stat 'max(r["by_key"].values()) - min(r["by_key"].values())')
cmp_num "accounts used evenly (spread $spread)" "$spread" -le 2
check "over-budget requests answered at once, not after the 30 s deadline ($secs s)" \
	test "$secs" -lt 10
check "over-budget answers say when to retry" \
	test "$(j 'r.get("retry_after_s", 0)' out | sort -n | tail -1)" -ge 30

# two processes on one database, at the same time, on a fresh budget
fake_reset
rm -f scen.db scen.db-wal scen.db-shm
design 60 b | head -30 >in1
design 60 b | tail -30 >in2
scen-serve-stdin <in1 >out1 2>err1 &
p1=$!
scen-serve-stdin <in2 >out2 2>err2 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
is "both exit 0" "$r1 $r2" "0 0"
calls=$(fake_stat 'r["calls"]')
cmp_num "two processes together: >= 95% of the budget ($calls)" "$calls" -ge $((3 * N * 95 / 100))
cmp_num "two processes together: within the budget" "$calls" -le $((3 * N))
is "two processes together: zero 429s" "$(fake_stat 'r["status"].get("429", 0)')" 0
is "both answered every line" "$(cat out1 out2 | wc -l)" 60
is "the ledger agrees with the provider" "$(sql 'select count(*) from calls where status = 200')" "$calls"
done_testing
