# scen-pool-fill, pool entries per night: online against the README's
# example limits (examples/scen.yaml: 3 accounts of rpm 30, rph 600,
# rpd 14400, tpm 6000, pool.quota_share 0.5, 3 variants), and through the
# provider's Batch API, which those limits do not touch. Measured against
# the fake provider on a scaled clock, not computed:
# - online: one night of examples/crontab (03:00 to 06:00 UTC, --until),
#   the fake enforcing rpm, rpd and tpm per key (scen holds rph itself);
# - batch: a fresh database, one run submits, the fake takes a few
#   (virtual) hours, the next run collects; the wall time of each.
# The design (BENCH_TOPICS x 5 tones x 40 scenes, 3 variants: 30,000
# entries by default) is more than online can make in a night, and fits
# one batch (pool.batch_lines, at most 50,000) and one upload to the fake
# (16 MiB at most; a line of this design is about 360 bytes).
. "$SCEN_TOP/tests/lib/test-lib.sh"
export TZ=UTC
NIGHT=${BENCH_NIGHT:-03:00-06:00}	# examples/crontab
FROM=${NIGHT%-*} UNTIL=${NIGHT#*-}
K_ONLINE=${BENCH_SCALE:-360}		# 3 hours in 30 s
K_BATCH=3600
DELAY_H=${BENCH_BATCH_DELAY_H:-4}	# the fake's batch delay_s, in hours
TOPICS=${BENCH_TOPICS:-50}

# clock_at HH:MM K: a clock K times faster whose virtual now is the next
# HH:MM (UTC): virtual = E + (real - E) * K, solved for E
clock_at() {
	SCEN_CLOCK_SCALE=$2
	SCEN_CLOCK_EPOCH=$(python3 - "$1" "$2" <<'PY'
import sys, time
hh, mm = map(int, sys.argv[1].split(":"))
k, r0 = float(sys.argv[2]), time.time()
v0 = (int(r0) // 86400) * 86400 + hh * 3600 + mm * 60
if v0 < r0:
    v0 += 86400
print("%.6f" % ((r0 * k - v0) / (k - 1)))
PY
)
	export SCEN_CLOCK_SCALE SCEN_CLOCK_EPOCH
}

# study DIR K: examples/scen.yaml pointed at the fake (the test keys),
# its timeout_s scaled with the clock (20 real s), plus experiment
# night-2026: the design
study() {
	mkdir -p "$1"
	sed -e "s|https://api.groq.com/openai/v1|$FAKE_URL|" \
	    -e 's/GROQ_API_KEY_/SCEN_TEST_KEY_/' \
	    -e "s/timeout_s: 20 /timeout_s: $((20 * $2)) /" \
	    "$SCEN_TOP/examples/scen.yaml" >"$1/scen.yaml"
	levels=$(seq -s, -f 't%g' 0 $((TOPICS - 1)))
	cat >>"$1/scen.yaml" <<YAML

  night-2026:
    system: "You write short scenarios for a pool benchmark."
    templates:
      brief:
        prompt: "Write a scenario about topic {topic} in a {tone} tone. Scene {position} of 40."
        factors:
          topic: {levels: [$levels]}
          tone: {levels: [neutral, warm, cold, dry, calm], weight: 1}
        position: {min: 1, max: 40, weight: 1}
        validate: {min_chars: 200, max_chars: 2000, reject: ["as an ai"]}
YAML
	export SCEN_CONFIG=$1/scen.yaml
}
pool_count() {
	python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(
    "select count(*) from scenarios where origin = '"'pool'"'").fetchone()[0])' "$1"
}
fill() { scen-pool-fill --experiment night-2026 "$@"; }
now() { date +%s.%N; }
secs() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
limits="3 accounts x (rpm 30, rph 600, rpd 14400, tpm 6000)"

# ---- online: one night ----------------------------------------------------
clock_at "$FROM" "$K_ONLINE"
fake_start --rpm 30 --rpd 14400 --tpm 6000
study "$T/online" "$K_ONLINE"
design=$(fill --dry-run | sed -n 's/^calls needed: //p')
t0=$(now)
(cd "$T/online" && fill --mode online --until "$UNTIL" >out 2>err)
rc=$?
t1=$(now)
online=$(pool_count "$T/online/scen.db")
n429=$(j 'r["status"]' "$T/fake.log" | grep -c '^429$')
fake_stop

# ---- batch: submit, a few hours, collect ---------------------------------
clock_at "$FROM" "$K_BATCH"
fake_start --rpm 30 --rpd 14400 --tpm 6000
fake_ctl "{\"batch\": {\"delay_s\": $((DELAY_H * 3600))}}"
study "$T/batch" "$K_BATCH"
t2=$(now)
(cd "$T/batch" && fill --mode batch >out1 2>err1)
rc1=$?
t3=$(now)
lines=$(sed -n 's/^batches submitted: [0-9]* (\([0-9]*\) lines)$/\1/p' "$T/batch/out1")
# the fake ends the batch when it is next looked at after delay_s: wait
# that long, then look (it writes the output file then), so that the
# collect below times scen, not the fake
sleep "$(python3 -c "print($DELAY_H * 3600 / $K_BATCH + 0.2)")"
bid=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select batch_id from batches").fetchone()[0])' \
	"$T/batch/scen.db")
key=$(python3 -c 'import sqlite3, sys, os
a = sqlite3.connect(sys.argv[1]).execute("select account from batches").fetchone()[0]
print(os.environ["SCEN_TEST_KEY_" + str("abc".index(a[-1]) + 1)])' "$T/batch/scen.db")
curl -s -o /dev/null -H "Authorization: Bearer $key" "$FAKE_URL/batches/$bid"
t4=$(now)
(cd "$T/batch" && fill --mode batch >out2 2>err2)
rc2=$?
t5=$(now)
batch=$(pool_count "$T/batch/scen.db")
calls=$(fake_stat 'r["calls"]')
fake_stop

# ---- figures ----------------------------------------------------------------
on_s=$(secs "$t0" "$t1") sub_s=$(secs "$t2" "$t3") col_s=$(secs "$t4" "$t5")
nb=$(sed -n 's/^batches submitted: \([0-9]*\) .*/\1/p' "$T/batch/out1")
lines=${lines:-0}
[ "$lines" = "$design" ] && by="the whole design" || by="pool.batch_lines / the design"
echo "limits: examples/scen.yaml (the README's): $limits, pool.quota_share 0.5, 3 variants;" \
	"the fake enforces rpm, rpd, tpm per key, scen rph"
echo "design: $design entries (night-2026: $TOPICS topics x 5 tones x 40 scenes x 3 variants)"
echo "night: $FROM to $UNTIL UTC (examples/crontab), online at ${K_ONLINE}x: $on_s real s;" \
	"$(sed -n 's/^result: //p' "$T/online/out"), exit $rc," \
	"$(sed -n 's/^calls: //p' "$T/online/out") calls, $n429 429s"
echo "pool entries per night, $limits: online $online (share 0.5 of the day)," \
	"batch $batch ($nb batch of $lines lines; limited by $by, not the rate limits)"
echo "batch: submit $lines lines in $sub_s s, collect in $col_s s" \
	"($(python3 -c "print('%.0f' % ($batch / max($col_s, 0.001)))") entries/s stored)"
echo "batch runs: exit $rc1 then $rc2, $calls online calls; the fake took ${DELAY_H} h (virtual)" \
	"and had its output file written before the collect"
