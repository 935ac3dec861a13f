# The variety controller keeps the rolling hit rate inside hit_rate_band
# while quota allows, by generating some would-be hits fresh; each such
# decision is recorded in the serving. Without quota nothing is forced.
. "$(dirname "$0")/../lib/test-lib.sh"
fake_start
BAND_LO=0.60 BAND_HI=0.70 MAX_SERVES=100000 write_config
python3 - >in <<'PY'
import json
keys = [("female", "older", "warm", 3), ("male", "younger", "cold", 7),
        ("female", "younger", "neutral", 1)]
for i in range(600):
    g, a, t, p = keys[i % 3]
    print(json.dumps({"id": "v%d" % i, "session": "vs%d" % i,
        "template": "hiring", "experiment": "trust-2026",
        "factors": {"gender": g, "age": a, "tone": t}, "position": p}))
PY
scen-serve-stdin --ordered <in >out 2>err
is "every request answered ok" "$(j 'r["status"]' out | sort -u)" ok
rate=$(j 'r["tier"]' out | tail -400 | python3 -c '
import sys; t = [l.strip() for l in sys.stdin]
print("%.3f" % (sum(x != "fresh" for x in t) / len(t)))')
check "hit rate over the last 400 inside [0.60, 0.70] ($rate)" \
	python3 -c "import sys; sys.exit(not (0.60 <= $rate <= 0.70))"
forced=$(sql 'select count(*) from servings where forced_fresh = 1')
cmp_num "forced generations are recorded in the servings ($forced)" "$forced" -gt 100
is "a forced one is a fresh serving" "$(sql 'select distinct tier from servings where forced_fresh = 1')" fresh
is "the decisions are counted" "$(sql "select sum(n) from counters where name = 'variety.forced'")" "$forced"

# without quota (provider down) nothing is forced: hits are served
fake_stop
sed 's/v\([0-9]*\)"/w\1"/; s/vs\([0-9]*\)"/ws\1"/' in | head -100 | scen-serve-stdin >out2 2>err
is "provider down: all hits served" "$(j 'r["tier"]' out2 | sort -u)" cache
is "provider down: none forced" "$(sql 'select count(*) from servings where forced_fresh = 1')" "$forced"
done_testing
