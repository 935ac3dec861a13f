# scen-pool-fill: a declared design of D combinations x V variants makes
# exactly D x V valid pool entries; a rerun makes no calls; --dry-run prints
# the plan and calls nothing; without a terminal stderr holds plain lines,
# on a terminal a progress bar; bad options exit 64.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_config() { write_pool_config; }
pool_count() {
	sql "select count(*) from scenarios where origin = 'pool' ${1:-}"
}

fake_start
pool_config

# the plan, without a call
scen-pool-fill --experiment pool-2026 --dry-run >plan 2>err
is "dry run: exit 0" "$?" 0
check "dry run: 14 combinations" grep -q '^combinations: 14 (14 short)$' plan
check "dry run: 28 calls needed" grep -q '^calls needed: 28$' plan
check "dry run: per template" grep -q '^template pool-2026/brief: 12 combinations, 0 live, 0 retired, 0 pending, 24 needed$' plan
check "dry run: the budget" grep -q '^budget: ' plan
check "dry run: each account" grep -q '^account groq-a: ' plan
is "dry run: no provider call" "$(fake_stat 'r["calls"]')" 0
check "dry run: no lock taken" test ! -e scen.db.pool-fill.lock
scen-pool-fill --experiment pool-2026 --dry-run -v >plan 2>err
is "dry run -v: one line per short combination" \
	"$(grep -c '^  pool-2026/' plan)" 14

# the fill: exactly D x V
scen-pool-fill --experiment pool-2026 >out 2>err
is "fill: exit 0" "$?" 0
is "fill: 28 calls" "$(fake_stat 'r["calls"]')" 28
is "fill: 28 pool entries" "$(pool_count)" 28
is "fill: 2 per combination" \
	"$(sql "select distinct n from (select count(*) n from scenarios where origin = 'pool' group by key)")" 2
is "fill: 14 combinations" \
	"$(sql "select count(distinct key) from scenarios where origin = 'pool'")" 14
is "fill: all unserved" "$(pool_count 'and serves > 0')" 0
check "fill: every text was made for its own prompt" test \
	"$(python3 -c '
import json, sqlite3
c = sqlite3.connect("scen.db")
bad = 0
for t, f, p, text in c.execute("select template, factors, position, text from scenarios"):
    f = json.loads(f)
    want = ("for a %s manager in a %s tone. Scene %d of 3" % (f["gender"], f["tone"], p)
            if t == "brief" else "about an %s colleague" % f["age"])
    bad += want not in text
print(bad)')" = 0
check "fill: jobs recorded as pool jobs" test \
	"$(sql "select count(*) from jobs where origin = 'pool' and state = 'done'")" = 28
check "summary: result" grep -q '^result: complete$' out
check "summary: made" grep -q '^made: 28$' out
check "summary: nothing left" grep -q '^left: 0 in 0 combinations$' out
check "summary: per account" grep -qE '^account groq-a: [0-9]+ calls, [0-9]+ made, 0 rejected, 0 failed$' out
check "summary: per template" grep -q '^template pool-2026/brief: 24 made, 0 rejected, 0 failed, 0 left$' out
check "summary: time" grep -qE '^time: [0-9.]+ s$' out
check "the lock file is private" test "$(stat -c %a scen.db.pool-fill.lock)" = 600

# no terminal: plain lines only
check "stderr: no carriage return" sh -c "! grep -q \"\$(printf '\\r')\" err"
check "stderr: no escape codes" sh -c "! grep -q \"\$(printf '\\033')\" err"
check "stderr: says what it did" grep -q 'done: 28 entries made' err

# a rerun makes no calls
scen-pool-fill --experiment pool-2026 >out 2>err
is "rerun: exit 0" "$?" 0
is "rerun: no call" "$(fake_stat 'r["calls"]')" 28
is "rerun: still 28 entries" "$(pool_count)" 28
check "rerun: made 0" grep -q '^made: 0$' out
scen-pool-fill --experiment pool-2026 --dry-run >plan 2>err
check "dry run after the fill: nothing short" grep -q '^calls needed: 0$' plan

# -q: silent on success
scen-pool-fill -q --experiment pool-2026 >out 2>err
is "-q: exit 0" "$?" 0
is "-q: no output" "$(cat out err)" ""

# narrowing: --template picks templates of that name in every experiment
scen-pool-fill --template note --dry-run >plan 2>err
is "--template: one template" "$(grep -c '^template ' plan)" 1
VARIANTS=1 pool_config
scen-pool-fill --experiment other-2026 >out 2>err
is "--experiment: only its 2 combinations" "$(fake_stat 'r["calls"]')" 30
is "--experiment: its entries" \
	"$(sql "select count(*) from scenarios where experiment = 'other-2026'")" 2

# on a terminal: a progress bar (carriage returns) on stderr
pool_config
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("scen.db")
c.execute("update scenarios set serves = 1 where origin = 'pool' and template = 'brief'")
c.commit()
PY
if command -v script >/dev/null; then
	script -qefc "scen-pool-fill --experiment pool-2026 --template brief" tty.out >/dev/null 2>&1
	is "tty: exit 0" "$?" 0
	check "tty: the bar is redrawn in place" grep -q "$(printf '\r')\[" tty.out
	check "tty: the bar shows entries and the budget" grep -qE '[0-9]+/24 entries .* budget' tty.out
	is "tty: refilled what was served" \
		"$(pool_count "and serves = 0 and experiment = 'pool-2026'")" 28
else
	ok "# SKIP no script(1) for a terminal"
fi

# bad options
for bad in "--until 24:00" "--until 7:00" "--days 0" "--max-calls -1" \
	"--experiment nope" "--template nope" "--days x"; do
	# shellcheck disable=SC2086
	scen-pool-fill $bad >out 2>err
	is "$bad: exit 64" "$?" 64
	check "$bad: says why" test -s err
done
scen-pool-fill extra >out 2>err
is "an argument: exit 64" "$?" 64
done_testing
