# kill -9 at random moments (10 times here, 60 under make check-long): after
# each, the database is intact, every "ok" answer printed before the kill has
# its serving committed, no job is lost, and nothing is stored twice.
. "$(dirname "$0")/../lib/test-lib.sh"
KILLS=${KILLS:-10}
[ -n "${SCEN_LONG:-}" ] && KILLS=60
fake_start --delay-ms 20
MAX_SERVES=100000 BAND_HI=1.0 DEADLINE_S=5 write_config
python3 - >stream <<'PY'
import json, random
random.seed(3)
g = ["female", "male"]; a = ["younger", "older"]; t = ["neutral", "warm", "cold"]
for i in range(3000):
    print(json.dumps({"id": "k%d" % i, "session": "s%d" % random.randint(0, 400),
        "experiment": "trust-2026", "template": "hiring",
        "factors": {"gender": random.choice(g), "age": random.choice(a),
                    "tone": random.choice(t)}, "position": random.randint(1, 10)},
        separators=(",", ":")))
PY
bad_integrity=0 lost=0 total_ok=0
for k in $(seq 1 "$KILLS"); do
	start=$(( (k * 397) % 2900 ))
	tail -n +"$start" stream | head -400 | sed "s/\"id\":\"k/\"id\":\"r$k-k/" >in
	if [ $((k % 3)) -eq 0 ]; then
		scen-serve-stdin --async <in >out.$k 2>err.$k &
	else
		scen-serve-stdin <in >out.$k 2>err.$k &
	fi
	pid=$!
	sleep "0.$(( (k * 7919) % 9 ))$(( k % 10 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ "$(sql 'pragma integrity_check')" = ok ] || bad_integrity=$((bad_integrity + 1))
	# every ok answer printed has its serving
	j 'r["id"] if r["status"] == "ok" else ""' out.$k 2>/dev/null | grep . >ids || true
	n=$(wc -l <ids)
	total_ok=$((total_ok + n))
	if [ "$n" -gt 0 ]; then
		have=$(python3 -c '
import sqlite3, sys
ids = [l.strip() for l in open("ids")]
c = sqlite3.connect("file:scen.db?mode=ro", uri=True)
q = "select count(distinct request_id) from servings where request_id in (%s)" % ",".join("?" * len(ids))
print(c.execute(q, ids).fetchone()[0])')
		lost=$((lost + n - have))
	fi
done
is "integrity_check ok after every one of $KILLS kills" "$bad_integrity" 0
cmp_num "ok answers were printed before the kills ($total_ok)" "$total_ok" -gt 0
is "every ok answer printed before a kill has its serving committed" "$lost" 0
# a last run finishes what the killed ones left
scen-serve-stdin </dev/null >last.out 2>last.err
is "the last run exits 0" "$?" 0
is "no job lost: every one ended" "$(sql "select count(*) from jobs where state in ('queued', 'running')")" 0
is "nothing stored twice" "$(sql 'select count(*) - count(distinct job) from scenarios where job is not null')" 0
is "no serving answered twice" "$(sql 'select count(*) - count(distinct request_id) from servings')" 0
done_testing
