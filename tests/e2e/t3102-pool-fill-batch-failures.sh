# scen-pool-fill's batch lines that make no entry (scen-pool-fill(1),
# BATCHES): a batch that expires with 60 % done keeps the done 60 % and
# plans the rest in the next batch; 10 % error lines and 5 % refusals and
# truncated answers never reach the pool and are planned again, each with
# its attempt, until pool.batch_attempts; entries past it are reported.
. "$(dirname "$0")/../lib/test-lib.sh"

# experiment batch-2026 (test-lib.sh): 200 combinations, 1 variant; texts
# from 50 characters, so that the fake's refusal fails as one
batch_config() { SCENES=4 VARIANTS=1 MIN_CHARS=50 write_batch_config batch; }
fill() { scen-pool-fill --experiment batch-2026 "$@"; }
pool_count() { sql "select count(*) from scenarios where origin = 'pool'"; }
lines() { sql "select state, count(*) from batch_lines where batch = $1 group by state order by state" | tr '\n' ' '; }

# ---- a batch that expires with 60 % done ------------------------------
fake_start
batch_config
fake_ctl '{"batch": {"expire_after": 0.6}}'
fill >out1 2>err1
is "expiry: 200 lines submitted" "$(sql "select lines from batches")" 200
fake_ctl '{"batch": {"expire_after": null}}'
fill >out2 2>err2
is "expiry: exit 0" "$?" 0
is "expiry: the batch ended expired" "$(sql "select state, status from batches where id = 1")" "ended|expired"
is "expiry: its done 60 % kept, the rest expired" "$(lines 1)" "done|120 expired|80 "
is "expiry: 120 entries in the pool" "$(pool_count)" 120
is "expiry: the rest in the next batch, at their second attempt" \
	"$(sql "select b.lines, min(l.attempt), max(l.attempt) from batches b join batch_lines l on l.batch = b.id where b.id = 2")" "80|2|2"
is "expiry: each expired line planned again once" \
	"$(sql "select count(*) from batch_lines where batch = 1 and state = 'expired' and retried = 1")" 80
is "expiry: the new batch holds just the combinations short" \
	"$(sql "select count(*) from batch_lines l where batch = 2 and exists (select 1 from scenarios s where s.key = l.key)")" 0
fill >out3 2>err3
is "expiry: the next run completes the design" "$(pool_count)" 200
is "expiry: every combination once" \
	"$(sql "select count(distinct key) from scenarios where origin = 'pool'")" 200
is "expiry: two batches at the provider" "$(fake_stat 'r["batches"]["created"]')" 2
fake_stop

# ---- errors, refusals, truncated answers, the attempt cap --------------
rm -f scen.db
fake_start
ATTEMPTS=2 batch_config
fake_ctl '{"batch": {"error_share": 0.1, "line_modes": {"refuse": 0.03, "length": 0.02}}}'
fill >out1 2>err1
fill >out2 2>err2
is "faults: exit 0" "$?" 0
is "faults: the first batch: 20 failed, 6 refused, 4 truncated" \
	"$(sql "select state || ':' || error, count(*) from batch_lines where batch = 1 and state <> 'done' group by 1 order by 1" | tr '\n' ' ')" \
	"failed:internal_server_error|20 rejected:refusal|6 rejected:truncated|4 "
check "faults: the collection says so" grep -q '^batches collected: 1 (170 made, 10 rejected, 20 failed, 0 expired)$' out2
is "faults: none of them in the pool" \
	"$(sql "select count(*) from scenarios where finish_reason <> 'stop' or lower(text) like '%as an ai%' or lower(text) like '%i can''t%' or lower(text) like '%i cannot%'")" 0
is "faults: all 30 planned again in the next batch" \
	"$(sql "select lines from batches where id = 2"):$(sql "select count(*) from batch_lines where batch = 1 and state <> 'done' and retried = 1")" "30:30"
fill >out3 2>err3
is "faults: the second batch: 3 failed, 1 refused, 1 truncated again" "$(lines 2)" "done|25 failed|3 rejected|2 "
is "faults: past the cap of 2 attempts: 5 lines, not planned again" \
	"$(sql "select count(*) from batch_lines where batch = 2 and state <> 'done' and retried = 0 and attempt = 2")" 5
is "faults: no third batch" "$(sql "select count(*) from batches")" 2
check "faults: the plan names them" sh -c "scen-pool-fill --experiment batch-2026 --dry-run | grep -q 'past the attempt cap: 5'"
is "faults: 195 entries, all valid" "$(pool_count)" 195
scen-cache-stats --json >stats.json
is "faults: scen-cache-stats reports the 5 past the cap (JSON)" \
	"$(j '[r["batches"]["lines_capped"], r["batches"]["completed"], r["batches"]["open"]]' stats.json)" "[5, 2, 0]"
scen-cache-stats >stats.txt
check "faults: ... and in its table" grep -qE 'lines at the attempt cap +5$' stats.txt
scen-cache-stats --prometheus >stats.prom
check "faults: ... and to Prometheus" grep -q '^scen_batch_lines_capped 5$' stats.prom
fill >out4 2>err4
is "faults: a later run submits nothing for them" "$(fake_stat 'r["batches"]["created"]')" 2
fake_stop
done_testing
