# scen-pool-fill's batches on a PostgreSQL database shared by two hosts
# (scen-pool-fill(1), scen(7) "Several hosts"): host A is killed after the
# provider created its batch, before recording it; host B's run finds the
# batch at the provider and records it (never creates a second); host A is
# killed again in the middle of collecting; host B collects: the design
# in the pool once, each entry naming its batch, the figures alike.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start
pg_start
VARIANTS=2 write_pool_config
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: batch}/' "$SCEN_CONFIG"
for h in hostA hostB; do
	mkdir "$h"
	config_with_db "$SCEN_PG_URI" >"$h/scen.yaml"
done
on() {
	h=$1
	shift
	(cd "$h" && SCEN_HOST=$h SCEN_CONFIG=$PWD/scen.yaml "$@")
}
fill() { on "$@" scen-pool-fill --experiment pool-2026; }

SCEN_KILL_AT=create fill hostA >a1 2>a1.err
is "host A killed after the batch was created" "$?" 137
is "... recorded as uploaded only" \
	"$(pg_sql "select state, batch_id is null from batches")" "uploaded|t"
is "... the provider has it" "$(fake_stat 'r["batches"]["created"]')" 1
fill hostB >b1 2>b1.err
is "host B: exit 0" "$?" 0
check "host B: found the batch at the provider" grep -q 'found at the provider as batch_' b1.err
is "host B: recorded it, created none" \
	"$(pg_sql "select count(*), min(state) from batches"):$(fake_stat 'r["batches"]["created"]')" "1|submitted:1"
SCEN_KILL_AT=collect fill hostA >a2 2>a2.err
is "host A killed in the middle of collecting" "$?" 137
is "... nothing of it stored" "$(pg_sql "select count(*) from scenarios")" 0
fill hostB >b2 2>b2.err
is "host B collects: exit 0" "$?" 0
is "the design in the pool once (14 combinations x 2)" \
	"$(pg_sql "select count(*), min(n), max(n) from (select count(*) n from scenarios group by version, key) s")" "14|2|2"
is "no custom_id twice" "$(pg_sql "select count(*) - count(distinct custom_id) from scenarios")" 0
bid=$(pg_sql "select batch_id from batches")
on hostB scen-export --what scenarios >sc.jsonl
is "export: every entry names the batch" "$(j 'r["batch_id"]' sc.jsonl | sort | uniq -c | awk '{print $1, $2}')" "28 $bid"
on hostA scen-cache-stats --json >stats.json
is "stats: the batch completed, its 28 lines done" \
	"$(j '[r["batches"]["completed"], r["batches"]["open"], r["batches"]["lines"]["done"]]' stats.json)" "[1, 0, 28]"
is "one batch at the provider, no online call" \
	"$(fake_stat '[r["batches"]["created"], r["calls"]]')" "[1, 0]"
fake_stop
done_testing
