#!/bin/sh
# make demo: scen-serve-stdin against the bundled fake provider on
# 127.0.0.1 — no API key, no network. Prints the answers and a summary.
# usage: examples/demo.sh BUILD_DIR
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
d=$(mktemp -d "${TMPDIR:-/tmp}/scen-demo.XXXXXX")
python3 "$top/tests/lib/fake-provider.py" --port-file "$d/port" \
	--keys demo-key-1,demo-key-2,demo-key-3 --rpm 30 --delay-ms 150 \
	>"$d/fake.log" 2>&1 &
fake=$!
trap 'kill $fake 2>/dev/null; rm -rf "$d"' EXIT INT TERM
i=0
while [ ! -s "$d/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
sed "s|https://api.groq.com/openai/v1|http://127.0.0.1:$(cat "$d/port")/openai/v1|" \
	"$top/examples/scen.yaml" >"$d/scen.yaml"
export SCEN_CONFIG="$d/scen.yaml" GROQ_API_KEY_1=demo-key-1 \
	GROQ_API_KEY_2=demo-key-2 GROQ_API_KEY_3=demo-key-3
PATH=$B/bin:$PATH

echo "== scen-serve-stdin < examples/requests.jsonl (a fresh database)"
scen-serve-stdin --ordered <"$top/examples/requests.jsonl" >"$d/out1"
cut -c1-160 "$d/out1"
echo
echo "== the same requests from other participants: served from the cache"
sed 's/"session":"\([^"]*\)"/"session":"\1-again"/' \
	"$top/examples/requests.jsonl" |
	scen-serve-stdin --ordered >"$d/out2"
cut -c1-160 "$d/out2"
echo
echo "== summary"
python3 - "$d/out1" "$d/out2" "$d/scen.db" <<'PY'
import collections, json, sqlite3, sys
for name, path in (("first run", sys.argv[1]), ("second run", sys.argv[2])):
    c = collections.Counter()
    for line in open(path):
        r = json.loads(line)
        c[r["status"] + (":" + r["tier"] if r.get("tier") else "")] += 1
    print("%-11s %s" % (name, ", ".join("%s %d" % kv for kv in sorted(c.items()))))
db = sqlite3.connect(sys.argv[3])
print("stored      %d scenarios, %d servings; provider calls %d" % (
    db.execute("select count(*) from scenarios").fetchone()[0],
    db.execute("select count(*) from servings").fetchone()[0],
    db.execute("select count(*) from calls where status = 200").fetchone()[0]))
PY
if [ -x "$B/bin/scen-cache-stats" ]; then
	echo
	echo "== scen-cache-stats"
	scen-cache-stats || true
fi
