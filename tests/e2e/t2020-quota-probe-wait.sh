# The provider's breaker half-open: requests that come while its one probe
# is out wait for the probe (within deadline_s) and are served when it
# succeeds; when it fails they are answered unavailable, pointing at the
# next cool-down.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start

# open_breaker NAME COOLDOWN_S: an outage opens the provider's breaker on
# a new database, then its cool-down passes
open_breaker() {
	rm -f scen.db*
	fake_ctl '{"mode":"503"}'
	req o1 o1 | scen-serve-stdin >/dev/null 2>&1
	is "$1: the outage opened the breaker" "$(sql "select breaker from accounts where name = '*provider'")" open
	fake_ctl '{"mode":"ok"}'
	sleep "$2.1"
}

# -- the probe succeeds: the requests that waited for it are served
# (timeout_s + cooldown_s, when a probe is thought lost, past deadline_s)
BREAKER_FAILURES=2 COOLDOWN_S=1 DEADLINE_S=4 TIMEOUT_S=5 FALLBACK="cache, fresh" write_config
open_breaker up 1
# the probe takes a second; five requests come together
fake_ctl '{"mode":"script","script":[{"mode":"slow","delay_ms":1000}]}'
design 5 w | scen-serve-stdin >out 2>err
is "probe ok: every request served fresh" "$(j 'r["status"] + " " + r.get("tier", "-")' out | sort | uniq -c | awk '{print $1, $2, $3}')" "5 ok fresh"
is "probe ok: the breaker closed" "$(sql "select breaker from accounts where name = '*provider'")" closed
is "probe ok: one probe, then the others" "$(fake_stat 'r["status"].get("200", 0)')" 5

# -- the probe fails: the waiting requests are answered within deadline_s
# (a cool-down longer than the deadline: no second probe for them)
fake_reset
BREAKER_FAILURES=2 COOLDOWN_S=3 DEADLINE_S=2 TIMEOUT_S=3 FALLBACK="cache, fresh" write_config
open_breaker down 3
fake_ctl '{"mode":"script","script":[{"mode":"503","delay_ms":1000}]}'
design 5 f | scen-serve-stdin >out 2>err
is "probe failed: every request unavailable" "$(j 'r["status"]' out | sort | uniq -c | awk '{print $1, $2}')" "5 unavailable"
check "probe failed: retry_after_s points at the cool-down" \
	test "$(j 'r["retry_after_s"]' out | sort -n | tail -1)" -le 3
is "probe failed: one call only (the probe)" "$(fake_stat 'r["calls"]')" "$(($(fake_stat 'r["status"].get("503", 0)') ))"
done_testing
