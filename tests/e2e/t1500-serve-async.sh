# --async: "generating" at once while the provider takes seconds, then the
# final answer; polls and cancels only for the session that asked; five
# sessions asking the same new thing make one call; --ordered.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start --delay-ms 1500
DEADLINE_S=10 write_config
export PYTHONPATH=$SCEN_TOP/tests/lib
python3 - >result <<'PY'
import driver, json
def req(i, sess, tone="warm", pos=3):
    return {"id": i, "session": sess, "experiment": "trust-2026",
            "template": "hiring", "position": pos,
            "factors": {"gender": "female", "age": "older", "tone": tone}}
d = driver.Serve(["scen-serve-stdin", "--async"])
# once it is up (start-up is not what is timed)
d.send({"id": "w0", "op": "status", "job": "j-0", "session": "p0"})
d.wait(lambda r: r["id"] == "w0")
d.send(req("r1", "p1"))
a, t = d.wait(lambda r: r["id"] == "r1")
print("first", a["status"], "%.0f" % ((t - d.sent["r1"]) * 1000))
job = a.get("job", "")
print("jobid", job.startswith("j-"))
d.send({"id": "s1", "op": "status", "job": job, "session": "p1"})
a, _ = d.wait(lambda r: r["id"] == "s1")
print("ownerpoll", a["status"], a.get("state"))
d.send({"id": "s2", "op": "status", "job": job, "session": "p2"})
a, _ = d.wait(lambda r: r["id"] == "s2")
print("otherpoll", a["status"], a.get("error"))
d.send({"id": "s3", "op": "status", "job": "j-0000000000000000", "session": "p1"})
a, _ = d.wait(lambda r: r["id"] == "s3")
print("nojob", a["status"], a.get("error"))
d.send({"id": "c1", "op": "cancel", "job": job, "session": "p2"})
a, _ = d.wait(lambda r: r["id"] == "c1")
print("othercancel", a["status"], a.get("error"))
a, t = d.wait(lambda r: r["id"] == "r1" and r["status"] != "generating")
print("final", a["status"], a.get("tier"), "%.0f" % ((t - d.sent["r1"]) * 1000))
d.send({"id": "s4", "op": "status", "job": job, "session": "p1"})
a, _ = d.wait(lambda r: r["id"] == "s4")
print("donepoll", a["status"], a.get("tier"))
# a cancel by the owner
d.send(req("r2", "p3", tone="cold"))
a, _ = d.wait(lambda r: r["id"] == "r2")
d.send({"id": "c2", "op": "cancel", "job": a["job"], "session": "p3"})
a, _ = d.wait(lambda r: r["id"] == "c2")
print("ownercancel", a["status"], a.get("state"))
a, _ = d.wait(lambda r: r["id"] == "r2" and r["status"] != "generating")
print("cancelled", a["status"], a.get("error"))
# five sessions, the same new thing, at once: one call
for k in range(5):
    d.send(req("f%d" % k, "q%d" % k, tone="neutral", pos=9))
tiers = []
for k in range(5):
    a, _ = d.wait(lambda r, k=k: r["id"] == "f%d" % k and r["status"] != "generating")
    tiers.append(a["tier"] if a else "none")
print("five", " ".join(sorted(tiers)))
print("exit", d.close())
PY
cat result >&2
is "generating at once" "$(awk '$1 == "first" {print $2}' result)" generating
check "generating within 100 ms of the line ($(awk '$1 == "first" {print $3}' result) ms) while the provider takes 1500" \
	test "$(awk '$1 == "first" {print $3}' result)" -lt 100
is "a job id" "$(awk '$1 == "jobid" {print $2}' result)" True
is "the owner's poll sees the job" "$(awk '$1 == "ownerpoll" {print $2, $3}' result)" "generating running"
is "another session's poll: not_found" "$(awk '$1 == "otherpoll" {print $2, $3}' result)" "error not_found"
is "a job that does not exist: the same not_found" "$(awk '$1 == "nojob" {print $2, $3}' result)" "error not_found"
is "another session cannot cancel" "$(awk '$1 == "othercancel" {print $2, $3}' result)" "error not_found"
is "the final answer follows" "$(awk '$1 == "final" {print $2, $3}' result)" "ok fresh"
check "after the provider's time" test "$(awk '$1 == "final" {print $4}' result)" -ge 1400
is "a poll after it is done answers the scenario" "$(awk '$1 == "donepoll" {print $2}' result)" ok
is "the owner cancels" "$(awk '$1 == "ownercancel" {print $2, $3}' result)" "ok cancelled"
is "the cancelled request's final answer" "$(awk '$1 == "cancelled" {print $2, $3}' result)" "error cancelled"
is "five sessions: one fresh, four from it" "$(awk '$1 == "five" {print $2, $3, $4, $5, $6}' result)" "cache cache cache cache fresh"
is "exit 0" "$(awk '$1 == "exit" {print $2}' result)" 0
is "five sessions, one call (3 calls in all)" "$(fake_stat 'r["calls"]')" 3
is "the poll after done recorded no second serving" \
	"$(sql "select count(*) from servings where session = 'p1'")" 1

# --ordered: final answers in input order while generation runs concurrently
fake_ctl '{"mode":"ok","delay_ms":300}'
{ req o1 u1 male younger cold 1; req o2 u2 female older warm 3; req o3 u3 male older cold 2
  echo garbage; req o5 u5 female older warm 3; } | scen-serve-stdin --ordered >out 2>err
is "--ordered keeps input order" "$(j 'r["id"] or "line %d" % r["line"]' out | tr '\n' ' ')" "o1 o2 o3 line 4 o5 "
done_testing
