# Three hosts on one PostgreSQL database share the quota ledger (scen(7),
# "Several hosts"): three scen-serve-stdin processes, each in its own
# folder with its own copy of the config (nothing shared but the URI), on
# three accounts of rpm 60 that the fake provider enforces, asked 600
# distinct combinations and 300 repeats (combinations another host or
# another session asked) in a shuffled order, under a clock 20 times
# faster. Every line is answered ok, the provider never says 429, each
# combination costs exactly one call, the budget is used (>= 95 % of the
# calls the three accounts allow while demand exceeds it) and every
# answer is one serving in scen-export.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
export SCEN_CLOCK_SCALE=20 SCEN_CLOCK_EPOCH=$(date +%s)
fake_start --rpm 60
pg_start

# the config: three accounts of rpm 60, one factor of 600 levels, no
# would-be hit turned fresh for variety (a high end of 1); a timeout of 10
# real seconds (200 virtual): at 30 s, 1.5 real seconds, a loaded machine
# may leave an answer unread that long, and the call is made again
python3 - "$FAKE_URL" "$SCEN_PG_URI" >scen.yaml <<'PY'
import sys
url, uri = sys.argv[1:3]
print("database: \"%s\"\nprovider:\n  base_url: %s\n  model: m\n"
      "  deadline_s: 900\n  timeout_s: 200\n  max_concurrency: 16\n  accounts:"
      % (uri, url))
for i in range(1, 4):
    print("    - {name: acct-%d, api_key_env: SCEN_TEST_KEY_%d, rpm: 60}" % (i, i))
print("cache: {max_serves: 50, hit_rate_band: [0.6, 1.0]}\n"
      "fallback: [cache, fresh]\nexperiments:\n  e:\n    templates:\n      t:\n"
      "        prompt: \"Scenario number {n}.\"\n        factors:\n"
      "          n: {levels: [%s]}" % ", ".join(str(i) for i in range(600)))
PY

# 600 combinations dealt to the three hosts, 100 repeats each (asked
# elsewhere too, by another session), each host's lines shuffled
python3 - <<'PY'
import json, random
rng = random.Random(7010)
combos = list(range(600))
rng.shuffle(combos)
for h in range(3):
    own = combos[h * 200:(h + 1) * 200]
    others = [c for c in combos if c not in own]
    lines = [(c, "h%d-%d" % (h, i)) for i, c in enumerate(own)]
    lines += [(c, "h%d-r%d" % (h, i)) for i, c in enumerate(rng.sample(others, 100))]
    rng.shuffle(lines)
    with open("in%d" % (h + 1), "w") as f:
        for c, rid in lines:
            f.write(json.dumps({"id": rid, "session": "s-" + rid, "experiment": "e",
                                "template": "t", "factors": {"n": c}}) + "\n")
PY

start=$(date +%s.%N)
for h in 1 2 3; do
	mkdir host$h
	cp scen.yaml host$h/
	# SCEN_HOST (a test hook): each its own host, as far as scen can tell
	(cd host$h && SCEN_HOST=host$h SCEN_CONFIG=$PWD/scen.yaml exec scen-serve-stdin \
		<../in$h >out 2>err) &
	eval "pid$h=\$!"
done
wait "$pid1"; rc1=$?; wait "$pid2"; rc2=$?; wait "$pid3"; rc3=$?
echo "# wall time of the three hosts: $(echo "$(date +%s.%N) - $start" | bc) s"
is "the three hosts exit 0" "$rc1 $rc2 $rc3" "0 0 0"
is "every line of every host answered ok" \
	"$(cat host*/out | j 'r["status"]' | sort | uniq -c | tr -s ' ')" " 900 ok"
is "each answer is to one line" \
	"$(cat host*/out | j 'r["id"]' | sort -u | wc -l)" 900
is "no 429 from the provider" "$(fake_stat 'r["status"].get("429", 0)')" 0

# the fake's log: one line per completion request, with its prompt
python3 - "$T/fake.log" >calls.txt <<'PY'
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
per = collections.Counter(
    next(m["content"] for m in r["messages"] if m["role"] == "user") for r in rows)
ok = sorted(r["vt"] for r in rows if r["status"] == 200)
t0 = ok[0] if ok else 0
first3 = sum(1 for v in ok if v < t0 + 180)
print(len(rows), len(per), max(per.values(), default=0), first3)
PY
read -r ncalls ndistinct most first3 <calls.txt
is "exactly 600 provider calls" "$ncalls" 600
is "... one per combination, none called twice" "$ndistinct $most" "600 1"
util=$(echo "scale=1; 100 * $first3 / 540" | bc)
echo "# utilisation: $first3 calls in the first 3 virtual minutes of 540 allowed = $util %"
cmp_num ">= 95 % of the budget used while demand exceeds it" \
	"$first3" -ge 513

(cd host2 && SCEN_CONFIG=$PWD/scen.yaml scen-export >../e.jsonl 2>../e.err)
is "export: exit 0" "$?" 0
is "export: one serving per line answered" \
	"$(j 'r["request_id"]' e.jsonl | sort | tr '\n' ' ')" \
	"$(cat host*/out | j 'r["id"]' | sort | tr '\n' ' ')"
done_testing
