# Jobs on several hosts (scen-serve-stdin(1), CONCURRENCY): a job names
# its owner's host and pid, and owners write a heartbeat. A process of
# another host (SCEN_HOST, a test build's stand-in for the host's name)
# does not adopt a job whose owner's pid it cannot see as long as its
# heartbeat is fresh; once the heartbeat is older than the bound, a
# request for the same combination takes the job over (one call more,
# not two) and is answered from it.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
write_config
scen-serve-stdin </dev/null 2>err0	# the database, made once
# A's call is slow; A is killed while it is out
fake_ctl '{"mode": "slow", "count": 1, "delay_ms": 1500}'
mkfifo fa
SCEN_HOST=host-a scen-serve-stdin <fa >outa 2>erra &
apid=$!
exec 3>fa
req a1 sa1 female older warm 3 >&3
check "A's call is out" wait_sql "select state from jobs" running
kill -9 "$apid"
wait "$apid" 2>/dev/null
exec 3>&-

# host-b starts: A's pid means nothing there, and A's heartbeat is fresh
SCEN_HOST=host-b scen-serve-stdin </dev/null 2>errb0
is "B exits 0" "$?" 0
is "B leaves A's job to A" "$(sql "select owner_host, owner_pid, state from jobs")" \
	"host-a|$apid|running"
is "and makes no call for it" "$(fake_stat 'r["calls"]')" 1

# B runs; A's heartbeat grows older than the bound (30 s)
mkfifo fb
SCEN_HOST=host-b scen-serve-stdin <fb >outb 2>errb &
bpid=$!
exec 4>fb
req b0 sb0 male younger cold 9 >&4
check "B answers its first request" wait_lines outb 1
python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("update owners set seen_at = seen_at - 60 where host = ?", ("host-a",))
c.commit()' "$T/scen.db"
req b1 sb1 female older warm 3 >&4
check "B answers the request A's job was for" wait_lines outb 2
is "with the scenario of A's job, which B took over" \
	"$(sed -n 2p outb | j 'r["status"] + " " + r.get("tier", "")')" "ok fresh"
exec 4>&-
wait "$bpid"
is "B exits 0" "$?" 0
is "A's job is B's, done" \
	"$(sql "select owner_host, state from jobs where id = 1")" "host-b|done"
is "its scenario is the one served" \
	"$(sql "select s.sid from jobs j join scenarios s on s.id = j.scenario where j.id = 1")" \
	"$(sed -n 2p outb | j 'r["scenario_id"]')"
is "no job was made for it" "$(sql "select count(*) from jobs")" 2
is "one call for it (three in all)" "$(fake_stat 'r["calls"]')" 3
grep -q "resuming job .*: the process working it is gone" errb
is "B says it took the job over" "$?" 0
done_testing
