# scen-pool-fill's batches whatever kills it (scen-pool-fill(1), BATCHES):
# kill -9 after the intent is recorded, after the upload, after the batch
# is created (before its id is recorded), and in the middle of collecting;
# then runs to completion: exactly the design in the pool, no custom_id
# stored twice, and at the provider no batch created twice for the same
# entries (counted at the fake).
. "$(dirname "$0")/../lib/test-lib.sh"

fake_start
VARIANTS=2 write_pool_config
sed -i 's/^pool: {\(.*\)}$/pool: {\1, mode: batch}/' "$SCEN_CONFIG"
fill() { scen-pool-fill --experiment pool-2026 "$@"; }
# the design: pool-2026 has 12 + 2 combinations, 2 variants each
design_ok() {
	sql "select count(*), min(n), max(n) from (select count(*) n from scenarios
	     where origin = 'pool' group by version, key)"
}

for point in intent upload create collect; do
	rm -f scen.db scen.db-wal scen.db-shm
	fake_reset
	if [ $point = collect ]; then
		fill >out0 2>err0
		is "$point: the first run submits" "$(sql "select state from batches")" submitted
	fi
	SCEN_KILL_AT=$point fill >out1 2>err1
	is "$point: killed there" "$?" 137
	case $point in
	intent) want="planned|0|0" ;;
	upload) want="planned|0|0" ;;
	create) want="uploaded|1|0" ;;
	collect) want="submitted|1|1" ;;
	esac
	is "$point: what the kill left recorded (state, file, batch id)" \
		"$(sql "select state, file_id is not null, batch_id is not null from batches")" "$want"
	is "$point: nothing stored by the killed run" \
		"$(sql "select count(*) from scenarios")" 0
	for run in 2 3 4; do fill >out$run 2>err$run || break; done
	is "$point: the reruns exit 0" "$?" 0
	is "$point: exactly the design in the pool (14 combinations x 2)" "$(design_ok)" "14|2|2"
	is "$point: no custom_id stored twice" \
		"$(sql "select count(*), count(distinct custom_id) from scenarios")" "28|28"
	is "$point: one batch at the provider, created from one file" \
		"$(fake_stat '[r["batches"]["created"], sorted(r["batches"]["by_input_file"].values())]')" "[1, [1]]"
	is "$point: and one recorded, ended" \
		"$(sql "select count(*), min(state) from batches where batch_id is not null")" "1|ended"
	is "$point: no online call" "$(fake_stat 'r["calls"]')" 0
done
# the upload a killed run left unrecorded is uploaded again (a file costs
# nothing); the batch a killed run created is found, not made again
rm -f scen.db scen.db-wal scen.db-shm
fake_reset
SCEN_KILL_AT=create fill >/dev/null 2>&1
fill >out 2>err
check "create: the rerun says it found the batch" grep -q 'found at the provider as batch_' err
is "create: still one batch, one upload" \
	"$(fake_stat '[r["batches"]["created"], r["batches"]["files_uploaded"]]')" "[1, 1]"
# a batch left planned whose template changed before it was sent: dropped
# (nothing of the old version goes out), the new version's batch instead
rm -f scen.db scen.db-wal scen.db-shm
fake_reset
SCEN_KILL_AT=intent fill >/dev/null 2>&1
sed -i 's/You write short scenarios for a pool test./You write short scenarios for a pool test, anew./' "$SCEN_CONFIG"
fill >out 2>err
check "changed template: the old batch is dropped, said" grep -q 'no line of it is of a current template; dropped' err
is "changed template: the old batch ended unsent, a new one submitted" \
	"$(sql "select state || ':' || status || ':' || coalesce(batch_id, '-') from batches order by id" | sed 's/batch_[^ ]*/sent/' | tr '\n' ' ')" "ended:stale:- submitted:validating:sent "
fill >out 2>err
is "changed template: the design made at the new versions" \
	"$(sql "select count(*) from scenarios s join templates t on t.version = s.version where t.system like '%anew.'")" 28
fake_stop
done_testing
