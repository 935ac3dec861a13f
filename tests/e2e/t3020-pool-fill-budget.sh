# scen-pool-fill budgets: each account spends exactly floor(quota_share x
# what is left of its day) when the design needs more, after daytime
# serving used some; --max-calls is exact; when the design does not fit,
# the most requested combinations (over --days) are filled first.
. "$(dirname "$0")/../lib/test-lib.sh"

pool_config() { VARIANTS=2 write_pool_config; }
get() {
	printf '{"id":"%s","session":"%s","experiment":"pool-2026","template":"brief","factors":{"gender":"%s","tone":"%s"},"position":%s}\n' "$@"
}
# pool_calls: "account|calls" of pool jobs in the ledger
pool_calls() {
	sql "select c.account, count(*) from calls c join jobs j on c.job = j.id
	     where j.origin = 'pool' and c.status <> 429
	     group by c.account order by c.account" | tr '\n' ' '
}

# ---- quota share, after daytime use ----------------------------------
fake_start --rpd 20
RPD=20 pool_config
for i in 1 2 3 4 5 6 7; do req "d$i" "p$i" female younger neutral "$i"; done |
	scen-serve-stdin >out 2>err
is "daytime: 7 calls" "$(fake_stat 'r["calls"]')" 7
used_a=$(sql "select count(*) from calls where account = 'groq-a'")
used_b=$(sql "select count(*) from calls where account = 'groq-b'")
want_a=$(( (20 - used_a) / 2 ))
want_b=$(( (20 - used_b) / 2 ))
scen-pool-fill --experiment pool-2026 --dry-run >plan 2>err
is "plan: the budget is the share of what is left" \
	"$(grep '^budget:' plan)" "budget: $((want_a + want_b)) calls"
check "plan: per account" grep -q "^account groq-a: $want_a calls (0.5 of $((20 - used_a)) left today)\$" plan
scen-pool-fill --experiment pool-2026 >out 2>err
is "share: exit 0" "$?" 0
is "share: each account spent exactly its share" "$(pool_calls)" \
	"groq-a|$want_a groq-b|$want_b "
is "share: as many entries" \
	"$(sql "select count(*) from scenarios where origin = 'pool'")" \
	$((want_a + want_b))
check "share: says it stopped at the share" \
	grep -q '^result: stopped: the quota share of this run is spent$' out
check "share: says what is left" \
	grep -q "^left: $((28 - want_a - want_b)) in " out
check "share: on stderr too" grep -q 'entries left in\|left in [0-9]* combinations' err
is "share: no 429 from the provider" "$(fake_stat 'r["status"].get("429", 0)')" 0
# the next run takes the same share of what is left now
left_a=$((20 - used_a - want_a))
left_b=$((20 - used_b - want_b))
scen-pool-fill --experiment pool-2026 >out 2>err
is "second run: the share of the rest" "$(pool_calls)" \
	"groq-a|$((want_a + left_a / 2)) groq-b|$((want_b + left_b / 2)) "
is "never more than the day allows" \
	"$(sql "select max(n) <= 20 from (select count(*) n from calls group by account)")" 1

# a share too small for one call: no budget, a clean stop
SHARE=0.01 RPD=20 pool_config
before=$(fake_stat 'r["calls"]')
scen-pool-fill --experiment pool-2026 >out 2>err
is "tiny share: exit 0" "$?" 0
is "tiny share: no call" "$(fake_stat 'r["calls"]')" "$before"
fake_stop

# ---- --max-calls -------------------------------------------------------
rm -f scen.db scen.db-wal scen.db-shm
fake_start
pool_config
scen-pool-fill --experiment pool-2026 --max-calls 5 >out 2>err
is "--max-calls 5: exit 0" "$?" 0
is "--max-calls 5: 5 provider calls" "$(fake_stat 'r["calls"]')" 5
is "--max-calls 5: 5 in the ledger" "$(sql 'select count(*) from calls')" 5
is "--max-calls 5: 5 entries" \
	"$(sql "select count(*) from scenarios where origin = 'pool'")" 5
check "--max-calls 5: says so" grep -q '^result: stopped: --max-calls 5 reached$' out
check "--max-calls 5: what is left" grep -q '^left: 23 in ' out
scen-pool-fill --experiment pool-2026 --max-calls 1 >out 2>err
is "--max-calls 1: one more call" "$(fake_stat 'r["calls"]')" 6
scen-pool-fill --experiment pool-2026 --max-calls 0 >out 2>err
is "--max-calls 0: exit 0" "$?" 0
is "--max-calls 0: no call" "$(fake_stat 'r["calls"]')" 6
scen-pool-fill --experiment pool-2026 --max-calls 100 >out 2>err
is "--max-calls above the need: completes" "$(fake_stat 'r["calls"]')" 28
check "... and says so" grep -q '^result: complete$' out

# ---- popular first ------------------------------------------------------
rm -f scen.db scen.db-wal scen.db-shm
fake_reset
{
	for s in 1 2 3 4; do get "m$s" "s$s" male warm 3; done
	for s in 1 2; do get "f$s" "s$s" female neutral 1; done
	printf '{"id":"n1","session":"s1","experiment":"pool-2026","template":"note","factors":{"age":"older"}}\n'
} | scen-serve-stdin >out 2>err
is "demand seeded: 3 generations" "$(fake_stat 'r["calls"]')" 3
scen-pool-fill --experiment pool-2026 --dry-run -v >plan 2>err
is "plan: most requested first" "$(grep '^  ' plan | head -3 | sed 's/: [0-9]* requested.*//')" \
"  pool-2026/brief {\"gender\":\"male\",\"tone\":\"warm\"} position 3
  pool-2026/brief {\"gender\":\"female\",\"tone\":\"neutral\"} position 1
  pool-2026/note {\"age\":\"older\"}"
check "plan: demand counted once per request" \
	grep -q 'position 3: 4 requested, 2 needed' plan
check "plan: says the design does not fit" \
	sh -c "scen-pool-fill --experiment pool-2026 --dry-run --max-calls 4 | grep -q '^order: most requested first (the design does not fit the budget)\$'"
scen-pool-fill --experiment pool-2026 --max-calls 4 >out 2>err
is "popular first: the two most requested combinations" \
	"$(sql "select template || ' ' || factors || ' ' || coalesce(position, '-') || ' ' || count(*) from scenarios where origin = 'pool' group by key order by 1" | tr '\n' ';')" \
	'brief {"gender":"female","tone":"neutral"} 1 2;brief {"gender":"male","tone":"warm"} 3 2;'
scen-pool-fill --experiment pool-2026 --max-calls 2 >out 2>err
is "popular first: then the third" \
	"$(sql "select count(*) from scenarios where origin = 'pool' and template = 'note' and factors = '{\"age\":\"older\"}'")" 2

# --days: requests older than the window do not count
python3 - <<'PY'
import sqlite3
c = sqlite3.connect("scen.db")
for t, col in (("servings", "served_at"), ("jobs", "created_at")):
    c.execute("update %s set %s = %s - 3 * 86400 where factors = '{\"gender\":\"male\",\"tone\":\"warm\"}'" % (t, col, col))
c.commit()
PY
python3 -c '
import sqlite3; c = sqlite3.connect("scen.db")
c.execute("update scenarios set serves = 1 where origin = '"'pool'"'"); c.commit()'
scen-pool-fill --experiment pool-2026 --dry-run -v --days 2 >plan 2>err
is "--days 2: older demand left out" "$(grep '^  ' plan | head -1 | sed 's/: [0-9]* requested.*//')" \
	"  pool-2026/brief {\"gender\":\"female\",\"tone\":\"neutral\"} position 1"
scen-pool-fill --experiment pool-2026 --dry-run -v --days 5 >plan 2>err
is "--days 5: counted again" "$(grep '^  ' plan | head -1 | sed 's/: [0-9]* requested.*//')" \
	"  pool-2026/brief {\"gender\":\"male\",\"tone\":\"warm\"} position 3"
done_testing
