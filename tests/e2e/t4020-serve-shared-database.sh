# Two scen-serve-stdin processes on one database: what one stores is
# served by the other (scen-serve-stdin(1), CONCURRENCY), whether it was
# stored before the other was asked (its serving counted once, not twice)
# or while the other waited for its own, slower provider.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
fast=$FAKE_URL
fast_pid=$FAKE_PID
# the second process's provider answers after its deadline
fake_start --delay-ms 2500
slow_pid=$FAKE_PID
MAX_SERVES=2 DEADLINE_S=1 TIMEOUT_S=4 FALLBACK="cache, fresh" write_config slow.yaml
FAKE_URL=$fast MAX_SERVES=2 FALLBACK="cache, fresh" write_config fast.yaml

# B runs first, on the slow provider, and stays up
mkfifo fifo
SCEN_CONFIG=slow.yaml scen-serve-stdin <fifo >outb 2>errb &
pid=$!
exec 3>fifo
req b0 sb0 male younger cold 9 >&3	# B's first turn: its index is loaded
check "B answers its first request" wait_lines outb 1

# A stores a scenario and serves it once; then B is asked for it
req a1 sa1 female older warm 3 | SCEN_CONFIG=fast.yaml scen-serve-stdin >outa 2>erra
is "A: generated" "$(j 'r["tier"]' outa)" fresh
req b1 sb1 female older warm 3 >&3
check "B answers" wait_lines outb 2
is "B serves what A stored (served once: max_serves 2 leaves one)" \
	"$(sed -n 2p outb | j 'r["status"] + " " + r.get("tier", "") + " " + r.get("scenario_id", "")')" \
	"ok cache $(j 'r["scenario_id"]' outa)"

# B is asked first and waits for its provider; A stores meanwhile (as
# scen-gen, which never joins a generation in flight: a scen-serve-stdin
# asked the same would wait for B's call, t4030)
req b2 sb2 male older neutral 5 >&3
sleep 0.2
req a2 sa2 male older neutral 5 | SCEN_CONFIG=fast.yaml scen-gen >outa 2>erra
is "A: generated while B waits" "$(j 'r["tier"]' outa)" fresh
check "B answers after its deadline" wait_lines outb 3
is "B serves what A stored while it waited, not unavailable" \
	"$(sed -n 3p outb | j 'r["status"] + " " + r.get("tier", "") + " " + r.get("scenario_id", "")')" \
	"ok cache $(j 'r["scenario_id"]' outa)"
exec 3>&-
wait $pid
is "B exits 0" "$?" 0
is "the servings agree with the answers" \
	"$(sql "select tier from servings where request_id in ('b1', 'b2') order by id" | tr '\n' ' ')" \
	"cache cache "
kill "$fast_pid" 2>/dev/null && wait "$fast_pid" 2>/dev/null
done_testing
