# A probe on a refused key: after an outage opens the provider's breaker,
# the probe that the provider answers 401 (the key was revoked meanwhile)
# says nothing of the provider's health. It is given back at once and the
# next call probes on a key the provider took, so requests are served,
# not answered unavailable for timeout_s + cooldown_s.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
# (timeout_s + cooldown_s, when a probe is thought lost, past deadline_s)
BREAKER_FAILURES=2 COOLDOWN_S=1 DEADLINE_S=4 TIMEOUT_S=5 FALLBACK="cache, fresh" write_config

design 4 k | scen-serve-stdin >out 2>err
is "both keys taken and remembered" "$(sql "select count(*) from accounts where key_verdict = 'accepted'")" 2
fake_ctl '{"mode":"503"}'
req o1 o1 | scen-serve-stdin >/dev/null 2>&1
is "the outage opened the breaker" "$(sql "select breaker from accounts where name = '*provider'")" open
fake_ctl '{"mode":"ok"}'
sleep 1.1

# the next call is refused, whichever key it carries; then all is well
fake_ctl '{"mode":"script","script":["401"]}'
design 10 p | tail -5 | scen-serve-stdin >out 2>err
is "after the refused probe, every request served fresh" "$(j 'r["status"] + " " + r.get("tier", "-")' out | sort | uniq -c | awk '{print $1, $2, $3}')" "5 ok fresh"
is "the breaker closed" "$(sql "select breaker from accounts where name = '*provider'")" closed
is "one key refused, remembered" "$(sql "select count(*) from accounts where key_verdict = 'refused'")" 1
check "the refusal reported on stderr" grep -q "the provider refused its key" err
done_testing
