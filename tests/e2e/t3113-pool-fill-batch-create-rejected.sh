# A batch whose creation the provider rejects (400, not a refusal of the
# plan) is dropped, as one whose input file it rejects (scen-pool-fill(1),
# BATCHES): it does not stay open for ever (its lines pending, so that no
# run, online included, made those entries: found by review); each run
# tries once and says why.
. "$(dirname "$0")/../lib/test-lib.sh"

fake_start
proxy_start create-400
VARIANTS=2 write_pool_config
sed -i "s|^  base_url: .*|  base_url: $PROXY_URL|" "$SCEN_CONFIG"
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: batch}/' "$SCEN_CONFIG"
fill() { scen-pool-fill --experiment pool-2026 "$@"; }

for run in 1 2 3 4; do fill >out$run 2>err$run; done
is "four runs: the batch is not left open for ever" \
	"$(sql "select count(*) from batches where state <> 'ended'")" 0
is "... one file uploaded a run, each run saying why" \
	"$(fake_stat 'r["batches"]["files_uploaded"]'):$(cat err1 err2 err3 err4 | grep -c 'the provider rejects its creation')" 4:4
scen-cache-stats --json >stats.json
is "scen-cache-stats: batches that never reached the provider are no failed batches, their lines no failed lines" \
	"$(j '[r["batches"]["failed"], r["batches"]["lines"]["failed"], r["batches"]["open"]]' stats.json)" "[0, 0, 0]"
fill --mode online >out5 2>err5
is "an online run then makes the entries" "$(sql "select count(*) from scenarios")" 28
done_testing
