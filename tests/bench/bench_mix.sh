# scen-serve-stdin throughput on a realistic mix: 70 % strict hits, 25 %
# fresh generations through the fake provider, 4 % pool entries, 1 %
# relaxed matches (100,000 requests; fallback [cache, pool, relaxed, fresh]
# so that each tier's share is set by construction). The fresh quarter is
# bound by the fake provider (a Python server, a few hundred calls a second).
. "$SCEN_TOP/tests/lib/test-lib.sh"
fake_start
python3 - "$FAKE_URL" >scen.yaml <<'PY'
import sys
print("""database: scen.db
provider:
  base_url: %s
  model: m
  max_concurrency: 32
  deadline_s: 600
  accounts:
    - {name: a, api_key_env: SCEN_TEST_KEY_1}
    - {name: b, api_key_env: SCEN_TEST_KEY_2}
cache: {max_serves: 1000000, hit_rate_band: [0.6, 1.0]}
fallback: [cache, pool, relaxed, fresh]
experiments:
  e:
    templates:
      t:
        prompt: "Scenario {n}, in a {tone} tone, scene {position} of 10."
        factors:
          n: {levels: [%s]}
          tone: {levels: [neutral, warm, cold], weight: 1}
        position: {min: 1, max: 10, weight: 1}""" % (sys.argv[1], ", ".join(str(i) for i in range(2000))))
PY
export SCEN_CONFIG=$T/scen.yaml
line() { printf '{"id":"g","template":"t","factors":{"n":%s,"tone":"warm"},"position":%s}\n' "$1" "$2"; }
{ for n in $(seq 0 99); do line $n 5; done; for n in $(seq 300 399); do line $n 5; done; } | scen-gen >/dev/null
# a pool entry for each of 4,000 combinations, each asked for once
python3 -c '
import json
k = 0
for n in range(100, 300):
    for t in ("neutral", "warm", "cold"):
        for p in range(1, 11):
            if k < 4000:
                print(json.dumps({"id": "p", "template": "t", "factors": {"n": n, "tone": t}, "position": p}))
            k += 1' | scen-gen --pool >/dev/null
python3 - <<'PY'
import json, random
random.seed(4)
fresh = [(n, t, p) for n in range(400, 2000) for t in ("neutral", "warm", "cold") for p in range(1, 11)]
random.shuffle(fresh)
pool = [(n, t, p) for n in range(100, 300) for t in ("neutral", "warm", "cold") for p in range(1, 11)][:4000]
random.shuffle(pool)
out = []
for i in range(100000):
    k = i % 100
    if k < 70:   n, t, p = random.randint(0, 99), "warm", 5          # strict hit
    elif k < 95: n, t, p = fresh.pop()                                # fresh
    elif k < 99: n, t, p = pool.pop()                                 # pool
    else:        n, t, p = random.randint(300, 399), "warm", 6        # relaxed
    out.append(json.dumps({"id": "m%d" % i, "session": "s%d" % i, "template": "t",
        "factors": {"n": n, "tone": t}, "position": p}, separators=(",", ":")))
open("mix.jsonl", "w").write("\n".join(out) + "\n")
PY
python3 - <<'PY'
import json, resource, subprocess, time
t = time.monotonic()
with open("mix.jsonl") as i, open("mix.out", "w") as o:
    subprocess.run(["scen-serve-stdin"], stdin=i, stdout=o, check=True)
dt = time.monotonic() - t
tiers = {}
for l in open("mix.out"):
    r = json.loads(l)
    k = r.get("tier", r["status"])
    tiers[k] = tiers.get(k, 0) + 1
print("mix: 100,000 requests in %.1f s = %.0f requests/s, peak RSS %.0f MB; %s" % (
    dt, 100000 / dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    ", ".join("%s %d" % kv for kv in sorted(tiers.items()))))
PY
