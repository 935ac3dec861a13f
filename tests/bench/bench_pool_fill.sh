# scen-pool-fill fill rate against the fake provider's limits, in virtual
# time (60x): 2 accounts of rpm 30 (the fake enforces 30 a minute per key),
# a design of 120 combinations x 3 variants = 360 calls, about six minutes
# of budget. Prints the calls per minute achieved over full minutes against
# the allowed maximum, and the 429s met. Target: >= 95 %, no 429.
. "$SCEN_TOP/tests/lib/test-lib.sh"
export SCEN_CLOCK_SCALE=60
SCEN_CLOCK_EPOCH=$(date +%s.%N)
export SCEN_CLOCK_EPOCH
RPM=${BENCH_RPM:-30}
fake_start --rpm "$RPM"
DAY_RESETS_AT=$(reset_far) RPM=$RPM TIMEOUT_S=120 DEADLINE_S=60 \
	MAX_CONCURRENCY=8 write_config
printf 'pool: {variants: 3, max_age_days: 7, quota_share: 1.0}\n' >>scen.yaml
start=$(date +%s.%N)
scen-pool-fill --experiment trust-2026 >out 2>err
rc=$?
end=$(date +%s.%N)
python3 - "$T/fake.log" "$RPM" "$rc" "$start" "$end" <<'PY'
import json, sys
log, rpm, rc, start, end = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
rows = [json.loads(l) for l in open(log)]
ok = [r["vt"] for r in rows if r["status"] == 200]
n429 = sum(1 for r in rows if r["status"] == 429)
keys = len({r["key_id"] for r in rows})
t0, t1 = min(ok), max(ok)
full = int((t1 - t0) // 60)	# whole minutes from the first call
if full < 1:
    print("too short to measure: %d calls in %.1f virtual s" % (len(ok), t1 - t0))
    sys.exit(0)
inside = sum(1 for t in ok if t < t0 + 60 * full)
allowed = rpm * keys
rate = inside / full
print("pool fill:    %d calls (%d accounts of rpm %d), exit %s, %.1f real s"
      % (len(ok), keys, rpm, rc, end - start))
print("fill rate:    %.1f calls/min over %d full minutes, allowed %d/min: %.1f %%"
      % (rate, full, allowed, 100.0 * rate / allowed))
print("429s:         %d" % n429)
PY
echo "busiest minute of one key: $(busiest_minute) calls (limit $RPM)"
grep -E '^(result|made|calls):' out | tr '\n' ' '
echo
