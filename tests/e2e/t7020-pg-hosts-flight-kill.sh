# Hosts on one PostgreSQL database (scen(7), "Several hosts"), each
# scen-serve-stdin in its own folder with its own copy of the config and
# its own host name (SCEN_HOST, a test build's stand-in): one combination
# asked on three hosts at the same moment costs one provider call and
# gives the three one scenario; a host killed (kill -9) in the middle of
# its stream leaves the others answering every line of theirs, and ending
# when they have (not waiting for the dead host's jobs), and what it
# answered ok stays recorded, each serving once.
. "$(dirname "$0")/../lib/test-lib.sh"
. "$SCEN_TOP/tests/lib/pg.sh"
fake_start --delay-ms 800
pg_start
DEADLINE_S=4 TIMEOUT_S=5 MAX_CONCURRENCY=4 write_config
config_with_db "$SCEN_PG_URI" >cfg
for h in 1 2 3; do
	mkdir host$h
	cp cfg host$h/scen.yaml
done
scen-serve-stdin --db "$SCEN_PG_URI" </dev/null 2>err0	# the tables, made once
is "the database is made" "$?" 0

# serve H &: scen-serve-stdin as host H, in its folder (stdin, stdout
# and stderr as the caller redirected them); in the background only
serve() {
	cd host$1 && SCEN_HOST=host$1 SCEN_CONFIG=$PWD/scen.yaml \
		exec scen-serve-stdin
}

# (a) one combination, three hosts, one moment
for h in 1 2 3; do
	req r$h s$h female older warm 3 | serve $h >out-a$h 2>err-a$h &
	eval "pid$h=\$!"
done
wait "$pid1"; rc1=$?; wait "$pid2"; rc2=$?; wait "$pid3"; rc3=$?
is "same moment: the three exit 0" "$rc1 $rc2 $rc3" "0 0 0"
is "same moment: one provider call" "$(fake_stat 'r["calls"]')" 1
is "same moment: three ok answers" \
	"$(cat out-a* | j 'r["status"]' | sort | uniq -c | tr -s ' ')" " 3 ok"
is "same moment: one scenario" \
	"$(cat out-a* | j 'r["scenario_id"]' | sort -u | wc -l)" 1

# (b) a host killed mid-stream: 40 lines each, fresh combinations (some
# asked of two hosts; hosts 1 and 3 end with five of host 2's) and
# repeats of answered ones, from many sessions
fake_reset
python3 - <<'PY'
import json, random
rng = random.Random(7020)
combos = [(g, a, t, p) for g in ("female", "male") for a in ("younger", "older")
          for t in ("neutral", "warm", "cold") for p in range(1, 11)]
rng.shuffle(combos)
for h in (1, 2, 3):
    own = combos[(h - 1) * 25:h * 25] + rng.sample(combos[75:], 5)
    lines = own[:15] + rng.sample(own[:10], 5) + own[15:] + rng.sample(own[:10], 5)
    if h != 2:	# host 2's last combinations, asked after it is gone
        lines[-5:] = combos[45:50]
    with open("in%d" % h, "w") as f:
        for i, (g, a, t, p) in enumerate(lines):
            f.write(json.dumps({"id": "h%d-%d" % (h, i), "session": "h%d-s%d" % (h, i % 7),
                "experiment": "trust-2026", "template": "hiring",
                "factors": {"gender": g, "age": a, "tone": t}, "position": p}) + "\n")
PY
for h in 1 2 3; do
	mkfifo host$h/fifo
	serve $h <host$h/fifo >out-b$h 2>err-b$h &
	eval "pid$h=\$!"
done
exec 4>host1/fifo 5>host2/fifo 6>host3/fifo
head -n 20 in1 >&4
cat in2 >&5
head -n 20 in3 >&6
check "host 2 answers some lines" wait_lines out-b2 8
kill -9 "$pid2"
wait "$pid2" 2>/dev/null
exec 5>&-
answered2=$(wc -l <out-b2 | tr -d ' ')
cmp_num "host 2 was killed before its last line" "$answered2" -lt 40
tail -n 20 in1 >&4
tail -n 20 in3 >&6
exec 4>&- 6>&-
closed=$(date +%s)
wait "$pid1"; rc1=$?; wait "$pid3"; rc3=$?
took=$(($(date +%s) - closed))
is "hosts 1 and 3 exit 0" "$rc1 $rc3" "0 0"
# what they asked of host 2's they waited for until their deadline (4 s);
# then they let its jobs go rather than wait for host 2's heartbeat to
# grow old (30 s) and make the calls for no one
cmp_num "hosts 1 and 3 end soon after their input (${took} s)" "$took" -le 12
is "hosts 1 and 3: every line answered" \
	"$(j 'r["id"]' out-b1 | sort -u | wc -l) $(j 'r["id"]' out-b3 | sort -u | wc -l)" "40 40"
is "hosts 1 and 3: every answer ok" \
	"$(cat out-b1 out-b3 | j 'r["status"]' | sort | uniq -c | tr -s ' ')" " 80 ok"

(cd host1 && SCEN_CONFIG=$PWD/scen.yaml scen-export >../e.jsonl 2>../e.err)
is "export: exit 0" "$?" 0
j 'r["request_id"]' e.jsonl | sort >exported
j 'r["id"] if r["status"] == "ok" else ""' out-b2 | grep . | sort >ok2
is "every line host 2 answered ok is exported" "$(comm -23 ok2 exported)" ""
is "no serving twice" "$(uniq -d exported)" ""
is "hosts 1 and 3: each answer exported" \
	"$(cat out-b1 out-b3 | j 'r["id"]' | sort | comm -23 - exported)" ""
echo "# host 2 answered $answered2 lines of 40 before it was killed"
done_testing
