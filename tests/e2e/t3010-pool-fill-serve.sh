# scen-pool-fill and the pool tier: with the provider down, scen-serve-stdin
# answers from the pool with text made for the request's hard factors; a
# served entry then behaves like any cached scenario; entries older than
# pool.max_age_days are retired (not served, kept in the table) and the
# next fill regenerates them.
. "$(dirname "$0")/../lib/test-lib.sh"

# the breaker's cool-down is short: the provider comes back mid-test, and
# the breakers that serving opened while it was down are shared
pool_config() { COOLDOWN_S=${COOLDOWN_S:-2} VARIANTS=2 SHARE=0.5 write_pool_config; }
# get ID SESSION GENDER TONE POSITION: a request line for brief
get() {
	printf '{"id":"%s","session":"%s","experiment":"pool-2026","template":"brief","factors":{"gender":"%s","tone":"%s"},"position":%s}\n' "$@"
}
note() {
	printf '{"id":"%s","session":"%s","experiment":"pool-2026","template":"note","factors":{"age":"%s"}}\n' "$@"
}

fake_start
pool_config
scen-pool-fill -q --experiment pool-2026 >out 2>err
is "fill: exit 0" "$?" 0
is "fill: 28 entries" "$(sql "select count(*) from scenarios where origin = 'pool'")" 28
fake_stop	# the provider is down from here on

{
	get r1 s1 male warm 2
	get r2 s2 female neutral 1
	note r3 s3 older
} | scen-serve-stdin --ordered >out 2>err
is "provider down: exit 0" "$?" 0
is "provider down: answered from the pool" "$(j 'r["tier"]' out | tr '\n' ' ')" "pool pool pool "
is "provider down: exact matches" "$(j 'r["similarity"]' out | tr '\n' ' ')" "1.0 1.0 1.0 "
check "text made for male, warm, scene 2" \
	grep -q 'for a male manager in a warm tone. Scene 2 of 3' out
check "text made for female, neutral, scene 1" \
	grep -q 'for a female manager in a neutral tone. Scene 1 of 3' out
check "text made for an older colleague" grep -q 'about an older colleague' out
is "the texts are the stored ones" \
	"$(j 'r["text"]' out | sed -n 1p)" \
	"$(sql "select text from scenarios where sid = '$(j 'r["scenario_id"]' out | sed -n 1p)'")"
sid1=$(j 'r["scenario_id"]' out | sed -n 1p)
is "servings recorded as pool" \
	"$(sql "select group_concat(tier) from servings")" "pool,pool,pool"

# once served, a pool entry is like any cached scenario
get r4 s4 male warm 2 | scen-serve-stdin >out 2>err
is "served entry: a cache hit for another session" \
	"$(j 'r["tier"] + " " + r["scenario_id"]' out)" "cache $sid1"
get r5 s1 male warm 2 | scen-serve-stdin >out 2>err
is "the same session gets the other pool entry" "$(j 'r["tier"]' out)" pool
check "... not the one it had" test "$(j 'r["scenario_id"]' out)" != "$sid1"

# retire the note/younger entries: older than max_age_days
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("scen.db")
c.execute("""update scenarios set created_at = created_at - 8 * 86400
             where origin = 'pool' and template = 'note'
             and factors = '{"age":"younger"}'""")
c.commit()
PY
retired=$(sql "select group_concat(sid) from scenarios where template = 'note' and factors = '{\"age\":\"younger\"}'")
FALLBACK="cache, fresh, pool, relaxed" pool_config
note r6 s6 younger | scen-serve-stdin >out 2>err
is "retired entries are not served" "$(j 'r["status"]' out)" unavailable
is "retired entries stay in the table" \
	"$(sql "select count(*) from scenarios where template = 'note' and factors = '{\"age\":\"younger\"}'")" 2

fake_start
pool_config
scen-pool-fill --experiment pool-2026 --dry-run >plan 2>err
check "the plan counts them retired" \
	grep -q '^template pool-2026/note: 2 combinations, 1 live, 2 retired, 0 pending, 3 needed$' plan
scen-pool-fill --experiment pool-2026 >out 2>err
is "refill: exit 0" "$?" 0
# 2 retired (note/younger) + 4 served (male/warm/2 twice, female/neutral/1,
# note/older)
check "refill: made the retired and the served ones again" \
	grep -q '^made: 6$' out
is "refill: 6 calls" "$(fake_stat 'r["calls"]')" 6
is "refill: note/younger has 4 rows, 2 of them live" \
	"$(sql "select count(*), sum(created_at > strftime('%s','now') - 86400) from scenarios where template = 'note' and factors = '{\"age\":\"younger\"}'")" "4|2"
fake_stop
note r7 s7 younger | scen-serve-stdin >out 2>err
is "regenerated entries are served" "$(j 'r["tier"]' out)" pool
sid=$(j 'r["scenario_id"]' out)
case ",$retired," in
*",$sid,"*) not_ok "a regenerated entry, not a retired one" ;;
*) ok "a regenerated entry, not a retired one" ;;
esac
done_testing
