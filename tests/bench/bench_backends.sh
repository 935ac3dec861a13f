# scen-serve-stdin cache hits on SQLite and on PostgreSQL, side by side:
# one study (120 combinations x 3 variants), then 100,000 hits from new
# sessions, each answer printed after its serving's record is committed
# (group commit: one transaction a turn). The median of 3 runs on each
# backend; on PostgreSQL also where the time goes (the client's own CPU
# time against the wall time: the rest is the server and the waits on it).
. "$SCEN_TOP/tests/lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
RUNS=${RUNS:-3}
HITS=${HITS:-100000}
fake_start
MAX_SERVES=1000000 BAND_HI=1.0 MAX_CONCURRENCY=16 write_config
design 120 g | scen-gen -n 3 >/dev/null
python3 - "$HITS" <<'PY'
import json, random, sys
random.seed(1)
n = int(sys.argv[1])
# one file per run, each from sessions of its own: every hit is a new
# session's on each run
for run in range(3):
    with open("hits%d.jsonl" % run, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": "r%d" % i, "session": "p%d-%d" % (run, i),
                "experiment": "trust-2026", "template": "hiring",
                "factors": {"gender": random.choice(["female", "male"]),
                            "age": random.choice(["younger", "older"]),
                            "tone": random.choice(["neutral", "warm", "cold"])},
                "position": random.randint(1, 10)}) + "\n")
PY
pg_start
scen-db-copy --from scen.db --to "$SCEN_PG_URI" >/dev/null ||
	{ echo "bench_backends: the copy to PostgreSQL failed"; exit 1; }
{ echo "database: \"$SCEN_PG_URI\""; grep -v '^database:' "$SCEN_CONFIG"; } >pg.yaml

# runs CONFIG LABEL: RUNS runs of the hits through scen-serve-stdin on the
# database of CONFIG; prints the median rate, the client's CPU share
python3 - "$RUNS" "$HITS" "$SCEN_CONFIG" pg.yaml <<'PY'
import json, os, resource, statistics, subprocess, sys, time
runs, hits = int(sys.argv[1]), int(sys.argv[2])
def once(cfg, k):
    env = dict(os.environ, SCEN_CONFIG=cfg)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    with open("hits%d.jsonl" % (k % 3)) as i, open("hits.out", "w") as o:
        subprocess.run(["scen-serve-stdin"], stdin=i, stdout=o, env=env,
                       check=True)
    dt = time.monotonic() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    tiers = {}
    for line in open("hits.out"):
        tier = json.loads(line).get("tier")
        tiers[tier] = tiers.get(tier, 0) + 1
    assert tiers == {"cache": hits}, tiers
    return hits / dt, cpu / dt
res = {}
for name, cfg in (("SQLite", sys.argv[3]), ("PostgreSQL", sys.argv[4])):
    rates = [once(cfg, k) for k in range(runs)]
    rate = statistics.median(r for r, _ in rates)
    share = statistics.median(c for _, c in rates)
    res[name] = (rate, share)
print("cache hits (%d from new sessions, median of %d runs):" % (hits, runs))
print("  %-12s %12s %12s" % ("", "SQLite", "PostgreSQL"))
print("  %-12s %10.0f/s %10.0f/s" % ("hits", res["SQLite"][0], res["PostgreSQL"][0]))
print("  %-12s %11.0f%% %11.0f%%" % ("client CPU", 100 * res["SQLite"][1], 100 * res["PostgreSQL"][1]))
print("  (client CPU: scen-serve-stdin's user+system time over wall time; on")
print("  PostgreSQL the rest is the server's work and the round trips to it)")
PY
pg_sql "SELECT 'servings recorded on PostgreSQL: ' || count(*) FROM servings"
