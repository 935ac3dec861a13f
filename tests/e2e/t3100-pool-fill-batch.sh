# scen-pool-fill through the provider's Batch API (scen-pool-fill(1),
# BATCHES): a design of 2,000 pool entries, the online share 0, filled
# entirely by batches — the first run submits and exits, the next collects;
# every entry in the pool once, no online call, the export names each
# entry's batch and custom_id; a full pool submits nothing.
. "$(dirname "$0")/../lib/test-lib.sh"

batch_config() { write_batch_config "$@"; }
fill() { scen-pool-fill --experiment batch-2026 "$@"; }
pool_count() { sql "select count(*) from scenarios where origin = 'pool'"; }

fake_start
batch_config batch
fill >out1 2>err1
is "submit: exit 0" "$?" 0
check "submit: one batch of 2,000 lines" grep -q '^batches submitted: 1 (2000 lines)$' out1
check "submit: the result says the entries come with the batch" \
	grep -q '^result: submitted: the entries come as the batches end$' out1
is "submit: one file uploaded, one batch created at the provider" \
	"$(fake_stat '[r["batches"]["files_uploaded"], r["batches"]["created"]]')" "[1, 1]"
is "submit: the intent and the batch recorded" \
	"$(sql "select state, lines, batch_id is not null from batches")" "submitted|2000|1"
is "submit: 2,000 lines recorded, pending" \
	"$(sql "select count(*), count(distinct custom_id) from batch_lines where state = 'pending'")" "2000|2000"
is "submit: no entry yet, no online call" "$(pool_count):$(fake_stat 'r["calls"]')" "0:0"

# killed half way through collecting: what it settled is kept (in
# transactions of 500 lines), the rest is read again by the next run
SCEN_KILL_AT=collect fill >out2 2>err2
is "collect killed half way: exit 137" "$?" 137
is "... its first 1,000 lines settled and stored, the batch still open" \
	"$(sql "select count(*) from batch_lines where state = 'done'"):$(pool_count):$(sql "select state from batches")" "1000:1000:submitted"
fill >out2 2>err2
is "collect: exit 0" "$?" 0
check "collect: the batch is read, the rest made" grep -q '^batches collected: 1 (1000 made, 0 rejected, 0 failed, 0 expired)$' out2
check "collect: no line of the first half made twice, none said unknown" sh -c "! grep -q 'ignored' err2"
check "collect: the template's line counts them" \
	grep -q '^template batch-2026/brief: 1000 made, 0 rejected, 0 failed, 0 left$' out2
check "collect: so does the account's, with no online call" \
	grep -q '^account groq-a: 0 calls, 1000 made, 0 rejected, 0 failed$' out2
is "collect: 2,000 entries in the pool" "$(pool_count)" 2000
is "collect: every combination has its 2 variants" \
	"$(sql "select count(*), min(n), max(n) from (select count(*) n from scenarios group by version, key)")" "1000|2|2"
is "collect: nothing in the online quota ledger" "$(sql "select count(*) from calls")" 0
is "collect: still no online call, no new batch" \
	"$(fake_stat '[r["calls"], r["batches"]["created"]]')" "[0, 1]"
bid=$(sql "select batch_id from batches")
scen-export --what scenarios >sc.jsonl
is "export: each entry names the batch" \
	"$(j 'r["batch_id"]' sc.jsonl | sort | uniq -c | awk '{print $1, $2}')" "2000 $bid"
is "export: each its own custom_id, a line of that batch" \
	"$(j 'r["custom_id"]' sc.jsonl | sort -u | wc -l):$(sql "select count(*) from scenarios s join batch_lines l on l.custom_id = s.custom_id and l.scenario = s.id and l.state = 'done'")" "2000:2000"
is "export: the account that made them, origin pool" \
	"$(j '[r["account"], r["origin"]]' sc.jsonl | sort -u)" "[\"groq-a\", \"pool\"]"
is "the batch is ended, completed" "$(sql "select state, status from batches")" "ended|completed"

fill >out3 2>err3
is "full pool: exit 0" "$?" 0
is "full pool: nothing submitted" "$(fake_stat 'r["batches"]["created"]')" 1
check "full pool: says so" grep -q '^batches submitted: 0 (0 lines)$' out3

# served from the pool like any entry
FALLBACK="cache, pool, fresh" batch_config batch
req p1 s1 | sed 's/"experiment":"trust-2026","template":"hiring","factors":{"gender":"female","age":"older","tone":"warm"}/"experiment":"batch-2026","template":"brief","factors":{"topic":"t3","tone":"warm"}/' |
	scen-serve-stdin >serve.out 2>serve.err
is "a participant is served a batch entry (tier pool)" "$(j 'r["tier"]' serve.out)" pool
fake_stop
done_testing
