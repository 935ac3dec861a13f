# scen-serve-stdin: refusals, truncated answers, empty and malformed bodies,
# 5xx and timeouts are answered "unavailable" with retry_after_s, nothing
# servable is stored, and the next good reply is served.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
BREAKER_FAILURES=1000 TIMEOUT_S=1 DEADLINE_S=2 write_config

n=0
for mode in refuse length empty malformed badshape 500 503 timeout reset; do
	n=$((n + 1))
	if [ $mode = timeout ]; then
		fake_ctl '{"mode":"timeout","delay_ms":3000}'
	else
		fake_ctl "{\"mode\":\"$mode\"}"
	fi
	req "f$n" "s$n" male younger neutral "$n" | scen-serve-stdin >out 2>err
	is "$mode: exit 0" "$?" 0
	is "$mode: unavailable" "$(j 'r["status"]' out)" unavailable
	check "$mode: retry_after_s is a positive integer" \
		test "$(j 'isinstance(r["retry_after_s"], int) and r["retry_after_s"] > 0' out)" = True
	is "$mode: message" "$(j 'r["message"]' out)" "Try again in a few minutes"
	is "$mode: nothing stored" "$(sql 'select count(*) from scenarios')" 0
	is "$mode: nothing served" "$(sql 'select count(*) from servings')" 0
done
check "5xx were retried (more calls than requests)" \
	test "$(fake_stat 'r["status"].get("500", 0)')" -ge 2
fake_ctl '{"mode":"ok"}'
req g1 s1 male younger neutral 1 | scen-serve-stdin >out 2>err
is "next good reply is served" "$(j 'r["status"] + " " + r["tier"]' out)" "ok fresh"
is "one scenario stored" "$(sql 'select count(*) from scenarios')" 1
is "invalid and malformed outputs were counted as errors" \
	"$(sql "select sum(n) from counters where name in ('call.invalid', 'call.malformed')")" 5
check "the key is not in the error output" sh -c "! grep -rq '$SCEN_TEST_KEY_1' err"
done_testing
