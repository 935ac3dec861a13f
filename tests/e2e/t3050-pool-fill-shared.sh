# scen-pool-fill and daytime serving at once on one database share one
# budget: against a fake provider that enforces 20 requests a minute per
# key, neither meets a 429, and no minute holds more than 20 calls of one
# account. A clock 30 times faster makes the minutes pass in seconds.
. "$(dirname "$0")/../lib/test-lib.sh"

# the quota day resets 12 hours from now: no day ends mid-test
pool_config() {
	DAY_RESETS_AT=$(reset_far) VARIANTS=3 SHARE=0.5 write_pool_config
}

export SCEN_CLOCK_SCALE=30
SCEN_CLOCK_EPOCH=$(date +%s.%N)
export SCEN_CLOCK_EPOCH
fake_start --rpm 20
RPM=20 TIMEOUT_S=60 DEADLINE_S=30 pool_config

# daytime: 30 participants over about 3 real seconds (90 virtual), each a
# combination of its own that needs a generation
{
	n=0
	for g in female male; do for a in younger older; do
	for t in neutral warm cold; do for p in 1 3 5 7 9; do
		n=$((n + 1))
		[ $n -gt 30 ] && break
		req "d$n" "p$n" $g $a $t $p
		sleep 0.1
	done; done; done; done
} | scen-serve-stdin >serve.out 2>serve.err &
serve=$!
sleep 0.3
scen-pool-fill --experiment pool-2026 >out 2>err
is "pool fill: exit 0" "$?" 0
wait $serve
is "serving: exit 0" "$?" 0
is "serving: every request answered" "$(wc -l <serve.out)" 30
check "pool fill: complete" grep -q '^result: complete$' out
is "pool fill: 42 entries" \
	"$(sql "select count(*) from scenarios where origin = 'pool'")" 42
fresh=$(sql "select count(*) from calls c join jobs j on c.job = j.id where j.origin = 'fresh'")
check "both made calls (daytime: $fresh)" test "$fresh" -gt 0
is "no 429 from the provider" "$(fake_stat 'r["status"].get("429", 0)')" 0
is "every call answered 200" "$(fake_stat 'r["status"].get("200", 0)')" "$(fake_stat 'r["calls"]')"
worst=$(busiest_minute)
check "no minute held more than 20 calls of one key ($worst)" test "$worst" -le 20
check "the budget was used (a full minute on some key: $worst)" test "$worst" -ge 15
done_testing
