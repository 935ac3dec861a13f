# Tiers and research integrity: strict hits across sessions, no repeat in a
# session, relaxed neighbours with the provider down, and every kind of
# mismatch that must answer "unavailable"; max_serves; a custom fallback.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
req a1 s1 female older warm 3 | scen-serve-stdin >out 2>err
sid=$(j 'r["scenario_id"]' out)
is "stored one" "$(j 'r["tier"]' out)" fresh
fake_stop	# the provider is down from here on: connection refused

req a2 s2 female older warm 3 | scen-serve-stdin >out 2>err
is "strict hit across sessions" "$(j 'r["tier"] + " " + str(r["similarity"]) + " " + r["scenario_id"]' out)" "cache 1.0 $sid"
req a3 s1 female older warm 3 | scen-serve-stdin >out 2>err
is "no repeat within a session (provider down: nothing else)" "$(j 'r["status"]' out)" unavailable
req a4 s3 female older warm 4 | scen-serve-stdin >out 2>err
is "neighbour position: relaxed" "$(j 'r["tier"] + " " + r["scenario_id"]' out)" "relaxed $sid"
is "neighbour position: similarity (1 + 8/9) / 2" "$(j 'r["similarity"]' out)" 0.9444
req a5 s4 female older warm 10 | scen-serve-stdin >out 2>err
is "far position, same tone: (1 + 2/9) / 2 = 0.61 < relaxed" "$(j 'r["status"]' out)" unavailable
req a6 s5 male older warm 3 | scen-serve-stdin >out 2>err
is "different hard factor: unavailable" "$(j 'r["status"]' out)" unavailable
req a7 s6 female older cold 3 | scen-serve-stdin >out 2>err
is "soft mismatch below relaxed (0.5): unavailable" "$(j 'r["status"]' out)" unavailable
echo '{"id":"a8","session":"s7","experiment":"other-2026","template":"hiring","factors":{"gender":"female"}}' |
	scen-serve-stdin >out 2>err
is "another experiment: unavailable" "$(j 'r["status"]' out)" unavailable
PROMPT="A changed prompt about a {age} {gender} candidate, {tone}, scene {position}." write_config
req a9 s8 female older warm 3 | scen-serve-stdin >out 2>err
is "changed template prompt: unavailable" "$(j 'r["status"]' out)" unavailable
is "the old scenario is kept" "$(sql 'select count(*) from scenarios')" 1
write_config
req a10 s9 female older warm 3 | scen-serve-stdin >out 2>err
is "the prompt restored: served again" "$(j 'r["tier"]' out)" cache
is "every serving records tier and similarity" \
	"$(sql 'select tier, similarity from servings order by id' | tr '\n' ' ')" \
	"fresh|1.0 cache|1.0 relaxed|0.9444444444444444 cache|1.0 "

# max_serves
MAX_SERVES=5 write_config
for s in m1 m2 m3 m4; do req "x$s" "$s" female older warm 3; done | scen-serve-stdin >out 2>err
is "max_serves 5: served up to the limit (one more after four)" "$(j 'r["status"]' out | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" "1 ok 3 unavailable "
is "max_serves: never more" "$(sql "select serves from scenarios where sid = '$sid'")" 5

# a custom fallback order: pool first
fake_start
rm -f scen.db*
write_config
scen-gen --pool --experiment trust-2026 --template hiring --factor gender=male --factor age=younger \
	--factor tone=neutral --position 5 >gen.out 2>err
is "a pool entry stored" "$(sql "select origin, serves from scenarios")" "pool|0"
req c1 t1 male younger neutral 5 | scen-serve-stdin >out 2>err
is "default order: the pool is not a cache hit, fresh comes first" "$(j 'r["tier"]' out)" fresh
FALLBACK="pool, cache, fresh" write_config
req c2 t2 male younger neutral 5 | scen-serve-stdin >out 2>err
is "[pool, cache, fresh]: pool first" "$(j 'r["tier"] + " " + r["scenario_id"]' out)" "pool $(j 'r["scenario_id"]' gen.out)"
req c3 t3 male younger neutral 5 | scen-serve-stdin >out 2>err
is "[pool, cache, fresh]: then cache (the served pool entry is a cached one now)" "$(j 'r["tier"]' out)" cache
calls=$(fake_stat 'r["calls"]')
FALLBACK="fresh, cache" write_config
req c4 t4 male younger neutral 5 | scen-serve-stdin >out 2>err
is "[fresh, cache]: fresh first although a hit exists" "$(j 'r["tier"]' out)" fresh
done_testing
