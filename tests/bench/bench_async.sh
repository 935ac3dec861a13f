# --async: time to "generating" (p50, p99) and the job latency added over
# the provider's own time, with 1, 8 and 64 jobs at once.
. "$SCEN_TOP/tests/lib/test-lib.sh"
fake_start --delay-ms 200
MAX_CONCURRENCY=64 DEADLINE_S=30 write_config
export PYTHONPATH=$SCEN_TOP/tests/lib
python3 - <<'PY'
import driver, json, subprocess
q = lambda v, p: sorted(v)[int(p * (len(v) - 1))] * 1000
combos = []
for line in subprocess.run(["bash", "-c", ". $SCEN_TOP/tests/lib/test-lib.sh >/dev/null; design 120 x"],
                           capture_output=True, text=True).stdout.splitlines():
    combos.append(json.loads(line))
used = 0
for k in (1, 8, 64):
    d = driver.Serve(["scen-serve-stdin", "--async"])
    gen, fin = [], []
    for rep in range(3 if k < 64 else 1):
        batch = combos[used:used + k]
        used += k
        for r in batch:
            d.send(r)
        for r in batch:
            a, t = d.wait(lambda x, i=r["id"]: x["id"] == i and x["status"] == "generating")
            gen.append(t - d.sent[r["id"]])
        for r in batch:
            a, t = d.wait(lambda x, i=r["id"]: x["id"] == i and x["status"] != "generating")
            fin.append(t - d.sent[r["id"]] - 0.200)
    d.close()
    print("%2d jobs at once: generating p50 %.2f ms, p99 %.2f ms; final answer over the "
          "provider's 200 ms: p50 %.1f ms, p99 %.1f ms" % (k, q(gen, .5), q(gen, .99), q(fin, .5), q(fin, .99)))
PY
