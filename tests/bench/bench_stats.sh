#!/bin/sh
# bench_stats.sh — scen-cache-stats time, and scen-export rows/s and peak
# RSS, on a database of N servings (default 1,000,000; BENCH_SERVINGS=
# 10000000 for 10M) made with python3's sqlite3 in the current schema:
# 60 days of traffic, 35 % fresh, the jobs, calls and hourly counters that
# serving them would have written.
# usage: tests/bench/bench_stats.sh [BUILD_DIR]
# BENCH_DIR keeps the database between runs (it is made once per size).
B=${1:-${SCEN_BUILD:-build-test}}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$top/$B ;; esac
N=${BENCH_SERVINGS:-1000000}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/scen-bench-stats}
mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
export BENCH_KEY=bench-key-not-used SCEN_CONFIG="$dir/scen.yaml"
unset SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH

cat >scen.yaml <<'YAML'
database: scen.db
provider:
  base_url: http://127.0.0.1:9/openai/v1
  model: llama-3.1-8b-instant
  accounts:
    - {name: groq-a, api_key_env: BENCH_KEY, rpm: 30, rph: 600, rpd: 14400}
    - {name: groq-b, api_key_env: BENCH_KEY, rpm: 30, rph: 600, rpd: 14400}
    - {name: groq-c, api_key_env: BENCH_KEY, rpm: 30, rph: 600, rpd: 14400}
experiments:
  trust-2026:
    system: "You write short, realistic workplace scenarios."
    templates:
      hiring:
        prompt: "Write about a hiring decision for a {age} {gender} candidate, in a {tone} tone. Scene {position} of 10."
        factors:
          gender: {levels: [female, male]}
          age: {levels: [younger, older]}
          tone: {levels: [neutral, warm, cold], weight: 1}
        position: {min: 1, max: 10, weight: 1}
YAML

db=scen-$N.db
# one kept from an older scen (another schema version) is made anew
version() {
	python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$1"
}
if [ -s "$db" ]; then
	fresh=$(mktemp -d)
	sed 's|^database: .*|database: '"$fresh"'/v.db|' scen.yaml >"$fresh/v.yaml"
	SCEN_CONFIG=$fresh/v.yaml "$B/bin/scen-gen" </dev/null || exit 1
	[ "$(version "$db")" = "$(version "$fresh/v.db")" ] || rm -f "$db"
	rm -rf "$fresh"
fi
if [ ! -s "$db" ]; then
	rm -f scen.db scen.db-wal scen.db-shm
	# the schema and the template rows, as scen writes them
	"$B/bin/scen-gen" </dev/null || exit 1
	echo "making $db ($N servings)..." >&2
	start=$(date +%s)
	python3 - scen.db "$N" <<'PY' || exit 1
import array, hashlib, random, sqlite3, sys, time
path, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
c = sqlite3.connect(path, isolation_level=None)
c.execute("PRAGMA journal_mode=OFF")
c.execute("PRAGMA synchronous=OFF")
c.execute("PRAGMA cache_size=-1000000")
version, exp, tpl = c.execute(
    "SELECT version, experiment, template FROM templates").fetchone()
now = time.time()
span = 60 * 86400.0
start = now - span
accounts = ["groq-a", "groq-b", "groq-c"]
combos = [(g, a, t, p) for g in ("female", "male")
          for a in ("younger", "older")
          for t in ("neutral", "warm", "cold") for p in range(1, 11)]
ckey = [hashlib.md5(repr(x).encode()).digest() for x in combos]
cfac = ['{"age":"%s","gender":"%s","tone":"%s"}' % (a, g, t)
        for g, a, t, p in combos]
filler = (" A clock ticked softly on the wall while the papers were sorted"
          " into piles. Outside, the street was busy with people walking"
          " home from work. The coffee in the kitchen had gone cold.")
s_created = array.array("d")
s_combo = array.array("i")
s_origin = array.array("b")  # 0 fresh, 1 pool
s_job = array.array("q")
serves = array.array("i")
counters = {}
def count(hour, name, k=1):
    counters[(hour, name)] = counters.get((hour, name), 0) + k
# a pool made by nightly fills: 1 % of the servings, over the last 10 days
pool_ids = []
for i in range(max(n // 100, 10)):
    s_created.append(now - random.random() * 10 * 86400)
    s_combo.append(random.randrange(len(combos)))
    s_origin.append(1)
    s_job.append(0)
    serves.append(0)
    pool_ids.append(len(s_created))
    count(int(s_created[-1] // 3600), "stored.pool")
c.execute("BEGIN")
jobs, calls, servings = [], [], []
def flush():
    c.executemany("INSERT INTO jobs(id, jid, state, session, request_id,"
                  " experiment, template, version, key, factors, position,"
                  " origin, created_at, started_at, finished_at, attempts,"
                  " account, scenario) VALUES (?,?,'done',?,?,?,?,?,?,?,?,"
                  "'fresh',?,?,?,1,?,?)", jobs)
    c.executemany("INSERT INTO calls(account, at, tokens, status, job)"
                  " VALUES (?,?,?,200,?)", calls)
    c.executemany("INSERT INTO servings(request_id, session, experiment,"
                  " template, version, factors, position, tier, similarity,"
                  " scenario, account, latency_ms, served_at, forced_fresh)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", servings)
    del jobs[:], calls[:], servings[:]
nfresh = 0
for i in range(n):
    t = start + span * (i + random.random()) / n
    hour = int(t // 3600)
    ci = random.randrange(len(combos))
    g, a, tone, pos = combos[ci]
    session = "p-%d" % (i // 5)
    r = random.random()
    acct = accounts[i % 3]
    if r < 0.35 or len(s_created) < 50:
        tier, sim = "fresh", 1.0
        wait = random.expovariate(1 / 0.3)
        proc = 0.4 + random.expovariate(1 / 0.5)
        created = t - proc - wait
        nfresh += 1
        jid = nfresh
        s_created.append(t)
        s_combo.append(ci)
        s_origin.append(0)
        s_job.append(jid)
        serves.append(0)
        sid = len(s_created)
        jobs.append((jid, "j-%016x" % jid, session, "r-%d" % i, exp, tpl,
                     version, ckey[ci], cfac[ci], pos, created,
                     created + wait, t, acct, sid))
        calls.append((acct, created + wait, 700, jid))
        count(hour, "queue.submitted")
        count(hour, "queue.done")
        count(hour, "call.ok")
        count(hour, "account.%s.ok" % acct)
        count(hour, "stored.fresh")
        lat = (wait + proc) * 1000
    elif r < 0.90:
        tier, sim = "cache", 1.0
        sid = random.randrange(1, len(s_created) + 1)
        lat = random.random() * 3
    elif r < 0.95 and pool_ids:
        tier, sim = "pool", 1.0
        sid = random.choice(pool_ids)
        lat = random.random() * 3
    else:
        tier, sim = "relaxed", 0.9444444444444444
        sid = random.randrange(1, len(s_created) + 1)
        lat = random.random() * 3
    serves[sid - 1] += 1
    servings.append(("r-%d" % i, session, exp, tpl, version, cfac[ci], pos,
                     tier, sim, sid, acct, lat, t, 0))
    count(hour, "tier." + tier)
    count(hour, "answer.ok")
    if random.random() < 0.02:
        count(hour, "answer.unavailable")
        count(hour, "miss.%s/%s" % (exp, tpl))
    if random.random() < 0.005:
        count(hour, "error.invalid_json")
    if len(servings) >= 50000:
        flush()
flush()
rows = ((k + 1, "sc-%016x" % (k + 1), exp, tpl, version, ckey[s_combo[k]],
         cfac[s_combo[k]], combos[s_combo[k]][3],
         "Scenario #%d for a %s %s candidate, %s tone.%s" % (
             k + 1, combos[s_combo[k]][1], combos[s_combo[k]][0],
             combos[s_combo[k]][2], filler),
         "llama-3.1-8b-instant", accounts[k % 3], "0123456789abcdef",
         "pool" if s_origin[k] else "fresh", "stop", 40, 80, s_created[k],
         serves[k], s_job[k] or None) for k in range(len(s_created)))
c.executemany("INSERT INTO scenarios(id, sid, experiment, template, version,"
              " key, factors, position, text, model, account, prompt_hash,"
              " origin, finish_reason, prompt_tokens, completion_tokens,"
              " created_at, serves, job) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,"
              "?,?,?,?,?,?)", rows)
c.executemany("INSERT INTO counters(hour, name, n) VALUES (?,?,?)",
              ((h, k, v) for (h, k), v in counters.items()))
for a in accounts:
    c.execute("INSERT OR IGNORE INTO accounts(name) VALUES (?)", (a,))
c.execute("COMMIT")
c.execute("ANALYZE")
c.execute("PRAGMA journal_mode=WAL")
c.close()
PY
	mv scen.db "$db" || exit 1
	echo "made in $(($(date +%s) - start)) s, $(du -h "$db" | cut -f1)" >&2
fi
rm -f scen.db scen.db-wal scen.db-shm
ln -sf "$db" scen.db

# measure LABEL COMMAND...: wall seconds and peak RSS of the command
measure() {
	label=$1
	shift
	python3 - "$label" "$@" <<'PY'
import resource, subprocess, sys, time
label, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
p = subprocess.run(cmd, stdout=subprocess.DEVNULL)
dt = time.monotonic() - t
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print("%s\t%.3f\t%.1f\t%d" % (label, dt, rss, p.returncode))
PY
}

echo "# scen-cache-stats and scen-export on $N servings ($(du -hL scen.db | cut -f1))"
echo "# what	seconds	peak_rss_mib	exit"
for f in "" --json --prometheus --check "--html $dir/report.html"; do
	# the first run reads the pages, the second shows the steady state
	# shellcheck disable=SC2086
	measure "stats ${f:-table} (first)" "$B/bin/scen-cache-stats" $f
	# shellcheck disable=SC2086
	measure "stats ${f:-table}" "$B/bin/scen-cache-stats" $f
done
out=$(measure "export jsonl" "$B/bin/scen-export")
echo "$out"
secs=$(echo "$out" | cut -f2)
echo "export jsonl rows/s	$(python3 -c "print(round($N / $secs))")"
out=$(measure "export csv" "$B/bin/scen-export" --format csv)
echo "$out"
secs=$(echo "$out" | cut -f2)
echo "export csv rows/s	$(python3 -c "print(round($N / $secs))")"
measure "export --since 1d" "$B/bin/scen-export" --since 1d
measure "export --what scenarios" "$B/bin/scen-export" --what scenarios
measure "export --what templates" "$B/bin/scen-export" --what templates
