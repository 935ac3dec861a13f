# a batch's creation is a POST that is not idempotent. When the
# provider creates the batch but its answer is lost (a 502 from a gateway,
# a timeout), scen-pool-fill must not create a second batch for the same
# lines (scen-pool-fill(1), BATCHES, "Exactly once": "no batch is created
# twice for the same lines"); it should find it by listing, as after a kill.
. "$(dirname "$0")/../lib/test-lib.sh"

fake_start
proxy_start create-502
VARIANTS=2 write_pool_config
sed -i "s|^  base_url: .*|  base_url: $PROXY_URL|" "$SCEN_CONFIG"
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: batch}/' "$SCEN_CONFIG"
fill() { scen-pool-fill --experiment pool-2026 "$@"; }

fill >out1 2>err1
is "the run exits 0" "$?" 0
is "one file uploaded, ONE batch created from it at the provider" \
	"$(fake_stat '[r["batches"]["files_uploaded"], r["batches"]["created"]]')" "[1, 1]"
fill >out2 2>err2
fill >out3 2>err3
is "the design in the pool once" \
	"$(sql "select count(*), count(distinct custom_id) from scenarios")" "28|28"
is "still one batch at the provider" "$(fake_stat 'r["batches"]["created"]')" 1
done_testing
