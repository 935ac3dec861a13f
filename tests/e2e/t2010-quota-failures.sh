# Quota failures: a wrong key costs at most a couple of 401s; a dead
# provider trips the breaker (no storm) and a probe after cooldown_s brings
# service back; retry-after is honoured; a spent day sets the account aside
# until its reset and is not retried on it.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start

# -- a wrong key
export SCEN_TEST_KEY_3="not-a-valid-key-$$"
ACCOUNT_3=1 FALLBACK="cache, fresh" write_config
design 20 w | scen-serve-stdin >out 2>err
is "wrong key: every request ok" "$(j 'r["status"]' out | sort | uniq -c | awk '{print $1, $2}')" "20 ok"
n401=$(fake_stat 'r["status"].get("401", 0)')
cmp_num "wrong key: at most a couple of 401s ($n401)" "$n401" -le 2
check "wrong key: reported on stderr by account name" grep -q "account groq-c: the provider refused its key" err
is "wrong key: recorded as an event" "$(sql "select count(*) > 0 from events where kind = 'auth_failed' and account = 'groq-c'")" 1
export SCEN_TEST_KEY_3="test-key-three-$$"

# -- the provider down: the breaker stops the storm
fake_reset
rm -f scen.db*
fake_ctl '{"mode":"503"}'
# (a cool-down long enough that a loaded machine reaches the next step
# within it)
BREAKER_FAILURES=3 COOLDOWN_S=15 DEADLINE_S=1 MAX_CONCURRENCY=1 FALLBACK="cache, fresh" write_config
design 20 d | scen-serve-stdin >out 2>err
is "down: every request answered" "$(wc -l <out)" 20
is "down: all unavailable" "$(j 'r["status"]' out | sort -u)" unavailable
calls=$(fake_stat 'r["calls"]')
cmp_num "down: calls stop at the breaker threshold ($calls)" "$calls" -le 4
is "down: the breaker is open in the database" "$(sql "select breaker from accounts where name = '*provider'")" open
check "down: retry_after_s points at the cooldown" \
	test "$(j 'r["retry_after_s"]' out | sort -n | head -1)" -le 15
fake_ctl '{"mode":"ok"}'
design 21 d | tail -1 | scen-serve-stdin >out 2>err
is "down: before cooldown_s, no call" "$(fake_stat 'r["calls"]')" "$calls"
sleep 15.2
design 22 d | tail -1 | scen-serve-stdin >out 2>err
is "down: after cooldown_s a probe is made and served" "$(j 'r["status"] + " " + r["tier"]' out)" "ok fresh"
is "down: the probe closed the breaker" "$(sql "select breaker from accounts where name = '*provider'")" closed

# -- retry-after is honoured on the account that got the 429
fake_reset
rm -f scen.db*
# (a cool-down longer than the deadline would set the account aside)
DEADLINE_S=30 MAX_CONCURRENCY=1 FALLBACK="cache, fresh" write_config
fake_ctl '{"mode":"429","count":1,"retry_after":20}'
design 6 r | scen-serve-stdin >out 2>err
is "429: every request still ok" "$(j 'r["status"]' out | sort -u)" ok
is "429: one 429 met" "$(fake_stat 'r["status"].get("429", 0)')" 1
cooled=$(sql "select name from accounts where cooldown_until > 0 and name <> '*provider'")
check "429: the account is cooled down ($cooled)" test -n "$cooled"
is "429: the cool-down is the advised 20 s" \
	"$(sql "select round(cooldown_until - (select max(at) from calls where status = 429)) from accounts where name = '$cooled'")" 20.0
idx=$( [ "$cooled" = groq-a ] && echo 0 || echo 1)
is "429: no call on it while cooling" "$(fake_stat "r['by_key'].get('$idx', 0)")" 1

# -- a spent day sets the account aside and is not retried on it
fake_reset
rm -f scen.db*
fake_ctl '{"mode":"429day","count":1}'
design 8 s | scen-serve-stdin >out 2>err
is "day spent: every request ok" "$(j 'r["status"]' out | sort -u)" ok
aside=$(sql "select name from accounts where set_aside_until > 0")
check "day spent: an account is set aside ($aside)" test -n "$aside"
check "day spent: until the reset the 429 named (9m38s)" \
	test "$(sql "select cast(set_aside_until - (select max(at) from calls where status = 429) as int) from accounts where name = '$aside'")" -ge 577
idx=$( [ "$aside" = groq-a ] && echo 0 || echo 1)
is "day spent: no further call on it" "$(fake_stat "r['by_key'].get('$idx', 0)")" 1
is "day spent: recorded as an event" "$(sql "select count(*) from events where kind = 'set_aside'")" 1
design 9 s | tail -1 | scen-serve-stdin >out 2>err
is "day spent: a later process skips it too" "$(fake_stat "r['by_key'].get('$idx', 0)")" 1
done_testing
