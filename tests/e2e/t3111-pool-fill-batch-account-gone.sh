# a batch whose account was removed from the config. A batch left
# planned (the intent recorded, nothing sent: a run killed at "intent")
# was never at the provider, yet once its account is gone it stays open
# for ever and its lines count as pending: no later run, in any mode,
# fills those entries (the pool stays short, "waiting" every night).
. "$(dirname "$0")/../lib/test-lib.sh"

fake_start
VARIANTS=2 write_pool_config
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: batch}/' "$SCEN_CONFIG"
fill() { scen-pool-fill --experiment pool-2026 "$@"; }

SCEN_KILL_AT=intent fill >out1 2>err1
is "killed after the intent: one batch planned on groq-a, nothing sent" \
	"$(sql "select account, state from batches"):$(fake_stat 'r["batches"]["files_uploaded"]')" "groq-a|planned:0"
sed -i '/name: groq-a/d' "$SCEN_CONFIG"	# the account is retired
for run in 2 3 4; do fill >out$run 2>err$run; done
is "batch mode: the entries are made on the remaining account" \
	"$(sql "select count(*) from scenarios")" 28
fill --mode online >out5 2>err5
is "online mode: the entries are made (nothing of them is at the provider)" \
	"$(sql "select count(*) from scenarios")" 28
done_testing
