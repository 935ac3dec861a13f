# A key whose provider refuses batches (scen-pool-fill(1), BATCHES; Groq
# answers a plan without batches 403 not_available_for_plan): pool.mode
# auto fills online within the quota share and says why, once; the
# refusal is remembered (the next run asks nothing of the Batch API);
# pool.mode batch exits 69 naming the refusal, recording nothing.
. "$(dirname "$0")/../lib/test-lib.sh"

fake_start
VARIANTS=2 SHARE=0.5 RPD=20 write_pool_config
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: auto}/' "$SCEN_CONFIG"
fake_ctl '{"batch": {"refuse_keys": true}}'
scen-pool-fill --experiment pool-2026 >out1 2>err1
is "auto: exit 0" "$?" 0
is "auto: says why, once" "$(grep -c 'refuses batches' err1)" 1
check "auto: in the provider's words" grep -q 'account groq-a: HTTP 403 not_available_for_plan' err1
check "auto: and that it fills online" grep -q 'filling online within the quota share' err1
check "auto: the summary names the mode" grep -q '^mode: auto (online: batches refused)$' out1
is "auto: online calls within the share (2 accounts x floor(0.5 x 20))" \
	"$(sql "select count(*) from calls")" 20
is "auto: as many entries" "$(sql "select count(*) from scenarios where origin = 'pool'")" 20
is "auto: no batch recorded or created" \
	"$(sql "select count(*) from batches"):$(fake_stat 'r["batches"]["created"]')" "0:0"
is "auto: the refusal remembered for both keys" \
	"$(sql "select account, verdict from batch_keys order by account" | tr '\n' ' ')" \
	"groq-a|refused groq-b|refused "

# the provider would now take them: the remembered refusal holds (a week,
# or until the key changes), so nothing is asked of the Batch API
fake_ctl '{"batch": {"refuse_keys": false}}'
scen-pool-fill --experiment pool-2026 >out2 2>err2
is "remembered: exit 0" "$?" 0
check "remembered: says so" grep -q 'remembered since' err2
is "remembered: no batch" "$(fake_stat 'r["batches"]["created"]')" 0

# batch mode: a documented status and a clear message, nothing recorded
VARIANTS=3 SHARE=0.5 RPD=20 write_pool_config
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: auto}/' "$SCEN_CONFIG"
calls=$(sql "select count(*) from calls")
scen-pool-fill --experiment pool-2026 --mode batch >out3 2>err3
is "batch: exit 69" "$?" 69
check "batch: names the refusal and the way out" \
	grep -q 'pool.mode batch: the provider refuses batches for every account; set pool.mode to auto or online (account groq-a: HTTP 403 not_available_for_plan: .*; account groq-b: the same)' err3
is "batch: nothing recorded, no call" \
	"$(sql "select count(*) from batches"):$(sql "select count(*) from calls")" "0:$calls"

# a new key is judged anew: the provider accepts it, a batch goes out
export SCEN_TEST_KEY_1=$SCEN_TEST_KEY_3
scen-pool-fill --experiment pool-2026 --mode batch >out4 2>err4
is "new key: exit 0" "$?" 0
is "new key: one batch" "$(fake_stat 'r["batches"]["created"]')" 1
is "new key: its verdict recorded" "$(sql "select verdict from batch_keys where account = 'groq-a'")" accepted

# the Batch API down (503 to every call): not a refusal, not remembered;
# auto fills online this run and says why, batch exits 69
rm -f scen.db scen.db-wal scen.db-shm
fake_reset
fake_ctl '{"batch": {"down": true}}'
scen-pool-fill --experiment pool-2026 --mode batch >out5 2>err5
is "down, batch: exit 69" "$?" 69
check "down, batch: says the next run tries again, in the provider's words" \
	grep -q 'pool.mode batch: no account could be sent a batch; the next run tries again (account groq-a: HTTP 503: Service Unavailable (3 tries); account groq-b: the same)' err5
is "down, batch: nothing recorded, nothing remembered" \
	"$(sql "select count(*) from batches"):$(sql "select count(*) from batch_keys")" "0:0"
scen-pool-fill --experiment pool-2026 --mode auto >out6 2>err6
is "down, auto: exit 0" "$?" 0
check "down, auto: says why it fills online" \
	grep -q 'pool.mode auto: no account could be sent a batch (.*); filling online within the quota share' err6
is "down, auto: online calls within the share" "$(sql "select count(*) from calls")" 20
fake_stop
done_testing
