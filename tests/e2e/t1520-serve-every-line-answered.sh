# No line of input is ever left without exactly one final answer: a
# randomized stream of hits, misses, bad lines and polls against a provider
# failing at random; also at SIGTERM, which finishes the work in flight.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
TIMEOUT_S=1 DEADLINE_S=2 BREAKER_FAILURES=1000 write_config
python3 - >script.json <<'PY'
import json, random
random.seed(11)
modes = ["ok"] * 6 + ["500", "503", "refuse", "length", "malformed", "429", "slow", "reset", "empty"]
print(json.dumps({"mode": "script", "script": [
    {"mode": m, "delay_ms": 1500} if m == "slow" else m
    for m in (random.choice(modes) for _ in range(400))]}))
PY
fake_ctl "$(cat script.json)"
python3 - >in <<'PY'
import json, random
random.seed(5)
g = ["female", "male"]; a = ["younger", "older"]; t = ["neutral", "warm", "cold"]
for i in range(1500):
    k = random.random()
    if k < 0.1:
        print(random.choice(["garbage", "{\"id\":", "[]", "{\"id\":\"x%d\"}" % i]))
        continue
    r = {"id": "q%d" % i, "session": "s%d" % random.randint(0, 300),
         "experiment": "trust-2026", "template": "hiring",
         "factors": {"gender": random.choice(g), "age": random.choice(a),
                     "tone": random.choice(t)}, "position": random.randint(1, 10)}
    if k < 0.15:
        r = {"id": "q%d" % i, "op": "status", "session": r["session"], "job": "j-%016x" % i}
    print(json.dumps(r))
PY
scen-serve-stdin <in >out 2>err
is "exit 0" "$?" 0
lines=$(wc -l <in)
is "one answer per line" "$(wc -l <out)" "$lines"
is "only final statuses" "$(j 'r["status"]' out | sort -u | tr '\n' ' ')" "error ok unavailable "
is "every id answered once" "$(j 'r["id"] if r["id"] is not None else "line %d" % r["line"]' out | sort | uniq -d | wc -l)" 0
check "each ok is a stored scenario" test "$(j 'r.get("scenario_id", "")' out | grep -c sc-)" -eq "$(sql 'select count(*) from servings')"
is "nothing invalid stored" "$(sql "select count(*) from scenarios where length(text) < 200 or text like '%cannot%'")" 0

# SIGTERM: in-flight generations finish and are answered, then exit 0
fake_ctl '{"mode":"slow","delay_ms":700}'
rm -f scen.db*
mkfifo fifo
scen-serve-stdin <fifo >out2 2>err2 &
pid=$!
exec 3>fifo
design 4 t >&3
sleep 0.5
kill -TERM $pid
start=$(date +%s)
wait $pid
rc=$?
exec 3>&-
is "SIGTERM: exit 0" "$rc" 0
is "SIGTERM: the four in flight were answered" "$(j 'r["status"]' out2 | sort | uniq -c | awk '{print $1, $2}')" "4 ok"
check "SIGTERM: promptly (within the provider's time)" test $(($(date +%s) - start)) -le 3
# a second signal exits at once
fake_ctl '{"mode":"slow","delay_ms":10000}'
rm -f fifo && mkfifo fifo
scen-serve-stdin <fifo >out3 2>err3 &
pid=$!
exec 3>fifo
design 8 u | tail -2 >&3
sleep 0.5
kill -TERM $pid
sleep 0.3
kill -TERM $pid
start=$(date +%s)
wait $pid
rc=$?
exec 3>&-
check "a second signal exits at once ($rc)" test $(($(date +%s) - start)) -le 1 -a "$rc" -ne 0
check "the database is intact after it" test "$(sql 'pragma integrity_check')" = ok
done_testing
