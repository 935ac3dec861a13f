# scen-serve-stdin cache hits on SQLite and on PostgreSQL, side by side:
# one study (120 combinations x 3 variants; each run on a copy of it),
# then 100,000 hits from new sessions, each answer printed after its serving's record is committed
# (group commit: one transaction a turn). The median of 3 runs on each
# backend, and where the time goes: the client's CPU time over the wall
# time, and on PostgreSQL the server's (its processes' CPU time, the
# connection's own reaped by the postmaster); the rest is waiting.
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
# each run starts from the same study: a copy of it per run and backend
for k in $(seq 0 $((RUNS - 1))); do
	cp scen.db "sq$k.db"
	config_with_db "sq$k.db" >"sq$k.yaml"
	pg_sql "CREATE DATABASE r$k" >/dev/null
	uri="postgresql:///r$k?host=$PG_DIR&user=scen"
	scen-db-copy --from scen.db --to "$uri" >/dev/null ||
		{ echo "bench_backends: the copy to PostgreSQL failed"; exit 1; }
	config_with_db "$uri" >"pg$k.yaml"
done

# runs CONFIG LABEL: RUNS runs of the hits through scen-serve-stdin on the
# database of CONFIG; prints the median rate, the client's CPU share
python3 - "$RUNS" "$HITS" sq pg "$PG_DIR/data/postmaster.pid" <<'PY'
import json, os, resource, statistics, subprocess, sys, time
runs, hits = int(sys.argv[1]), int(sys.argv[2])
postmaster = int(open(sys.argv[5]).readline())
tick = os.sysconf("SC_CLK_TCK")
def server_cpu():
    """the CPU seconds of the postmaster, its children, and the children
    it reaped (the connections that ended)"""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(pid) == postmaster:
            total += sum(int(v) for v in f[11:15])
        elif int(f[1]) == postmaster:
            total += int(f[11]) + int(f[12])
    return total / tick
def once(cfg, k):
    env = dict(os.environ, SCEN_CONFIG="%s%d.yaml" % (cfg, k))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = server_cpu()
    t = time.monotonic()
    with open("hits%d.jsonl" % (k % 3)) as i, open("hits.out", "w") as o:
        subprocess.run(["scen-serve-stdin"], stdin=i, stdout=o, env=env,
                       check=True)
    dt = time.monotonic() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    server = server_cpu() - s0
    tiers = {}
    for line in open("hits.out"):
        tier = json.loads(line).get("tier")
        tiers[tier] = tiers.get(tier, 0) + 1
    assert tiers == {"cache": hits}, tiers
    return hits / dt, 1e6 * cpu / hits, 1e6 * server / hits, 1e6 * dt / hits
res = {}
for name, cfg in (("SQLite", sys.argv[3]), ("PostgreSQL", sys.argv[4])):
    runs_ = sorted((once(cfg, k) for k in range(runs)), key=lambda r: r[0])
    res[name] = runs_[len(runs_) // 2]	# the median run, by its rate
sq, pg = res["SQLite"], res["PostgreSQL"]
print("cache hits (%d from new sessions, median of %d runs):" % (hits, runs))
print("  %-26s %10s %12s" % ("", "SQLite", "PostgreSQL"))
print("  %-26s %8.0f/s %10.0f/s" % ("hits", sq[0], pg[0]))
print("  %-26s %8.1fus %10.1fus" % ("wall time a hit", sq[3], pg[3]))
print("  %-26s %8.1fus %10.1fus" % ("  client CPU a hit", sq[1], pg[1]))
print("  %-26s %10s %10.1fus" % ("  server CPU a hit", "-", pg[2]))
print("  %-26s %8.1fus %10.1fus" % ("  the rest (waiting)", max(0, sq[3] - sq[1]),
      max(0, pg[3] - pg[1] - pg[2])))
PY
psql -XAtq "postgresql:///r0?host=$PG_DIR&user=scen" -c \
	"SELECT 'servings recorded on PostgreSQL (a run): ' || count(*) FROM servings"
