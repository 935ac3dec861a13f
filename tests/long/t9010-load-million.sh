# Load: a sustained 1,000,000-line mixed stream (hits, misses, bad lines,
# polls) against a provider failing now and then: every line is answered
# and memory stays flat (RSS sampled every second, printed).
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
BREAKER_FAILURES=1000 MAX_SERVES=100000 write_config
python3 - <<'PY'
import json, random
random.seed(9)
g = ["female", "male"]; a = ["younger", "older"]; t = ["neutral", "warm", "cold"]
with open("load.jsonl", "w") as f:
    for i in range(1000000):
        k = random.random()
        if k < 0.05:
            f.write("not json %d\n" % i)
            continue
        r = {"id": "L%d" % i, "session": "s%d" % random.randint(0, 20000),
             "experiment": "trust-2026", "template": "hiring",
             "factors": {"gender": random.choice(g), "age": random.choice(a),
                         "tone": random.choice(t)}, "position": random.randint(1, 10)}
        if k < 0.07:
            r = {"id": "L%d" % i, "op": "status", "session": r["session"], "job": "j-%016x" % i}
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
PY
fake_ctl "$(python3 -c '
import json, random
random.seed(2)
print(json.dumps({"mode": "script", "script": [random.choice(["ok"] * 8 + ["500", "refuse", "429"]) for _ in range(5000)]}))')"
scen-serve-stdin <load.jsonl >out 2>err &
pid=$!
: >rss
while kill -0 $pid 2>/dev/null; do
	awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null >>rss
	sleep 1
done
wait $pid
is "exit 0" "$?" 0
is "every line answered" "$(wc -l <out)" 1000000
echo "# RSS (kB) every second: $(tr '\n' ' ' <rss)"
python3 - <<'PY' >verdict
v = [int(x) for x in open("rss") if x.strip()]
if len(v) < 4:
    print("ok"); raise SystemExit
warm = v[len(v) // 4]
print("ok" if max(v[len(v) // 4:]) <= warm * 1.5 + 20000 else "grew %d -> %d kB" % (warm, max(v)))
PY
is "memory flat after warm-up" "$(cat verdict)" ok
done_testing
