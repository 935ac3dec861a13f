# kill -9 while jobs are queued and running: the next scen-serve-stdin on
# the same database adopts and finishes every job, polls from the original
# sessions get their scenarios, and no scenario is stored twice.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start --delay-ms 2000
MAX_CONCURRENCY=2 DEADLINE_S=30 write_config
export PYTHONPATH=$SCEN_TOP/tests/lib
design 6 k >in
python3 - <<'PY'
import driver, json, time
d = driver.Serve(["scen-serve-stdin", "--async"])
jobs = {}
for line in open("in"):
    r = json.loads(line)
    d.send(r)
for line in open("in"):
    r = json.loads(line)
    a, _ = d.wait(lambda x, i=r["id"]: x["id"] == i)
    jobs[r["id"]] = (r["session"], a["job"])
time.sleep(0.5)         # two calls are out, four jobs queued
d.kill()
json.dump(jobs, open("jobs.json", "w"))
PY
is "six jobs were made" "$(sql 'select count(*) from jobs')" 6
is "killed with jobs queued and running" \
	"$(sql "select group_concat(state, ' ') from (select state from jobs order by state)")" \
	"queued queued queued queued running running"
is "nothing stored yet" "$(sql 'select count(*) from scenarios')" 0
fake_ctl '{"mode":"ok","delay_ms":0}'
python3 - >polls <<'PY'
import driver, json, time
jobs = json.load(open("jobs.json"))
d = driver.Serve(["scen-serve-stdin"])
left = dict(jobs)
n = 0
end = time.monotonic() + 20
while left and time.monotonic() < end:
    for rid, (sess, job) in list(left.items()):
        n += 1
        d.send({"id": "poll%d" % n, "op": "status", "job": job, "session": sess})
        a, _ = d.wait(lambda x, i="poll%d" % n: x["id"] == i)
        if a["status"] == "ok":
            print(rid, a["status"], a["tier"], a["scenario_id"])
            del left[rid]
    time.sleep(0.1)
for rid in left:
    print(rid, "never")
print("exit", d.close())
PY
cat polls >&2
is "every poll from the original sessions got its scenario" "$(grep -c ' ok fresh sc-' polls)" 6
is "the restarted process exits 0" "$(awk '$1 == "exit" {print $2}' polls)" 0
is "every job done" "$(sql "select group_concat(distinct state) from jobs")" done
is "no scenario stored twice" "$(sql 'select count(*), count(distinct job) from scenarios')" "6|6"
is "each poll's scenario is its job's" "$(sql 'select count(*) from jobs j join scenarios s on s.id = j.scenario and s.job = j.id')" 6
check "a call may be repeated, at most the two that were out" \
	test "$(fake_stat 'r["calls"]')" -le 8
is "the polls recorded one serving each" "$(sql 'select count(*) from servings')" 6
done_testing
