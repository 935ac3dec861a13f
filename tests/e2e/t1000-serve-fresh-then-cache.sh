# scen-serve-stdin: a new request is generated fresh, the same request from
# another session is a cache hit with the same scenario and no provider
# call, and the same session again gets another scenario.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config

req r1 p1 >in1
scen-serve-stdin <in1 >out1 2>err1
is "exit status 0" "$?" 0
is "first answer is ok" "$(j 'r["status"]' out1)" ok
is "first answer is fresh" "$(j 'r["tier"]' out1)" fresh
is "id echoed" "$(j 'r["id"]' out1)" r1
is "similarity 1" "$(j 'r["similarity"]' out1)" 1.0
sid=$(j 'r["scenario_id"]' out1)
is "one provider call" "$(fake_stat 'r["calls"]')" 1
check "text is the provider's, unmodified" \
	grep -q "Scenario #1. Write a 120-word scenario about a hiring decision for a older female candidate" out1

req r2 p2 | scen-serve-stdin >out2 2>err2
is "other session: cache" "$(j 'r["tier"]' out2)" cache
is "other session: same scenario" "$(j 'r["scenario_id"]' out2)" "$sid"
is "other session: same text" "$(j 'r["text"]' out2)" "$(j 'r["text"]' out1)"
is "no provider call for a hit" "$(fake_stat 'r["calls"]')" 1

req r3 p1 | scen-serve-stdin >out3 2>err3
is "same session again: ok" "$(j 'r["status"]' out3)" ok
check "same session again: another scenario" \
	test "$(j 'r["scenario_id"]' out3)" != "$sid"
is "same session again: fresh" "$(j 'r["tier"]' out3)" fresh

# every serving is recorded with its tier
is "servings recorded" "$(sql 'select tier from servings order by id' | tr '\n' ' ')" "fresh cache fresh "
is "scenarios stored" "$(sql 'select count(*) from scenarios')" 2
is "database is private" "$(stat -c %a scen.db)" 600
is "response fields" "$(j 'sorted(r.keys())' out1)" \
	'["experiment", "generated_at", "id", "model", "scenario_id", "similarity", "status", "template", "text", "tier"]'
done_testing
