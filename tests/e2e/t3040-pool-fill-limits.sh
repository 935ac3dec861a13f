# scen-pool-fill stops cleanly at its limits and says what is left: --until
# (local time; a scaled clock makes minutes pass in seconds) finishes the
# calls out and starts none after; with the provider down, or every account
# spent for the day, nothing can be made and it exits 69; outputs that fail
# validation are counted as rejected, never stored.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_config() { VARIANTS=2 SHARE=0.5 write_pool_config; }
pool_count() {
	sql "select count(*) from scenarios where origin = 'pool'"
}

# ---- --until, on a clock 60 times faster ---------------------------------
export TZ=UTC SCEN_CLOCK_SCALE=60
SCEN_CLOCK_EPOCH=$(date +%s.%N)
export SCEN_CLOCK_EPOCH
# each call takes 0.3 real s (18 virtual s), one at a time: the design
# needs about 8 real s; --until comes 3 to 4 virtual minutes from now
# (timeouts are virtual seconds too)
fake_start --delay-ms 300
MAX_CONCURRENCY=1 TIMEOUT_S=120 pool_config
read -r until until_epoch <<EOF
$(python3 -c '
import os, time
e, k = float(os.environ["SCEN_CLOCK_EPOCH"]), float(os.environ["SCEN_CLOCK_SCALE"])
now = e + (time.time() - e) * k	# virtual
t = (int(now) // 60 + 4) * 60
print(time.strftime("%H:%M", time.gmtime(t)), t)')
EOF
scen-pool-fill --experiment pool-2026 --until "$until" >out 2>err
is "--until: exit 0" "$?" 0
check "--until: says it stopped there" grep -q "^result: stopped: --until $until reached\$" out
n=$(pool_count)
check "--until: stopped before the end ($n made)" test "$n" -lt 28 -a "$n" -gt 0
check "--until: says what is left" grep -q "^left: $((28 - n)) in " out
is "--until: every call made was finished and stored" \
	"$(fake_stat 'r["calls"]')" "$n"
is "--until: no job left open" \
	"$(sql "select count(*) from jobs where state in ('queued', 'running')")" 0
is "--until: no job started at or after $until" \
	"$(sql "select count(*) from jobs where started_at >= $until_epoch")" 0
check "--until: the provider saw no call long after $until" test "$(python3 -c '
import json, sys
late = [r for r in map(json.loads, open(sys.argv[1])) if r["vt"] > float(sys.argv[2]) + 60]
print(len(late))' "$T/fake.log" "$until_epoch")" = 0
# without a terminal: a plain progress line a minute (virtual minutes here)
n=$(grep -c '^scen-pool-fill: progress: [0-9]* of [0-9]* entries made' err)
check "--until: a progress line a minute ($n)" test "$n" -ge 1 -a "$n" -le 5
check "--until: no carriage return or escape on stderr" \
	sh -c "! grep -q \"\$(printf '[\\r\\033]')\" err"
scen-pool-fill --experiment pool-2026 --dry-run --until "$until" >plan 2>err
check "--until: in the plan" grep -q '^until: ' plan
fake_stop
unset SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH

# ---- outputs that fail validation ------------------------------------------
rm -f scen.db scen.db-wal scen.db-shm
fake_start
pool_config
fake_ctl '{"mode":"script","script":["refuse","length","empty"]}'
scen-pool-fill --experiment pool-2026 >out 2>err
is "rejected: exit 0" "$?" 0
check "rejected: counted" grep -q '^rejected: 3$' out
check "rejected: the target is still met" grep -q '^result: complete$' out
is "rejected: nothing unfit stored" "$(pool_count)" 28
is "rejected: 31 calls" "$(fake_stat 'r["calls"]')" 31
check "rejected: per template" grep -qE '^template pool-2026/brief: 24 made, [0-9] rejected' out

# a combination that only gets refusals is left after 2 x variants + 1
fake_ctl '{"mode":"refuse"}'
python3 -c '
import sqlite3; c = sqlite3.connect("scen.db")
c.execute("update scenarios set serves = 1 where template = '"'note'"'"); c.commit()'
fake_reset
fake_ctl '{"mode":"refuse"}'
scen-pool-fill --experiment pool-2026 --template note >out 2>err
is "only refusals: exit 0 (the provider answers)" "$?" 0
# 5 rejections per combination, plus the call out for it at the fifth
n=$(fake_stat 'r["calls"]')
check "only refusals: 5 or 6 calls per combination ($n)" test "$n" -ge 10 -a "$n" -le 12
check "only refusals: says which combination" \
	grep -q 'pool-2026/note {"age":"older"}: 5 outputs failed validation' err
check "only refusals: what is left" grep -q '^left: 4 in 2 combinations$' out
check "only refusals: incomplete" \
	grep -q '^result: incomplete: outputs kept failing validation$' out
fake_ctl '{"mode":"ok"}'

# ---- the provider is down ----------------------------------------------------
rm -f scen.db scen.db-wal scen.db-shm
fake_stop
COOLDOWN_S=1 TIMEOUT_S=1 pool_config
scen-pool-fill --experiment pool-2026 >out 2>err
is "provider down: exit 69" "$?" 69
check "provider down: says so" grep -q '^result: stopped: the provider keeps failing$' out
check "provider down: nothing could be made" grep -q 'nothing could be made' err
is "provider down: nothing stored" "$(pool_count)" 0
is "provider down: no job left open" \
	"$(sql "select count(*) from jobs where state in ('queued', 'running')")" 0
scen-pool-fill -q --experiment pool-2026 >out 2>err
is "provider down, -q: exit 69 still" "$?" 69
check "provider down, -q: the error still shows" grep -q 'nothing could be made' err

# nothing needed: exit 0 even with the provider down
fake_start
COOLDOWN_S=1 TIMEOUT_S=1 pool_config
scen-pool-fill -q --experiment pool-2026 >out 2>err
is "filled once the provider is back" "$(pool_count)" 28
fake_stop
scen-pool-fill --experiment pool-2026 >out 2>err
is "nothing needed, provider down: exit 0" "$?" 0

# ---- every account spent for the day -----------------------------------------
rm -f scen.db scen.db-wal scen.db-shm
fake_start
pool_config
# the provider says to come back after the quota day has ended
fake_ctl '{"mode":"429day","retry_after":90000}'
scen-pool-fill --experiment pool-2026 >out 2>err
is "day spent: exit 69" "$?" 69
check "day spent: says no account can take a call" \
	grep -q '^result: stopped: no account can take a call in time$' out
check "day spent: few calls tried" test "$(fake_stat 'r["calls"]')" -le 4
is "day spent: no job left open" \
	"$(sql "select count(*) from jobs where state in ('queued', 'running')")" 0
done_testing
