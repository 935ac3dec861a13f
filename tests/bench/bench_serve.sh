# scen-serve-stdin throughput on cache hits (durable serving records), and
# the latency the fresh path adds over the provider's own response time.
. "$SCEN_TOP/tests/lib/test-lib.sh"
fake_start
MAX_SERVES=1000000 BAND_HI=1.0 MAX_CONCURRENCY=16 write_config
export PYTHONPATH=$SCEN_TOP/tests/lib
# 120 combinations x 3 variants, then 100,000 hits from new sessions
design 120 g | scen-gen -n 3 >/dev/null
python3 - <<'PY'
import json, random
random.seed(1)
with open("hits.jsonl", "w") as f:
    for i in range(100000):
        f.write(json.dumps({"id": "r%d" % i, "session": "p%d" % i,
            "experiment": "trust-2026", "template": "hiring",
            "factors": {"gender": random.choice(["female", "male"]),
                        "age": random.choice(["younger", "older"]),
                        "tone": random.choice(["neutral", "warm", "cold"])},
            "position": random.randint(1, 10)}) + "\n")
PY
python3 - <<'PY'
import json, resource, subprocess, time
t = time.monotonic()
with open("hits.jsonl") as i, open("hits.out", "w") as o:
    subprocess.run(["scen-serve-stdin"], stdin=i, stdout=o, check=True)
dt = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
tiers = {}
for line in open("hits.out"):
    r = json.loads(line)
    tiers[r.get("tier")] = tiers.get(r.get("tier"), 0) + 1
print("cache hits:   100,000 requests in %.2f s = %.0f requests/s, peak RSS %.1f MB (tiers %s)"
      % (dt, 100000 / dt, rss / 1024, tiers))
PY
echo "servings recorded: $(sql 'select count(*) from servings')"

# the fresh path: one request at a time, answer latency over the provider's
rm -f scen.db scen.db-wal scen.db-shm
design 120 m >misses.jsonl
python3 - "$FAKE_PORT" <<'PY'
import driver, http.client, json, os, statistics, sys, time
port = int(sys.argv[1])
key = os.environ["SCEN_TEST_KEY_1"]
body = json.dumps({"model": "llama-3.1-8b-instant", "messages": [
    {"role": "system", "content": "You write short scenarios."},
    {"role": "user", "content": "Write a 120-word scenario about a hiring decision."}],
    "temperature": 0.9, "max_tokens": 600})
c = http.client.HTTPConnection("127.0.0.1", port)
own = []
for i in range(120):
    t = time.monotonic()
    c.request("POST", "/openai/v1/chat/completions", body,
              {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    c.getresponse().read()
    own.append(time.monotonic() - t)
d = driver.Serve(["scen-serve-stdin"])
lat = []
tiers = set()
for line in open("misses.jsonl"):
    req = json.loads(line)
    d.send(req)
    a, t = d.wait(lambda r, i=req["id"]: r["id"] == i)
    tiers.add(a["tier"])
    lat.append(t - d.sent[req["id"]])
d.close()
assert tiers == {"fresh"}, tiers
q = lambda v, p: sorted(v)[int(p * (len(v) - 1))] * 1000
print("fresh path:   provider alone p50 %.2f ms; through scen-serve-stdin p50 %.2f ms, p95 %.2f ms"
      % (q(own, .5), q(lat, .5), q(lat, .95)))
print("              added by scen (p50): %.2f ms (includes the job's commit before the call and the serving's commit after)"
      % (q(lat, .5) - q(own, .5)))
PY
