# The fault matrix: every provider mode against requests that each tier
# would answer. A cache hit never needs the provider; a miss is fresh when
# the provider answers well, else the pool entry, the relaxed neighbour, or
# "unavailable" — and nothing invalid is ever stored.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
good_url=$FAKE_URL
# K1 cached; K2 has a pool entry; K3 has a neighbour (position 6 vs 5); K4
# has nothing
k1='--factor gender=female --factor age=older --factor tone=warm --position 2'
k2='--factor gender=male --factor age=younger --factor tone=cold --position 8'
k3='--factor gender=female --factor age=younger --factor tone=neutral --position 6'
for mode in ok slow 429 429day 500 503 timeout refused reset malformed refuse length; do
	fake_ctl '{"mode":"ok"}'
	fake_reset
	rm -f scen.db*
	FAKE_URL=$good_url TIMEOUT_S=1 DEADLINE_S=3 BREAKER_FAILURES=1000 write_config
	scen-gen --experiment trust-2026 --template hiring $k1 >/dev/null 2>&1
	scen-gen --experiment trust-2026 --template hiring --pool $k2 >/dev/null 2>&1
	scen-gen --experiment trust-2026 --template hiring $k3 >/dev/null 2>&1
	case $mode in
	refused) FAKE_URL=http://127.0.0.1:9/openai/v1 TIMEOUT_S=1 DEADLINE_S=3 \
			BREAKER_FAILURES=1000 write_config ;;
	slow) fake_ctl '{"mode":"slow","delay_ms":300}' ;;
	timeout) fake_ctl '{"mode":"timeout","delay_ms":5000}' ;;
	429) fake_ctl '{"mode":"429","count":1,"retry_after":2}' ;;
	429day) fake_ctl '{"mode":"429day","count":1}' ;;
	*) fake_ctl "{\"mode\":\"$mode\"}" ;;
	esac
	{
		req c1 "$mode-s1" female older warm 2
		req c2 "$mode-s2" male younger cold 8
		req c3 "$mode-s3" female younger neutral 5
		req c4 "$mode-s4" male older neutral 10
	} | scen-serve-stdin --ordered >out 2>err
	got=$(j 'r["status"] + ("/" + r["tier"] if "tier" in r else "")' out | tr '\n' ' ')
	case $mode in
	ok|slow|429|429day) want="ok/cache ok/fresh ok/fresh ok/fresh " ;;
	*) want="ok/cache ok/pool ok/relaxed unavailable " ;;
	esac
	is "$mode: cache hit, pool, relaxed, nothing" "$got" "$want"
	is "$mode: nothing invalid stored" \
		"$(sql "select count(*) from scenarios where length(text) < 200 or lower(text) like '%as an ai%' or lower(text) like '%i cannot%'")" 0
	case $mode in
	ok|slow|429|429day) n=6 ;;
	*) n=3 ;;
	esac
	is "$mode: scenarios stored" "$(sql 'select count(*) from scenarios')" $n
done
done_testing
