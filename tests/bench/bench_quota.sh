# Quota simulation against the fake provider, in virtual time (60x): demand
# well over the budget for five minutes, with 1, 3 and 10 accounts of rpm
# 30. Prints budget utilisation, 429s and the wait that scheduling adds
# (job queued -> call sent), when the configured limits are true and when
# the provider's are lower than configured.
. "$SCEN_TOP/tests/lib/test-lib.sh"
export SCEN_CLOCK_SCALE=60 SCEN_CLOCK_EPOCH=$(date +%s)
run() {	# accounts provider_rpm
	n=$1 prpm=$2
	fake_stop
	fake_start --rpm "$prpm"
	rm -f scen.db*
	python3 - "$n" "$FAKE_URL" >scen.yaml <<'PY'
import sys
n, url = int(sys.argv[1]), sys.argv[2]
print("database: scen.db\nprovider:\n  base_url: %s\n  model: m\n"
      "  deadline_s: 600\n  timeout_s: 30\n  max_concurrency: 16\n  accounts:" % url)
for i in range(n):
    print("    - {name: acct-%d, api_key_env: BENCH_KEY_%d, rpm: 30}" % (i, i))
print("fallback: [cache, fresh]\nexperiments:\n  e:\n    templates:\n      t:\n"
      "        prompt: \"Scenario number {n}.\"\n        factors:\n"
      "          n: {levels: [%s]}" % ", ".join(str(i) for i in range(3000)))
PY
	export SCEN_CONFIG=$T/scen.yaml
	keys=""
	for i in $(seq 0 $((n - 1))); do
		export "BENCH_KEY_$i=bench-key-$i-$$"
		keys="$keys,bench-key-$i-$$"
	done
	fake_stop
	fake_start --rpm "$prpm" --keys "${keys#,}"
	sed -i "s|base_url: .*|base_url: $FAKE_URL|" scen.yaml
	python3 -c '
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"id": str(i), "session": "s%d" % i, "template": "t", "factors": {"n": i}}))
' $((n * 30 * 8)) >in
	# 290 virtual seconds: five windows of the budget
	( cat in; sleep 4.83 ) | scen-serve-stdin >out 2>err &
	pid=$!
	sleep 4.83
	calls=$(fake_stat 'r["ok"]')
	n429=$(fake_stat 'r["status"].get("429", 0)')
	[ -n "${BENCH_KEEP:-}" ] && cp scen.db /tmp/quota-$n-$prpm.db; cp scen.db-wal /tmp/quota-$n-$prpm.db-wal
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	python3 - "$n" "$prpm" "$calls" "$n429" <<'PY'
import sqlite3, sys
n, prpm, calls, n429 = (int(x) for x in sys.argv[1:5])
db = sqlite3.connect("file:scen.db?mode=ro", uri=True)
# the wait scheduling adds: jobs that had budget when they came (the first
# minute's), from queued to sent, in real milliseconds
waits = sorted(r[0] * 1000 / 60 for r in db.execute(
    "select started_at - created_at from jobs where started_at is not null"
    " order by id limit ?", (n * min(30, prpm),)))
budget = n * min(30, prpm) * 5
q = lambda p: waits[int(p * (len(waits) - 1))] if waits else 0
# 429s after the first minute (virtual), once the limits are known
t0 = db.execute("select min(at) from calls").fetchone()[0] or 0
late = db.execute("select count(*) from calls where status = 429 and at > ?",
                  (t0 + 60,)).fetchone()[0]
print("%2d account%s, provider rpm %2d: %4d of %4d calls = %5.1f%% of the budget, "
      "%d 429s (%.1f%%; after the first minute %d); scheduling wait p50 %.1f ms, p95 %.1f ms"
      % (n, " " if n == 1 else "s", prpm, calls, budget,
      100.0 * calls / budget, n429, 100.0 * n429 / max(calls + n429, 1), late,
      q(.5), q(.95)))
PY
}
for n in ${BENCH_ACCOUNTS:-1 3 10}; do run $n 30; done
echo "(the provider's limit lower than configured: only its 429s can tell)"
for n in ${BENCH_ACCOUNTS:-1 3 10}; do run $n 25; done
