# make bench-day: a day of a study in about a minute (virtual time 1440x).
# Zipf-distributed requests over the declared design (120 combinations),
# participants asking for ten scenes each, 3 accounts at 30 rpm against a
# fake provider enforcing them. Three phases of eight hours: normal; a
# provider outage (every call 503); a complete disaster (provider gone, the
# pool filled the night before). Per phase: success rate, tier mix, calls
# and wasted calls. The seed expects 99 % / 99 % / 70 %. A fourth phase
# runs the disaster on a new study that has only the night's pool.
. "$SCEN_TOP/tests/lib/test-lib.sh"
export SCEN_CLOCK_SCALE=1440 SCEN_CLOCK_EPOCH=$(date +%s)
fake_start --rpm 30
ACCOUNT_3=1 RPM=30 TIMEOUT_S=600 DEADLINE_S=60 COOLDOWN_S=60 \
	BAND_LO=0.60 BAND_HI=0.70 write_config
export PYTHONPATH=$SCEN_TOP/tests/lib
phase() {	# name requests seed
	python3 - "$@" <<'PY'
import json, random, sqlite3, subprocess, sys, time
name, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
g = ["female", "male"]; a = ["younger", "older"]; t = ["neutral", "warm", "cold"]
combos = [(x, y, z) for x in g for y in a for z in t]
weights = [1 / (i + 1) for i in range(len(combos))]        # Zipf over the hard+tone cells
lines = []
sess = 0
while len(lines) < n:
    sess += 1
    x, y, z = rnd.choices(combos, weights)[0]
    for p in range(1, 11):
        lines.append(json.dumps({"id": "%s-%d" % (name, len(lines)),
            "session": "%s-p%d" % (name, sess), "experiment": "trust-2026",
            "template": "hiring", "factors": {"gender": x, "age": y, "tone": z},
            "position": p}))
lines = lines[:n]
db = sqlite3.connect("scen.db")
calls0 = db.execute("select count(*) from calls").fetchone()[0]
ok0 = db.execute("select count(*) from calls where status = 200").fetchone()[0]
st0 = db.execute("select count(*) from scenarios where origin = 'fresh'").fetchone()[0]
db.close()
span = 8 * 3600 / 1440.0                  # eight virtual hours, in real seconds
p = subprocess.Popen(["scen-serve-stdin"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
import threading
out = []
th = threading.Thread(target=lambda: out.extend(p.stdout))
th.start()
t0 = time.monotonic()
for i, line in enumerate(lines):
    due = t0 + span * i / len(lines)
    d = due - time.monotonic()
    if d > 0:
        time.sleep(d)
    p.stdin.write(line + "\n")
    p.stdin.flush()
p.stdin.close()
p.wait()
th.join()
res = [json.loads(l) for l in out]
okn = sum(r["status"] == "ok" for r in res)
tiers = {}
for r in res:
    k = r.get("tier", r["status"])
    tiers[k] = tiers.get(k, 0) + 1
db = sqlite3.connect("scen.db")
calls = db.execute("select count(*) from calls").fetchone()[0] - calls0
ok = db.execute("select count(*) from calls where status = 200").fetchone()[0] - ok0
stored = db.execute("select count(*) from scenarios where origin = 'fresh'").fetchone()[0] - st0
print("%-9s %6d requests: %5.1f%% ok; %s; %d calls, %d answered 200, %d stored; "
      "wasted (200 without a stored scenario): %d" % (name, len(res), 100.0 * okn / len(res),
      ", ".join("%s %.1f%%" % (k, 100.0 * v / len(res)) for k, v in sorted(tiers.items())),
      calls, ok, stored, ok - stored))
PY
}
scen-serve-stdin </dev/null >/dev/null 2>&1	# creates the database
phase normal 12000 1
fake_ctl '{"mode":"503"}'
phase outage 12000 2
# the night before the disaster: the pool is filled (3 variants a cell)
fake_ctl '{"mode":"ok"}'
if [ -x "$SCEN_BUILD/bin/scen-pool-fill" ]; then
	scen-pool-fill --experiment trust-2026 -q >/dev/null 2>&1
else
	design 120 n | scen-gen --pool -n 3 >/dev/null 2>&1
fi
echo "pool filled: $(sql "select count(*) from scenarios where origin = 'pool' and serves = 0") unserved entries"
fake_stop
phase disaster 12000 3
# harsher: the disaster on a new study whose only stock is the night's pool
rm -f scen.db scen.db-wal scen.db-shm
fake_start --rpm 30
ACCOUNT_3=1 RPM=30 TIMEOUT_S=600 DEADLINE_S=60 COOLDOWN_S=60 \
	BAND_LO=0.60 BAND_HI=0.70 write_config
scen-serve-stdin </dev/null >/dev/null 2>&1
if [ -x "$SCEN_BUILD/bin/scen-pool-fill" ]; then
	scen-pool-fill --experiment trust-2026 -q >/dev/null 2>&1
else
	design 120 n | scen-gen --pool -n 3 >/dev/null 2>&1
fi
echo "a new study, pool only: $(sql "select count(*) from scenarios where origin = 'pool'") pool entries"
fake_stop
phase pool-only 12000 4
